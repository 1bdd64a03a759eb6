"""``summary()``'s arguments, checked into one request before anything runs.

`check_request()` makes a `SummaryRequest` from the arguments, or raises a clear
``TypeError``/``ValueError``: the model, the drawing options (checked beside them, in
``_present/options.py``), the mode, the optimizer, the formulas, the device, and the
inputs built on it. It also decides whether a pass runs at all: with no input (and
no forward keyword arguments) a summary lists what the model registers, as
torchinfo's does, and the arguments that need a pass are refused then. An exported
program is read from its graph, never run: the arguments of a pass are refused for
it. Nothing here runs the model or changes it.

Examples:
    >>> from torch import nn
    >>> request = check_request(nn.Linear(3, 2), input_size=(1, 3), verbose=0)
    >>> request.forward_pass, [tuple(a.shape) for a in request.args], request.device
    (True, [(1, 3)], device(type='cpu'))
    >>> check_request(nn.Linear(3, 2), verbose=0).forward_pass
    False
    >>> check_request(nn.Linear(3, 2), (1, 3), mode="test")
    Traceback (most recent call last):
    ...
    ValueError: mode must be one of ('eval', 'train', 'same'), got 'test'
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn
from torch.export import ExportedProgram

from ._inputs import (
    build_inputs,
    check_available,
    check_forward_arguments,
    check_has_forward,
    check_mode,
    check_model,
    forward_takes_arguments,
    has_forward,
    input_sizes,
    model_device,
    model_float_dtype,
    normalize_device,
)
from ._present.options import check_columns_without_input, check_options, is_int
from ._present.render import COLUMNS, RenderOptions
from ._records import OptimizerState, WeightsAs
from ._trace.catalogue import Catalogue, current_catalogue
from ._trace.engines import execution_device, rank_and_world
from ._trace.exported import input_shapes
from ._trace.optim import optimizer_state
from ._trace.whatif import floating_weights, linear_weights
from ._tree.memory import check_optimizer
from ._tree.weights_as import WEIGHT_FORMATS, check_weights_as


@dataclass(frozen=True, slots=True, kw_only=True)
class SummaryRequest:
    """What one `summary()` is asked to do, every argument checked.

    Examples:
        >>> from torch import nn
        >>> request = check_request(nn.Linear(3, 2), (4, 3), col_names=["time"], verbose=0)
        >>> request.timed, request.mode, request.input_size
        (True, 'eval', [(4, 3)])
    """

    model: nn.Module | ExportedProgram
    """The module to summarise, or an exported program to read (see `module`)."""
    args: list[Any]
    """The positional inputs of the pass, on `device`."""
    kwargs: dict[str, Any]
    """The keyword inputs of the pass (``input_data`` as a dict, and ``**kwargs``)."""
    input_size: Any
    """The shapes of the inputs as torchinfo's ``ModelStatistics.input_size`` gives them."""
    options: RenderOptions
    """How to draw the result."""
    verbose: int
    """0: print nothing; 1: the table; 2: every depth."""
    mode: str
    """``"eval"``, ``"train"`` or ``"same"``."""
    optimizer: str | None
    """The optimizer of the training estimate, ``None`` for none."""
    optimizer_state: OptimizerState | None
    """An optimizer object's state per parameter, read before the pass (``None``: a name
    or no optimizer was given)."""
    weights_as: WeightsAs | None
    """The weights to size as if stored in another format (``weights_as=``)."""
    catalogue: Catalogue
    """What each operator costs, this call's formulas included."""
    device: torch.device
    """Where the pass runs."""
    hooked: bool
    """Hooks load the model's weights on their device for each call (accelerate's
    offloading): the model is neither moved nor refused for resting on meta."""
    made_inputs: bool
    """The inputs were made from ``input_size`` in the model's own dtype (no ``dtypes``
    given), for the advice of a failure over their dtype."""
    ranks: tuple[int, int] | None
    """``(rank, world size)`` under an initialised process group."""
    forward_pass: bool
    """Whether the records are of a pass (one traced, or the example an exported program
    holds); without one the summary lists what the model registers."""

    @property
    def module(self) -> nn.Module:
        """The module of a traced pass or of a census (an exported program has none)."""
        if isinstance(self.model, ExportedProgram):
            raise TypeError("an exported program is read from its graph, not run")
        return self.model

    @property
    def timed(self) -> bool:
        """Whether a column asks for the timed extra passes."""
        return self.options.timed


