"""Stage 3: summary tree -> text. Never imports torch.

The table is drawn with tabulate, one row per visible node. Tree glyphs are
data (:data:`UNICODE_GUIDES`, :data:`ASCII_GUIDES`); :func:`loop_last` says
whether a child is the last one, so the last child gets ``└─``.

Example:
    >>> from modelsummary._tree import SummaryNode, SummaryTree, Totals
    >>> leaf = SummaryNode("fc", "Linear", 1, 1, num_params=6, subtree_params=6)
    >>> root = SummaryNode("", "Net", 0, 1, subtree_params=6, children=(leaf,))
    >>> tree = SummaryTree(root, totals=Totals(total_params=6, trainable_params=6))
    >>> print(render_table(tree, RenderOptions(columns=("num_params",))))
    =========================
    Layer (type)      Param #
    --------------  ---------
    Net                    --
    └─fc (Linear)           6
    =========================
    Total params: 6
    Trainable params: 6
    Non-trainable params: 0
    Unused params: 0
    All params: 6
    Buffers: 0
    Total mult-adds: 0
    -------------------------
    Input size: 0 B
    Parameters size: 0 B
    Buffers size: 0 B
    Forward activations: 0 B
    Estimated total size: 0 B
    =========================
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from tabulate import tabulate

from ._pruning import unmasked_params, unmasked_total
from ._records import MapSpec, OtherSpec, SeqSpec, TensorSpec, ValueSpec
from ._tree import SummaryNode, SummaryTree
from ._units import format_bytes, format_count_in, format_int, format_seconds

T = TypeVar("T")

COLUMN_HEADERS: dict[str, str] = {
    "input_size": "Input Shape",
    "output_size": "Output Shape",
    "num_params": "Param #",
    "params_percent": "Param %",
    "kernel_size": "Kernel Shape",
    "mult_adds": "Mult-Adds",
    "trainable": "Trainable",
    "calls": "Calls",
    "time": "Time",
}
"""Column names accepted in ``col_names`` (torchinfo's spellings, plus ``calls`` and ``time``)."""

ROW_SETTINGS = frozenset({"depth", "var_names", "ascii_only", "hide_recursive_layers"})
"""Row settings accepted in ``row_settings`` (torchinfo's spellings)."""


@dataclass(frozen=True, slots=True)
class Guides:
    """The strings that draw a tree; one set for Unicode, one for ASCII.

    Example:
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


UNICODE_GUIDES = Guides(branch="├─", last="└─", line="│ ", space="  ", times="×")
ASCII_GUIDES = Guides(branch="|-", last="`-", line="| ", space="  ", times="x")


@dataclass(frozen=True, slots=True, kw_only=True)
class RenderOptions:
    """How to print a summary.

    Example:
        >>> RenderOptions().columns
        ('output_size', 'num_params')
    """

    columns: tuple[str, ...] = ("output_size", "num_params")
    """Columns after the layer name, keys of :data:`COLUMN_HEADERS`."""
    depth: int = 3
    """Deepest row shown; deeper rows are folded into their ancestor at this depth."""
    ascii_only: bool = False
    """Draw the tree with ASCII characters only."""
    show_depth_index: bool = False
    """Append ``: depth-index`` to each name, as torchinfo's ``depth`` row setting does."""
    col_width: int = 0
    """Minimum width of each value column."""
    tablefmt: str = "simple"
    """The tabulate format of the table (any name in ``tabulate.tabulate_formats``)."""
    params_units: str = "auto"
    """Unit of the footer's parameter counts, a ``torchinfo.Units`` value: ``"auto"``
    (exact and short, ``21,840 (21.84K)``), ``""`` (exact), ``"M"``, ``"G"`` or ``"T"``
    (see :func:`~modelsummary._units.format_count_in`); torchinfo's ``params_units``."""
    macs_units: str = "auto"
    """Unit of the footer's mult-adds, as :attr:`params_units`; torchinfo's ``macs_units``."""


def loop_last(values: Iterable[T]) -> Iterator[tuple[bool, T]]:
    """Yield ``(is_last, value)`` for each value.

    Example:
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


def format_value(spec: ValueSpec | None, *, nested: bool = False) -> str:
    """Format a recorded value the way torchinfo users read shapes.

    A top-level tuple (a call's arguments, a module's outputs) is listed bare;
    tuples inside it are parenthesised, so ``(out, (h, c))`` stays readable.

    Example:
        >>> format_value(TensorSpec((1, 3, 224, 224), "float32", 0))
        '[1, 3, 224, 224]'
        >>> h = TensorSpec((2, 3, 20), "float32", 0)
        >>> format_value(SeqSpec((TensorSpec((3, 5, 20), "float32", 0), SeqSpec((h, h)))))
        '[3, 5, 20], ([2, 3, 20], [2, 3, 20])'
        >>> format_value(SeqSpec((TensorSpec((2,), "int64", 16), OtherSpec("NoneType"))))
        '[2], None'
        >>> from modelsummary._records import MapSpec
        >>> format_value(MapSpec((("logits", TensorSpec((1, 10), "float32", 40)),)))
        '{logits: [1, 10]}'
    """
    if spec is None:
        return "--"
    if isinstance(spec, TensorSpec):
        return "[" + ", ".join(str(s) for s in spec.shape) + "]"
    if isinstance(spec, OtherSpec):
        return "None" if spec.type_name == "NoneType" else spec.type_name
    if isinstance(spec, SeqSpec):
        inner = ", ".join(format_value(item, nested=True) for item in spec.items)
        return f"({inner})" if nested or not inner else inner
    return "{" + ", ".join(f"{k}: {format_value(v, nested=True)}" for k, v in spec.items) + "}"


def format_inputs(spec: ValueSpec | None) -> str:
    """Format a call's recorded inputs: its positional arguments, then the keyword
    arguments that are not ``None``. Models such as Hugging Face's pass each optional
    argument by keyword, most of them ``None``, which says nothing about shapes; the
    records (and the JSON) keep them all.

    Example:
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
    return format_value(spec)


@dataclass(frozen=True, slots=True)
class _Row:
    node: SummaryNode
    prefix: str
    collapsed: bool
    index: int


def visible_rows(root: SummaryNode, depth: int, guides: Guides) -> list[_Row]:
    """The rows to print with their tree prefixes; rows deeper than ``depth`` fold
    into their ancestor at ``depth``, which is then marked collapsed."""
    rows: list[_Row] = []
    # Iterative pre-order walk (no recursion limit): children are pushed in reverse.
    pending: list[tuple[SummaryNode, str, str, int]] = [(root, "", "", 1)]
    while pending:
        node, glyph, indent, index = pending.pop()
        rows.append(_Row(node, indent + glyph, node.depth >= depth and bool(node.children), index))
        if node.depth >= depth:
            continue
        child_indent = (
            indent
            if node.depth == 0
            else indent + (guides.space if glyph == guides.last else guides.line)
        )
        children = list(enumerate(loop_last(node.children), start=1))
        for i, (last, child) in reversed(children):
            pending.append((child, guides.last if last else guides.branch, child_indent, i))
    return rows


@dataclass(frozen=True, slots=True)
class TableCells:
    """The summary table as text cells: what the text, HTML and Markdown renderers draw.

    Example:
        >>> from modelsummary._tree import SummaryNode, SummaryTree
        >>> tree = SummaryTree(SummaryNode("", "Net", 0, 1))
        >>> cells = table_cells(tree, RenderOptions(columns=("num_params",)))
        >>> cells.headers, cells.rows
        (('Layer (type)', 'Param #'), (('Net', '--'),))
    """

    headers: tuple[str, ...]
    """``"Layer (type)"`` and the header of each column."""
    rows: tuple[tuple[str, ...], ...]
    """One tuple of cells per visible row; the first cell holds the tree prefix and name."""
    nodes: tuple[SummaryNode, ...]
    """The node each row shows."""
    collapsed: tuple[bool, ...]
    """Per row: deeper rows are folded into it."""
    colalign: tuple[str, ...]
    """``"left"`` for the name column, ``"right"`` for the value columns."""
    notes: tuple[str, ...]
    """Footnotes the cells refer to as ``[n]``."""


def table_cells(tree: SummaryTree, options: RenderOptions) -> TableCells:
    """The visible rows of the summary table, each as formatted cells.

    Args:
        tree: The summary tree.
        options: Columns, depth and glyphs.

    Returns:
        Headers, cells and footnotes, shared by every renderer.
    """
    guides = ASCII_GUIDES if options.ascii_only else UNICODE_GUIDES
    rows = visible_rows(tree.root, options.depth, guides)
    notes: list[str] = []
    body = tuple(
        (
            _name_cell(row, guides, options),
            *(_cell(col, row, tree, notes) for col in options.columns),
        )
        for row in rows
    )
    return TableCells(
        headers=("Layer (type)", *(COLUMN_HEADERS[c] for c in options.columns)),
        rows=body,
        nodes=tuple(row.node for row in rows),
        collapsed=tuple(row.collapsed for row in rows),
        colalign=("left",) + ("right",) * len(options.columns),
        notes=tuple(notes),
    )


def unused_cells(tree: SummaryTree) -> tuple[tuple[str, str], tuple[tuple[str, str], ...]]:
    """Headers and rows of the unused section (no rows when nothing is unused).

    Example:
        >>> from modelsummary._tree import SummaryNode, SummaryTree, UnusedEntry
        >>> tree = SummaryTree(SummaryNode("", "Net", 0, 1), (UnusedEntry("fc", "Linear", 6),))
        >>> unused_cells(tree)
        (('Unused (never called or used)', 'Param #'), (('fc (Linear)', '6'),))
    """
    rows = tuple(
        (f"{e.path} ({e.type_name})", format_int(e.params) if e.params else "--")
        for e in tree.unused
    )
    return ("Unused (never called or used)", "Param #"), rows


NO_PASS_NOTE = (
    "No input was given, so nothing ran: every registered parameter is counted;",
    "shapes, mult-adds and which modules go unused need an input.",
)
"""The footer's last group for a summary made without a forward pass."""


def footer_lines(
    tree: SummaryTree,
    ascii_only: bool = False,
    *,
    params_units: str = "auto",
    macs_units: str = "auto",
) -> tuple[tuple[str, ...], ...]:
    """The footer as groups of ``"Label: value"`` lines: counts, sizes, and the
    training estimate when an optimizer was named. Parameter counts and mult-adds
    are written in ``params_units`` and ``macs_units`` (:class:`RenderOptions`).

    Example:
        >>> from modelsummary._tree import SummaryNode, SummaryTree, Totals
        >>> tree = SummaryTree(SummaryNode("", "Net", 0, 1), totals=Totals(total_params=1500))
        >>> footer_lines(tree)[0][0]
        'Total params: 1,500 (1.50K)'
        >>> len(footer_lines(tree))
        2
    """
    totals = tree.totals
    ran = tree.forward_pass  # without a pass: no unused, mult-adds, inputs or activations
    times = (ASCII_GUIDES if ascii_only else UNICODE_GUIDES).times
    p = params_units
    counts = [
        f"Total params: {_count(totals.total_params, p)}",
        f"Trainable params: {_count(totals.trainable_params, p)}",
        f"Non-trainable params: {_count(totals.non_trainable_params, p)}",
    ]
    if tree.masked:  # pruned: what the masks leave of the total, torchinfo's count
        counts.insert(1, f"Unmasked params (pruning): {_count(unmasked_total(tree), p)}")
    if ran:
        counts.append(f"Unused params: {_count(totals.unused_params, p)}")
        counts.append(f"All params: {_count(totals.all_params, p)}")
    counts.append(f"Buffers: {_count(totals.buffers)}")
    if ran:
        counts.append(f"Total mult-adds: {_count(totals.mult_adds, macs_units)}")
    if tree.uncounted_ops:
        counts.append(
            "Uncounted operators (mult-adds may be partial): "
            + ", ".join(f"{name} {times}{n}" for name, n in tree.uncounted_ops)
        )
    sizes = [
        f"Parameters size: {format_bytes(totals.param_bytes)}",
        f"Buffers size: {format_bytes(totals.buffer_bytes)}",
    ]
    if not ran:
        return (tuple(counts), tuple(sizes), NO_PASS_NOTE)
    sizes.insert(0, f"Input size: {format_bytes(totals.input_bytes)}")
    sizes.append(f"Forward activations: {format_bytes(totals.activation_bytes)}")
    sizes.append(f"Estimated total size: {format_bytes(totals.total_bytes)}")
    if totals.peak_bytes is not None:
        sizes.append(f"Measured CUDA peak during the pass: {format_bytes(totals.peak_bytes)}")
    groups = [tuple(counts), tuple(sizes)]
    if totals.optimizer is not None:
        groups.append(
            (
                f"Training estimate ({totals.optimizer}):",
                f"Gradients: {format_bytes(totals.grad_bytes)}",
                f"Optimizer state: {format_bytes(totals.optimizer_bytes)}",
                f"Activations saved for backward: {format_bytes(totals.saved_bytes)}",
                f"Estimated training size: {format_bytes(totals.training_bytes)}",
            )
        )
    return tuple(groups)


def render_table(tree: SummaryTree, options: RenderOptions) -> str:
    """Render the summary table, the unused section and the footer.

    Args:
        tree: The summary tree.
        options: Columns, depth, glyphs and the tabulate format.

    Returns:
        The whole printed summary, without a trailing newline.
    """
    cells = table_cells(tree, options)
    headers = [cells.headers[0]] + [h.rjust(options.col_width) for h in cells.headers[1:]]
    table = tabulate(
        cells.rows,
        headers=headers,
        tablefmt=options.tablefmt,
        disable_numparse=True,
        colalign=cells.colalign,
        preserve_whitespace=True,
    )
    sections = [table]
    if cells.notes:
        sections.append("\n".join(cells.notes))
    if tree.unused:
        sections.append(_unused_table(tree, options.tablefmt))
    groups = footer_lines(
        tree, options.ascii_only, params_units=options.params_units, macs_units=options.macs_units
    )
    lines = [line for s in sections for line in s.splitlines()]
    width = max(len(line) for line in [*lines, *(x for g in groups for x in g)])
    rule, thin = "=" * width, "-" * width
    parts = [rule, table]
    for extra in sections[1:]:
        parts += [thin, extra]
    parts.append(rule)
    for i, group in enumerate(groups):
        parts += [thin] if i else []
        parts += group
    parts.append(rule)
    return "\n".join(parts)


def _count(n: int, unit: str = "auto") -> str:
    return format_count_in(n, unit)


def _name_cell(row: _Row, guides: Guides, options: RenderOptions) -> str:
    node = row.node
    label = node.type_name if node.path == "" else f"{node.name} ({node.type_name})"
    if node.calls > 1:
        label += f" {guides.times}{node.calls}"
    if not node.traced:
        label += " [not traced]"
    if options.show_depth_index and node.depth > 0:
        label += f": {node.depth}-{row.index}"
    return row.prefix + label


def _shown_params(row: _Row) -> tuple[int, int]:
    node = row.node
    if row.collapsed:
        return node.subtree_params, node.subtree_trainable
    return node.num_params, node.trainable_params


def _one_of(texts: Iterable[str], most: int = 3) -> str:
    """The distinct texts of a module's calls, in call order: ``a | b | c | ...``.

    Example:
        >>> _one_of(["[1, 8]", "[1, 4]", "[1, 8]"]), _one_of("abcde")
        ('[1, 8] | [1, 4]', 'a | b | c | ...')
    """
    distinct = list(dict.fromkeys(texts))
    shown = " | ".join(distinct[:most])
    return shown + " | ..." if len(distinct) > most else shown


def _cell(column: str, row: _Row, tree: SummaryTree, notes: list[str]) -> str:
    node = row.node
    if column == "num_params":
        params, _ = _shown_params(row)
        text = format_int(params) if params else "--"
        if tree.masked and params:  # pruned: the dense count, and what the masks leave
            left = unmasked_params(node, dict(tree.masked), subtree=row.collapsed)
            text += f" ({format_int(left)} unmasked)" if left != params else ""
        for shared in node.shared:
            notes.append(
                f"[{len(notes) + 1}] {_join(node.path, shared.name)} is {shared.param},"
                f" counted at {shared.counted_at or 'the root'}"
            )
            text += f" [{len(notes)}]"
        if node.used_by:
            notes.append(
                f"[{len(notes) + 1}] {node.path} was not called; its parameters were used by "
                + ", ".join(u or "the root" for u in node.used_by)
            )
            text += f" [{len(notes)}]"
        return text
    if column == "params_percent":
        params, _ = _shown_params(row)
        total = tree.totals.total_params
        return f"{100 * params / total:.2f}%" if params and total else "--"
    if column == "trainable":
        params, trainable = _shown_params(row)
        if not params:
            return "--"
        return "True" if trainable == params else "False" if trainable == 0 else "Partial"
    if column == "mult_adds":
        macs = node.subtree_mult_adds if row.collapsed or not node.children else node.mult_adds
        return format_int(macs) if macs else "--"
    if column == "kernel_size":
        return format_value(TensorSpec(node.kernel_size, "", 0)) if node.kernel_size else "--"
    if column == "input_size":
        if node.variants:
            return _one_of(format_inputs(inputs) for inputs, _ in node.variants)
        return format_inputs(node.inputs)
    if column == "output_size":
        if node.variants:
            return _one_of(format_value(output) for _, output in node.variants)
        return format_value(node.output)
    if column == "calls":
        return str(node.calls) if node.calls else "--"
    if column == "time":
        return format_seconds(node.time_s) if node.time_s is not None else "--"
    raise ValueError(f"unknown column {column!r}")  # validated before; a bug if reached


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _unused_table(tree: SummaryTree, tablefmt: str) -> str:
    headers, rows = unused_cells(tree)
    return tabulate(
        rows,
        headers=headers,
        tablefmt=tablefmt,
        disable_numparse=True,
        colalign=("left", "right"),
        preserve_whitespace=True,
    )
