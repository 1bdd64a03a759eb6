"""Stage 3: summary tree -> presentation data -> text. Never imports torch.

Presentation is data first: `COLUMNS` defines each column once (header,
cell function, footnotes, whether it needs a pass), `table_cells()` turns a
tree into rows of cells, `unused_cells()` the unused section, and
`footer_groups()` the footer as groups of (label, value, kind). Every
renderer draws from these: the text table here, Markdown
(`modelsummary._present.markdown`), HTML (`modelsummary._present.html`); JSON and CSV from
`modelsummary._present.export.summary_dict()`.

The text table sizes each column to its content and fits the whole table to a
width (`available_width()`: the terminal's, when printing to one) without losing a
character (`modelsummary._present.layout`): compact shapes and counts, two-line
headings, then cells wrapped onto continuation lines.
Tree glyphs are data (`UNICODE_GUIDES`, `ASCII_GUIDES`);
`loop_last()` says whether a child is the last one, so it gets ``└─``.

Examples:
    >>> from modelsummary._tree.nodes import SummaryNode, SummaryTree, Totals
    >>> leaf = SummaryNode("fc", "Linear", 1, 1, num_params=6, subtree_params=6)
    >>> root = SummaryNode("", "Net", 0, 1, subtree_params=6, children=(leaf,))
    >>> tree = SummaryTree(root, totals=Totals(total_params=6, trainable_params=6))
    >>> print(render_table(tree, RenderOptions(columns=("num_params",))))
    ===============================================
    Layer (type)      Param #
    --------------  ---------
    Net                    --
    └─fc (Linear)           6
    ===============================================
    Parameters (the model's count is Total params):
    Total params: 6
    Trainable params: 6
    Non-trainable params: 0
    Unused params: 0
    All params: 6
    Buffers: 0
    Total mult-adds: 0
    -----------------------------------------------
    Input size: 0 B
    Parameters size: 0 B
    Buffers size: 0 B
    Forward activations: 0 B
    Estimated total size: 0 B
    ===============================================
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import TypeVar

from tabulate import tabulate

from .._records import FailedCall, InputOrigin, MapSpec, OtherSpec, SeqSpec, TensorSpec, ValueSpec
from .._tree.nodes import SummaryNode, SummaryTree, Totals, UnusedEntry
from .._tree.pruning import unmasked_params, unmasked_total
from .._tree.repeats import fold_repeats
from .._tree.wrappers import merge_wrappers
from .layout import fit_table
from .units import (
    format_bytes,
    format_bytes_in,
    format_count_in,
    format_int,
    format_seconds,
    format_short,
)

T = TypeVar("T")

ROW_SETTINGS = frozenset(
    {"depth", "var_names", "ascii_only", "hide_recursive_layers", "list_unused", "fold_repeats"}
)
"""Row settings accepted in ``row_settings`` (torchinfo's spellings, plus ``list_unused``
and ``fold_repeats``)."""

LIST_WIDTH = 80
"""A footer list (the uncounted operators) longer than the table widens the rules up to
this many characters (within the width limit); beyond it, it wraps."""

PIPE_FORMATS = frozenset({"pipe", "github"})
"""tabulate formats that are Markdown tables: drawn without ``====`` rules, to paste as Markdown."""


@dataclass(frozen=True, slots=True)
class Guides:
    """The strings that draw a tree; one set for Unicode, one for ASCII.

    Examples:
        >>> ASCII_GUIDES.last
        '`-'
    """

    branch: str
    """Before a child that has later siblings."""
    last: str
    """Before the last child."""
    line: str
    """Under an ancestor that has later siblings."""
    space: str
    """Under an ancestor that was the last child."""
    times: str
    """Between a name and its call count."""
    ellipsis: str
    """Marks the middle of a cell elided to fit."""
    through: str = "–"
    """Between the first and the last name of a folded run (``0–11``)."""
    arrow: str = "→"
    """Between a model's wrapper class and the row of the model it wraps."""


