"""``summary()``: check the arguments, trace one pass, build the tree, return a ``ModelSummary``.

Example:
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

import copy
import dataclasses
import gc
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import torch
from tabulate import tabulate_formats
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin

from ._errors import ModelSummaryError
from ._export import (
    PathLike,
    layers_csv,
    layers_dataframe,
    render_markdown,
    summary_dict,
    to_json_text,
    write_text,
)
from ._html import render_html
from ._inputs import (
    build_inputs,
    check_available,
    check_forward_arguments,
    check_mode,
    check_model,
    check_options,
    forward_takes_arguments,
    is_int,
    map_tensors,
    model_device,
    model_float_dtype,
    normalize_device,
)
from ._memory import check_optimizer
from ._meta import META_HINT, meta_stand_ins
from ._plot import plot as plot_summary
from ._records import Trace
from ._render import RenderOptions, format_inputs, render_table
from ._select import LayerSelection, select_layers
from ._state import preserved_state
from ._timing import time_modules
from ._tracer import Tracer, iter_tensors, tensor_nbytes
from ._tree import SummaryNode, SummaryTree, build_tree


@dataclass(frozen=True, slots=True, repr=False)
class ModelSummary:
    """The result of :func:`summary`: counts as data, and the table as its text.

    ``str(s)``, ``print(s)`` and the value shown at a REPL or as a notebook cell's
    result are the rendered table.

    Example:
        >>> s = summary(nn.Sequential(nn.Linear(4, 2)), (1, 4), verbose=0)
        >>> s.total_params, s.trainable_params, s.non_trainable_params
        (10, 10, 0)
        >>> [(layer.path, layer.num_params) for layer in s.layers]
        [('', 0), ('0', 10)]
    """

    tree: SummaryTree
    """The summary tree the table is drawn from."""
    options: RenderOptions = field(default_factory=RenderOptions)
    """How the table is drawn."""

    @property
    def total_params(self) -> int:
        """Unique parameters the forward pass used (a tied or reused tensor counts once)."""
        return self.tree.totals.total_params

    @property
    def trainable_params(self) -> int:
        """The part of :attr:`total_params` with ``requires_grad``."""
        return self.tree.totals.trainable_params

    @property
    def non_trainable_params(self) -> int:
        """The part of :attr:`total_params` without ``requires_grad`` (frozen)."""
        return self.tree.totals.non_trainable_params

    @property
    def unused_params(self) -> int:
        """Unique parameters the forward pass never used."""
        return self.tree.totals.unused_params

    @property
    def all_params(self) -> int:
        """``total_params + unused_params``: the unique numel of ``model.parameters()``."""
        return self.tree.totals.all_params

    @property
    def unused_modules(self) -> tuple[str, ...]:
        """Dotted paths of modules never called and none of whose parameters were used."""
        return self.tree.unused_modules

    @property
    def total_buffers(self) -> int:
        """Elements of the model's unique buffers (e.g. BatchNorm running statistics)."""
        return self.tree.totals.buffers

    @property
    def total_mult_adds(self) -> int:
        """Multiply-accumulates of the pass, counted per aten operator (FLOPs are twice this).

        Matrix products, convolutions, attention and recurrent layers are counted;
        bias additions, elementwise maths, normalisation, softmax and pooling are
        not. See :attr:`uncounted_ops` for operators that may have been missed.
        """
        return self.tree.totals.mult_adds

    @property
    def uncounted_ops(self) -> dict[str, int]:
        """Operators that ran with no MAC formula, by name, with how often they ran.

        Empty when :attr:`total_mult_adds` is complete; otherwise it may be partial.
        """
        return dict(self.tree.uncounted_ops)

    @property
    def training_bytes(self) -> int | None:
        """Estimated training memory: parameters, buffers, gradients, optimizer state and
        activations saved for backward. ``None`` unless ``summary(optimizer=...)`` was given."""
        t = self.tree.totals
        return None if t.optimizer is None else t.training_bytes

    @property
    def peak_bytes(self) -> int | None:
        """Peak bytes the CUDA allocator held during the pass; ``None`` off CUDA."""
        return self.tree.totals.peak_bytes

    @property
    def total_input(self) -> int:
        """Bytes of the input tensors (torchinfo's name)."""
        return self.tree.totals.input_bytes

    @property
    def total_param_bytes(self) -> int:
        """Bytes of all unique parameters, used or not (torchinfo's name)."""
        return self.tree.totals.param_bytes

    @property
    def total_output_bytes(self) -> int:
        """Bytes of the distinct tensors the module calls returned."""
        return self.tree.totals.activation_bytes

    @property
    def layers(self) -> tuple[SummaryNode, ...]:
        """Every row of the tree, root first, in display order (all depths)."""
        return tuple(self.tree.root.walk())

    @property
    def summary_list(self) -> tuple[SummaryNode, ...]:
        """torchinfo's name for :attr:`layers`: its rows answer ``class_name``,
        ``var_name``, ``depth``, ``input_size``, ``output_size``, ``num_params``,
        ``trainable_params``, ``macs``, ``kernel_size`` and ``is_leaf_layer`` too. One
        row per module, however often it was called (torchinfo has one per call).

        Example:
            >>> s = summary(nn.Sequential(nn.Linear(4, 2)), (3, 4), verbose=0)
            >>> [(r.class_name, r.var_name, r.output_size, r.num_params) for r in s.summary_list]
            [('Sequential', 'Sequential', [3, 2], 0), ('Linear', '0', [3, 2], 10)]
        """
        return self.layers

    def to_dict(self) -> dict[str, Any]:
        """The totals and rows as JSON-serializable data.

        Example:
            >>> import json
            >>> d = summary(nn.Linear(3, 2), (1, 3), verbose=0).to_dict()
            >>> d["totals"]["total_params"], d["layers"][0]["output"]
            (8, {'shape': [1, 2], 'dtype': 'float32'})
            >>> _ = json.dumps(d)
        """
        return summary_dict(self.tree)

    # Outputs: thin delegations to the pure renderers in _export, _html, _select and _plot.

    def to_json(self, path: PathLike | None = None, *, indent: int | None = 2) -> str:
        """:meth:`to_dict` as JSON text (see ``docs/outputs.md``); written to ``path`` if given.

        Example:
            >>> import json
            >>> text = summary(nn.Linear(3, 2), (1, 3), verbose=0).to_json()
            >>> json.loads(text)["totals"]["total_params"]
            8
        """
        return write_text(to_json_text(self.to_dict(), indent), path)

    def to_csv(self, path: PathLike | None = None) -> str:
        """Every layer (all depths) as CSV, one column per :meth:`to_dict` layer field.

        Example:
            >>> print(summary(nn.Linear(3, 2), (1, 3), verbose=0).to_csv().splitlines()[0])
            path,type,depth,calls,inputs,output,num_params,...
        """
        return write_text(layers_csv(self.to_dict()), path)

    def to_dataframe(self) -> Any:
        """Every layer as a row of a ``pandas.DataFrame`` (needs the ``pandas`` extra).

        Example:
            >>> df = summary(nn.Linear(3, 2), (1, 3), verbose=0).to_dataframe()
            >>> df[["path", "type", "num_params"]].values.tolist()
            [['', 'Linear', 8]]
        """
        return layers_dataframe(self.to_dict())

    def to_markdown(self, path: PathLike | None = None) -> str:
        """The table, unused section and totals as GitHub pipe tables.

        Example:
            >>> md = summary(nn.Linear(3, 2), (1, 3), verbose=0).to_markdown()
            >>> for line in md.splitlines()[:3]:
            ...     print(line)
            | Layer (type)   |   Output Shape |   Param # |
            |:---------------|---------------:|----------:|
            | Linear         |         [1, 2] |         8 |
        """
        return write_text(render_markdown(self.tree, self.options), path)

    def to_text(self, path: PathLike | None = None, *, tablefmt: str = "simple") -> str:
        """The printed summary, with the table in any tabulate format.

        Example:
            >>> s = summary(nn.Linear(3, 2), (1, 3), col_width=12, verbose=0)
            >>> for line in s.to_text(tablefmt="grid").splitlines()[:6]:
            ...     print(line)
            ====================================================
            +----------------+----------------+----------------+
            | Layer (type)   |   Output Shape |        Param # |
            +================+================+================+
            | Linear         |         [1, 2] |              8 |
            +----------------+----------------+----------------+
        """
        if not isinstance(tablefmt, str) or tablefmt not in tabulate_formats:
            raise ValueError(f"unknown tablefmt {tablefmt!r}; choose from {tabulate_formats}")
        options = replace(self.options, tablefmt=tablefmt)
        return write_text(render_table(self.tree, options), path)

    def with_options(
        self,
        col_names: Iterable[str] | None = None,
        col_width: int | None = None,
        depth: int | None = None,
        row_settings: Iterable[str] | None = None,
    ) -> ModelSummary:
        """The same summary drawn another way, without another forward pass.

        What torchinfo's ``cache_forward_pass=True`` is for: other columns, another
        depth or other row settings, each argument as :func:`summary` takes it and
        left as it is when not given. The ``time`` column needs the timed passes
        only :func:`summary` runs.

        Raises:
            ValueError: An argument :func:`summary` would refuse, or the ``time``
                column for a summary that was not timed.

        Example:
            >>> s = summary(nn.Sequential(nn.Sequential(nn.Linear(4, 2))), (1, 4), verbose=0)
            >>> print(s.with_options(depth=1, col_names=("num_params", "mult_adds"), col_width=9))
            ==========================================
            Layer (type)          Param #    Mult-Adds
            ----------------  -----------  -----------
            Sequential                 --           --
            └─0 (Sequential)           10            8
            ==========================================
            Total params: 10
            Trainable params: 10
            Non-trainable params: 0
            Unused params: 0
            All params: 10
            Buffers: 0
            Total mult-adds: 8
            ------------------------------------------
            Input size: 16 B
            Parameters size: 40 B
            Buffers size: 0 B
            Forward activations: 8 B
            Estimated total size: 64 B
            ==========================================
        """
        now = self.options
        settings = [
            name
            for name, on in (("ascii_only", now.ascii_only), ("depth", now.show_depth_index))
            if on
        ]
        options, _ = check_options(
            now.columns if col_names is None else col_names,
            now.col_width if col_width is None else col_width,
            now.depth if depth is None else depth,
            settings if row_settings is None else row_settings,
            verbose=0,
        )
        if "time" in options.columns and self.tree.root.time_s is None:
            raise ValueError(
                "the time column needs timed passes, which only summary() runs:"
                " summary(..., col_names=[..., 'time'])"
            )
        return replace(self, options=replace(options, tablefmt=now.tablefmt))

    def to_html(self, path: PathLike | None = None) -> str:
        """The summary as an HTML fragment, as a notebook shows it.

        Example:
            >>> summary(nn.Linear(3, 2), (1, 3), verbose=0).to_html()[:25]
            '<div class="modelsummary"'
        """
        return write_text(render_html(self.tree, self.options), path)

    def _repr_html_(self) -> str:
        return render_html(self.tree, self.options)

    def large_layers(self, threshold: float, by: str = "params") -> LayerSelection:
        """Rows whose own parameters (or ``by="mult_adds"``) exceed ``threshold``, largest first.

        Example:
            >>> s = summary(nn.Sequential(nn.Linear(10, 20), nn.Linear(20, 2)), (1, 10), verbose=0)
            >>> s.large_layers(100).to_dict()
            {'0': 220}
        """
        return select_layers(self.tree, by, threshold=threshold)

    def top_layers(self, k: int, by: str = "params") -> LayerSelection:
        """The ``k`` rows with the most own parameters (or ``by="mult_adds"``), largest first.

        Example:
            >>> s = summary(nn.Sequential(nn.Linear(10, 20), nn.Linear(20, 2)), (1, 10), verbose=0)
            >>> print(s.top_layers(2))
            Layer    Type      Param #  % of total
            -------  ------  ---------  ------------
            0        Linear        220  83.97%
            1        Linear         42  16.03%
        """
        return select_layers(self.tree, by, top=k)

    def plot(
        self,
        depth: int | None = None,
        *,
        log: bool = False,
        mult_adds: bool = False,
        max_label: int = 40,
        path: PathLike | None = None,
    ) -> Any:
        """Parameters per layer as a bar chart: a ``matplotlib.figure.Figure``.

        Needs the ``plot`` extra. ``depth`` defaults to the summary's depth; rows
        below it fold into their ancestor's bar. Unused entries are grey and
        hatched. See :func:`modelsummary._plot.plot` for the arguments.

        Example:
            >>> fig = summary(nn.Linear(3, 2), (1, 3), verbose=0).plot(log=True)
            >>> fig.axes[0].get_xscale()
            'log'
        """
        if depth is None:
            depth = self.options.depth
        elif isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
            raise ValueError(f"depth must be a non-negative integer, got {depth!r}")
        if isinstance(max_label, bool) or not isinstance(max_label, int) or max_label < 5:
            raise ValueError(f"max_label must be an integer >= 5, got {max_label!r}")
        return plot_summary(
            self.tree, depth, log=log, mult_adds=mult_adds, max_label=max_label, path=path
        )

    def __str__(self) -> str:
        return render_table(self.tree, self.options)

    def __repr__(self) -> str:
        return render_table(self.tree, self.options)


