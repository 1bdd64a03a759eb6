"""Pruned parameters: how many elements ``torch.nn.utils.prune``'s masks leave.

Pruning keeps each pruned tensor dense, as the parameter ``NAME_orig``, beside a
0/1 buffer ``NAME_mask``; a forward pre-hook computes ``NAME = NAME_orig * NAME_mask``.
The model holds (and the pass uses) the dense tensor, so the parameter counts stay
dense; the masks say how many elements are left, which torchinfo reports as its
parameter count. The tracer reads the masks in its walk of the modules before the
pass, while they hold their values also for a pass on meta (`Trace.masked`); what is
here is pure and works on the summary tree.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> from torch.nn.utils import prune
    >>> model = nn.Sequential(nn.Linear(4, 2))
    >>> _ = prune.l1_unstructured(model[0], "weight", amount=0.5)
    >>> from modelsummary import summary
    >>> tree = summary(model, input_size=(1, 4), verbose=0).tree
    >>> tree.masked, unmasked_total(tree), tree.totals.total_params
    ((('0.weight_orig', 4),), 6, 10)
"""

from __future__ import annotations

from collections.abc import Mapping

from .nodes import SummaryNode, SummaryTree


def unmasked_params(node: SummaryNode, masked: Mapping[str, int], *, subtree: bool = False) -> int:
    """The parameters a row carries (``subtree``: with every row below) less the
    elements pruning masks zero.

    Examples:
        >>> row = SummaryNode("fc", "Linear", 1, 1, num_params=10,
        ...                   param_names=("fc.weight_orig", "fc.bias"), subtree_params=10)
        >>> unmasked_params(row, {"fc.weight_orig": 4})
        6
    """
    if not subtree:
        return node.num_params - sum(masked.get(name, 0) for name in node.param_names)
    return node.subtree_params - sum(
        masked.get(name, 0) for row in node.walk() for name in row.param_names
    )


def unmasked_total(tree: SummaryTree) -> int:
    """``total_params`` less the elements pruning masks zero: torchinfo's ``total_params``
    of a pruned model.

    Examples:
        >>> row = SummaryNode("", "Linear", 0, 1, num_params=10,
        ...                   param_names=("weight_orig", "bias"), subtree_params=10)
        >>> from modelsummary._tree.nodes import Totals
        >>> tree = SummaryTree(row, totals=Totals(total_params=10), masked=(("weight_orig", 4),))
        >>> unmasked_total(tree)
        6
    """
    if not tree.masked:
        return tree.totals.total_params
    masked = dict(tree.masked)
    return tree.totals.total_params - sum(
        masked.get(name, 0) for row in tree.root.walk() for name in row.param_names
    )