UNICODE_GUIDES = Guides(branch="├─", last="└─", line="│ ", space="  ", times="×", ellipsis="…")
ASCII_GUIDES = Guides(
    branch="|-",
    last="`-",
    line="| ",
    space="  ",
    times="x",
    ellipsis="...",
    through="-",
    arrow="->",
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderOptions:
    """How to print a summary.

    Examples:
        >>> RenderOptions().columns
        ('output_size', 'num_params')
    """

    columns: tuple[str, ...] = ("output_size", "num_params")
    """Columns after the layer name, keys of `COLUMNS`."""
    depth: int = 3
    """Deepest row shown; deeper rows are folded into their ancestor at this depth."""
    ascii_only: bool = False
    """Draw the tree with ASCII characters only."""
    show_depth_index: bool = False
    """Append ``: depth-index`` to each name, as torchinfo's ``depth`` row setting does."""
    col_width: int | None = None
    """Minimum width of each value column; ``None`` sizes each column to its content."""
    tablefmt: str = "simple"
    """The tabulate format of the table (any name in ``tabulate.tabulate_formats``)."""
    width: int | None = None
    """Widest line of the text table: ``0`` for no limit; ``None`` for the terminal's
    width when printing to a terminal or when ``COLUMNS`` is set, else no limit."""
    list_unused: bool = False
    """List each parameter-free module that never ran, instead of one summary line."""
    fold_repeats: bool = False
    """Draw each run of identical consecutive siblings (a transformer's blocks) as one row
    with the run's summed counts and one copy of the inner rows (see
    `modelsummary._tree.repeats.fold_repeats()`)."""
    params_units: str = "auto"
    """Unit of the footer's parameter counts, a ``torchinfo.Units`` value: ``"auto"``
    (exact and short, ``21,840 (21.84K)``), ``""`` (exact), ``"M"``, ``"G"`` or ``"T"``
    (see `format_count_in()`); torchinfo's ``params_units``."""
    macs_units: str = "auto"
    """Unit of the footer's mult-adds (and FLOPs), as `params_units`; torchinfo's
    ``macs_units``."""
    size_units: str = "auto"
    """Unit of the footer's sizes in bytes, a ``torchinfo.Units`` value: ``"auto"``
    (``B``, ``kB``, ``MB`` or ``GB``, whichever reads best), ``""`` (bytes), ``"M"``,
    ``"G"`` or ``"T"`` (see `format_bytes_in()`); torchinfo's ``params_size_units``."""

    @property
    def timed(self) -> bool:
        """Whether a column needs the timed extra passes only `summary()` runs.

        Examples:
            >>> RenderOptions(columns=("time",)).timed, RenderOptions().timed
            (True, False)
        """
        return any(COLUMNS[c].needs_timing for c in self.columns)


def loop_last(values: Iterable[T]) -> Iterator[tuple[bool, T]]:
    """Yield ``(is_last, value)`` for each value.

    Examples:
        >>> list(loop_last("ab"))
        [(False, 'a'), (True, 'b')]
    """
    iterator = iter(values)
    try:
        previous = next(iterator)
    except StopIteration:
        return
    for value in iterator:
        yield False, previous
        previous = value
    yield True, previous


# -- values as text ---------------------------------------------------------------------


def format_value(
    spec: ValueSpec | None, *, nested: bool = False, dtypes: bool = False, compact: bool = False
) -> str:
    """Format a recorded value in full, the way torchinfo users read shapes.

    A top-level tuple (a call's arguments, a module's outputs) is listed bare;
    tuples inside it are parenthesised, so ``(out, (h, c))`` stays readable.
    Error messages and `diff()` use this; table cells use
    `shape_text()`, which leaves out what is not a shape. ``compact`` writes a
    shape without spaces (``[1,64,112,112]``), as a narrow table does.

    Examples:
        >>> format_value(TensorSpec((1, 3, 224, 224), "float32", 0))
        '[1, 3, 224, 224]'
        >>> h = TensorSpec((2, 3, 20), "float32", 0)
        >>> format_value(SeqSpec((TensorSpec((3, 5, 20), "float32", 0), SeqSpec((h, h)))))
        '[3, 5, 20], ([2, 3, 20], [2, 3, 20])'
        >>> format_value(SeqSpec((TensorSpec((2,), "int64", 16), OtherSpec("NoneType"))))
        '[2], None'
        >>> format_value(MapSpec((("logits", TensorSpec((1, 10), "float32", 40)),)))
        '{logits: [1, 10]}'

        With ``dtypes``, as error messages write them, a tensor that is not float32
        says its dtype:

        >>> format_value(SeqSpec((TensorSpec((2,), "int64", 16),)), dtypes=True)
        '[2] int64'
        >>> format_value(TensorSpec((1, 64, 112, 112), "float32", 0), compact=True)
        '[1,64,112,112]'
    """
    if spec is None:
        return "--"
    if isinstance(spec, TensorSpec):
        shape = "[" + ("," if compact else ", ").join(str(s) for s in spec.shape) + "]"
        return f"{shape} {spec.dtype}" if dtypes and spec.dtype != "float32" else shape
    if isinstance(spec, OtherSpec):
        return "None" if spec.type_name == "NoneType" else spec.type_name
    if isinstance(spec, SeqSpec):
        inner = ", ".join(
            format_value(item, nested=True, dtypes=dtypes, compact=compact) for item in spec.items
        )
        return f"({inner})" if nested or not inner else inner
    inner = ", ".join(
        f"{k}: {format_value(v, nested=True, dtypes=dtypes, compact=compact)}"
        for k, v in spec.items
    )
    return "{" + inner + "}"


def format_inputs(spec: ValueSpec | None, *, dtypes: bool = False) -> str:
    """Format a call's recorded inputs: its positional arguments, then the keyword
    arguments that are not ``None``. Models such as Hugging Face's pass each optional
    argument by keyword, most of them ``None``, which says nothing about shapes; the
    records (and the JSON) keep them all.

    Examples:
        >>> ids, none = TensorSpec((1, 8), "int64", 64), OtherSpec("NoneType")
        >>> format_inputs(SeqSpec((ids, MapSpec((("mask", none), ("position_ids", ids))))))
        '[1, 8], {position_ids: [1, 8]}'
        >>> format_inputs(SeqSpec((ids, none, MapSpec((("mask", none),)))))
        '[1, 8], None'
    """
    if isinstance(spec, SeqSpec) and spec.items and isinstance(spec.items[-1], MapSpec):
        keywords = tuple(
            (name, value)
            for name, value in spec.items[-1].items
            if not (isinstance(value, OtherSpec) and value.type_name == "NoneType")
        )
        spec = SeqSpec(spec.items[:-1] + ((MapSpec(keywords),) if keywords else ()))
    return format_value(spec, dtypes=dtypes)


def _is_noise(spec: ValueSpec, keyword: bool, inputs: bool) -> bool:
    """A value a shape cell leaves out: a cache anywhere; in a call's inputs also
    ``None``, and a flag or setting (a ``bool``, ``int``, ``float`` or ``str``)
    passed by keyword."""
    if not isinstance(spec, OtherSpec):
        return False
    name = spec.type_name
    if name.endswith("Cache"):  # DynamicCache, StaticCache, EncoderDecoderCache ...
        return True
    return inputs and (name == "NoneType" or (keyword and name in _SETTINGS))


_SETTINGS = frozenset({"bool", "int", "float", "str"})


def _without_noise(spec: ValueSpec, inputs: bool, keyword: bool = False) -> ValueSpec | None:
    """The value without what `_is_noise()` names (``None`` if nothing is left)."""
    if _is_noise(spec, keyword, inputs):
        return None
    if isinstance(spec, SeqSpec):
        items = tuple(s for s in (_without_noise(i, inputs) for i in spec.items) if s is not None)
        return SeqSpec(items) if items or not spec.items else None
    if isinstance(spec, MapSpec):
        pairs = tuple(
            (k, s) for k, s in ((k, _without_noise(v, inputs, True)) for k, v in spec.items) if s
        )
        return MapSpec(pairs) if pairs or not spec.items else None
    return spec


def shape_text(spec: ValueSpec | None, *, inputs: bool = False, compact: bool = False) -> str:
    """A recorded value as a table cell shows it: caches (``DynamicCache``) are left
    out, and of a call's ``inputs`` also ``None`` and flags or settings passed by
    keyword (``use_cache: bool``), at any level. Hugging Face models pass each of these to
    every layer, which says nothing about shapes; the records and the JSON keep them.
    ``compact`` writes shapes without spaces (see `format_value()`).

    Examples:
        >>> ids, none = TensorSpec((1, 8), "int64", 64), OtherSpec("NoneType")
        >>> flags = MapSpec((("use_cache", OtherSpec("bool")), ("position_ids", ids)))
        >>> shape_text(SeqSpec((ids, OtherSpec("DynamicCache"), none, flags)), inputs=True)
        '[1, 8], {position_ids: [1, 8]}'
        >>> shape_text(MapSpec((("logits", ids), ("past_key_values", OtherSpec("DynamicCache")))))
        '{logits: [1, 8]}'
        >>> shape_text(OtherSpec("NoneType")), shape_text(None)
        ('None', '--')
    """
    if spec is None:
        return "--"
    kept = _without_noise(spec, inputs)
    return format_value(spec if kept is None else kept, compact=compact)


def first_of(texts: Iterable[str], complete: bool = False) -> str:
    """The first of a module's distinct call texts, and how many more there are
    (``complete``: every one, in call order).

    Examples:
        >>> first_of(["[1, 8]", "[1, 4]", "[1, 8]", "[1, 2]"]), first_of(["[1, 8]"])
        ('[1, 8] (+2 more)', '[1, 8]')
        >>> first_of(["[1, 8]", "[1, 4]", "[1, 8]"], complete=True)
        '[1, 8] | [1, 4]'
    """
    distinct = list(dict.fromkeys(texts))
    if complete:
        return " | ".join(distinct) or "--"
    more = f" (+{len(distinct) - 1} more)" if len(distinct) > 1 else ""
    return distinct[0] + more if distinct else "--"


# -- columns ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Row:
    """One visible row of the table: the node, its tree prefix and whether deeper rows fold into it.

    Examples:
        >>> Row(SummaryNode("fc", "Linear", 1, 1), "└─", False, 1).prefix
        '└─'
    """

    node: SummaryNode
    """The module the row shows."""
    prefix: str
    """The tree glyphs before the name."""
    collapsed: bool
    """Deeper rows are folded into this one (its numbers cover them)."""
    index: int
    """Position among its siblings, from 1."""
    complete: bool = False
    """Show every value (the HTML view): all of a module's distinct call shapes."""
    continuation: str = ""
    """The tree glyphs before a continuation line of the row (a wrapped cell): the
    guides go on, down to its children when they are shown."""

    @property
    def params(self) -> tuple[int, int]:
        """``(parameters, trainable)`` the row shows: its subtree's when collapsed."""
        node = self.node
        if self.collapsed:
            return node.subtree_params, node.subtree_trainable
        return node.num_params, node.trainable_params

    @property
    def mult_adds(self) -> int:
        """Mult-adds the row shows: its own, or its subtree's when collapsed or a leaf."""
        node = self.node
        return node.subtree_mult_adds if self.collapsed or not node.children else node.mult_adds


def _no_notes(row: Row) -> tuple[str, ...]:
    return ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Column:
    """One column of the table, defined once: what every renderer and check reads.

    Examples:
        >>> COLUMNS["flops"].header, COLUMNS["flops"].needs_pass
        ('FLOPs', True)
    """

    key: str
    """The name in ``col_names``."""
    header: str
    """The column's heading."""
    cell: Callable[[Row, SummaryTree], str]
    """The cell's text for a row."""
    notes: Callable[[Row], tuple[str, ...]] = _no_notes
    """Footnotes the cell refers to (``[n]`` is appended to the cell for each)."""
    needs_pass: bool = True
    """Empty without a forward pass (shapes, mult-adds, calls)."""
    needs_timing: bool = False
    """Needs the timed passes only `summary()` runs."""
    kind: str = "text"
    """How the text table may shorten and wrap the cells (`modelsummary._present.layout`):
    ``"shape"``, ``"count"`` (a compact form such as ``118.0M``), ``"number"`` (never
    broken) or ``"text"``."""
    short: Callable[[Row, SummaryTree], str] | None = None
    """The cell in its compact form (shapes without spaces, counts as ``118.0M``),
    used only when the table does not fit its width; ``None``: the cell itself."""


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _param_text(row: Row, tree: SummaryTree, count: Callable[[int], str]) -> str:
    params, _ = row.params
    text = count(params) if params else "--"
    if tree.uninitialised and _holds_uninitialised(row, tree.uninitialised):
        text = f"{text} + uninitialised" if params else "uninitialised"
    if tree.masked and params:  # pruned: the dense count, and what the masks leave
        left = unmasked_params(row.node, dict(tree.masked), subtree=row.collapsed)
        text += f" ({count(left)} unmasked)" if left != params else ""
    return text


def _holds_uninitialised(row: Row, names: Sequence[str]) -> bool:
    """Whether the row carries a lazy module's parameter not initialised yet."""
    nodes = row.node.walk() if row.collapsed else (row.node,)
    return any(name in names for node in nodes for name in node.param_names)


def _param_cell(row: Row, tree: SummaryTree) -> str:
    return _param_text(row, tree, format_int)


def _param_short(row: Row, tree: SummaryTree) -> str:
    return _param_text(row, tree, format_short)


def _param_notes(row: Row) -> tuple[str, ...]:
    node = row.node
    notes = [
        f"{_join(node.path, s.name)} is {s.param}, counted at {s.counted_at or 'the root'}"
        for s in node.shared
    ]
    if node.used_by:
        notes.append(
            f"{node.path} was not called; its parameters were used by "
            + ", ".join(u or "the root" for u in node.used_by)
        )
    return tuple(notes)


def _percent_cell(row: Row, tree: SummaryTree) -> str:
    params, _ = row.params
    total = tree.totals.total_params
    return f"{100 * params / total:.2f}%" if params and total else "--"


def _trainable_cell(row: Row, tree: SummaryTree) -> str:
    params, trainable = row.params
    if not params:
        counted = [s.counted_at for s in row.node.shared if s.counted_at != row.node.path]
        return f"see {counted[0] or 'root'}" if counted else "--"
    return "True" if trainable == params else "False" if trainable == 0 else "Partial"


def _inputs_text(row: Row, compact: bool) -> str:
    node = row.node
    if node.variants:
        return first_of(
            (shape_text(inputs, inputs=True, compact=compact) for inputs, _ in node.variants),
            row.complete,
        )
    return shape_text(node.inputs, inputs=True, compact=compact)


def _output_text(row: Row, compact: bool) -> str:
    node = row.node
    if node.variants:
        return first_of(
            (shape_text(output, compact=compact) for _, output in node.variants), row.complete
        )
    if node.failed and node.output is None:
        return "failed"
    return shape_text(node.output, compact=compact)


def _count_cell(n: int) -> str:
    return format_int(n) if n else "--"


def _count_short(n: int, ops: bool = False) -> str:
    return format_short(n, ops=ops) if n else "--"


def _groups_cell(row: Row, tree: SummaryTree) -> str:
    groups = row.node.groups
    return str(groups) if groups is not None else "--"


def _kernel_text(row: Row, compact: bool) -> str:
    kernel = row.node.kernel_size
    return format_value(TensorSpec(kernel, "", 0), compact=compact) if kernel else "--"


def _comm_cell(row: Row, tree: SummaryTree) -> str:
    node = row.node
    moved = node.subtree_comm_bytes if row.collapsed or not node.children else node.comm_bytes
    return format_bytes(moved) if moved else "--"


def _dtype_cell(row: Row, tree: SummaryTree) -> str:
    """The stored formats of the row's parameters (its subtree's when collapsed):
    ``float32``, ``nf4``, ``int8 + float32`` where they mix."""
    nodes = row.node.walk() if row.collapsed else (row.node,)
    formats = dict.fromkeys(f for node in nodes for f in node.formats)
    return " + ".join(formats) if formats else "--"


def _mode_cell(row: Row, tree: SummaryTree) -> str:
    training = row.node.training
    return "--" if training is None else "train" if training else "eval"


def _receptive_cell(row: Row, tree: SummaryTree) -> str:
    """``15 (stride 4)``; ``3×7 (stride 1×2)`` where the dimensions differ."""  # noqa: RUF002
    node = row.node
    field, stride = node.receptive_field, node.rf_stride
    if field is None or stride is None:
        return "--"
    if not field:  # the model's input itself, before any kernel
        return "1 (stride 1)"

    def sizes(values: tuple[int, ...]) -> str:
        return str(values[0]) if len(set(values)) == 1 else "×".join(map(str, values))

    return f"{sizes(field)} (stride {sizes(stride)})"


def _time_cell(row: Row, tree: SummaryTree) -> str:
    seconds = row.node.time_s
    return format_seconds(seconds) if seconds is not None else "--"


def _columns(*columns: Column) -> dict[str, Column]:
    table: dict[str, Column] = {}
    for column in columns:
        if column.key in table:
            raise ValueError(f"column {column.key!r} defined twice")
        table[column.key] = column
    return table


COLUMNS: dict[str, Column] = _columns(
    Column(
        key="input_size",
        header="Input Shape",
        cell=lambda r, t: _inputs_text(r, False),
        short=lambda r, t: _inputs_text(r, True),
        kind="shape",
    ),
    Column(
        key="output_size",
        header="Output Shape",
        cell=lambda r, t: _output_text(r, False),
        short=lambda r, t: _output_text(r, True),
        kind="shape",
    ),
    Column(
        key="num_params",
        header="Param #",
        cell=_param_cell,
        short=_param_short,
        notes=_param_notes,
        needs_pass=False,
        kind="count",
    ),
    Column(
        key="params_percent",
        header="Param %",
        cell=_percent_cell,
        needs_pass=False,
        kind="number",
    ),
    Column(
        key="kernel_size",
        header="Kernel Shape",
        cell=lambda r, t: _kernel_text(r, False),
        short=lambda r, t: _kernel_text(r, True),
        needs_pass=False,
        kind="shape",
    ),
    Column(key="groups", header="Groups", cell=_groups_cell, needs_pass=False, kind="number"),
    Column(
        key="mult_adds",
        header="Mult-Adds",
        cell=lambda r, t: _count_cell(r.mult_adds),
        short=lambda r, t: _count_short(r.mult_adds, ops=True),
        kind="count",
    ),
    Column(
        key="flops",
        header="FLOPs",
        cell=lambda r, t: _count_cell(2 * r.mult_adds),
        short=lambda r, t: _count_short(2 * r.mult_adds, ops=True),
        kind="count",
    ),
    Column(key="trainable", header="Trainable", cell=_trainable_cell, needs_pass=False),
    Column(
        key="calls",
        header="Calls",
        cell=lambda r, t: _count_cell(r.node.calls),
        short=lambda r, t: _count_short(r.node.calls),
        kind="count",
    ),
    Column(key="time", header="Time", cell=_time_cell, needs_timing=True, kind="number"),
    Column(key="comm_bytes", header="Comm Bytes", cell=_comm_cell, kind="number"),
    Column(key="dtype", header="Dtype", cell=_dtype_cell, needs_pass=False, kind="text"),
    Column(key="mode", header="Mode", cell=_mode_cell),
    Column(key="receptive_field", header="Receptive Field", cell=_receptive_cell, kind="number"),
)
"""Every column ``col_names`` accepts (torchinfo's spellings, plus ``groups``, ``flops``,
``calls``, ``time``, ``comm_bytes``, ``dtype``, ``mode`` and ``receptive_field``), by name.
``flops`` is twice ``mult_adds``; ``comm_bytes`` is what the collectives of a module's own
calls moved; ``dtype`` the stored format of the row's parameters (``int8 + float32`` where
they mix); ``mode`` is ``train`` or ``eval`` during the pass, as Lightning shows it;
``receptive_field`` the input extent one output element sees, with the cumulative stride
(see `modelsummary._tree.receptive`)."""


# -- the table's cells --------------------------------------------------------------------


def visible_rows(
    root: SummaryNode, depth: int, guides: Guides, complete: bool = False
) -> list[Row]:
    """The rows to print with their tree prefixes; rows deeper than ``depth`` fold
    into their ancestor at ``depth``, which is then marked collapsed.

    Examples:
        >>> leaf = SummaryNode("fc", "Linear", 1, 1)
        >>> [r.prefix for r in visible_rows(SummaryNode("", "Net", 0, 1, children=(leaf,)), 3,
        ...                                 UNICODE_GUIDES)]
        ['', '└─']
    """
    rows: list[Row] = []
    # Iterative pre-order walk (no recursion limit): children are pushed in reverse.
    pending: list[tuple[SummaryNode, str, str, int]] = [(root, "", "", 1)]
    while pending:
        node, glyph, indent, index = pending.pop()
        collapsed = node.depth >= depth and bool(node.children)
        child_indent = (
            indent
            if node.depth == 0
            else indent + (guides.space if glyph == guides.last else guides.line)
        )
        shows_children = node.depth < depth and bool(node.children)
        continuation = child_indent + (guides.line if shows_children else guides.space)
        rows.append(Row(node, indent + glyph, collapsed, index, complete, continuation))
        if node.depth >= depth:
            continue
        children = list(enumerate(loop_last(node.children), start=1))
        for i, (last, child) in reversed(children):
            pending.append((child, guides.last if last else guides.branch, child_indent, i))
    return rows


@dataclass(frozen=True, slots=True)
class TableCells:
    """The summary table as text cells: what the text, HTML and Markdown renderers draw.

    Examples:
        >>> tree = SummaryTree(SummaryNode("", "Net", 0, 1))
        >>> cells = table_cells(tree, RenderOptions(columns=("num_params",)))
        >>> cells.headers, cells.rows
        (('Layer (type)', 'Param #'), (('Net', '--'),))
    """

    headers: tuple[str, ...]
    """``"Layer (type)"`` and the header of each column."""
    rows: tuple[tuple[str, ...], ...]
    """One tuple of cells per visible row, in full; the first holds the tree prefix and name."""
    nodes: tuple[SummaryNode, ...]
    """The node each row shows."""
    collapsed: tuple[bool, ...]
    """Per row: deeper rows are folded into it."""
    colalign: tuple[str, ...]
    """``"left"`` for the name column, ``"right"`` for the value columns."""
    notes: tuple[str, ...]
    """Footnotes the cells refer to as ``[n]``."""
    prefixes: tuple[str, ...] = ()
    """Per row: the tree glyphs at the start of its first cell."""
    short_rows: tuple[tuple[str, ...], ...] = ()
    """``rows`` in compact form (`Column.short`), for a table that does not fit its width."""
    kinds: tuple[str, ...] = ()
    """Per column: ``"name"`` for the first, then each column's `Column.kind`."""
    continuations: tuple[str, ...] = ()
    """Per row: the tree glyphs of its continuation lines (`Row.continuation`)."""


def table_cells(tree: SummaryTree, options: RenderOptions, *, complete: bool = False) -> TableCells:
    """The visible rows of the summary table, each as formatted cells.

    Args:
        tree: The summary tree.
        options: Columns, depth and glyphs.
        complete: Every value in full, for the HTML view: a module called with
            several shapes lists each, instead of the first and how many more.

    Returns:
        Headers, cells and footnotes, shared by every renderer.
    """
    guides = ASCII_GUIDES if options.ascii_only else UNICODE_GUIDES
    root = merge_wrappers(tree.root)
    root = fold_repeats(root) if options.fold_repeats else root
    rows = visible_rows(root, options.depth, guides, complete)
    columns = [COLUMNS[key] for key in options.columns]
    notes: list[str] = []
    body, short_body = [], []
    for row in rows:
        cells = [_name_cell(row, guides, options)]
        short = list(cells)
        for column in columns:
            text = column.cell(row, tree)
            compact = text if column.short is None else column.short(row, tree)
            for note in column.notes(row):
                notes.append(f"[{len(notes) + 1}] {note}")
                text += f" [{len(notes)}]"
                compact += f" [{len(notes)}]"
            cells.append(text)
            short.append(compact)
        body.append(tuple(cells))
        short_body.append(tuple(short))
    return TableCells(
        headers=("Layer (type)", *(c.header for c in columns)),
        rows=tuple(body),
        nodes=tuple(row.node for row in rows),
        collapsed=tuple(row.collapsed for row in rows),
        colalign=("left",) + ("right",) * len(columns),
        notes=tuple(notes),
        prefixes=tuple(row.prefix for row in rows),
        short_rows=tuple(short_body),
        kinds=("name", *(c.kind for c in columns)),
        continuations=tuple(row.continuation for row in rows),
    )


def _name_cell(row: Row, guides: Guides, options: RenderOptions) -> str:
    node = row.node
    label = node.type_name if node.path == "" else f"{node.name} ({node.type_name})"
    if node.wrappers:  # a model drawn in its wrapper's place: its path from there
        outer, outer_type = node.wrappers[0]
        base = outer.rpartition(".")[0]
        label = f"{node.path[len(base) + 1 :] if base else node.path} ({node.type_name})"
        if outer == "":
            label = f"{outer_type} {guides.arrow} {label}"
    if node.folded:  # a run of identical siblings: "0-11 (GPT2Block) x12" in ASCII
        last = node.folded[-1].rpartition(".")[2]
        label = f"{node.name}{guides.through}{last} ({node.type_name}) {guides.times}{node.copies}"
        if node.calls > node.copies:
            label += f" ({guides.times}{node.calls // node.copies} calls each)"
    elif node.calls > 1:
        label += f" {guides.times}{node.calls}"
    if not node.traced:
        label += " [not traced]"
    if node.failed:
        label += f" {FAILED_MARK}"
    if options.show_depth_index and node.depth > 0:
        label += f": {node.depth}-{row.index}"
    return row.prefix + label


# -- the unused section -------------------------------------------------------------------


def _entry_depth(entry: UnusedEntry) -> int:
    """Depth of the module an entry stands for (a lone parameter's is its module's)."""
    depth = entry.path.count(".") + 1 if entry.path else 0
    return depth - 1 if entry.type_name == "Parameter" else depth


def _folded_unused(tree: SummaryTree, depth: int) -> list[tuple[str, str, int, int]]:
    """``(path, type, params, entries folded in)`` of the unused entries that hold
    parameters, entries deeper than ``depth`` folded into their ancestor at ``depth``."""
    types = {node.path: node.type_name for node in tree.root.walk()}
    folded: dict[str, list[int]] = {}
    kinds: dict[str, str] = {}
    for entry in tree.unused:
        if not entry.params and entry.type_name != "Parameter":
            continue  # parameter-free: in the one summary line
        path, kind = entry.path, entry.type_name
        if _entry_depth(entry) > depth:
            path = ".".join(entry.path.split(".")[:depth])
            kind = types.get(path, "")
        if path in folded:
            folded[path][0] += entry.params
            folded[path][1] += 1
        else:
            folded[path], kinds[path] = [entry.params, 1], kind
    return [(path, kinds[path], n, k) for path, (n, k) in folded.items()]


def unused_cells(
    tree: SummaryTree, options: RenderOptions | None = None
) -> tuple[tuple[str, str], tuple[tuple[str, str], ...]]:
    """Headers and rows of the unused section's table (no rows when nothing is listed).

    Entries that hold unused parameters are always listed; those deeper than
    ``options.depth`` fold into their ancestor at that depth, as the table's rows do.
    Parameter-free modules that never ran are listed only with ``list_unused``;
    otherwise `unused_line()` sums them up.

    Examples:
        >>> from modelsummary._tree.nodes import UnusedEntry
        >>> tree = SummaryTree(SummaryNode("", "Net", 0, 1), (UnusedEntry("fc", "Linear", 6),))
        >>> unused_cells(tree)
        (('Unused (never called or used)', 'Param #'), (('fc (Linear)', '6'),))
    """
    options = options or RenderOptions()
    times = (ASCII_GUIDES if options.ascii_only else UNICODE_GUIDES).times
    if options.list_unused:
        entries = [(e.path, e.type_name, e.params, 1) for e in tree.unused]
    else:
        entries = _folded_unused(tree, options.depth)
    rows = []
    for path, kind, params, folded in entries:
        label = f"{path} ({kind})" if path else kind
        if folded > 1:
            label += f" {times}{folded} inside"
        rows.append((label, format_int(params) if params else "--"))
    title = NOT_REACHED_TITLE if tree.partial else "Unused (never called or used)"
    return (title, "Param #"), tuple(rows)


def unused_line(tree: SummaryTree, options: RenderOptions | None = None) -> str:
    """One line for the parameter-free modules that never ran: how many, of which types.

    Empty when there are none, or when ``list_unused`` lists them one by one.

    Examples:
        >>> from modelsummary._tree.nodes import UnusedEntry
        >>> drops = tuple(UnusedEntry(f"h.{i}.drop", "Dropout", 0) for i in range(12))
        >>> tree = SummaryTree(SummaryNode("", "Net", 0, 1), drops)
        >>> unused_line(tree, RenderOptions(ascii_only=True))
        '12 modules without parameters never ran: Dropout x12'
    """
    options = options or RenderOptions()
    if options.list_unused:
        return ""
    times = (ASCII_GUIDES if options.ascii_only else UNICODE_GUIDES).times
    kinds = Counter(  # a container never called itself (ModuleDict) is no news
        e.type_name
        for e in tree.unused
        if not e.params and e.type_name != "Parameter" and not e.container
    )
    if not kinds:
        return ""
    n = sum(kinds.values())
    listed = ", ".join(f"{kind} {times}{k}" if k > 1 else kind for kind, k in kinds.items())
    return f"{n} module{'s' if n > 1 else ''} without parameters never ran: {listed}"


# -- the footer ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FooterLine:
    """One line of the footer: a label, its value, and what kind of line it is.

    ``kind`` is ``"count"``, ``"size"``, ``"total"`` (the line that sums a group),
    ``"title"`` (a heading, no value), ``"list"`` (a list that may run long) or
    ``"note"`` (a sentence, no label).

    Examples:
        >>> FooterLine("Total params", "6", "total").text
        'Total params: 6'
        >>> FooterLine("", "Nothing ran.", "note").text
        'Nothing ran.'
    """

    label: str
    """What the value is."""
    value: str
    """The formatted value (empty for a title)."""
    kind: str
    """How renderers treat it (see above)."""

    @property
    def text(self) -> str:
        """The line as the text table prints it."""
        if self.kind == "note":
            return self.value
        return f"{self.label}: {self.value}" if self.value else f"{self.label}:"


@dataclass(frozen=True, slots=True)
class FooterGroup:
    """A group of footer lines: ``"counts"``, ``"sizes"``, ``"training"`` or ``"note"``.

    Examples:
        >>> FooterGroup("sizes", (FooterLine("Input size", "0 B", "size"),)).lines[0].label
        'Input size'
    """

    kind: str
    """Which group (also the HTML class ``ms-<kind>``)."""
    lines: tuple[FooterLine, ...]
    """Its lines in order."""


NO_PASS_NOTE = (
    "No input was given, so nothing ran: every registered parameter is counted;"
    " shapes, mult-adds and which modules go unused need an input."
)
"""The footer's last line for a summary made without a forward pass: one sentence."""

UNINITIALISED_LABEL = "Uninitialised (lazy, sized by a first pass; not counted)"
"""The footer's label of the lazy modules' parameters and buffers not initialised yet."""

PARAMS_TITLE = "Parameters (the model's count is Total params)"
"""The heading of the footer's counts: which of its lines is the model's parameter count."""


def _held_here(totals: Totals) -> str:
    """What this process holds of the parameters, when an engine spreads them.

    Examples:
        >>> _held_here(Totals(param_bytes=40, local_param_bytes=20, rank=0, world_size=2))
        ' (20 B on this rank of 2)'
        >>> _held_here(Totals(param_bytes=40, local_param_bytes=0))
        ' (0 B on the device, the rest offloaded)'
    """
    local = totals.local_param_bytes
    if local is None:
        return ""
    if totals.world_size is not None and totals.world_size > 1:
        return f" ({format_bytes(local)} on this rank of {totals.world_size})"
    if local == totals.param_bytes:
        return ""
    return f" ({format_bytes(local)} on the device, the rest offloaded)"


def _bits(totals: Totals) -> str:
    """The stored bits per parameter, when any parameter is quantized.

    Examples:
        >>> _bits(Totals(total_params=9610, param_bytes=10714, quantized_params=8192))
        ' (8.9 bits per parameter)'
        >>> _bits(Totals(total_params=9610, param_bytes=38440))
        ''
    """
    if not totals.quantized_params:
        return ""
    return f" ({totals.bits_per_param:.1f} bits per parameter)"


def _count(n: int, unit: str = "auto", *, ops: bool = False) -> str:
    return format_count_in(n, unit, ops=ops)


def footer_groups(
    tree: SummaryTree, options: RenderOptions | None = None
) -> tuple[FooterGroup, ...]:
    """The footer as data: counts, sizes, the training estimate when an optimizer
    was named, and the note of a summary made without a pass.

    Examples:
        >>> from modelsummary._tree.nodes import Totals
        >>> tree = SummaryTree(SummaryNode("", "Net", 0, 1), totals=Totals(total_params=1500))
        >>> groups = footer_groups(tree)
        >>> groups[0].lines[1]
        FooterLine(label='Total params', value='1,500 (1.50K)', kind='total')
        >>> [g.kind for g in groups]
        ['counts', 'sizes']
    """
    options = options or RenderOptions()
    totals = tree.totals
    ran = tree.forward_pass  # without a pass: no unused, mult-adds, inputs or activations
    times = (ASCII_GUIDES if options.ascii_only else UNICODE_GUIDES).times
    p, macs = options.params_units, options.macs_units
    size = options.size_units
    counts = [
        FooterLine(PARAMS_TITLE, "", "title"),
        FooterLine("Total params", _count(totals.total_params, p), "total"),
        FooterLine("Trainable params", _count(totals.trainable_params, p), "count"),
        FooterLine("Non-trainable params", _count(totals.non_trainable_params, p), "count"),
    ]
    if tree.masked:  # pruned: what the masks leave of the total, torchinfo's count
        left = _count(unmasked_total(tree), p)
        counts.insert(2, FooterLine("Unmasked params (pruning)", left, "count"))
    if ran:
        counts.append(FooterLine("Unused params", _count(totals.unused_params, p), "count"))
        counts.append(FooterLine("All params", _count(totals.all_params, p), "count"))
    counts.append(FooterLine("Buffers", _count(totals.buffers), "count"))
    if ran:
        counts.append(
            FooterLine("Total mult-adds", _count(totals.mult_adds, macs, ops=True), "count")
        )
        if "flops" in options.columns:
            flops = _count(2 * totals.mult_adds, macs, ops=True)
            counts.append(FooterLine("Total FLOPs (2 × mult-adds)", flops, "count"))
    if tree.uninitialised:  # a lazy module before its first pass: counted as 0
        counts.append(FooterLine(UNINITIALISED_LABEL, ", ".join(tree.uninitialised), "list"))
    if tree.uncounted_ops:
        counts.append(
            FooterLine(
                "Uncounted operators (mult-adds may be partial)",
                ", ".join(f"{name} {times}{n}" for name, n in tree.uncounted_ops),
                "list",
            )
        )
    held = format_bytes_in(totals.param_bytes, size) + _bits(totals) + _held_here(totals)
    if totals.weights_as is not None:  # an estimate: the weights sized in another format
        held += f" (weights as {totals.weights_as})"
    sizes = [
        FooterLine("Parameters size", held, "size"),
        FooterLine("Buffers size", format_bytes_in(totals.buffer_bytes, size), "size"),
    ]
    if totals.placements:
        placed = ", ".join(f"{_count(n, p)} {where}" for where, n in totals.placements)
        sizes.insert(1, FooterLine("Parameter placement", placed, "list"))
    if tree.failure is not None:
        counts = [_partial(line) for line in counts]
    if not ran:
        return (
            FooterGroup("counts", tuple(counts)),
            FooterGroup("sizes", tuple(sizes)),
            FooterGroup("note", (FooterLine("", NO_PASS_NOTE, "note"),)),
        )
    sizes.insert(0, FooterLine("Input size", format_bytes_in(totals.input_bytes, size), "size"))
    sizes.append(
        FooterLine("Forward activations", format_bytes_in(totals.activation_bytes, size), "size")
    )
    sizes.append(
        FooterLine("Estimated total size", format_bytes_in(totals.total_bytes, size), "total")
    )
    if totals.peak_bytes is not None:
        sizes.append(
            FooterLine(
                "Measured CUDA peak during the pass",
                format_bytes_in(totals.peak_bytes, size),
                "size",
            )
        )
    if totals.comm_bytes:
        moved = format_bytes_in(totals.comm_bytes, size)
        sizes.append(FooterLine("Communication (collectives)", moved, "size"))
    groups = [FooterGroup("counts", tuple(counts)), FooterGroup("sizes", tuple(sizes))]
    if tree.failure is not None:  # the totals stop at the failure, which a note describes
        groups[1] = FooterGroup("sizes", tuple(_partial(line) for line in sizes))
        notes = failure_lines(tree.failure)
        groups.append(FooterGroup("note", tuple(FooterLine("", n, "note") for n in notes)))
    if totals.optimizer is not None:
        groups.append(FooterGroup("training", _training_lines(totals, size)))
    return tuple(groups)


def _training_lines(totals: Totals, size: str = "auto") -> tuple[FooterLine, ...]:
    """The training estimate's lines; with an optimizer object, the parameters it misses
    (trainable, in no param group) and those it still holds frozen.

    Examples:
        >>> t = Totals(optimizer="Adam", not_in_optimizer=("head.weight", "head.bias"))
        >>> [line.label for line in _training_lines(t)][2:4]
        ['Optimizer state', 'Trainable, in no param group (never updated)']
        >>> _training_lines(t)[3].value
        'head.weight, head.bias'
    """
    lines = [
        FooterLine(f"Training estimate ({totals.optimizer})", "", "title"),
        FooterLine("Gradients", format_bytes_in(totals.grad_bytes, size), "size"),
        FooterLine("Optimizer state", format_bytes_in(totals.optimizer_bytes, size), "size"),
    ]
    if totals.not_in_optimizer:
        lines.append(
            FooterLine(
                "Trainable, in no param group (never updated)",
                _some_names(totals.not_in_optimizer),
                "list",
            )
        )
    if totals.frozen_in_optimizer:
        lines.append(
            FooterLine(
                "Frozen, still in a param group",
                _some_names(totals.frozen_in_optimizer),
                "list",
            )
        )
    saved = format_bytes_in(totals.saved_bytes, size)
    lines.append(FooterLine("Activations saved for backward", saved, "size"))
    total = format_bytes_in(totals.training_bytes, size)
    lines.append(FooterLine("Estimated training size", total, "total"))
    return tuple(lines)


def _some_names(names: Sequence[str], shown: int = 6) -> str:
    """Names, the first few of a long list and how many more.

    Examples:
        >>> _some_names(["a", "b", "c"], shown=2)
        'a, b and 1 more'
    """
    if len(names) <= shown:
        return ", ".join(names)
    return f"{', '.join(names[:shown])} and {len(names) - shown} more"


# -- a pass that failed -------------------------------------------------------------------

FAILED_MARK = "[failed]"
"""What the name cell of the row whose call the pass failed in ends with."""

NOT_REACHED_TITLE = "Not reached (the pass failed first)"
"""The unused section's heading in the summary of a pass that failed."""

_PARTIAL_LABELS = {
    "Total params": "Total params (partial)",
    "Trainable params": "Trainable params (partial)",
    "Non-trainable params": "Non-trainable params (partial)",
    "Unused params": "Params not reached",
    "Total mult-adds": "Total mult-adds (partial)",
    "Forward activations": "Forward activations (partial)",
    "Estimated total size": "Estimated total size (partial)",
}
"""The footer's labels in the summary of a pass that failed: what stops at the failure."""


def _partial(line: FooterLine) -> FooterLine:
    label = _PARTIAL_LABELS.get(line.label)
    if label is None:
        return line
    return FooterLine(label, line.value, line.kind)


def module_name(path: str, type_name: str) -> str:
    """A module as messages name it: by path, or as the root.

    Examples:
        >>> module_name("a.2.1", "Linear"), module_name("", "Deep")
        ("module 'a.2.1' (Linear)", 'the root module (Deep)')
    """
    return f"module '{path}' ({type_name})" if path else f"the root module ({type_name})"


def origin_text(origin: InputOrigin) -> str:
    """Where a failing call's input came from, as messages say it.

    Examples:
        >>> from modelsummary._records import InputOrigin
        >>> origin_text(InputOrigin(TensorSpec((2, 30), "float32", 240), "a.2.0", "Linear(20, 30)"))
        "input [2, 30] came from 'a.2.0' (Linear(20, 30))"
    """
    where = f"'{origin.path}'" if origin.path else "the root"
    return f"input {format_value(origin.spec, dtypes=True)} came from {where} ({origin.module})"


def failure_lines(failure: FailedCall) -> tuple[str, ...]:
    """The sentences that end the summary of a pass that failed: where it failed, what
    that call received and its parameters' shapes, and where its inputs came from.

    Examples:
        >>> from modelsummary._records import FailedCall, InputOrigin
        >>> x = TensorSpec((2, 30), "float32", 240)
        >>> failed = FailedCall("a.2.1", "Linear", SeqSpec((x,)), 6,
        ...                     (("weight", TensorSpec((5, 31), "float32", 620)),),
        ...                     (InputOrigin(x, "a.2.0", "Linear(20, 30)"),))
        >>> for line in failure_lines(failed):
        ...     print(line)
        The forward pass failed in module 'a.2.1' (Linear): the table stops there.
        It received [2, 30]; its parameters: weight [5, 31].
        The input [2, 30] came from 'a.2.0' (Linear(20, 30)).
    """
    lines = [
        f"The forward pass failed in {module_name(failure.path, failure.type_name)}:"
        " the table stops there."
    ]
    received = f"It received {format_inputs(failure.inputs, dtypes=True) or 'no arguments'}"
    if failure.params:
        shapes = ", ".join(f"{n} {format_value(p, dtypes=True)}" for n, p in failure.params)
        received += f"; its parameters: {shapes}"
    lines.append(received + ".")
    lines += [f"The {origin_text(origin)}." for origin in failure.origins]
    return tuple(lines)


# -- text ---------------------------------------------------------------------------------


def available_width(width: int | None) -> int | None:
    """The width to fit the text table in, ``None`` for no limit.

    An explicit ``width`` wins (``0``: no limit). Otherwise the terminal's width
    (``shutil.get_terminal_size()``, so ``COLUMNS`` overrides it) when standard
    output is a terminal or ``COLUMNS`` is set; printed to a file, a pipe or a
    notebook, no limit: nothing is cut that the reader could have scrolled to.

    Examples:
        >>> available_width(80), available_width(0)
        (80, None)
    """
    if width is not None:
        return width or None
    if "COLUMNS" in os.environ or _stdout_is_terminal():
        return shutil.get_terminal_size().columns
    return None


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout is not None and sys.stdout.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def _tabulate(
    rows: Sequence[Sequence[str]],
    headers: Sequence[str],
    colalign: Sequence[str],
    tablefmt: str,
) -> str:
    return tabulate(
        rows,
        headers=list(headers),
        tablefmt=tablefmt,
        disable_numparse=True,
        colalign=tuple(colalign),
        preserve_whitespace=True,
    )


def _text_width(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def _fitted_table(cells: TableCells, options: RenderOptions, limit: int | None) -> str:
    """The table: as wide as its content (each value column at least ``col_width``),
    or, where that is wider than ``limit``, shortened without losing a character
    (`modelsummary._present.layout.fit_table()`)."""
    headers = list(cells.headers)
    if options.col_width:
        headers[1:] = [h.rjust(options.col_width) for h in headers[1:]]
    rows = [list(row) for row in cells.rows]
    table = _tabulate(rows, headers, cells.colalign, options.tablefmt)
    if limit is None or not rows or _text_width(table) <= limit:
        return table
    marker = (ASCII_GUIDES if options.ascii_only else UNICODE_GUIDES).ellipsis
    return fit_table(cells, limit, tablefmt=options.tablefmt, ellipsis=marker)


def render_table(tree: SummaryTree, options: RenderOptions) -> str:
    """Render the summary table, the unused section and the footer as text.

    Columns are as wide as their content (at least ``col_width`` when given); the
    whole is fitted to `available_width()` of ``options.width``. The ``====``
    rules are as wide as the table; a footer line longer than that wraps under it.
    Markdown is `modelsummary._present.markdown.render_markdown()`, which
    `modelsummary._present.export.render_text()` draws for a pipe format.

    Args:
        tree: The summary tree.
        options: Columns, depth, glyphs, the tabulate format and the width.

    Returns:
        The whole printed summary, without a trailing newline.
    """
    limit = available_width(options.width)
    cells = table_cells(tree, options)
    table = _fitted_table(cells, options, limit)
    headers, unused_rows = unused_cells(tree, options)
    quiet = unused_line(tree, options)
    unused_table = ""
    if unused_rows:
        unused_table = _fitted_table(
            TableCells(
                headers=headers,
                rows=unused_rows,
                nodes=(),
                collapsed=(False,) * len(unused_rows),
                colalign=("left", "right"),
                notes=(),
                kinds=("name", "number"),
            ),
            replace(options, col_width=None),
            limit,
        )
    groups = footer_groups(tree, options)
    plain = [line.text for g in groups for line in g.lines if line.kind not in ("list", "note")]
    notes = [len(note) for note in cells.notes]
    # a list line (uncounted operators) widens the rules up to LIST_WIDTH, then wraps
    lists = [
        min(len(line.text), LIST_WIDTH) for g in groups for line in g.lines if line.kind == "list"
    ]
    width = max(_text_width(table), _text_width(unused_table), *map(len, plain), *notes, *lists)
    if limit is not None:
        width = min(width, max(limit, _text_width(table)))

    times = (ASCII_GUIDES if options.ascii_only else UNICODE_GUIDES).times

    def wrapped(text: str) -> list[str]:
        # a count stays with its name ("Dropout x12"): a no-break space while wrapping
        text = text.replace(f" {times}", f"\u00a0{times}")
        lines = textwrap.wrap(text, width, subsequent_indent="  ", break_on_hyphens=False)
        return [line.replace("\u00a0", " ") for line in lines] or [""]

    rule, thin = "=" * width, "-" * width
    parts = [rule, table]
    if cells.notes:
        parts += [thin, *(line for note in cells.notes for line in wrapped(note))]
    if unused_table or quiet:
        parts.append(thin)
        parts += [unused_table] if unused_table else []
        parts += wrapped(quiet) if quiet else []
    parts.append(rule)
    for i, group in enumerate(groups):
        parts += [thin] if i else []
        parts += [wrapped_line for line in group.lines for wrapped_line in wrapped(line.text)]
    parts.append(rule)
    return "\n".join(parts)
