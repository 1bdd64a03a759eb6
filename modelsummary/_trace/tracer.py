"""Stage 1: run one forward pass and record what happened, as plain records.

The `Tracer` is a thin context manager that keeps the hooks and the call stack, over
small parts, each with one job:

* `Census` (``census.py``): what the model registers, from one walk before the pass,
  measured into records after it; the tracer receives it through its constructor;
* `install_hooks()` (``hooks.py``): the module hooks, process-wide or per module;
* `watch_list()` and `closer()` (``leaves.py``): which calls to record, which are
  standard leaves counted from their shapes, and what a returning call adds;
* `CallStack`: the module calls, open and done, their inputs and outputs, and the
  innermost call a failing pass's exception left;
* `ParamResolver` and `ParamUses`: which registered parameter a tensor met during
  the pass stands for, and which call used it;
* `MacCounter`: the multiply-accumulates, from a torch-function mode that sees every
  tensor operation with its original arguments and an aten-level dispatch mode for
  what only the decomposition shows;
* `StorageCounter` and `SavedTensorMeter`: the bytes of the activations and of what
  autograd saves for backward.

``__enter__`` installs process-wide module forward hooks that record the calls of
the traced model's modules made from the tracer's own thread (others are ignored, so
two summaries in two threads cannot see each other), and enters the modes;
``__exit__`` removes everything. A parameter is *used* when it reaches an operator,
whether its module was called or a parent passed it to ``F.linear`` itself.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 2))
    >>> with torch.no_grad(), Tracer(model) as tracer:
    ...     _ = model(torch.zeros(1, 4))
    >>> trace = tracer.finish()
    >>> [(c.path, c.output.shape) for c in trace.calls]
    [('', (1, 2)), ('0', (1, 2))]
    >>> [p.name for p in trace.params if p.key in {k for k, _ in trace.param_uses}]
    ['0.weight', '0.bias']
    >>> [(c.path, c.mult_adds) for c in trace.calls]
    [('', 0), ('0', 8)]
"""

from __future__ import annotations

import inspect
import threading
from collections.abc import Callable
from contextlib import ExitStack
from types import TracebackType
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as module_hooks
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.hooks import RemovableHandle

from .._records import Trace
from .calls import CallFrame, CallStack
from .catalogue import Catalogue
from .census import Census, take_census
from .hooks import install_hooks, remove_hooks
from .leaves import closer, no_leaves, watch_list
from .macs import MacCounter
from .meters import SavedTensorMeter, StorageCounter
from .params import ParamUses

_RAISED: Any = object()
"""What the post-hook's missing ``output`` argument says: the forward raised."""
_Tensor = torch.Tensor
_no_torch_function = torch._C.DisableTorchFunction
_torch_function_modes = torch._C._len_torch_function_stack
# Process-wide forward hooks took ``with_kwargs`` and ``always_call`` in later torch 2.x.
_GLOBAL_HOOKS_TAKE_KWARGS = {"with_kwargs", "always_call"} <= set(
    inspect.signature(module_hooks.register_module_forward_hook).parameters
)
_get_ident = threading.get_ident

# Modules with a fused inference fast path that they skip whenever a torch-function
# mode is active. Inside their calls the tracer suspends its torch-level mode and
# lets the aten-level counter see (and note the parameters of) the fused operator,
# so the summary runs, and measures, the path the model itself runs.
# (nn.TransformerEncoderLayer also refuses its fast path under a torch-function mode.
# It is left to run its unfused path, as under any hook-based tool, so that its
# children are called and counted row by row; the MultiheadAttention inside it still
# takes its own fast path.)
_FAST_PATH_MODULES = (nn.MultiheadAttention,)