def check_request(
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
    kwargs: Mapping[str, Any] | None = None,
) -> SummaryRequest:
    """Check `summary()`'s arguments (the same, ``**kwargs`` as ``kwargs``) into a
    `SummaryRequest`, in the order `summary()` documents them.

    Raises:
        TypeError: An argument of the wrong type.
        ValueError: An argument with a wrong value, or one that needs a pass where
            none can run (no input, or an exported program: it holds its own example).

    Examples:
        >>> from torch import nn
        >>> check_request(nn.Linear(3, 2), optimizer="adam")
        Traceback (most recent call last):
        ...
        ValueError: optimizer= needs a forward pass: give input_size or input_data
    """
    if isinstance(model, ExportedProgram):  # read from its graph: nothing runs
        given: dict[str, Any] = {"input_size": input_size, "input_data": input_data}
        given.update(batch_dim=batch_dim, device=device, dtypes=dtypes, mode=mode)
        _refuse_for_program(
            {**given, "optimizer": optimizer, "weights_as": weights_as, **(kwargs or {})}
        )
    else:
        check_model(model)
    # Under a process group every rank summarises, and by default only rank 0 prints.
    ranks = rank_and_world()
    quiet_rank = verbose is None and ranks is not None and ranks[0] != 0
    options, verbose = check_options(col_names, col_width, depth, row_settings, verbose)
    verbose = 0 if quiet_rank else verbose
    if isinstance(model, ExportedProgram):
        return _program_request(model, options, verbose, ranks, _catalogue(formulas))
    mode = check_mode(mode)
    optimizer_name, optimizer_state = _check_optimizer(optimizer, model)
    stored_as = _weights_as(check_weights_as(weights_as), model)
    if cache_forward_pass not in (None, True, False):
        raise TypeError(f"cache_forward_pass must be a bool or None, got {cache_forward_pass!r}")
    if batch_dim is not None and (not is_int(batch_dim) or batch_dim < 0):
        raise ValueError(f"batch_dim must be a non-negative integer or None, got {batch_dim!r}")
    catalogue = _catalogue(formulas)
    # A model whose hooks load its weights for each call (accelerate's offloading) runs
    # where those hooks put them, though its parameters rest on meta.
    hooked = execution_device(model)
    target = normalize_device(device) or hooked or model_device(model)
    check_available(target)
    made = input_size is not None and dtypes is None  # inputs of the model's own dtype
    default_dtype = model_float_dtype(model) if made else torch.float32
    args, forward_kwargs = build_inputs(
        input_size, input_data, batch_dim, dtypes, target, default_dtype
    )
    forward_kwargs.update(kwargs or {})
    forward_pass = bool(args or forward_kwargs) or (
        has_forward(model) and not forward_takes_arguments(model)
    )
    if forward_pass:
        _check_pass(model, args, forward_kwargs, target, hooked is not None)
    else:
        options = _without_pass(optimizer_name, options, col_names is None)
    return SummaryRequest(
        model=model,
        args=args,
        kwargs=forward_kwargs,
        input_size=input_sizes(input_size, input_data),
        options=options,
        verbose=verbose,
        mode=mode,
        optimizer=optimizer_name,
        optimizer_state=optimizer_state,
        weights_as=stored_as,
        catalogue=catalogue,
        device=target,
        hooked=hooked is not None,
        made_inputs=made,
        ranks=ranks,
        forward_pass=forward_pass,
    )


def _catalogue(formulas: Mapping[Any, Callable[..., int]] | None) -> Catalogue:
    """What each operator costs in this call: the catalogue, with ``formulas`` on top."""
    catalogue = current_catalogue()
    return catalogue if formulas is None else catalogue.with_formulas(formulas)


def _refuse_for_program(given: Mapping[str, Any]) -> None:
    """Refuse the arguments of a pass (``given``: by name) for an exported program."""
    names = [name for name, value in given.items() if value is not None]
    if names:
        raise ValueError(
            "an exported program is summarised from its graph, without running it:"
            f" {', '.join(names)} cannot be given (the shapes are those it was exported with)"
        )


def _program_request(
    program: ExportedProgram,
    options: RenderOptions,
    verbose: int,
    ranks: tuple[int, int] | None,
    catalogue: Catalogue,
) -> SummaryRequest:
    """The request to read an exported program: its example pass, no inputs of ours."""
    return SummaryRequest(
        model=program,
        args=[],
        kwargs={},
        input_size=input_shapes(program),
        options=options,
        verbose=verbose,
        mode="eval",
        optimizer=None,
        optimizer_state=None,
        weights_as=None,
        catalogue=catalogue,
        device=torch.device("meta"),
        hooked=False,
        made_inputs=False,
        ranks=ranks,
        forward_pass=True,
    )


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


def _check_pass(
    model: nn.Module, args: list[Any], kwargs: dict[str, Any], target: torch.device, hooked: bool
) -> None:
    """What a pass needs: a forward that takes these inputs, and values to run on."""
    check_has_forward(model)
    check_forward_arguments(model, args, kwargs)
    if model_device(model).type == "meta" and target.type != "meta" and not hooked:
        raise ValueError(
            f"the model is on the meta device and has no values to run on {target};"
            " summarise it with device='meta' (or leave device unset)"
        )


def _without_pass(
    optimizer: str | None, options: RenderOptions, default_columns: bool
) -> RenderOptions:
    """The options of a summary without a pass (torchinfo's ``summary(model)``: no input,
    or a container with no forward), which lists what the model registers; by default
    without the columns that need a pass (shapes), which would hold nothing."""
    if default_columns:
        options = replace(
            options, columns=tuple(c for c in options.columns if not COLUMNS[c].needs_pass)
        )
    if optimizer is not None:
        raise ValueError("optimizer= needs a forward pass: give input_size or input_data")
    check_columns_without_input(options.columns)
    return options  # a lazy module's parameters are listed unsized
