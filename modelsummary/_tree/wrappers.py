"""Wrappers that keep the depth: a module that only wraps a model merges with its row. Pure.

``torch.compile`` wraps a model in an ``OptimizedModule``, DDP in a
``DistributedDataParallel``, PEFT in a ``PeftModel`` around a ``LoraModel``; each
takes a level of the tree, so ``depth=3`` of a PEFT GPT-2 stops above its blocks.
The rule is read from the records, not from class names: a *wrapper* is a row
with exactly one child, not one of torch.nn's containers (a ``Sequential`` of one
``Sequential`` keeps its rows), no parameters, buffers, mult-adds or collectives of its
own, whose calls ran no operator of their own (`CallRecord.ops` is 0; a row
never called, such as PEFT's ``LoraModel``, ran none) and which was called no
more often than its child; and the child it wraps is a model of several parts
(two children or more, after its own wrappers are merged). `merge_wrappers()` draws the
child in the wrapper's place, one level up, with the wrappers' paths and classes
in `SummaryNode.wrappers`; the counts are the child's, which are the wrapper's.

Examples:
    >>> from modelsummary._records import OtherSpec
    >>> inner = (SummaryNode("m.a", "Linear", 2, 1), SummaryNode("m.b", "Linear", 2, 1))
    >>> model = SummaryNode("m", "Net", 1, 1, children=inner)
    >>> out = OtherSpec("Tensor")
    >>> root = merge_wrappers(SummaryNode("", "DDP", 0, 1, output=out, children=(model,)))
    >>> root.path, root.type_name, root.wrappers, [(c.path, c.depth) for c in root.children]
    ('m', 'Net', (('', 'DDP'),), [('m.a', 1), ('m.b', 1)])
"""

from __future__ import annotations

from dataclasses import replace

from .nodes import SummaryNode


def is_wrapper(node: SummaryNode) -> bool:
    """Whether ``node`` only wraps its one child (see the module's docstring).

    Examples:
        >>> parts = (SummaryNode("m.a", "Linear", 2, 1), SummaryNode("m.b", "ReLU", 2, 1))
        >>> model = SummaryNode("m", "Net", 1, 1, children=parts)
        >>> is_wrapper(SummaryNode("", "Wrapper", 0, 0, children=(model,)))  # never called
        True
        >>> is_wrapper(SummaryNode("", "Wrapper", 0, 1, own_ops=2, children=(model,)))
        False
    """
    if len(node.children) != 1:
        return False
    child = node.children[0]
    return (
        len(child.children) >= 2
        and not node.container
        and node.num_params == 0
        and not node.shared
        and node.buffers == 0
        and node.mult_adds == 0
        and node.comm_bytes == 0
        and node.own_ops == 0
        and node.calls <= child.calls
        and (node.calls == 0 or node.output is not None)  # a call that raised stays a row
    )


def merge_wrappers(root: SummaryNode) -> SummaryNode:
    """The tree with each wrapper drawn as the model it wraps, one level up.

    Iterative: nesting depth is not limited by Python's recursion limit.

    Args:
        root: The summary tree's root.

    Returns:
        A tree whose merged rows carry `SummaryNode.wrappers`; ``root`` itself when
        nothing wraps.

    Examples:
        >>> leaf = SummaryNode("a", "Linear", 1, 1)
        >>> root = SummaryNode("", "Net", 0, 1, children=(leaf,))
        >>> merge_wrappers(root) is root
        True
    """
    merged: dict[int, SummaryNode] = {}  # id(node) -> its row, wrappers merged, depth as before
    for node in reversed(list(root.walk())):  # children before their parents
        kids = tuple(merged[id(kid)] for kid in node.children)
        same = all(a is b for a, b in zip(kids, node.children, strict=True))
        row = node if same else replace(node, children=kids)
        if is_wrapper(row):
            inner = row.children[0]
            row = replace(
                inner,
                wrappers=((node.path, node.type_name), *inner.wrappers),
                children=inner.children,
            )
            row = _lifted(row, node.depth)
        merged[id(node)] = row
    return merged[id(root)]


def _lifted(node: SummaryNode, depth: int) -> SummaryNode:
    """``node`` and its subtree with ``node`` at ``depth``."""
    shift = node.depth - depth
    if shift == 0:
        return node
    lifted: dict[int, SummaryNode] = {}
    for n in reversed(list(node.walk())):  # children before their parents
        kids = tuple(lifted[id(kid)] for kid in n.children)
        lifted[id(n)] = replace(n, depth=n.depth - shift, children=kids)
    return lifted[id(node)]