def summary(
    model: nn.Module,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    input_data: torch.Tensor | Sequence[Any] | Mapping[str, Any] | None = None,
    batch_dim: int | None = None,
    cache_forward_pass: bool | None = None,
    col_names: Iterable[str] | None = None,
    col_width: int = 25,
    depth: int = 3,
    device: torch.device | str | None = None,
    dtypes: Sequence[torch.dtype] | None = None,
    mode: str | None = None,
    row_settings: Iterable[str] | None = None,
    verbose: int | None = None,
    *,
    optimizer: str | None = None,
    **kwargs: Any,
) -> ModelSummary:
    """Summarise ``model``: run one forward pass and count what it used.

    The signature matches torchinfo's ``summary`` so switching is one import.

    Args:
        model: The module to summarise. It is left exactly as it was; a model
            with lazy modules is summarised on a copy, so it stays lazy.
        input_size: One shape, or a list of shapes for several positional inputs.
        input_data: A tensor, a sequence of positional arguments, or a dict of
            keyword arguments. Give this or ``input_size``; with neither (and no
            forward keyword arguments) nothing runs, and the summary lists the
            modules and parameters as registered, as torchinfo's does.
        batch_dim: Insert a dimension of size 1 at this index of each ``input_size``.
        cache_forward_pass: Accepted for torchinfo compatibility. Every call runs
            its own pass: no process-global cache is kept. To draw a summary again
            with other columns or depth, use :meth:`ModelSummary.with_options`.
        col_names: Columns to show: ``input_size``, ``output_size``,
            ``num_params``, ``params_percent``, ``kernel_size``, ``mult_adds``,
            ``trainable``, ``calls``, ``time``. Defaults to output size and
            parameters. ``time`` runs one warm-up and three timed extra passes
            and shows each module's median wall time (indicative only).
        col_width: Minimum width of each value column.
        depth: Deepest row to show; deeper modules fold into their ancestor,
            whose numbers then cover the folded rows.
        device: Where to run the pass. Defaults to the model's device; a model on
            another device is moved there for the pass and moved back after.
        dtypes: One dtype per ``input_size`` entry (default: the dtype of the model's
            first floating-point parameter, float32 if it has none).
        mode: ``"eval"`` (default), ``"train"``, or ``"same"`` (keep each
            module's current mode). Modes are restored afterwards.
        row_settings: ``ascii_only`` (ASCII tree), ``depth`` (append
            ``depth-index``); ``var_names`` and ``hide_recursive_layers`` are
            accepted and always in effect.
        verbose: 0 prints nothing, 1 prints the table, 2 prints every depth.
            Default: 1 in scripts, 0 in an interactive session, where the
            returned value displays itself.
        optimizer: Add a training-memory estimate for this optimizer (``"sgd"``,
            ``"momentum"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``):
            gradients, optimizer state, and the activations autograd saves for
            backward, measured by running the pass with grad enabled.
        **kwargs: Passed to ``model.forward``.

    Returns:
        The :class:`ModelSummary`.

    Raises:
        TypeError: An argument of the wrong type (checked before any pass).
        ValueError: An argument with a wrong value (checked before any pass).
        ModelSummaryError: The forward pass raised; names the innermost module.

    Example:
        >>> s = summary(nn.Linear(8, 4), input_size=(2, 8), verbose=0)
        >>> s.total_params
        36
    """
    check_model(model)
    options, verbose = check_options(col_names, col_width, depth, row_settings, verbose)
    mode = check_mode(mode)
    optimizer = check_optimizer(optimizer)
    if cache_forward_pass not in (None, True, False):
        raise TypeError(f"cache_forward_pass must be a bool or None, got {cache_forward_pass!r}")
    if batch_dim is not None and (not is_int(batch_dim) or batch_dim < 0):
        raise ValueError(f"batch_dim must be a non-negative integer or None, got {batch_dim!r}")
    target = normalize_device(device) or model_device(model)
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
    if not args and not forward_kwargs and forward_takes_arguments(model):
        # torchinfo's summary(model): no input, no pass (a forward whose arguments all
        # have defaults, as Hugging Face's, would run on none), only what the model
        # registers; by default without the shape column, which would hold nothing
        if col_names is None:
            options = replace(options, columns=("num_params",))
        result = ModelSummary(build_tree(_registered_only(model, optimizer, options)), options)
        if verbose:
            print(result)
        return result
    check_forward_arguments(model, args, forward_kwargs)
    input_bytes = sum(tensor_nbytes(t) for t in iter_tensors([args, forward_kwargs]))

    with _gc_paused():
        trace = _traced_pass(
            model,
            args,
            forward_kwargs,
            target,
            mode,
            optimizer,
            timed="time" in options.columns,
            made_inputs=input_size is not None,
        )
        tree = build_tree(dataclasses.replace(trace, input_bytes=input_bytes))
    result = ModelSummary(tree, options)
    if verbose:
        print(result)
    return result


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
    needs = "optimizer=" if optimizer is not None else "time" if "time" in options.columns else ""
    if needs:
        raise ValueError(f"{needs} needs a forward pass: give input_size or input_data")
    tracer = Tracer(model)
    if _has_lazy_parameters(tracer.modules):
        raise ValueError(
            "the model has lazy modules, whose parameters take their shapes from a forward"
            " pass: give input_size or input_data"
        )
    return dataclasses.replace(tracer.finish(), forward_pass=False)


