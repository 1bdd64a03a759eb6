"""Print a torchinfo-style summary of a PyTorch model, with counts that are right.

Examples:
    >>> import torch
    >>> from modelsummary import summary
    >>> summary(torch.nn.Linear(4, 2), (1, 4), verbose=0).total_params
    10
"""

from ._compare import Comparison, LayerChange, SummaryDiff, compare, diff
from ._errors import ArgumentError, ModelSummaryError
from ._present.render import RenderOptions
from ._present.select import LayerSelection
from ._result import ModelSummary
from ._result import ModelSummary as ModelStatistics
from ._summary import summary
from ._torchinfo import (
    ColumnSettings,
    Mode,
    RowSettings,
    Units,
    Verbosity,
    clear_cached_forward_pass,
)
from ._trace.catalogue import register_formula, unregister_formula
from ._trace.storage import TensorStorage, register_storage, storage_of, unregister_storage
from ._tree.nodes import SharedParam, SummaryNode, SummaryTree, Totals, UnusedEntry
from ._watch import TrainableMove, WatchChange, Watcher, WatchRecord, watch

__version__ = "0.1.0"

__all__ = [
    "ArgumentError",
    "ColumnSettings",
    "Comparison",
    "LayerChange",
    "LayerSelection",
    "Mode",
    "ModelStatistics",
    "ModelSummary",
    "ModelSummaryError",
    "RenderOptions",
    "RowSettings",
    "SharedParam",
    "SummaryDiff",
    "SummaryNode",
    "SummaryTree",
    "TensorStorage",
    "Totals",
    "TrainableMove",
    "Units",
    "UnusedEntry",
    "Verbosity",
    "WatchChange",
    "WatchRecord",
    "Watcher",
    "__version__",
    "clear_cached_forward_pass",
    "compare",
    "diff",
    "register_formula",
    "register_storage",
    "storage_of",
    "summary",
    "unregister_formula",
    "unregister_storage",
    "watch",
]
