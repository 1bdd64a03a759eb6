"""Pruned parameters: how many elements ``torch.nn.utils.prune``'s masks leave.

Pruning keeps each pruned tensor dense, as the parameter ``NAME_orig``, beside a
0/1 buffer ``NAME_mask``; a forward pre-hook computes ``NAME = NAME_orig * NAME_mask``.
The model holds (and the pass uses) the dense tensor, so the parameter counts stay
dense; the masks say how many elements are left, which torchinfo reports as its
parameter count. `read_masks()` reads them once, after the pass; the rest is
pure and works on the summary tree.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> from torch.nn.utils import prune
    >>> model = nn.Sequential(nn.Linear(4, 2))
    >>> _ = prune.l1_unstructured(model[0], "weight", amount=0.5)
    >>> read_masks(model)
    (('0.weight_orig', 4),)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING

from ._tree import SummaryNode, SummaryTree

if TYPE_CHECKING:
    from torch import nn


def read_masks(model: nn.Module) -> tuple[tuple[str, int], ...]:
    """``(parameter name, elements its mask zeroes)`` for each pruned parameter.

    The name is the parameter's first dotted name (``"conv1.weight_orig"``), as the
    summary's rows name it. A mask on the meta device has no values and is left out.

    Examples:
        >>> from torch import nn
        >>> read_masks(nn.Linear(2, 2))
        ()
    """
    # One walk over the modules, looking only where a mask can be (a module with
    # buffers); the parameters' dotted names are read only once one is found.
    names: dict[int, str] | None = None
    masked: dict[str, int] = {}
    for module in model.modules():
        buffers = module._buffers
        if not buffers:
            continue
        for name, p in module._parameters.items():
            if p is None or not name.endswith("_orig"):
                continue
            mask = buffers.get(name[: -len("_orig")] + "_mask")
            if mask is None or mask.is_meta or mask.shape != p.shape:
                continue
            if names is None:
                names = {}
                for dotted, param in model.named_parameters():
                    names.setdefault(id(param), dotted)
            if id(p) in names:
                masked.setdefault(names[id(p)], mask.numel() - int(mask.count_nonzero()))
    return tuple(masked.items())


def with_masks(tree: SummaryTree, model: nn.Module) -> SummaryTree:
    """``tree`` with `SummaryTree.masked` read from ``model``'s pruning masks.

    Examples:
        >>> from torch import nn
        >>> from modelsummary._tree import SummaryNode
        >>> with_masks(SummaryTree(SummaryNode("", "Linear", 0, 1)), nn.Linear(2, 2)).masked
        ()
    """
    masked = read_masks(model)
    return dataclasses.replace(tree, masked=masked) if masked else tree


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
        >>> from modelsummary._tree import Totals
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