class Tracer:
    """Record module calls and parameter use during forward passes of ``model``.

    Use it as a context manager around the forward pass, then call
    `finish()` for the `Trace`. If the pass
    raised, ``calls.failed`` names the innermost module call that was running.

    Args:
        model: The model whose modules to record.
        census: Its `Census`, if taken already (`take_census()`); taken here otherwise.
        saved_tensors: Also count the bytes of the distinct tensors autograd saves
            for backward (with grad enabled), parameters and buffers excluded.
        every_op: Send every aten operator through the aten-level counter instead of
            only the calls the torch level cannot count (slower; the same numbers;
            always so for TorchScript and compiled modules).
        catalogue: What each operator costs (default: the process-wide
            `current_catalogue()`).
        before_write: Called with a parameter just before the pass first writes it
            in place (see `guard_writes()`).
        meta_help: For a pass on the meta device, `MetaPass`: entered around the calls
            whose meta kernel needs it (see `MacCounter`).

    Attributes:
        calls: The `CallStack`.
        census: The `Census` of the model.
        params: The census's `ParamResolver`; give it meta stand-ins with
            ``params.add_stand_ins(...)``.
        uses: The `ParamUses`.
        macs: The `MacCounter`.
        activations: The `StorageCounter` of the outputs.
        saved: The `SavedTensorMeter`, with ``saved_tensors``.

    Examples:
        >>> model = nn.Linear(3, 1)
        >>> with Tracer(model) as t:
        ...     _ = model(torch.ones(2, 3))
        >>> t.finish().calls[0].inputs.items[0].shape
        (2, 3)
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        census: Census | None = None,
        saved_tensors: bool = False,
        every_op: bool = False,
        catalogue: Catalogue | None = None,
        before_write: Callable[[torch.Tensor], None] | None = None,
        meta_help: TorchDispatchMode | None = None,
    ) -> None:
        self.census = census = take_census(model) if census is None else census
        self.params = census.params
        self.activations = StorageCounter()
        stack: list[CallFrame] = []
        self.uses = ParamUses(self.params, stack)
        self.uses.guard_writes(before_write)
        self.macs = MacCounter(stack, self.uses, catalogue, every_op=every_op, meta_help=meta_help)
        self.calls = CallStack(
            closer(stack, self.uses, self.macs, self.activations), stack, flow=census.kernels
        )
        self.saved: SavedTensorMeter | None = None
        if saved_tensors:
            self.saved = SavedTensorMeter(
                self.params.is_state, [*model.parameters(), *model.buffers()]
            )
        self._watched, self._own_hooks = watch_list(census, self.macs.leaf_formula)
        self._open = self.calls.open
        self._close = self.calls.close
        self._aten = self.macs.aten
        self._late: set[int] = set()
        """Ids of the modules whose calls a hook after their own forward hooks closes."""
        self._thread = threading.get_ident()
        self._handles: list[RemovableHandle] = []
        self._entered = ExitStack()
        self._fast_paths = True
        """Whether fused fast paths run with the torch-level mode suspended."""
        # torch.compile warns that process-wide hooks fire twice around its wrapper:
        # a compiled model gets a pair of hooks on each module instead, as does every
        # model on a torch whose process-wide hooks cannot take keyword arguments.
        self._per_module_hooks = census.compiled or not _GLOBAL_HOOKS_TAKE_KWARGS
        # TorchScript and compiled graphs run no torch-level calls the mode could see:
        # every aten operator is counted instead (slower, complete).
        if census.scripts or census.compiled:
            self.macs.count_every_op()
        if self.macs.every_op or self._per_module_hooks:
            no_leaves(self._watched)

    # -- context manager ---------------------------------------------------------------
    def __enter__(self) -> Tracer:
        self._thread = threading.get_ident()
        if _torch_function_modes():
            # The user's own torch-function mode (a device context, an operator
            # logger) must see the model's operators as it would without a summary:
            # no call runs with torch functions off, and MultiheadAttention takes
            # the unfused path that any such mode makes it take.
            no_leaves(self._watched)
            self._fast_paths = False
        with ExitStack() as undo:  # everything entered here is undone if a later step fails
            undo.callback(remove_hooks, self._handles)
            # The hooks ignore modules of other models and calls from other threads, so
            # summaries running in two threads (of two models, or of one) cannot see
            # each other.
            if not self._per_module_hooks:
                self._late.update(id(module) for module in self._own_hooks)
            watched = self._watched
            self._handles += install_hooks(
                pre=self._pre_hook,
                post=self._post_hook,
                close=self._close_call,
                own_hooks=self._own_hooks,
                each=[m for _, m in self.census.modules if id(m) in watched]
                if self._per_module_hooks
                else None,
            )
            undo.enter_context(self.macs.watcher)
            if self.macs.every_op:
                undo.enter_context(self.macs.aten)
            if self.saved is not None:
                undo.enter_context(self.saved)
            self._entered = undo.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.calls.end(exc)  # exits what calls a raise left open entered, innermost first
        finally:
            try:
                self._entered.__exit__(exc_type, exc, tb)  # modes out, then hooks removed
            finally:
                self.params.end_pass()

    # -- hooks -------------------------------------------------------------------------
    # The pre-hook only opens a frame; the post-hook, which also sees keyword
    # arguments, describes the call. Describing reads tensor metadata (shape,
    # dtype, storage): with torch functions disabled those reads do not pass
    # through the mode, which would otherwise run Python for each of them as if
    # the model had called an operator.
    def _pre_hook(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        watched = self._watched.get(id(module))
        if watched is None or _get_ident() != self._thread:
            return
        path, leaf = watched
        frame = self._open(module, path, args)
        if self._aten.noting:  # inside a fused fast path: the aten-level counter sees all
            return
        if leaf is not None:
            # A standard leaf (see standard_leaf()) called on one plain tensor: its
            # parameters and MACs are known from its shapes, so its operators need not
            # pass through the mode (the bulk of a CNN's calls).
            if len(args) == 1 and type(args[0]) is _Tensor:
                frame.leaf = leaf
                frame.suspended = suspension = _no_torch_function()
                suspension.__enter__()
        elif isinstance(module, _FAST_PATH_MODULES) and self._fast_paths:
            frame.suspended = self.macs.suspend()

    def _post_hook(
        self,
        module: nn.Module,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        output: Any = _RAISED,
    ) -> None:
        """Close a call. Registered ``always_call``: torch passes ``(module, args,
        kwargs, output)`` after forward returned, and ``(module, args, output)`` from
        its ``except`` block after forward raised (this hook had not run then)."""
        if id(module) not in self._watched or _get_ident() != self._thread:
            return
        if output is _RAISED:
            self.calls.raised(module, args)
        elif id(module) not in self._late:  # else its own late hook closes it
            self._close(module, args, kwargs, output)  # not through _close_call: hot

    def _close_call(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> None:
        if id(module) not in self._watched or _get_ident() != self._thread:
            return
        self.calls.close(module, args, kwargs, output)

    # -- results -----------------------------------------------------------------------
    def finish(self) -> Trace:
        """Turn what was observed into a `Trace`.

        Call it after the pass: lazy parameters are only measurable then.

        Examples:
            >>> model = nn.Sequential(nn.LazyLinear(2))
            >>> with torch.no_grad(), Tracer(model) as t:
            ...     _ = model(torch.ones(1, 5))
            >>> t.finish().params[0].numel
            10
        """
        registered = self.census.measure()
        census = self.census
        called = (
            [frame.module for frame in self.calls.frames] if census.scripts or census.packed else []
        )
        return Trace(
            modules=registered.modules,
            params=registered.params,
            buffers=registered.buffers,
            calls=self.calls.records(),
            param_uses=tuple(
                {**self.uses.uses, **census.script_uses(called), **census.packed_uses(called)}
            ),
            activation_bytes=self.activations.total,
            uncounted_ops=self.macs.uncounted_ops(),
            saved_bytes=None if self.saved is None else self.saved.total,
            masked=registered.masked,
            failed=self.calls.failed,
        )
