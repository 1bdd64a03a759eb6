"""Folded repeats: runs of identical sibling rows drawn as one row. Pure.

A transformer's twelve blocks, or a ResNet stage's identical bottlenecks, are
siblings of one class whose subtrees match row for row: the same structure
(children of the same names and classes), the same parameter counts, shapes,
calls and mult-adds. `fold_repeats()` turns each run of two or more such
consecutive siblings into one row that carries the summed numbers of the run
and one copy of the inner rows (the first sibling's). The tree the counts come
from is not changed: folding is a way of drawing it (``row_settings=
("fold_repeats",)``), and totals and exports read the unfolded tree.

A sibling that differs in anything the signature holds (another shape, another
inner module, another parameter count) ends the run; the siblings after it may
start a new one.

Examples:
    >>> from modelsummary._records import SeqSpec, TensorSpec
    >>> x = SeqSpec((TensorSpec((1, 4), "float32", 16),))
    >>> def block(name, width=4):
    ...     fc = SummaryNode(f"h.{name}.fc", "Linear", 2, 1, inputs=x,
    ...                      num_params=5 * width, subtree_params=5 * width)
    ...     return SummaryNode(f"h.{name}", "Block", 1, 1, inputs=x,
    ...                        subtree_params=5 * width, children=(fc,))
    >>> blocks = (block("0"), block("1"), block("2", width=8), block("3"), block("4"))
    >>> root = SummaryNode("h", "ModuleList", 0, 0, subtree_params=120, children=blocks)
    >>> [(n.path, n.copies, n.subtree_params) for n in fold_repeats(root).children]
    [('h.0', 2, 40), ('h.2', 1, 40), ('h.3', 2, 40)]
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import replace

from .nodes import SummaryNode


def fold_repeats(root: SummaryNode) -> SummaryNode:
    """The tree with each run of identical consecutive siblings folded into one row.

    Iterative: nesting depth is not limited by Python's recursion limit.

    Args:
        root: The summary tree's root.

    Returns:
        A tree whose folded rows have `SummaryNode.folded` set (the paths of the
        siblings after the first) and the run's summed counts; ``root`` itself when
        nothing repeats.

    Examples:
        >>> leaf = SummaryNode("a", "ReLU", 1, 1)
        >>> fold_repeats(SummaryNode("", "Net", 0, 1, children=(leaf,))).children[0] is leaf
        True
    """
    ids: dict[Hashable, int] = {}  # each distinct signature as a small integer
    signature: dict[int, int] = {}  # id(node) -> its signature's integer
    folded: dict[int, SummaryNode] = {}  # id(node) -> its row in the folded tree
    for node in reversed(list(root.walk())):  # children before their parents
        kids = node.children
        key = (
            node.type_name,
            node.calls,
            node.inputs,
            node.output,
            node.variants,
            node.num_params,
            node.trainable_params,
            node.param_bytes,
            node.buffers,
            node.mult_adds,
            node.comm_bytes,
            node.kernel_size,
            node.groups,
            node.traced,
            node.failed,
            len(node.shared),
            bool(node.used_by),
            tuple([(kid.name, signature[id(kid)]) for kid in kids]),
        )
        signature[id(node)] = ids.setdefault(key, len(ids))
        children = _folded_children(kids, signature, folded)
        same = len(children) == len(kids) and all(
            a is b for a, b in zip(children, kids, strict=True)
        )
        folded[id(node)] = node if same else replace(node, children=children)
    return folded[id(root)]


def _folded_children(
    kids: tuple[SummaryNode, ...], signature: dict[int, int], folded: dict[int, SummaryNode]
) -> tuple[SummaryNode, ...]:
    """The folded rows of ``kids``: each run of equal signatures as one row."""
    rows: list[SummaryNode] = []
    start = 0
    while start < len(kids):
        end = start + 1
        while end < len(kids) and signature[id(kids[end])] == signature[id(kids[start])]:
            end += 1
        first = folded[id(kids[start])]
        rows.append(first if end - start == 1 else merged(first, kids[start + 1 : end]))
        start = end
    return tuple(rows)


def merged(first: SummaryNode, rest: tuple[SummaryNode, ...]) -> SummaryNode:
    """One row for ``first`` and its repeats ``rest``: their counts summed, ``first``'s
    children (one copy of the inner rows).

    Examples:
        >>> a = SummaryNode("h.0", "Block", 1, 1, num_params=3, subtree_params=5)
        >>> b = replace(a, path="h.1")
        >>> row = merged(a, (b,))
        >>> row.copies, row.num_params, row.subtree_params, row.calls, row.folded
        (2, 6, 10, 2, ('h.1',))
    """
    run = (first, *rest)
    times = [n.time_s for n in run]
    return replace(
        first,
        calls=sum(n.calls for n in run),
        num_params=sum(n.num_params for n in run),
        trainable_params=sum(n.trainable_params for n in run),
        param_bytes=sum(n.param_bytes for n in run),
        buffers=sum(n.buffers for n in run),
        mult_adds=sum(n.mult_adds for n in run),
        comm_bytes=sum(n.comm_bytes for n in run),
        subtree_params=sum(n.subtree_params for n in run),
        subtree_trainable=sum(n.subtree_trainable for n in run),
        subtree_mult_adds=sum(n.subtree_mult_adds for n in run),
        subtree_comm_bytes=sum(n.subtree_comm_bytes for n in run),
        time_s=None if any(t is None for t in times) else sum(t for t in times if t is not None),
        folded=tuple(n.path for n in rest),
    )