def _traced_pass(
    model: nn.Module,
    args: list[Any],
    kwargs: dict[str, Any],
    target: torch.device,
    mode: str,
    optimizer: str | None = None,
    timed: bool = False,
    made_inputs: bool = False,
) -> Trace:
    """One traced pass of ``model``; ``made_inputs`` says the inputs were built from
    ``input_size``, for the advice of a failure over their dtype."""
    original = model_device(model)
    on_meta = target.type == "meta"
    if original.type == "meta" and not on_meta:
        raise ValueError(
            f"the model is on the meta device and has no values to run on {target};"
            " summarise it with device='meta' (or leave device unset)"
        )
    # The training estimate needs autograd's saved tensors, so that pass keeps grad on.
    tracer = Tracer(model, saved_tensors=optimizer is not None)
    if _has_lazy_parameters(tracer.modules):
        # A lazy model's first pass materialises it and changes its classes: run a copy.
        # A copy is small then, since the lazy tensors hold no data yet.
        model = copy.deepcopy(model)
        tracer = Tracer(model, saved_tensors=optimizer is not None)
    on_cuda = target.type == "cuda"
    with ExitStack() as contexts:
        if on_meta:  # meta stand-ins first: the state to preserve is then theirs, not copied
            tracer.add_stand_ins(contexts.enter_context(meta_stand_ins(model)))
        modules = tracer.modules
        written = contexts.enter_context(preserved_state(model, devices=[target], modules=modules))
        tracer.before_write = written.keep
        moved = not on_meta and target != original and any(True for _ in _tensors(model))
        try:
            if moved:
                model.to(target)
            # train() is called only when a module's flag differs: it sets the flag
            # of every module through the slow Module.__setattr__.
            if mode != "same" and any(m.training != (mode == "train") for m in modules):
                model.train(mode == "train")
            if on_cuda:
                torch.cuda.synchronize(target)
                torch.cuda.reset_peak_memory_stats(target)
            if optimizer is not None and torch.is_inference_mode_enabled():
                # Autograd records nothing in inference mode, and the training estimate
                # needs what it saves: its pass leaves that mode, with normal tensors
                # for inputs (an inference tensor cannot be saved for backward).
                contexts.enter_context(torch.inference_mode(False))
                args, kwargs = map_tensors((args, kwargs), _normal_tensor)
            if optimizer is not None:  # only the training estimate counts saved tensors
                tracer.not_activations(iter_tensors((args, kwargs)))
            with torch.set_grad_enabled(optimizer is not None), tracer:
                model(*args, **kwargs)
            peak = None
            if on_cuda:
                torch.cuda.synchronize(target)
                peak = torch.cuda.max_memory_allocated(target)
            trace = dataclasses.replace(tracer.finish(), optimizer=optimizer, peak_bytes=peak)
            if timed:
                trace = dataclasses.replace(trace, times=_time_pass(model, args, kwargs, target))
        except Exception as err:
            raise _forward_error(model, tracer, err, on_meta, made_inputs) from err
        finally:
            if moved:
                model.to(original)
    return trace


