"""The result of a summary: `ModelSummary`, the counts as data and the table as text.

It holds the `SummaryTree` and the render options, and
hands each export to the stage that draws it; it runs nothing itself.

Examples:
    >>> import torch
    >>> from modelsummary import summary
    >>> s = summary(torch.nn.Linear(4, 2), (1, 4), verbose=0)
    >>> type(s).__name__, s.total_params
    ('ModelSummary', 10)
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from tabulate import tabulate_formats

from ._present.export import (
    PathLike,
    layers_csv,
    layers_dataframe,
    render,
    render_text,
    summary_dict,
    to_json_text,
    write_text,
)
from ._present.html import render_html
from ._present.markdown import render_markdown
from ._present.options import check_columns_without_input, check_options
from ._present.plot import plot as plot_summary
from ._present.render import RenderOptions
from ._present.select import LayerSelection, select_layers
from ._torchinfo import Units, float_to_megabytes, to_megabytes, to_readable
from ._tree.nodes import SummaryNode, SummaryTree
from ._tree.pruning import unmasked_total


class _Unset(enum.Enum):
    """The default of an argument that, when not given, leaves an option as it is."""

    UNSET = "unset"

    def __repr__(self) -> str:
        return "<as it is>"


_UNSET = _Unset.UNSET


# -- torchinfo's names of the result (its ModelStatistics); its row names are on
# SummaryNode, from modelsummary._torchinfo


class _Summary(Protocol):
    """What torchinfo's result names read and write of a summary."""

    options: RenderOptions

    @property
    def tree(self) -> SummaryTree: ...


class Formatting:
    """torchinfo's ``results.formatting``: the footer's units, which can be set, and
    the table's settings, read-only (use `with_options()`
    for another depth or other columns).

    Setting a unit changes how the summary it came from is drawn (its
    `options`); no count changes.

    Examples:
        >>> s = summary(torch.nn.Linear(4, 2), (1, 4), verbose=0)
        >>> s.formatting.params_units, s.formatting.max_depth
        (<Units.AUTO: 'auto'>, 3)
        >>> s.formatting.macs_units = Units.NONE
        >>> s.options.macs_units
        ''
    """

    __slots__ = ("_summary",)

    def __init__(self, summary: _Summary) -> None:
        self._summary = summary

    @property
    def params_units(self) -> Units:
        """Unit of the footer's parameter counts."""
        return Units(self._summary.options.params_units)

    @params_units.setter
    def params_units(self, value: Units | str) -> None:
        self._set(replace(self._summary.options, params_units=_unit(value)))

    @property
    def params_count_units(self) -> Units:
        """torchinfo's newer name for `params_units`: the unit of the footer's
        parameter counts.

        Examples:
            >>> s = summary(torch.nn.Linear(1000, 1000), (1, 1000), verbose=0)
            >>> s.formatting.params_count_units = Units.MEGABYTES
            >>> s.formatting.params_units, s.options.params_units
            (<Units.MEGABYTES: 'M'>, 'M')
        """
        return self.params_units

    @params_count_units.setter
    def params_count_units(self, value: Units | str) -> None:
        self.params_units = value

    @property
    def params_size_units(self) -> Units:
        """Unit of the footer's sizes in bytes (parameters, buffers, input, activations
        and the totals): ``AUTO`` picks ``B``, ``kB``, ``MB`` or ``GB`` for each line;
        ``MEGABYTES``, ``GIGABYTES``, ``TERABYTES`` write every size in that unit;
        ``NONE`` in bytes (see `RenderOptions.size_units`). torchinfo's
        ``params_size_units``, which there sets the unit of its ``Params size`` line.

        Examples:
            >>> s = summary(torch.nn.Linear(1000, 1000), (1, 1000), verbose=0)
            >>> s.formatting.params_size_units = Units.MEGABYTES
            >>> [line for line in str(s).splitlines() if line.startswith("Parameters size")]
            ['Parameters size: 4.00 MB']
        """
        return Units(self._summary.options.size_units)

    @params_size_units.setter
    def params_size_units(self, value: Units | str) -> None:
        self._set(replace(self._summary.options, size_units=_unit(value)))

    @property
    def macs_units(self) -> Units:
        """Unit of the footer's mult-adds."""
        return Units(self._summary.options.macs_units)

    @macs_units.setter
    def macs_units(self, value: Units | str) -> None:
        self._set(replace(self._summary.options, macs_units=_unit(value)))

    @property
    def max_depth(self) -> int:
        """The deepest row shown (``depth``)."""
        return self._summary.options.depth

    @property
    def col_names(self) -> tuple[str, ...]:
        """The columns after the layer name."""
        return self._summary.options.columns

    @property
    def col_width(self) -> int | None:
        """The minimum width of each value column; ``None`` when each column is as wide
        as its content (the default here; torchinfo's is 25)."""
        return self._summary.options.col_width

    @property
    def ascii_only(self) -> bool:
        """Whether the tree is drawn in ASCII."""
        return self._summary.options.ascii_only

    @property
    def show_depth(self) -> bool:
        """Whether names carry ``depth-index``."""
        return self._summary.options.show_depth_index

    def _set(self, options: RenderOptions) -> None:
        # torchinfo's API sets units on the result itself: its options, never its counts
        self._summary.options = options


