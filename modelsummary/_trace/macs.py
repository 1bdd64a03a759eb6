"""Mult-add counting: the torch-level and aten-level modes, and what they add up.

`MacCounter` owns two modes. Its `OperatorWatcher` (a
`TorchFunctionMode`) sees every torch-level call with its
original arguments: it counts the calls the catalogue has a formula for, skips
those known to do none, and runs the rest under the `AtenCounter` (a
`TorchDispatchMode`), which counts the aten
operators below autograd, fused paths included. The torch level is also where
parameters are seen whole, so the watcher tells `ParamUses`
about every call's operands, writes and aliases. MACs go to the innermost open call.

What an operator costs comes from a `Catalogue` (its
``classify``, ``classify_function`` and ``leaf_formula``), by default the process-wide
one (`current_catalogue()`).

Examples:
    >>> import torch
    >>> from modelsummary._trace.calls import CallFrame
    >>> from modelsummary._trace.params import ParamResolver, ParamUses
    >>> stack = [CallFrame(torch.nn.Identity(), "", None)]
    >>> macs = MacCounter(stack, ParamUses(ParamResolver([]), stack))
    >>> with macs.watcher:
    ...     _ = torch.einsum("ij,jk->ik", torch.ones(2, 3), torch.ones(3, 4))
    >>> stack[0].mult_adds
    24
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from contextlib import ExitStack
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from .calls import CallFrame
from .catalogue import DISPATCH, Catalogue, current_catalogue, op_name
from .formulas import Formula, LeafFormula
from .meta import SHAPE_ONLY_CALLS
from .params import ALIASES, METADATA_OPS, WRITES, ParamUses, effect

_no_torch_function = torch._C.DisableTorchFunction
FORMULA_ERRORS = (AttributeError, IndexError, TypeError, RuntimeError, ValueError)
"""What a formula raises on arguments it cannot read: reported, never guessed."""


class AtenCounter(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Sees every aten operator below autograd and adds its MACs to the innermost call.

    While `noting` is positive (the torch-level mode is off: a fused fast path)
    it also tells ``uses`` about the operands, since no one above sees them.
    """

    def __init__(
        self,
        stack: list[CallFrame],
        uses: ParamUses,
        uncounted: Counter[str],
        catalogue: Catalogue,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._stack = stack
        self._uses = uses
        self._uncounted = uncounted
        self._catalogue = catalogue
        self._kinds: dict[Any, Formula | bool | Moves] = {}
        self.noting = 0
        """Positive while the torch-level mode is suspended."""

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        kind = self._kinds.get(func)
        if kind is None:
            kind = self._kinds[func] = self._kind(func)
        if self.noting:  # the torch-level mode is off: note parameters here
            self._uses.note_operands(args, kwargs)
        if kind is True:
            return out
        stack = self._stack
        if kind is False or not stack:
            if kind is False:
                self._uncounted[op_name(func)] += 1
            return out
        if type(kind) is Moves:  # a collective: no MACs, the bytes it moves
            stack[-1].comm_bytes += kind.nbytes(args, kwargs, out)
            return out
        try:
            stack[-1].mult_adds += kind(args, kwargs, out)  # type: ignore[operator]
        except FORMULA_ERRORS:  # nested or otherwise shapeless arguments
            self._uncounted[op_name(func)] += 1
        return out

    def _kind(self, func: Any) -> Formula | bool | Moves:
        """The catalogue's classification, a collective's bytes function apart: the
        catalogue counts a collective as free of MACs; here its bytes are counted."""
        kind = self._catalogue.classify(func)
        if kind is True:
            nbytes = self._catalogue.communication(func)
            if nbytes is not None:
                return Moves(nbytes)
        return kind


@dataclasses.dataclass(frozen=True, slots=True)
class Moves:
    """What the aten-level counter keeps for a collective: the bytes one call moves.

    Examples:
        >>> from modelsummary._trace.formulas import collective_bytes
        >>> Moves(collective_bytes).nbytes((torch.zeros(4),), {}, None)
        16
    """

    nbytes: Formula
    """``(args, kwargs, output) -> bytes`` of one call."""


class OperatorWatcher(TorchFunctionMode):
    """Sees every torch-level call with its original arguments.

    It counts the call's multiply-accumulates: by a formula for the common heavy
    calls, not at all for calls known to do none, and otherwise by running the call
    under ``aten`` (see `classify_function()`). And it tells
    ``uses`` what the call does to parameters: reads them (operands), writes them in
    place, or hands out an alias of them.
    """

    def __init__(
        self,
        stack: list[CallFrame],
        uses: ParamUses,
        aten: AtenCounter,
        uncounted: Counter[str],
        catalogue: Catalogue,
        meta_help: TorchDispatchMode | None = None,
    ) -> None:
        super().__init__()
        self._meta_help = meta_help
        """Entered below the aten-level counter around the calls of `SHAPE_ONLY_CALLS`
        (on the meta device: their meta kernels refuse what a real device runs)."""
        self._stack = stack
        self._uses = uses
        self._aten = aten
        self._uncounted = uncounted
        self._classify = catalogue.classify_function
        self._communication = catalogue.communication
        self._kinds: dict[Any, tuple[Formula | bool | None, bool, int]] = {}
        self.counter_active = False
        """True while the aten-level counter sees every operator anyway."""

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        known = self._kinds.get(func)
        if known is None:
            name = getattr(func, "__name__", "")
            kind = self._classify(func)
            if kind is True and self._communication(func) is not None:
                kind = DISPATCH  # a collective called as an operator: its bytes counted there
            if self._meta_help is not None and func in SHAPE_ONLY_CALLS:
                kind = _HELPED  # counted at the aten level, which sees the shapes it gives
            known = self._kinds[func] = (
                kind,
                name in METADATA_OPS,
                effect(func, name),
            )
        kind, metadata, does = known
        uses = self._uses
        if kwargs is None:
            kwargs = {}
        elif kwargs:
            if "out" in kwargs:
                uses.before_write(kwargs["out"])
            # F.embedding and F.embedding_bag with max_norm rescale, in place, the rows
            # of the weight (their second argument) they look up.
            if kwargs.get("max_norm") is not None and len(args) > 1:
                uses.before_write(args[1])
        if does == WRITES and args:
            uses.before_write(args[0])
        if self.counter_active or kind is True:
            result = func(*args, **kwargs)
        elif kind is DISPATCH:
            with self._aten:
                result = func(*args, **kwargs)
        elif kind is _HELPED:  # rare: only on meta, and entered for this call alone
            with self._meta_help, self._aten:  # type: ignore[union-attr]
                result = func(*args, **kwargs)
        else:
            result = func(*args, **kwargs)
            stack = self._stack
            if stack:
                try:
                    stack[-1].mult_adds += kind(args, kwargs, result)  # type: ignore[operator]
                except FORMULA_ERRORS:  # unusual arguments: report rather than guess
                    self._uncounted[getattr(func, "__name__", str(func))] += 1
        # Noted after the call returned: a call that raised used nothing. A metadata
        # read (``w.shape``, ``w.dtype``) is no use, but a property that returns a
        # tensor (``w.T``, ``w.mT``, ``w.data``) hands the weight on to the compute.
        if not metadata:
            uses.note_operands(args, kwargs)
            # Work of the innermost call's own: an operator that makes tensors (not a
            # profiler marker, which DDP's forward adds, returning a handle or None).
            stack = self._stack
            if stack and isinstance(result, _MADE):
                stack[-1].ops += 1
        elif isinstance(result, torch.Tensor):
            uses.note_operands(args, kwargs)
        if does == ALIASES and args:
            uses.resolver.note_alias(args[0], result)
        return result


_HELPED: Any = object()
"""The kind of a call of `SHAPE_ONLY_CALLS` on the meta device: run with the meta help
entered and counted at the aten level."""

_MADE = (torch.Tensor, tuple, list)
"""What an operator that does work returns: tensors, alone or several."""


class MacCounter:
    """Counts the multiply-accumulates of a pass into the open calls of ``stack``.

    Args:
        stack: The open module calls, innermost last; MACs go to the last.
        uses: Told about the parameters the watched calls read, write and alias.
        catalogue: Where formulas come from (default: `current_catalogue()`).
        every_op: Count every aten operator at the aten level (the same numbers,
            slower; what TorchScript and compiled modules need).
        meta_help: On the meta device, the dispatch mode that gives the shapes of the
            operators whose meta kernel refuses what a real device runs (`MetaPass`),
            entered around the calls of `SHAPE_ONLY_CALLS` alone.

    Attributes:
        watcher: The torch-level mode, to enter around the pass.
        aten: The aten-level mode; entered around the pass too when ``every_op``.
        uncounted: ``{operator name: times run}`` of operators with no formula.

    Examples:
        >>> from modelsummary._trace.params import ParamResolver, ParamUses
        >>> stack = [CallFrame(torch.nn.Linear(4, 2), "fc", None)]
        >>> macs = MacCounter(stack, ParamUses(ParamResolver([]), stack))
        >>> leaf = macs.leaf_formula(torch.nn.Linear)
        >>> x = torch.ones(3, 4)
        >>> macs.count_leaf(stack[0], leaf, x, stack[0].module(x))
        >>> stack[0].mult_adds, macs.uncounted_ops()
        (24, ())
    """

    def __init__(
        self,
        stack: list[CallFrame],
        uses: ParamUses,
        catalogue: Catalogue | None = None,
        *,
        every_op: bool = False,
        meta_help: TorchDispatchMode | None = None,
    ) -> None:
        if catalogue is None:
            catalogue = current_catalogue()
        self.catalogue = catalogue
        self.uncounted: Counter[str] = Counter()
        self.aten = AtenCounter(stack, uses, self.uncounted, catalogue)
        self.watcher = OperatorWatcher(stack, uses, self.aten, self.uncounted, catalogue, meta_help)
        self.watcher.counter_active = every_op

    @property
    def every_op(self) -> bool:
        """Whether the aten-level counter sees every operator."""
        return self.watcher.counter_active

    def count_every_op(self) -> None:
        """From now on count every operator at the aten level (enter `aten` too)."""
        self.watcher.counter_active = True

    @property
    def suspended(self) -> bool:
        """Whether the torch-level mode is off (inside `suspend()`)."""
        return self.aten.noting > 0

    def leaf_formula(self, cls: type) -> LeafFormula | None:
        """The catalogue's formula for a standard leaf class, if it is one."""
        return self.catalogue.leaf_formula(cls)

    def count_leaf(self, frame: CallFrame, formula: LeafFormula, x: Any, output: Any) -> None:
        """Add the MACs of a standard leaf's call, from its shapes, to ``frame``."""
        try:
            frame.mult_adds += formula(frame.module, x, output)
        except FORMULA_ERRORS:
            self.uncounted[type(frame.module).__name__] += 1

    def suspend(self) -> ExitStack:
        """Turn the torch-level mode off, and make sure the aten-level counter is on
        (and noting parameters), until the returned context is exited."""
        with ExitStack() as suspension:
            suspension.enter_context(_no_torch_function())
            if not self.watcher.counter_active:
                suspension.enter_context(self.aten)
            aten = self.aten
            aten.noting += 1

            def resume() -> None:
                aten.noting -= 1

            suspension.callback(resume)
            return suspension.pop_all()

    def uncounted_ops(self) -> tuple[tuple[str, int], ...]:
        """``(operator name, times run)`` of the operators no formula counted, sorted."""
        return tuple(sorted(self.uncounted.items()))