def _time_pass(
    model: nn.Module, args: list[Any], kwargs: dict[str, Any], device: torch.device
) -> tuple[tuple[str, float], ...]:
    def run() -> None:
        with torch.no_grad():
            model(*args, **kwargs)

    return time_modules(model, run, device)


def _normal_tensor(t: torch.Tensor) -> torch.Tensor:
    return t.clone() if t.is_inference() else t


def _has_lazy_parameters(modules: Iterable[nn.Module]) -> bool:
    """Whether a module holds uninitialised (lazy) parameters or buffers."""
    return any(isinstance(m, LazyModuleMixin) and m.has_uninitialized_params() for m in modules)


def _tensors(model: nn.Module) -> Iterable[torch.Tensor]:
    yield from model.parameters()
    yield from model.buffers()


def _forward_error(
    model: nn.Module, tracer: Tracer, err: Exception, on_meta: bool, made_inputs: bool = False
) -> ModelSummaryError:
    frame = tracer.failed_frame
    if frame is None:
        where = f"{type(model).__name__} (before any module ran)"
        inputs = ""
    else:
        name = f"module '{frame.path}'" if frame.path else "the root module"
        where = f"{name} ({type(frame.module).__name__})"
        inputs = f" with inputs {format_inputs(frame.described_inputs())}"
    hint = f". {META_HINT}" if on_meta and _about_meta(err) else ""
    if made_inputs and any(word in str(err) for word in _DTYPE_WORDS):
        hint += (
            ". The inputs made from input_size have the model's floating dtype unless"
            " dtypes=[...] says otherwise: token ids and other indices need e.g."
            " dtypes=[torch.long]"
        )
    return ModelSummaryError(
        f"forward pass failed in {where}{inputs}: {type(err).__name__}: {err}{hint}"
    )


# Words of torch's errors over an input's dtype (``Expected tensor for argument #1
# 'indices' to have one of the following scalar types: Long, Int``; ``Input type
# (torch.FloatTensor) and weight type ...``; ``mat1 and mat2 must have the same dtype``).
_DTYPE_WORDS = ("scalar type", "dtype", "Input type (")


def _about_meta(err: BaseException) -> bool:
    """Whether a pass on meta failed for want of values, and the meta advice fits.

    Reading a value raises ``NotImplementedError`` or an error that names the meta
    device (``Tensor.item() cannot be called on meta tensors``); anything else, such
    as a model's own shape check, fails the same way on a real device.

    Example:
        >>> _about_meta(RuntimeError("Tensor.item() cannot be called on meta tensors"))
        True
        >>> _about_meta(AssertionError("Wrong image height! Expected 224 but got 518!"))
        False
    """
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, NotImplementedError) or "meta" in str(seen).lower():
            return True
        seen = seen.__cause__ or seen.__context__
    return False
