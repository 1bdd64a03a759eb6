"""Pick the layers worth a look: those over a threshold, or the top k. Pure; no torch.

A layer's size is what its row carries itself (``num_params``, or its own
``mult_adds``), not its subtree's, so a container never outranks the layers
inside it and the sizes of all rows add up to the model's total.

Examples:
    >>> from modelsummary._tree.nodes import SummaryNode, SummaryTree, Totals
    >>> a = SummaryNode("a", "Linear", 1, 1, num_params=60)
    >>> b = SummaryNode("b", "Linear", 1, 1, num_params=6)
    >>> tree = SummaryTree(SummaryNode("", "Net", 0, 1, children=(a, b)),
    ...                    totals=Totals(total_params=66))
    >>> [layer.path for layer in select_layers(tree, "params", top=1)]
    ['a']
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate

from .._tree.nodes import SummaryNode, SummaryTree
from .units import format_int

MEASURES = ("params", "mult_adds")
"""What layers can be ranked by."""


def layer_size(node: SummaryNode, by: str) -> int:
    """The row's own parameters (``by="params"``) or own mult-adds (``by="mult_adds"``).

    Examples:
        >>> layer_size(SummaryNode("fc", "Linear", 1, 1, num_params=6, mult_adds=4), "mult_adds")
        4
    """
    return node.num_params if by == "params" else node.mult_adds


@dataclass(frozen=True, slots=True)
class LayerSelection:
    """Layers chosen by size, largest first: iterate them as data, print them as a table.

    Examples:
        >>> sel = LayerSelection((SummaryNode("fc", "Linear", 1, 1, num_params=6),), "params", 8)
        >>> print(sel)
        Layer    Type      Param #  % of total
        -------  ------  ---------  ------------
        fc       Linear          6  75.00%
    """

    layers: tuple[SummaryNode, ...]
    """The chosen rows, largest first (ties in display order)."""
    by: str
    """``"params"`` or ``"mult_adds"``."""
    total: int
    """The model's total of that measure, for the percentage column."""

    def __iter__(self) -> Iterator[SummaryNode]:
        return iter(self.layers)

    def __len__(self) -> int:
        return len(self.layers)

    def to_dict(self) -> dict[str, int]:
        """``{path: size}`` in the selection's order.

        Examples:
            >>> LayerSelection((SummaryNode("fc", "Linear", 1, 1, num_params=6),),
            ...                "params", 6).to_dict()
            {'fc': 6}
        """
        return {node.path: layer_size(node, self.by) for node in self.layers}

    def __str__(self) -> str:
        header = "Param #" if self.by == "params" else "Mult-Adds"
        rows = []
        for node in self.layers:
            size = layer_size(node, self.by)
            share = f"{100 * size / self.total:.2f}%" if self.total else "--"
            rows.append([node.path or "(root)", node.type_name, format_int(size), share])
        return tabulate(
            rows,
            headers=["Layer", "Type", header, "% of total"],
            tablefmt="simple",
            disable_numparse=True,
            colalign=("left", "left", "right", "left"),
            preserve_whitespace=True,
        )

    def __repr__(self) -> str:
        return str(self)


def _check(value: Any, what: str, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be a number, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value!r}")


def select_layers(
    tree: SummaryTree, by: str = "params", *, threshold: float | None = None, top: int | None = None
) -> LayerSelection:
    """The rows whose own size exceeds ``threshold`` and/or the ``top`` largest.

    Args:
        tree: The summary tree.
        by: ``"params"`` or ``"mult_adds"``.
        threshold: Keep rows whose size is strictly greater.
        top: Keep at most this many of the largest rows.

    Returns:
        The rows, largest first.

    Raises:
        TypeError: A threshold or top that is not a number.
        ValueError: An unknown measure, a negative threshold or a top below 1.
    """
    if by not in MEASURES:
        raise ValueError(f"by must be one of {MEASURES}, got {by!r}")
    if threshold is not None:
        _check(threshold, "threshold", 0)
    if top is not None:
        if isinstance(top, bool) or not isinstance(top, int):
            raise TypeError(f"k must be an integer, got {type(top).__name__}")
        _check(top, "k", 1)
    nodes = list(tree.root.walk())
    if threshold is not None:
        nodes = [n for n in nodes if layer_size(n, by) > threshold]
    nodes.sort(key=lambda n: -layer_size(n, by))  # stable: ties keep display order
    if top is not None:
        nodes = [n for n in nodes[:top] if layer_size(n, by) > 0]
    total = tree.totals.total_params if by == "params" else tree.totals.mult_adds
    return LayerSelection(tuple(nodes), by, total)
