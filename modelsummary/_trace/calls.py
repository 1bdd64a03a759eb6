"""The module call stack of a traced pass, and which call an exception came out of.

`CallStack` opens a `CallFrame` when a module's forward starts and
closes it when the forward returns or raises, describing its inputs and output as
plain records on the way. When the pass fails it names the innermost call the
exception left, as a `FailedCall`.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> lin, x = nn.Linear(2, 3), torch.ones(1, 2)
    >>> calls = CallStack()
    >>> frame = calls.open(lin, "fc", (x,))
    >>> calls.close(lin, (x,), {}, lin(x)) is frame, calls.stack
    (True, [])
    >>> calls.records()[0].output
    TensorSpec(shape=(1, 3), dtype='float32', nbytes=12)
"""

from __future__ import annotations

import dataclasses
import sys
import weakref
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from typing import Any

import torch
from torch import nn

from .._records import (
    CallRecord,
    FailedCall,
    InputOrigin,
    MapSpec,
    OtherSpec,
    SeqSpec,
    TensorSpec,
    ValueSpec,
    positional,
)
from .values import describe, describe_call, dtype_name, tensor_nbytes

_no_torch_function = torch._C.DisableTorchFunction
_Tensor = torch.Tensor
_new_record = positional(CallRecord)
"""`CallRecord` from every field by position: once per call of every pass."""
_ref = weakref.ref


@dataclasses.dataclass(slots=True)
class CallFrame:
    """A module call in progress (mutable while the call runs).

    Examples:
        >>> frame = CallFrame(nn.ReLU(), "act", (torch.zeros(2),))
        >>> frame.described_inputs().items[0].shape
        (2,)
    """

    module: nn.Module
    """The module called."""
    path: str
    """Its dotted path; the root is ``""``."""
    args: tuple[Any, ...] | None
    """The positional arguments, held until the call's inputs are described."""
    index: int = 0
    """Its place in the order calls started (its descendants come after it)."""
    inputs: SeqSpec | None = None
    """The described inputs, once known."""
    output: ValueSpec | None = None
    """The described output, once the call returned."""
    mult_adds: int = 0
    """Multiply-accumulates of the operators run while this call was innermost."""
    comm_bytes: int = 0
    """Bytes the collectives run while this call was innermost moved."""
    suspended: AbstractContextManager[Any] | None = None
    """A context entered for this call that turns torch functions off (the torch-level
    mode suspended), exited when the call closes."""
    leaf: Any = None
    """What the tracer keeps of a standard leaf counted from its shapes, if it is one."""
    training: bool = False
    """The module's ``training`` flag when the call started."""
    ops: int = 0
    """Torch functions (not metadata reads) run while this call was innermost."""
    input_from: int | None = None
    """See `CallRecord.input_from`."""
    output_from: int | None = None
    """See `CallRecord.output_from`."""

    def described_inputs(self) -> SeqSpec:
        """The inputs: as the close of the call saw them, else the positional arguments
        (a call that raised never reaches its post-hook, which alone sees keywords)."""
        if self.inputs is None:
            with _no_torch_function():
                self.inputs = describe_call(self.args or (), {})
            self.args = None
        return self.inputs


OnClose = Callable[[CallFrame, tuple[Any, ...], Any], None]
"""``(frame, args, output)``: called, with torch functions off, for each call that returned."""


def _nothing(frame: CallFrame, args: tuple[Any, ...], output: Any) -> None:
    return None


