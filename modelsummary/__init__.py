"""Print a torchinfo-style summary of a PyTorch model, with counts that are right.

Example:
    >>> import torch
    >>> from modelsummary import summary
    >>> summary(torch.nn.Linear(4, 2), (1, 4), verbose=0).total_params
    10
"""

from ._compare import Comparison, LayerChange, SummaryDiff, compare, diff
from ._errors import ModelSummaryError
from ._render import RenderOptions
from ._result import ModelSummary
from ._select import LayerSelection
from ._tree import SharedParam, SummaryNode, SummaryTree, Totals, UnusedEntry
from .summary import summary

__version__ = "0.1.0"

__all__ = [
    "Comparison",
    "LayerChange",
    "LayerSelection",
    "ModelSummary",
    "ModelSummaryError",
    "RenderOptions",
    "SharedParam",
    "SummaryDiff",
    "SummaryNode",
    "SummaryTree",
    "Totals",
    "UnusedEntry",
    "__version__",
    "compare",
    "diff",
    "summary",
]
