"""The records of a checked `SummaryRequest`: one traced pass, the census alone without
one, or an exported program read from its graph; `take_trace()` picks which.

`trace_pass()` takes the model's census (on a copy for a lazy model, whose first pass
changes it), builds the `Tracer`, runs the forward pass inside `pass_environment()`,
and returns the `Trace` with the facts of the pass beside it (`PassInfo`).
`pass_environment()` is everything around the pass, undone on exit, also when the
pass raises: meta stand-ins on the meta device, the model's state preserved, the
model moved to the device and back, its modes, inference mode left for a training
estimate, the CUDA peak, the timed extra passes, and a failure told as a
`ModelSummaryError` that names the innermost module. `registered()` is a summary with
no pass: the census of what the model registers.

Examples:
    >>> from torch import nn
    >>> from modelsummary._request import check_request
    >>> model = nn.Sequential(nn.Linear(4, 2), nn.ReLU())
    >>> trace, run = trace_pass(check_request(model, (3, 4), verbose=0))
    >>> [c.path for c in trace.calls], run.input_bytes
    (['', '0', '1'], 48)
    >>> trace, run = registered(check_request(model, verbose=0))
    >>> trace.calls, len(trace.params), run.forward_pass
    ((), 2, False)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.export import ExportedProgram

from ._errors import ModelSummaryError
from ._failure import partial_trace, show_partial
from ._inputs import model_device
from ._present.render import format_inputs, module_name, origin_text
from ._records import FailedCall, PassInfo, Trace
from ._request import SummaryRequest
from ._trace.census import take_census
from ._trace.exported import read_program
from ._trace.meta import META_HINT, MetaPass, fails_only_on_meta, meta_stand_ins
from ._trace.state import lazy_copy, preserved_state
from ._trace.timing import time_modules
from ._trace.tracer import Tracer
from ._trace.values import iter_tensors, map_tensors, tensor_nbytes


def take_trace(request: SummaryRequest) -> tuple[Trace, PassInfo]:
    """The records of the request and the facts of its pass: an exported program read
    (`read_program()`: nothing runs), one traced pass (`trace_pass()`), or without a
    pass the census of what the model registers (`registered()`).

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> from modelsummary._request import check_request
        >>> program = torch.export.export(nn.Linear(4, 2), (torch.zeros(3, 4),))
        >>> trace, run = take_trace(check_request(program, verbose=0))
        >>> trace.calls[0].mult_adds, run.input_bytes
        (24, 48)
        >>> trace, run = take_trace(check_request(nn.Linear(4, 2), verbose=0))
        >>> trace.calls, run.forward_pass
        ((), False)
    """
    if isinstance(request.model, ExportedProgram):
        return read_program(request.model, request.catalogue)
    return trace_pass(request) if request.forward_pass else registered(request)


def trace_pass(request: SummaryRequest) -> tuple[Trace, PassInfo]:
    """Run one traced forward pass of the request's model: what the tracer saw, and the
    facts about the pass beside it.

    On the meta device the pass runs first with `MetaPass` entered around the calls
    whose meta kernel refuses what a real device runs (``torch._grouped_mm`` in
    float32) and nowhere else: a dispatch mode in Python sees every operator, so a pass
    that needs no help is not slowed by it. Only if that pass fails does it run once
    more wholly under `MetaPass`, which also gives shapes to such an operator reached
    some other way and tells a failure that only the meta device has.

    Raises:
        ModelSummaryError: The pass failed; the message names the innermost module
            that was running and the inputs it received, and its ``summary`` holds
            the table up to the failure (printed first, if the request is verbose).

    Examples:
        >>> from torch import nn
        >>> from modelsummary._request import check_request
        >>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
        >>> trace, run = trace_pass(check_request(model, (2, 3), optimizer="sgd"))
        >>> sum(c.mult_adds for c in trace.calls), run.optimizer, trace.saved_bytes
        (40, 'sgd', 32)
    """
    try:
        # on meta a failure runs again: its partial table would be thrown away
        return _one_pass(request, meta_help=False, partial=request.device.type != "meta")
    except ModelSummaryError as err:
        # A failed forward pass is told from its cause; a refusal before it (lazy
        # modules on meta) has none, and MetaPass would not change it.
        if request.device.type != "meta" or err.__cause__ is None:
            show_partial(err, request)
            raise
    # Outside the except block: the first failure is not the context of the second.
    try:
        return _one_pass(request, meta_help=True)
    except ModelSummaryError as err:
        show_partial(err, request)
        raise


def _one_pass(
    request: SummaryRequest, *, meta_help: bool, partial: bool = True
) -> tuple[Trace, PassInfo]:
    """One traced pass; ``meta_help``: under `MetaPass` (on the meta device); ``partial``:
    a failure keeps what was traced until then (see `pass_environment()`)."""
    model = request.module
    census = take_census(model)
    if census.has_lazy():
        # A lazy model's first pass materialises it and changes its classes: run a copy.
        # A copy is small then, since the lazy tensors hold no data yet.
        model = lazy_copy(model)
        census = take_census(model)
    training = request.optimizer is not None  # the estimate needs autograd's saved tensors
    # On meta, the calls whose meta kernel refuses what a real device runs get MetaPass
    # around them alone; a pass that fails anyway runs again wholly under it.
    targeted = MetaPass() if request.device.type == "meta" and not meta_help else None
    tracer = Tracer(
        model,
        census=census,
        saved_tensors=training,
        catalogue=request.catalogue,
        meta_help=targeted,
    )
    with pass_environment(request, model, tracer, meta_help=meta_help, partial=partial) as run:
        with torch.set_grad_enabled(training), tracer:
            model(*run.args, **run.kwargs)
        peak = run.peak_bytes()
        trace = tracer.finish()
        times = run.time_modules() if request.timed else ()
    info = PassInfo(
        input_bytes=_input_bytes(request),
        optimizer=request.optimizer,
        optimizer_state=request.optimizer_state,
        weights_as=request.weights_as,
        peak_bytes=peak,
        times=times,
        ranks=request.ranks,
    )
    return trace, info


def _input_bytes(request: SummaryRequest) -> int:
    return sum(tensor_nbytes(t) for t in iter_tensors([request.args, request.kwargs]))


def registered(request: SummaryRequest) -> tuple[Trace, PassInfo]:
    """A summary without a pass: the census of what the request's model registers.

    Examples:
        >>> from torch import nn
        >>> from modelsummary._request import check_request
        >>> trace, run = registered(check_request(nn.ModuleList([nn.Linear(2, 2)])))
        >>> [m.path for m in trace.modules], run.forward_pass
        (['', '0'], False)
    """
    return take_census(request.module).trace(), PassInfo(
        forward_pass=False, ranks=request.ranks, weights_as=request.weights_as
    )


@dataclass(frozen=True, slots=True)
class PassRun:
    """What the body of `pass_environment()` runs the pass with.

    Examples:
        >>> PassRun(nn.Identity(), [], {}, torch.device("cpu")).peak_bytes() is None
        True
    """

    model: nn.Module
    """The model (a copy, for a lazy model), moved and in its mode."""
    args: list[Any]
    """The positional inputs (normal tensors where inference mode was left)."""
    kwargs: dict[str, Any]
    """The keyword inputs."""
    device: torch.device
    """Where the pass runs."""

    def peak_bytes(self) -> int | None:
        """The CUDA allocator's peak since the environment was entered (``None`` off CUDA)."""
        if self.device.type != "cuda":
            return None
        torch.cuda.synchronize(self.device)
        return torch.cuda.max_memory_allocated(self.device)

    def time_modules(self) -> tuple[tuple[str, float], ...]:
        """Each module's median time over timed extra passes (see `time_modules()`)."""

        def run() -> None:
            with torch.no_grad():
                self.model(*self.args, **self.kwargs)

        return time_modules(self.model, run, self.device)