class CallStack:
    """The calls of one pass: those open (`stack`), and all in the order they started.

    Args:
        on_close: Called for each call that returned, after its output is described,
            with torch functions off (so the tensor reads there do not reach a
            torch-function mode). It must not hold the call stack's owner (no cycle).
        stack: The list to keep the open calls in, if parts built before the call
            stack read it (the innermost call is the last); a new one by default.
        flow: Record which call's output each call took and returned (see `flow`).

    Examples:
        >>> outer, inner = nn.Sequential(nn.ReLU()), nn.ReLU()
        >>> calls, x = CallStack(), torch.ones(2)
        >>> _ = calls.open(outer, "", (x,)), calls.open(inner, "0", (x,))
        >>> try:
        ...     raise ValueError("bad input")
        ... except ValueError:
        ...     calls.raised(inner, (x,))
        ...     calls.raised(outer, (x,))
        ...     calls.end(sys.exc_info()[1])
        >>> calls.failed.path, calls.failed.type_name, [r.raised for r in calls.records()]
        ('0', 'ReLU', [True, True])
    """

    def __init__(
        self,
        on_close: OnClose = _nothing,
        stack: list[CallFrame] | None = None,
        *,
        flow: bool = True,
    ) -> None:
        self.flow = flow
        """Whether to record the data flow between calls (`CallRecord.input_from` and
        ``output_from``), which only receptive fields read: a model with no kernel has
        none, and its pass is spared the look-ups."""
        self.stack: list[CallFrame] = [] if stack is None else stack
        """The open calls, innermost last."""
        self.frames: list[CallFrame] = []
        """Every call, in the order they started."""
        self.failed: FailedCall | None = None
        """Set by `end()` when the pass raised: the innermost call it left."""
        self._on_close = on_close
        self._specs: dict[Any, TensorSpec] = {}
        self._single_inputs: dict[Any, SeqSpec] = {}
        self._returned: dict[int, tuple[weakref.ref[torch.Tensor], int]] = {}
        """``{id(tensor): (weak reference, index of the last call that returned it)}``"""
        self._error: BaseException | None = None
        self._error_frame: CallFrame | None = None
        """The exception being raised through the modules, and the first call it left."""

    def open(self, module: nn.Module, path: str, args: tuple[Any, ...]) -> CallFrame:
        """Open a call of ``module`` (its forward is about to run)."""
        frame = CallFrame(module, path, args, len(self.frames))
        frame.training = module.training
        if not self.stack and self.flow:  # the model's own call: data flow starts there
            for arg in args:
                if isinstance(arg, torch.Tensor):
                    self._returned[id(arg)] = (weakref.ref(arg), -1)
        self.stack.append(frame)
        self.frames.append(frame)
        return frame

    def close(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> CallFrame | None:
        """Close the call of ``module``, which returned ``output``; also any child call a
        caught exception left open. Returns the frame closed (``None``: not open)."""
        stack = self.stack
        if not stack or stack[-1].module is not module:  # a child that raised is still open
            return self._pop_to(module, args, kwargs, output, raised=False)
        frame = stack.pop()  # the usual case, kept lean: it runs once per module call
        suspension = frame.suspended
        if suspension is None:
            with _no_torch_function():
                self._record(frame, args, kwargs, output)
        else:  # what a call suspends turns torch functions off: they are off already
            self._record(frame, args, kwargs, output)
        if suspension is not None:  # after the block above, which restores its own state
            suspension.__exit__(None, None, None)
            frame.suspended = None
        return frame

    def raised(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        """Close a call of ``module`` whose forward raised (inside the ``except`` block
        that handles the exception, as torch runs an ``always_call`` hook)."""
        if not any(frame.module is module for frame in self.stack):
            return
        frame = self._pop_to(module, args, {}, None, raised=True)
        # The exception at hand tells the first (innermost) module it propagates out of
        # from the ones above it.
        error = sys.exc_info()[1]
        if error is not None and error is not self._error:
            self._error, self._error_frame = error, frame

    def end(self, exc: BaseException | None) -> None:
        """The pass is over (``exc``: what it raised). Exit what open calls entered, note
        the failed call, and drop the exception (it holds frames: no cycle)."""
        try:
            for frame in reversed(self.stack):  # calls a raise left open, innermost first
                if frame.suspended is not None:
                    frame.suspended.__exit__(None, None, None)
                    frame.suspended = None
        finally:
            failed = None
            if exc is not None:
                if self.stack:  # not an Exception (KeyboardInterrupt): no hook closed them
                    failed = self.stack[-1]
                elif exc is self._error:
                    failed = self._error_frame
            if failed is not None and exc is not None:
                self.failed = failed_call(failed, self.frames, exc)
            self.stack.clear()
            self._error = self._error_frame = None

    def records(self) -> tuple[CallRecord, ...]:
        """Every call as a `CallRecord`, in start order."""
        none = OtherSpec("NoneType")
        return tuple(
            [
                _new_record(  # every field by position: path, inputs, output, mult_adds,
                    # raised, comm_bytes, training, ops, input_from, output_from
                    f.path,
                    f.described_inputs() if f.inputs is None else f.inputs,
                    none if f.output is None else f.output,
                    f.mult_adds,
                    f.output is None,
                    f.comm_bytes,
                    f.training,
                    f.ops,
                    f.input_from,
                    f.output_from,
                )
                for f in self.frames
            ]
        )

    def _record(
        self, frame: CallFrame, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> None:
        """Describe a call that returned (with torch functions off)."""
        frame.inputs = self._describe_inputs(args, kwargs)
        # Which call's output this call took, and returned: the data flow between calls
        # (receptive fields follow it). A weak reference tells a live tensor from a new
        # one at a reused address.
        if self.flow:
            returned = self._returned
            if args:
                x = args[0]
                if isinstance(x, _Tensor):
                    seen = returned.get(id(x))
                    if seen is not None and seen[0]() is x:
                        frame.input_from = seen[1]
            if isinstance(output, _Tensor):
                address = id(output)
                seen = returned.get(address)
                if seen is not None and seen[0]() is output:
                    frame.output_from = seen[1]
                returned[address] = (_ref(output), frame.index)
        if type(output) is _Tensor:  # describe(), inline for the usual output
            specs = self._specs
            spec = specs.get((output.shape, output.dtype))
            frame.output = describe(output, specs) if spec is None else spec
        else:
            frame.output = describe(output, self._specs)
        frame.args = None
        self._on_close(frame, args, output)

    def _describe_inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> SeqSpec:
        """`describe_call()`, with one shared record per shape for one-tensor calls."""
        if len(args) == 1 and not kwargs and type(args[0]) is _Tensor:
            key = (args[0].shape, args[0].dtype)
            inputs = self._single_inputs.get(key)
            if inputs is None:
                inputs = self._single_inputs[key] = describe_call(args, {}, self._specs)
            return inputs
        return describe_call(args, kwargs, self._specs)

    def _pop_to(
        self,
        module: nn.Module,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        output: Any,
        *,
        raised: bool,
    ) -> CallFrame | None:
        """Close the call of ``module`` (and any child a caught exception left open)."""
        closed = None
        stack = self.stack
        suspended: list[AbstractContextManager[Any]] = []
        with _no_torch_function():
            # Pop down to this module's own frame: a child that raised inside a
            # try/except of its parent and was not closed then is closed now.
            while stack:
                frame = stack.pop()
                if frame.suspended is not None:
                    suspended.append(frame.suspended)
                    frame.suspended = None
                if frame.module is not module:
                    frame.described_inputs()
                    continue
                closed = frame
                if raised:
                    frame.inputs = self._describe_inputs(args, kwargs)
                    frame.args = None
                else:
                    self._record(frame, args, kwargs, output)
                break
        # Outside the block above, which restores the torch-function state on exit.
        for suspension in suspended:
            suspension.__exit__(None, None, None)
        return closed


def failed_call(
    frame: CallFrame, frames: Sequence[CallFrame], error: BaseException | None = None
) -> FailedCall:
    """The record of the call a pass failed in: its inputs, the shapes of its module's
    parameters, and where each of its tensor inputs came from, when a call before it
    returned a tensor of that shape and dtype (the latest such call).

    ``error`` is what the pass raised: its traceback holds the call's own arguments,
    keywords included (a hook of a call that raised sees the positional ones only),
    which the frame's inputs are then described from; an embedding asked for an index
    it does not have says its size against the index (`FailedCall.note`).

    Examples:
        >>> first, second = nn.Linear(2, 3), nn.Linear(4, 1)
        >>> calls, x = CallStack(), torch.ones(1, 2)
        >>> _ = calls.open(first, "0", (x,)), calls.close(first, (x,), {}, first(x))
        >>> frame = calls.open(second, "1", (first(x),))
        >>> failed = failed_call(frame, calls.frames)
        >>> [(name, spec.shape) for name, spec in failed.params]
        [('weight', (1, 4)), ('bias', (1,))]
        >>> [(o.spec.shape, o.path, o.module) for o in failed.origins]
        [((1, 3), '0', 'Linear(in_features=2, out_features=3, bias=True)')]
    """
    module = frame.module
    called = None if error is None else _call_arguments(error, module)
    note = ""
    with _no_torch_function():
        if called is not None and called[1]:
            frame.inputs = describe_call(*called)
            frame.args = None
        inputs = frame.described_inputs()
        if called is not None and isinstance(error, IndexError):
            note = _index_note(frame.path, module, called)
        params = tuple(
            (name, TensorSpec(tuple(p.shape), dtype_name(p.dtype), tensor_nbytes(p)))
            for name, p in module._parameters.items()
            if p is not None and not isinstance(p, nn.parameter.UninitializedParameter)
        )
    origins: list[InputOrigin] = []
    for spec in dict.fromkeys(_tensor_inputs(inputs)):
        for earlier in reversed(frames[: frame.index]):
            if earlier.output == spec:
                origins.append(InputOrigin(spec, earlier.path, _module_text(earlier.module)))
                break
    return FailedCall(
        frame.path, type(module).__name__, inputs, frame.index, params, tuple(origins), note
    )


_CALL_CODES = frozenset({nn.Module._call_impl.__code__, nn.Module._wrapped_call_impl.__code__})
"""The code of ``Module.__call__``'s steps, whose frames hold a call's arguments."""


def _call_arguments(
    error: BaseException, module: nn.Module
) -> tuple[tuple[Any, ...], dict[str, Any]] | None:
    """``(args, kwargs)`` of the innermost call of ``module`` that ``error`` passed
    through, read from its traceback; ``None`` when it passed through none."""
    found = None
    tb = error.__traceback__
    while tb is not None:
        code_frame = tb.tb_frame
        if code_frame.f_code in _CALL_CODES:
            local = code_frame.f_locals
            if local.get("self") is module:
                found = local
        tb = tb.tb_next
    if found is None:
        return None
    args, kwargs = found.get("args"), found.get("kwargs")
    if not isinstance(args, tuple) or not isinstance(kwargs, dict):
        return None
    return args, kwargs


def _index_note(
    path: str, module: nn.Module, called: tuple[tuple[Any, ...], dict[str, Any]]
) -> str:
    """An embedding's size against the largest index it was asked for.

    Examples:
        >>> _index_note("transformer.wpe", nn.Embedding(1024, 4), ((torch.arange(2048),), {}))
        'wpe has 1,024 positions, the input asks for 2,048'
    """
    if not isinstance(module, nn.Embedding):
        return ""
    args, kwargs = called
    ids = args[0] if args else kwargs.get("input")
    if (
        not isinstance(ids, torch.Tensor)
        or ids.is_meta
        or ids.is_floating_point()
        or not ids.numel()
    ):
        return ""
    asked = int(ids.max()) + 1
    if asked <= module.num_embeddings:  # a negative index, say: the error says it
        return ""
    name = path.rpartition(".")[2] or type(module).__name__
    rows = "positions" if "pos" in name or name == "wpe" else "rows"
    return f"{name} has {module.num_embeddings:,} {rows}, the input asks for {asked:,}"


def _tensor_inputs(inputs: SeqSpec) -> list[TensorSpec]:
    """The tensors among a call's arguments, positional and keyword (not inside others)."""
    found: list[TensorSpec] = []
    for item in inputs.items:
        if isinstance(item, TensorSpec):
            found.append(item)
        elif isinstance(item, MapSpec):
            found.extend(v for _, v in item.items if isinstance(v, TensorSpec))
    return found


def _module_text(module: nn.Module) -> str:
    """A module as the first line of its ``repr``: ``Linear(in_features=20, ...)``."""
    try:
        settings = module.extra_repr().split("\n")[0]
    except Exception:  # a user's extra_repr() that fails says nothing here
        settings = ""
    return f"{type(module).__name__}({settings})"