def _unit(value: object) -> str:
    try:
        return Units(value).value
    except ValueError:
        raise ValueError(
            f"unknown unit {value!r}; choose from {[u.name for u in Units]} (modelsummary.Units)"
        ) from None


class ModelSummaryMethods:
    """torchinfo's ``ModelStatistics`` attributes that ``ModelSummary`` lacks otherwise,
    and the count torchinfo gives for a pruned model.

    Examples:
        >>> s = summary(torch.nn.Linear(4, 2), (1, 4), verbose=0)
        >>> s.to_megabytes(s.total_param_bytes), s.unmasked_params
        (4e-05, 10)
    """

    __slots__ = ()

    to_readable = staticmethod(to_readable)
    to_megabytes = staticmethod(to_megabytes)
    float_to_megabytes = staticmethod(float_to_megabytes)

    @property
    def formatting(self: _Summary) -> Formatting:
        """torchinfo's formatting options: set ``params_units`` / ``macs_units`` to a
        `Units` to change how the footer's counts are written."""
        return Formatting(self)

    @property
    def unmasked_params(self: _Summary) -> int:
        """`total_params` less the elements that
        ``torch.nn.utils.prune`` masks zero: what torchinfo reports as ``total_params``
        of a pruned model. Equal to ``total_params`` when nothing is pruned."""
        return unmasked_total(self.tree)


