"""``summary()``: check the arguments, trace one pass, build the tree, return a ``ModelSummary``.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.conv1 = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    ...         self.conv2 = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    ...     def forward(self, x):
    ...         return self.conv1(self.conv1(x))
    >>> s = summary(Net(), (1, 1, 512, 512), verbose=0)
    >>> s.total_params, s.unused_params, s.all_params, s.unused_modules
    (9, 9, 18, ('conv2',))
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import replace
from typing import Any

import torch
from torch import nn
from torch.export import ExportedProgram

from ._errors import ModelSummaryError
from ._failure import partial_trace, show_partial
from ._inputs import (
    build_inputs,
    check_available,
    check_columns_without_input,
    check_forward_arguments,
    check_has_forward,
    check_mode,
    check_model,
    check_options,
    forward_takes_arguments,
    has_forward,
    input_sizes,
    is_int,
    model_device,
    model_float_dtype,
    normalize_device,
)
from ._present.render import COLUMNS, RenderOptions, format_inputs, module_name, origin_text
from ._program import summarize_program
from ._records import OptimizerState, PassInfo, Trace, WeightsAs
from ._result import ModelSummary
from ._trace.catalogue import Catalogue, current_catalogue
from ._trace.census import take_census
from ._trace.engines import execution_device, rank_and_world
from ._trace.meta import META_HINT, MetaPass, fails_only_on_meta, meta_stand_ins
from ._trace.optim import optimizer_state
from ._trace.state import lazy_copy, preserved_state
from ._trace.timing import time_modules
from ._trace.tracer import Tracer
from ._trace.values import iter_tensors, map_tensors, tensor_nbytes
from ._trace.whatif import floating_weights, linear_weights
from ._tree.build import build_tree
from ._tree.memory import check_optimizer
from ._tree.weights_as import WEIGHT_FORMATS, check_weights_as


def summary(
    model: nn.Module | ExportedProgram,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    input_data: torch.Tensor | Sequence[Any] | Mapping[str, Any] | None = None,
    batch_dim: int | None = None,
    cache_forward_pass: bool | None = None,
    col_names: Iterable[str] | None = None,
    col_width: int | None = None,
    depth: int = 3,
    device: torch.device | str | None = None,
    dtypes: Sequence[torch.dtype] | None = None,
    mode: str | None = None,
    row_settings: Iterable[str] | None = None,
    verbose: int | None = None,
    *,
    optimizer: str | torch.optim.Optimizer | None = None,
    formulas: Mapping[Any, Callable[..., int]] | None = None,
    weights_as: str | None = None,
    **kwargs: Any,
) -> ModelSummary:
    """Summarise ``model``: run one forward pass and count what it used.

    The signature matches torchinfo's ``summary`` so switching is one import.

    Args:
        model: The module to summarise. It is left exactly as it was; a model
            with lazy modules is summarised on a copy, so it stays lazy. Or a
            ``torch.export.ExportedProgram``, summarised from its graph without
            running it (no input: the shapes are those it was exported with).
        input_size: One shape, or a list of shapes for several positional inputs
            (``[]`` in the list: a 0-d tensor).
        input_data: A tensor (or numpy array), a sequence of positional arguments,
            or a dict of keyword arguments. Give this or ``input_size``; with neither (and no
            forward keyword arguments) nothing runs, and the summary lists the
            modules and parameters as registered, as torchinfo's does (also for a
            module without ``forward``, such as ``nn.ModuleList``).
        batch_dim: Insert a dimension of size 1 at this index of each ``input_size``.
        cache_forward_pass: Accepted for torchinfo compatibility. Every call runs
            its own pass: no process-global cache is kept. To draw a summary again
            with other columns or depth, use `ModelSummary.with_options()`.
        col_names: Columns to show: ``input_size``, ``output_size``,
            ``num_params``, ``params_percent``, ``kernel_size``, ``groups``,
            ``mult_adds``, ``flops`` (twice the mult-adds), ``trainable``, ``calls``,
            ``time``. Defaults to output size and parameters. ``time`` runs one
            warm-up and three timed extra passes and shows each module's median
            wall time (indicative only).
        col_width: Minimum width of each value column; by default each column is
            as wide as its content, and the printed table fits the terminal.
        depth: Deepest row to show; deeper modules fold into their ancestor,
            whose numbers then cover the folded rows.
        device: Where to run the pass. Defaults to the model's device; a model on
            another device is moved there for the pass and moved back after.
        dtypes: One dtype (or legacy type, ``torch.LongTensor``) per ``input_size``
            entry (default: the dtype of the model's first floating-point
            parameter, float32 if it has none).
        mode: ``"eval"`` (default), ``"train"``, or ``"same"`` (keep each
            module's current mode). Modes are restored afterwards.
        row_settings: ``ascii_only`` (ASCII tree), ``depth`` (append
            ``depth-index``), ``list_unused`` (list each parameter-free module that
            never ran, instead of one line that counts them), ``fold_repeats`` (each
            run of identical consecutive siblings as one row, ``0-11 (GPT2Block) x12`` in ASCII,
            with the run's summed counts); ``var_names`` and
            ``hide_recursive_layers`` are accepted and always in effect.
        verbose: 0 prints nothing, 1 prints the table, 2 prints every depth.
            Default: 1 in scripts, 0 in an interactive session, where the
            returned value displays itself.
        optimizer: Add a training-memory estimate for this optimizer (``"sgd"``,
            ``"momentum"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``):
            gradients, optimizer state, and the activations autograd saves for
            backward, measured by running the pass with grad enabled. Or the
            ``torch.optim.Optimizer`` itself: the state then follows its class, its
            groups' settings and its state after steps, only the trainable
            parameters in its groups keep state, and the footer names trainable
            parameters in no group and frozen ones still in one.
        weights_as: Size the weights as if stored in this format (``"int8"``,
            ``"int4"``, ``"nf4"``, ``"fp4"``, ``"float8_e4m3fn"``, ``"bfloat16"``,
            ``"float16"``), the way the quantization libraries store them: the
            linear layers' weights with their scales, the output head, embeddings
            and norms kept (see docs/quantization.md). Nothing is converted; on the
            meta device it needs no memory and no library.
        formulas: Mult-add formulas for this call only, ``{operator: formula}``,
            on top of the built-in ones and those added with
            `register_formula()` (see there for the forms).
        **kwargs: Passed to ``model.forward``.

    Returns:
        The `ModelSummary`.

    Raises:
        TypeError: An argument of the wrong type (checked before any pass).
        ValueError: An argument with a wrong value (checked before any pass).
        ModelSummaryError: The forward pass raised; names the innermost module.

    Examples:
        >>> s = summary(nn.Linear(8, 4), input_size=(2, 8), verbose=0)
        >>> s.total_params
        36
    """
    if isinstance(model, ExportedProgram):  # read from its graph: nothing runs
        refused: dict[str, Any] = {"input_size": input_size, "input_data": input_data}
        refused.update(batch_dim=batch_dim, device=device, dtypes=dtypes, mode=mode)
        refused.update(optimizer=optimizer, weights_as=weights_as, **kwargs)
        return summarize_program(
            model,
            col_names=col_names,
            col_width=col_width,
            depth=depth,
            row_settings=row_settings,
            verbose=verbose,
            formulas=formulas,
            refused=refused,
        )
    check_model(model)
    # Under a process group every rank summarises, and by default only rank 0 prints.
    ranks = rank_and_world()
    quiet_rank = verbose is None and ranks is not None and ranks[0] != 0
    options, verbose = check_options(col_names, col_width, depth, row_settings, verbose)
    if quiet_rank:
        verbose = 0
    mode = check_mode(mode)
    optimizer, optimizer_state = _check_optimizer(optimizer, model)
    stored_as = _weights_as(check_weights_as(weights_as), model)
    if cache_forward_pass not in (None, True, False):
        raise TypeError(f"cache_forward_pass must be a bool or None, got {cache_forward_pass!r}")
    if batch_dim is not None and (not is_int(batch_dim) or batch_dim < 0):
        raise ValueError(f"batch_dim must be a non-negative integer or None, got {batch_dim!r}")
    catalogue = current_catalogue()
    if formulas is not None:
        catalogue = catalogue.with_formulas(formulas)
    # A model whose hooks load its weights for each call (accelerate's offloading) runs
    # where those hooks put them, though its parameters rest on meta.
    hooked = execution_device(model)
    target = normalize_device(device) or hooked or model_device(model)
    check_available(target)
    made = input_size is not None and dtypes is None  # inputs of the model's own dtype
    args, forward_kwargs = build_inputs(
        input_size,
        input_data,
        batch_dim,
        dtypes,
        target,
        model_float_dtype(model) if made else torch.float32,
    )
    forward_kwargs.update(kwargs)
    shapes = input_sizes(input_size, input_data)  # torchinfo's ModelStatistics.input_size
    no_input = not args and not forward_kwargs
    if no_input and (not has_forward(model) or forward_takes_arguments(model)):
        # torchinfo's summary(model): no input, no pass (a forward whose arguments all
        # have defaults, as Hugging Face's, would run on none; a container has no
        # forward), only what the model registers; by default without the columns that
        # need a pass (shapes), which would hold nothing
        if col_names is None:
            kept = tuple(c for c in options.columns if not COLUMNS[c].needs_pass)
            options = replace(options, columns=kept)
        trace = _registered_only(model, optimizer, options)
        tree = build_tree(trace, PassInfo(forward_pass=False, ranks=ranks, weights_as=stored_as))
        result = ModelSummary(tree, options, input_size=shapes)
        if verbose:
            print(result)
        return result
    check_has_forward(model)
    check_forward_arguments(model, args, forward_kwargs)

    with _gc_paused():
        try:
            trace, run = _traced_pass(
                model,
                args,
                forward_kwargs,
                target,
                mode,
                optimizer,
                timed=any(COLUMNS[c].needs_timing for c in options.columns),
                made_inputs=made,
                catalogue=catalogue,
                hooked=hooked is not None,
            )
        except ModelSummaryError as error:  # the table up to the failure, then the error
            show_partial(error, options, shapes, ranks, verbose)
            raise
        run = replace(run, ranks=ranks, optimizer_state=optimizer_state, weights_as=stored_as)
        tree = build_tree(trace, run)
        # Freed while the collector is paused: it resumes with only the tree to look at.
        del trace
    result = ModelSummary(tree, options, input_size=shapes)
    if verbose:
        print(result)
    return result


def _weights_as(name: str | None, model: nn.Module) -> WeightsAs | None:
    """The weights ``weights_as=name`` sizes in its format (see `WEIGHT_FORMATS`)."""
    if name is None:
        return None
    every = WEIGHT_FORMATS[name].every_float
    return WeightsAs(name, floating_weights(model) if every else linear_weights(model))


def _check_optimizer(
    optimizer: object, model: nn.Module
) -> tuple[str | None, OptimizerState | None]:
    """The optimizer's name for the estimate, and an optimizer object's state per parameter."""
    if isinstance(optimizer, torch.optim.Optimizer) or isinstance(
        getattr(optimizer, "optimizer", None), torch.optim.Optimizer
    ):  # an optimizer, or a trainer's wrapper of one (LightningOptimizer)
        state = optimizer_state(optimizer, model)  # type: ignore[arg-type]
        return state.name, state
    return check_optimizer(optimizer), None


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during the pass and the tree building.

    A summary allocates a few small records per module call; with a large model
    alive, each collection walks all of the model's objects again (half the time
    of a summary of 10,000 modules). Reference counting still frees every tensor
    as soon as it is dropped, so no activation outlives its use.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _registered_only(model: nn.Module, optimizer: str | None, options: RenderOptions) -> Trace:
    """The trace of a summary without an input: the modules and parameters as registered."""
    if optimizer is not None:
        raise ValueError("optimizer= needs a forward pass: give input_size or input_data")
    check_columns_without_input(options.columns)
    return take_census(model).trace()  # a lazy module's parameters are listed unsized


def _traced_pass(
    model: nn.Module,
    args: list[Any],
    kwargs: dict[str, Any],
    target: torch.device,
    mode: str,
    optimizer: str | None = None,
    timed: bool = False,
    made_inputs: bool = False,
    catalogue: Catalogue | None = None,
    hooked: bool = False,
) -> tuple[Trace, PassInfo]:
    """One traced pass of ``model``: what the tracer saw, and the facts about the pass
    beside it. ``made_inputs`` says the inputs were built from ``input_size`` in the
    model's own dtype (no ``dtypes`` given), for the advice of a failure over their dtype;
    ``hooked`` that hooks load the model's weights on their device for each call
    (accelerate's offloading): such a model is neither moved nor refused for resting on
    meta."""
    input_bytes = sum(tensor_nbytes(t) for t in iter_tensors([args, kwargs]))
    original = model_device(model)
    on_meta = target.type == "meta"
    if original.type == "meta" and not on_meta and not hooked:
        raise ValueError(
            f"the model is on the meta device and has no values to run on {target};"
            " summarise it with device='meta' (or leave device unset)"
        )
    # The training estimate needs autograd's saved tensors, so that pass keeps grad on.
    census = take_census(model)
    if census.has_lazy():
        # A lazy model's first pass materialises it and changes its classes: run a copy.
        # A copy is small then, since the lazy tensors hold no data yet.
        model = lazy_copy(model)
        census = take_census(model)
    tracer = Tracer(model, census=census, saved_tensors=optimizer is not None, catalogue=catalogue)
    on_cuda = target.type == "cuda"
    with ExitStack() as contexts:
        if on_meta:  # meta stand-ins first: the state to preserve is then theirs, not copied
            tracer.params.add_stand_ins(contexts.enter_context(meta_stand_ins(model)))
            contexts.enter_context(MetaPass())  # under the tracer's own modes
        modules = tracer.modules
        written = contexts.enter_context(preserved_state(model, devices=[target], modules=modules))
        tracer.uses.guard_writes(written.keep)
        moved = (
            not on_meta and not hooked and target != original and any(True for _ in _tensors(model))
        )
        try:
            if moved:
                model.to(target)
            # train() is called only when a module's flag differs: it sets the flag
            # of every module through the slow Module.__setattr__.
            if mode != "same" and any(m.training != (mode == "train") for m in modules):
                _set_mode(model, mode == "train")
            if on_cuda:
                torch.cuda.synchronize(target)
                torch.cuda.reset_peak_memory_stats(target)
            if optimizer is not None and torch.is_inference_mode_enabled():
                # Autograd records nothing in inference mode, and the training estimate
                # needs what it saves: its pass leaves that mode, with normal tensors
                # for inputs (an inference tensor cannot be saved for backward).
                contexts.enter_context(torch.inference_mode(False))
                args, kwargs = map_tensors((args, kwargs), _normal_tensor)
            if tracer.saved is not None:  # only the training estimate counts saved tensors
                tracer.saved.exclude(iter_tensors((args, kwargs)))
            with torch.set_grad_enabled(optimizer is not None), tracer:
                model(*args, **kwargs)
            peak = None
            if on_cuda:
                torch.cuda.synchronize(target)
                peak = torch.cuda.max_memory_allocated(target)
            trace = tracer.finish()
            times = _time_pass(model, args, kwargs, target) if timed else ()
        except Exception as err:
            error = _forward_error(model, tracer, err, on_meta, made_inputs)
            error._partial = partial_trace(tracer, PassInfo(input_bytes=input_bytes))
            raise error from err
        finally:
            if moved:
                model.to(original)
    return trace, PassInfo(
        input_bytes=input_bytes, optimizer=optimizer, peak_bytes=peak, times=times
    )


def _set_mode(model: nn.Module, training: bool) -> None:
    """``model.train(training)``, unless the model refuses to switch (the module of an
    exported program, whose graph was traced in one mode, raises): it then runs as it is."""
    with suppress(NotImplementedError):
        model.train(training)


def _time_pass(
    model: nn.Module, args: list[Any], kwargs: dict[str, Any], device: torch.device
) -> tuple[tuple[str, float], ...]:
    def run() -> None:
        with torch.no_grad():
            model(*args, **kwargs)

    return time_modules(model, run, device)


def _normal_tensor(t: torch.Tensor) -> torch.Tensor:
    return t.clone() if t.is_inference() else t


def _tensors(model: nn.Module) -> Iterable[torch.Tensor]:
    yield from model.parameters()
    yield from model.buffers()


def _forward_error(
    model: nn.Module, tracer: Tracer, err: Exception, on_meta: bool, made_inputs: bool = False
) -> ModelSummaryError:
    failed = tracer.calls.failed
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