@contextmanager
def pass_environment(
    request: SummaryRequest,
    model: nn.Module,
    tracer: Tracer,
    *,
    meta_help: bool = False,
    partial: bool = True,
) -> Iterator[PassRun]:
    """Everything around a pass of ``model`` (the request's model or its copy) traced by
    ``tracer``, undone on exit, also when the body raises.

    On entering, in this order: on the meta device, meta stand-ins for the parameters
    and buffers (given to the tracer's resolver) and, with ``meta_help``, `MetaPass`
    under the tracer's modes; the model's state preserved, writes to its parameters
    guarded through the tracer; the model moved to the request's device (unless an
    engine's hooks place its weights); the request's mode set; on CUDA a
    synchronisation and the peak reset; for a training estimate, inference mode left
    with normal tensors for inputs, and the inputs kept out of the saved bytes. On
    exit the model is moved back and its state restored. An exception from the body
    (or from the move, the modes, the timing) leaves as a `ModelSummaryError` that
    names the innermost module that was running, with advice where it fits, and, with
    ``partial``, keeps what was traced until the failure for its table.

    Examples:
        >>> from modelsummary._request import check_request
        >>> model = nn.Sequential(nn.BatchNorm1d(2)).train()
        >>> request = check_request(model, (4, 2), verbose=0)
        >>> with pass_environment(request, model, Tracer(model)) as run:
        ...     model.training, run.model(*run.args).shape
        (False, torch.Size([4, 2]))
        >>> model.training, model[0].num_batches_tracked.item()
        (True, 0)
    """
    target = request.device
    on_meta = target.type == "meta"
    with ExitStack() as contexts:
        if on_meta:  # meta stand-ins first: the state to preserve is then theirs, not copied
            tracer.params.add_stand_ins(contexts.enter_context(meta_stand_ins(model)))
            if meta_help:
                contexts.enter_context(MetaPass())  # under the tracer's own modes
        modules = [module for _, module in tracer.census.modules]
        written = contexts.enter_context(preserved_state(model, devices=[target], modules=modules))
        tracer.uses.guard_writes(written.keep)
        original = model_device(model)
        moved = not on_meta and not request.hooked and target != original and _has_tensors(model)
        try:
            if moved:
                model.to(target)
            # train() is called only when a module's flag differs: it sets the flag
            # of every module through the slow Module.__setattr__.
            training = request.mode == "train"
            if request.mode != "same" and any(m.training != training for m in modules):
                _set_mode(model, training)
            if target.type == "cuda":
                torch.cuda.synchronize(target)
                torch.cuda.reset_peak_memory_stats(target)
            args, kwargs = request.args, request.kwargs
            if request.optimizer is not None and torch.is_inference_mode_enabled():
                # Autograd records nothing in inference mode, and the training estimate
                # needs what it saves: its pass leaves that mode, with normal tensors
                # for inputs (an inference tensor cannot be saved for backward).
                contexts.enter_context(torch.inference_mode(False))
                args, kwargs = map_tensors((args, kwargs), _normal_tensor)
            if tracer.saved is not None:  # only the training estimate counts saved tensors
                tracer.saved.exclude(iter_tensors((args, kwargs)))
            yield PassRun(model, args, kwargs, target)
        except Exception as err:
            error = forward_error(model, tracer.calls.failed, err, on_meta, request.made_inputs)
            if partial:  # what was traced until the failure, for the error's table
                facts = PassInfo(input_bytes=_input_bytes(request), ranks=request.ranks)
                error._partial = partial_trace(tracer, facts)
            raise error from err
        finally:
            if moved:
                model.to(original)


