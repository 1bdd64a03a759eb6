"""Which module calls the tracer records, and what it adds when one returns.

`watch_list()` decides, from the `Census`, which modules' calls the tracer's hooks
record, which of them have forward hooks of their own, and which are *standard
leaves*: modules of an exact ``torch.nn`` class the catalogue has a formula for,
whose calls are counted from their shapes instead of their operators (their
operators then need not pass through the torch-function mode: the bulk of a CNN's
calls). `closer()` is what the call stack runs when a call returns: a standard
leaf's MACs and parameter uses, the activation bytes of the output, and any
parameter the output is.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> from modelsummary._trace.census import take_census
    >>> from modelsummary._trace.catalogue import current_catalogue
    >>> model = nn.Sequential(nn.Linear(2, 2), nn.Identity())
    >>> census = take_census(model)
    >>> watched, own_hooks = watch_list(census, current_catalogue().leaf_formula)
    >>> [(path, leaf is not None) for path, leaf in watched.values()]
    [('', False), ('0', True), ('1', True)]
    >>> watched[id(model[0])][1][1]  # the uses of one call: (parameter key, path)
    {(0, '0'): None, (1, '0'): None}
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from .calls import CallFrame
from .census import Census
from .formulas import LeafFormula
from .macs import FORMULA_ERRORS, MacCounter
from .meters import StorageCounter
from .params import ParamUses
from .values import iter_tensors

Leaf = tuple[LeafFormula, dict[tuple[int, str], None]]
"""A standard leaf's MAC formula and the parameter uses of one of its calls."""
Watched = dict[int, tuple[str, Leaf | None]]
"""``{id(module): (path, leaf)}`` of the recorded modules; ``leaf`` is set for a
standard leaf, whose operators need not be watched."""
_Tensor = torch.Tensor
_Parameter = nn.Parameter


def watch_list(
    census: Census, leaf_formula: Callable[[type], LeafFormula | None]
) -> tuple[Watched, list[nn.Module]]:
    """The modules whose calls to record (`Watched`), and those of them with forward
    hooks of their own. Inside TorchScript only the outermost module is recorded."""
    watched: Watched = {}
    own_hooks: list[nn.Module] = []
    keys = census.params.keys
    formulas: dict[type, LeafFormula | None] = {}
    for path, module in census.hookable:
        state = module.__dict__  # one look-up, not Module.__getattr__ per slot
        if state["_forward_pre_hooks"] or state["_forward_hooks"]:
            watched[id(module)] = (path, None)
            if state["_forward_hooks"]:
                own_hooks.append(module)
            continue
        cls = type(module)
        if cls in formulas:  # what a class tells, once per class
            formula = formulas[cls]
        else:
            formula = formulas[cls] = leaf_formula(cls)
        watched[id(module)] = (
            path,
            None if formula is None else standard_leaf(formula, module, path, keys),
        )
    for path, module in census.scripts.values():
        watched[id(module)] = (path, None)
        if module._forward_hooks:
            own_hooks.append(module)
    return watched, own_hooks


def standard_leaf(
    formula: LeafFormula, module: nn.Module, path: str, keys: dict[int, int]
) -> Leaf | None:
    """``module`` as a standard leaf, if it is one: of an exact class that
    `leaf_formula()` knows (``formula``), with no hooks of its own (a hook may compute,
    or replace the weight), and plain tensors only: a tensor subclass (a quantized
    weight) may handle the operators itself through ``__torch_function__``, which a
    leaf's call skips. A call of one uses exactly the parameters it holds (meta
    stand-ins, which map to the same keys, included): ``(key, path)`` pairs, as noted
    uses are."""
    uses: dict[tuple[int, str], None] = {}
    for p in module._parameters.values():
        if p is not None:
            if type(p) is not _Parameter and type(p) is not _Tensor:
                return None
            uses[(keys[id(p)], path)] = None
    for b in module._buffers.values():
        if b is not None and type(b) is not _Tensor:
            return None
    return formula, uses


def no_leaves(watched: Watched) -> None:
    """No leaf counted from its shapes: every call's operators reach the modes."""
    for key, (path, _) in watched.items():
        watched[key] = (path, None)


def closer(
    stack: list[CallFrame], uses: ParamUses, macs: MacCounter, activations: StorageCounter
) -> Callable[[CallFrame, tuple[Any, ...], Any], None]:
    """What the tracer adds when a call returns (run by the call stack with torch
    functions off): a standard leaf's MACs and parameters, the activation bytes of the
    output, and any parameter the output is. A closure over the parts, not a method
    of the tracer: the call stack holds it, and must not hold the tracer in a cycle."""
    noted = uses.uses
    add = activations.add
    returned = uses.note_returned
    keys = uses.resolver.keys
    uncounted = macs.uncounted
    errors = FORMULA_ERRORS

    def close(frame: CallFrame, args: tuple[Any, ...], output: Any) -> None:
        leaf = frame.leaf
        if leaf is not None:  # inline, not through MacCounter.count_leaf: once per call
            formula, leaf_uses = leaf
            try:
                frame.mult_adds += formula(frame.module, args[0], output)
            except errors:
                uncounted[type(frame.module).__name__] += 1
            noted.update(leaf_uses)  # as ParamUses.note(key, path) for each
        if type(output) is _Tensor:  # the common case: no parameter, no container
            add(output)
            if not stack or id(output) in keys:
                returned((output,), frame.path, not stack)
        else:
            tensors = [output] if isinstance(output, _Tensor) else iter_tensors(output)
            for t in tensors:
                add(t)
            returned(tensors, frame.path, not stack)

    return close