@dataclass(slots=True, repr=False)
class ModelSummary(ModelSummaryMethods):
    """The result of `summary()`: counts as data, and the table as its text.

    ``str(s)``, ``print(s)`` and the value shown at a REPL or as a notebook cell's
    result are the rendered table. The tree is data; ``options`` (how it is drawn)
    is the one field meant to be set, as torchinfo's ``s.formatting.params_units = ...``
    does; `with_options()` gives a copy drawn another way instead.

    Examples:
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
    input_size: Any = field(default_factory=list, compare=False)
    """The inputs' shapes as torchinfo's ``input_size`` gives them: ``input_size`` as a
    list of shapes, or ``input_data`` with each tensor as its ``torch.Size``
    (see `modelsummary._inputs.input_sizes()`); ``[]`` without an input."""

    @property
    def total_params(self) -> int:
        """Unique parameters the forward pass used (a tied or reused tensor counts once)."""
        return self.tree.totals.total_params

    @property
    def trainable_params(self) -> int:
        """The part of `total_params` with ``requires_grad``."""
        return self.tree.totals.trainable_params

    @property
    def non_trainable_params(self) -> int:
        """The part of `total_params` without ``requires_grad`` (frozen)."""
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
        not. See `uncounted_ops` for operators that may have been missed.
        """
        return self.tree.totals.mult_adds

    @property
    def total_flops(self) -> int:
        """Floating-point operations of the pass: twice `total_mult_adds`, one
        multiply and one add per multiply-accumulate (the convention of Lightning's and
        fvcore's FLOP counts).

        Examples:
            >>> summary(nn.Linear(3, 2, bias=False), (1, 3), verbose=0).total_flops
            12
        """
        return 2 * self.tree.totals.mult_adds

    @property
    def uncounted_ops(self) -> dict[str, int]:
        """Operators that ran with no MAC formula, by name, with how often they ran.

        Empty when `total_mult_adds` is complete; otherwise it may be partial.
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
        """torchinfo's name for `layers`: its rows answer ``class_name``,
        ``var_name``, ``depth``, ``input_size``, ``output_size``, ``num_params``,
        ``trainable_params``, ``macs``, ``kernel_size`` and ``is_leaf_layer`` too. One
        row per module, however often it was called (torchinfo has one per call).

        Examples:
            >>> s = summary(nn.Sequential(nn.Linear(4, 2)), (3, 4), verbose=0)
            >>> [(r.class_name, r.var_name, r.output_size, r.num_params) for r in s.summary_list]
            [('Sequential', 'Sequential', [3, 2], 0), ('Linear', '0', [3, 2], 10)]
        """
        return self.layers

    def to_dict(self) -> dict[str, Any]:
        """The totals and rows as JSON-serializable data.

        Examples:
            >>> import json
            >>> d = summary(nn.Linear(3, 2), (1, 3), verbose=0).to_dict()
            >>> d["totals"]["total_params"], d["layers"][0]["output"]
            (8, {'shape': [1, 2], 'dtype': 'float32'})
            >>> _ = json.dumps(d)
        """
        return summary_dict(self.tree)

    # Outputs: thin delegations to the pure renderers in _export, _html, _select and _plot.

    def to_json(self, path: PathLike | None = None, *, indent: int | None = 2) -> str:
        """`to_dict()` as JSON text (see ``docs/outputs.md``); written to ``path`` if given.

        Examples:
            >>> import json
            >>> text = summary(nn.Linear(3, 2), (1, 3), verbose=0).to_json()
            >>> json.loads(text)["totals"]["total_params"]
            8
        """
        return write_text(to_json_text(self.to_dict(), indent), path)

    def to_csv(self, path: PathLike | None = None) -> str:
        """Every layer (all depths) as CSV, one column per `to_dict()` layer field.

        Examples:
            >>> print(summary(nn.Linear(3, 2), (1, 3), verbose=0).to_csv().splitlines()[0])
            path,type,depth,calls,inputs,output,num_params,...
        """
        return write_text(layers_csv(self.to_dict()), path)

    def to_dataframe(self) -> Any:
        """Every layer as a row of a ``pandas.DataFrame`` (needs the ``pandas`` extra).

        The columns are `to_dict()`'s layer fields as Python values (lists as tuples),
        and the first call's tensors as ``input_shapes``, ``input_dtypes``,
        ``output_shapes`` and ``output_dtypes`` (one entry per tensor), to filter on;
        the root's ``path`` is ``"(root)"``
        (`modelsummary._present.export.layer_rows()`, ``docs/outputs.md``).

        Examples:
            >>> df = summary(nn.Sequential(nn.Linear(3, 2)), (1, 3), verbose=0).to_dataframe()
            >>> df[["path", "type", "num_params", "output_shapes"]].values.tolist()
            [['(root)', 'Sequential', 0, ((1, 2),)], ['0', 'Linear', 8, ((1, 2),)]]
            >>> list(df[df.output_shapes.map(lambda shapes: (1, 2) in shapes)].path)
            ['(root)', '0']
        """
        return layers_dataframe(self.tree)

    def to_markdown(self, path: PathLike | None = None) -> str:
        """The table, unused section and totals as GitHub pipe tables.

        Examples:
            >>> md = summary(nn.Linear(3, 2), (1, 3), verbose=0).to_markdown()
            >>> for line in md.splitlines()[:3]:
            ...     print(line)
            | Layer (type)   |   Output Shape |   Param # |
            |:---------------|---------------:|----------:|
            | Linear         |         [1, 2] |         8 |
        """
        return write_text(render_markdown(self.tree, self.options), path)

    def to_text(
        self,
        path: PathLike | None = None,
        *,
        tablefmt: str = "simple",
        width: int | _Unset | None = _UNSET,
    ) -> str:
        """The printed summary, with the table in any tabulate format.

        A pipe format (``github``, ``pipe``) gives Markdown, without ``====`` rules.
        ``width`` fits the table to that many characters (``0``: no limit); by default
        the summary's own width option applies (see `RenderOptions.width`).

        Examples:
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
        if not isinstance(width, _Unset):
            options = self._with(width=width).options
            options = replace(options, tablefmt=tablefmt)
        return write_text(render_text(self.tree, options), path)

    def render(self, fmt: str = "table", path: PathLike | None = None) -> str:
        """The summary in one of the formats of ``modelsummary._present.export.FORMATS``:
        ``table``, ``json``, ``csv``, ``markdown`` or ``html`` (what ``--format`` takes).

        Examples:
            >>> s = summary(nn.Linear(3, 2), (1, 3), verbose=0)
            >>> s.render("json") == s.to_json(), s.render("table") == str(s)
            (True, True)
        """
        return write_text(render(fmt, self.tree, self.options), path)

    def with_options(
        self,
        col_names: Iterable[str] | None = None,
        col_width: int | _Unset | None = _UNSET,
        depth: int | None = None,
        row_settings: Iterable[str] | None = None,
        *,
        width: int | _Unset | None = _UNSET,
    ) -> ModelSummary:
        """The same summary drawn another way, without another forward pass.

        What torchinfo's ``cache_forward_pass=True`` is for: other columns, another
        depth or other row settings, each argument as `summary()` takes it and
        left as it is when not given (``col_width=None`` sizes columns to their
        content again). ``width`` is `RenderOptions.width`: the widest line of
        the text (``0``: no limit, ``None``: the terminal's). The ``time`` column
        needs the timed passes only `summary()` runs.

        Raises:
            ValueError: An argument `summary()` would refuse, or the ``time``
                column for a summary that was not timed.

        Examples:
            >>> s = summary(nn.Sequential(nn.Sequential(nn.Linear(4, 2))), (1, 4), verbose=0)
            >>> print(s.with_options(depth=1, col_names=("num_params", "mult_adds"), col_width=9))
            ===============================================
            Layer (type)          Param #    Mult-Adds
            ----------------  -----------  -----------
            Sequential                 --           --
            └─0 (Sequential)           10            8
            ===============================================
            Parameters (the model's count is Total params):
            Total params: 10
            Trainable params: 10
            Non-trainable params: 0
            Unused params: 0
            All params: 10
            Buffers: 0
            Total mult-adds: 8
            -----------------------------------------------
            Input size: 16 B
            Parameters size: 40 B
            Buffers size: 0 B
            Forward activations: 8 B
            Estimated total size: 64 B
            ===============================================
        """
        return self._with(col_names, col_width, depth, row_settings, width=width)

    def _with(
        self,
        col_names: Iterable[str] | None = None,
        col_width: int | _Unset | None = _UNSET,
        depth: int | None = None,
        row_settings: Iterable[str] | None = None,
        *,
        width: int | _Unset | None = _UNSET,
    ) -> ModelSummary:
        now = self.options
        settings = [
            name
            for name, on in (
                ("ascii_only", now.ascii_only),
                ("depth", now.show_depth_index),
                ("list_unused", now.list_unused),
                ("fold_repeats", now.fold_repeats),
            )
            if on
        ]
        options, _ = check_options(
            now.columns if col_names is None else col_names,
            now.col_width if isinstance(col_width, _Unset) else col_width,
            now.depth if depth is None else depth,
            settings if row_settings is None else row_settings,
            verbose=0,
            width=now.width if isinstance(width, _Unset) else width,
        )
        if options.timed and self.tree.root.time_s is None:
            raise ValueError(
                "the time column needs timed passes, which only summary() runs:"
                " summary(..., col_names=[..., 'time'])"
            )
        if not self.tree.forward_pass:
            check_columns_without_input(options.columns)
        options = replace(
            options,
            tablefmt=now.tablefmt,
            params_units=now.params_units,
            macs_units=now.macs_units,
            size_units=now.size_units,
        )
        return replace(self, options=options)

    def to_html(self, path: PathLike | None = None) -> str:
        """The summary as an HTML fragment, as a notebook shows it.

        Examples:
            >>> summary(nn.Linear(3, 2), (1, 3), verbose=0).to_html()[:25]
            '<div class="modelsummary"'
        """
        return write_text(render_html(self.tree, self.options), path)

    def _repr_html_(self) -> str:
        return render_html(self.tree, self.options)

    def large_layers(self, threshold: float, by: str = "params") -> LayerSelection:
        """Rows whose own parameters (or ``by="mult_adds"``) exceed ``threshold``, largest first.

        Examples:
            >>> s = summary(nn.Sequential(nn.Linear(10, 20), nn.Linear(20, 2)), (1, 10), verbose=0)
            >>> s.large_layers(100).to_dict()
            {'0': 220}
        """
        return select_layers(self.tree, by, threshold=threshold)

    def top_layers(self, k: int, by: str = "params") -> LayerSelection:
        """The ``k`` rows with the most own parameters (or ``by="mult_adds"``), largest first.

        Examples:
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
        top: int | None = None,
    ) -> Any:
        """Parameters per layer as a bar chart: a ``matplotlib.figure.Figure``.

        Needs the ``plot`` extra. ``depth`` defaults to the summary's depth; rows
        below it fold into their ancestor's bar. Unused entries are grey and
        hatched. ``top=20`` shows the 20 layers with the most parameters and sums the
        rest in one bar; by default every layer, or the 20 largest when there are more
        than 40. See `modelsummary._present.plot.plot()` for the arguments.

        Examples:
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
        if top is not None and (isinstance(top, bool) or not isinstance(top, int) or top < 0):
            raise ValueError(f"top must be a non-negative integer or None, got {top!r}")
        return plot_summary(
            self.tree,
            depth,
            log=log,
            mult_adds=mult_adds,
            max_label=max_label,
            path=path,
            top=top,
        )

    def __str__(self) -> str:
        return render_text(self.tree, self.options)

    def __repr__(self) -> str:
        return render_text(self.tree, self.options)