def _set_mode(model: nn.Module, training: bool) -> None:
    """``model.train(training)``, unless the model refuses to switch (the module of an
    exported program, whose graph was traced in one mode, raises): it then runs as it is."""
    with suppress(NotImplementedError):
        model.train(training)


def _has_tensors(model: nn.Module) -> bool:
    return next(model.parameters(), None) is not None or next(model.buffers(), None) is not None


def _normal_tensor(t: torch.Tensor) -> torch.Tensor:
    return t.clone() if t.is_inference() else t


def forward_error(
    model: nn.Module,
    failed: FailedCall | None,
    err: Exception,
    on_meta: bool,
    made_inputs: bool = False,
) -> ModelSummaryError:
    """The error a failed pass is told as: where it failed (the innermost module
    running, ``failed``), with what inputs, the original error, and advice where it
    fits (a real device for a failure only the meta device has; ``dtypes`` for a dtype
    failure on inputs made in the model's dtype).

    Examples:
        >>> forward_error(nn.Linear(2, 2), None, ValueError("bad"), on_meta=False)
        ModelSummaryError('forward pass failed in Linear (before any module ran): ValueError: bad')
    """
    hint = ""
    if failed is None:
        where = f"{type(model).__name__} (before any module ran)"
        inputs = ""
    else:
        where = module_name(failed.path, failed.type_name)
        inputs = f" with inputs {format_inputs(failed.inputs, dtypes=True)}"
        hint += f". {failed.note}" if failed.note else ""
        for origin in failed.origins:
            told = origin_text(origin)
            hint += f". {told[0].upper()}{told[1:]}"
    hint += f". {META_HINT}" if on_meta and fails_only_on_meta(err) else ""
    if made_inputs and any(word in str(err) for word in _DTYPE_WORDS):
        hint += DTYPE_HINT
    told = str(err)
    if told.endswith(".") and hint.startswith(". "):
        hint = hint[1:]
    return ModelSummaryError(
        f"forward pass failed in {where}{inputs}: {type(err).__name__}: {told}{hint}"
    )


DTYPE_HINT = (
    ". The inputs made from input_size have the model's floating dtype unless"
    " dtypes=[...] says otherwise: token ids and other indices need e.g."
    " dtypes=[torch.long]"
)
"""The advice after a dtype failure on inputs made in the model's dtype (the command
line names its own flag instead)."""

# Words of torch's errors over an input's dtype (``Expected tensor for argument #1
# 'indices' to have one of the following scalar types: Long, Int``; ``Input type
# (torch.FloatTensor) and weight type ...``; ``mat1 and mat2 must have the same dtype``).
_DTYPE_WORDS = ("scalar type", "dtype", "Input type (")
