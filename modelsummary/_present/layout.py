"""The text table fitted to a width without losing a character. Pure; never imports torch.

A table wider than its width (`modelsummary._present.render.available_width()`) is
shortened in this order, each step taken only while the table is still too wide, and
each keeping every character the reader came for:

1. **Padding** gives way: an explicit ``col_width`` minimum, and the two spaces that
   pad each heading.
2. **Shapes compact**: ``[1, 64, 112, 112]`` prints as ``[1,64,112,112]``.
3. **Counts compact** in the columns (``Param #``, ``Mult-Adds``, ``FLOPs``, ``Calls``):
   ``118,013,952`` prints as ``118.0M``; the exact figures stay in the footer, the
   JSON, CSV, HTML and Markdown.
4. **Headings** on two lines (``Output`` over ``Shape``).
5. **Cells wrap** at their spaces onto continuation lines: a name before its
   ``(Type)``, a mapping of outputs between its entries. The tree guides go on down
   the name column, so each row still reads as one.
6. **One space** between columns instead of two.
7. **Words wrap inside**: a shape after one of its commas, a name after ``_`` or
   ``.``; numbers stay whole.
8. Last resort, for a width too narrow for the rest: any cell wraps at its width,
   numbers too.

A shape cell that would still take more than `MAX_SHAPE_LINES` lines ends in
``…, +2 more`` after its whole entries. Nothing is cut in the middle.

Examples:
    >>> from modelsummary._present.render import TableCells
    >>> cells = TableCells(
    ...     headers=("Layer (type)", "Output Shape", "Param #"),
    ...     rows=(("Net", "[1, 1000]", "--"),
    ...           ("└─embeddings (BertEmbeddings)", "[1, 128, 768]", "23,440,896")),
    ...     nodes=(), collapsed=(False, False), colalign=("left", "right", "right"), notes=(),
    ...     prefixes=("", "└─"),
    ...     short_rows=(("Net", "[1,1000]", "--"),
    ...                 ("└─embeddings (BertEmbeddings)", "[1,128,768]", "23.4M")),
    ...     kinds=("name", "shape", "count"), continuations=("│ ", "    "))
    >>> print(fit_table(cells, 40))
                               Output  Param
    Layer (type)                Shape      #
    --------------------  -----------  -----
    Net                      [1,1000]     --
    └─embeddings          [1,128,768]  23.4M
        (BertEmbeddings)
    >>> [step.name for step in STEPS][:3]
    ['padding', 'shapes', 'counts']
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from tabulate import tabulate

if TYPE_CHECKING:
    from .render import TableCells

MAX_SHAPE_LINES = 4
"""A shape cell wrapped onto more lines than this ends in ``…, +N more`` after whole entries."""

_SHORT = 6
"""At the last steps, a column narrower than this gives way only after the wider ones."""


@dataclass(frozen=True, slots=True)
class Step:
    """One step of shortening; each step keeps those before it.

    Examples:
        >>> STEPS[-1].level, STEPS[-1].gap
        (3, 1)
    """

    name: str
    """What the step shortens."""
    shapes: bool = False
    """Shapes without spaces."""
    counts: bool = False
    """Counts in the columns as ``118.0M``."""
    headers: bool = False
    """Headings may take two lines."""
    level: int = 0
    """How cells may wrap: 0 not at all, 1 at spaces, 2 inside words too (numbers
    whole), 3 anywhere."""
    gap: int = 2
    """Spaces between columns."""


STEPS = (
    Step("padding"),
    Step("shapes", shapes=True),
    Step("counts", shapes=True, counts=True),
    Step("headers", shapes=True, counts=True, headers=True),
    Step("wrap", shapes=True, counts=True, headers=True, level=1),
    Step("gap", shapes=True, counts=True, headers=True, level=1, gap=1),
    Step("words", shapes=True, counts=True, headers=True, level=2, gap=1),
    Step("anywhere", shapes=True, counts=True, headers=True, level=3, gap=1),
)
"""The order of shortening (see the module's docstring)."""


# -- wrapping one cell --------------------------------------------------------------------


def _break_points(kind: str) -> str:
    """Characters a word may break after at level 2."""
    return "," if kind == "shape" else "_.,-/" if kind in ("name", "text") else ""


def _cut(word: str, width: int, kind: str, level: int) -> int | None:
    """Where to break a word wider than ``width``, ``None`` where it may not break."""
    if level >= 3:
        points = _break_points(kind)
        best = max((j + 1 for j in range(width) if word[j] in points), default=0)
        return best or width
    if level < 2 or kind in ("count", "number"):
        return None
    points = _break_points(kind)
    cuts = [j + 1 for j in range(width) if word[j] in points]
    if not cuts:
        return width if kind != "shape" else None
    if kind == "shape":  # two even halves read better: [1,64, over 56,56]
        two = [c for c in cuts if len(word) - c <= width]
        if two:
            return min(two, key=lambda c: (max(c, len(word) - c), -c))
    return cuts[-1]


def wrap_cell(text: str, first: int, rest: int, kind: str, level: int) -> list[str]:
    """``text`` on lines of at most ``first`` then ``rest`` characters, broken at its
    spaces (``level`` 1), inside its words too (2: a shape after a comma, a name after
    ``_`` or ``.``, numbers whole), or anywhere (3). Joined back, the lines give the
    text: a line ends where a space was, or inside a word.

    Examples:
        >>> wrap_cell("{last_hidden_state: [1,128,768], pooler_output: [1,768]}", 32, 32,
        ...           "shape", 1)
        ['{last_hidden_state: [1,128,768],', 'pooler_output: [1,768]}']
        >>> wrap_cell("[1,2048,7,7]", 8, 8, "shape", 2), wrap_cell("[1,64,56,56]", 9, 9, "shape", 2)
        (['[1,2048,', '7,7]'], ['[1,64,', '56,56]'])
        >>> wrap_cell("118.0M", 4, 4, "count", 2), wrap_cell("118.0M", 4, 4, "count", 3)
        (['118.0M'], ['118.', '0M'])
    """
    if level == 0 or len(text) <= first:
        return [text]
    lines: list[str] = []
    line = ""
    for word in _words(text):
        while True:
            width = max(first if not lines else rest, 1)
            if not line:
                cut = _cut(word, width, kind, level) if len(word) > width else None
                if cut is None:
                    line = word
                    break
                lines.append(word[:cut])
                word = word[cut:]
            elif len(line) + 1 + len(word) <= width:
                line += " " + word
                break
            else:
                lines.append(line)
                line = ""
    lines.append(line)
    return lines


def _split_entries(inner: str) -> list[str]:
    """The top-level entries of a list of values (``a, (b, c), {k: d}``)."""
    entries, depth, start = [], 0, 0
    for i, ch in enumerate(inner):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0 and inner[i + 1 : i + 2] == " ":
            entries.append(inner[start:i])
            start = i + 2
    entries.append(inner[start:])
    return entries


def shorten_entries(text: str, fits: Callable[[str], bool], ellipsis: str = "…") -> str:
    """``text`` (a list or mapping of values) ending in ``…, +N more`` after as many
    whole entries as ``fits`` accepts; ``text`` itself when it fits or has one entry.

    Examples:
        >>> many = "{a: [1,2], b: [3,4], c: [5,6], d: [7,8]}"
        >>> shorten_entries(many, lambda t: len(t) <= 32)
        '{a: [1,2], b: [3,4], …, +2 more}'
    """
    if fits(text):
        return text
    outer = text.startswith("{") and text.endswith("}") and len(_split_entries(text)) == 1
    opening, closing = ("{", "}") if outer else ("", "")
    entries = _split_entries(text[1:-1] if outer else text)
    for keep in range(len(entries) - 1, 0, -1):
        more = f"{ellipsis}, +{len(entries) - keep} more"
        candidate = opening + ", ".join([*entries[:keep], more]) + closing
        if fits(candidate):
            return candidate
    return text


# -- widths -------------------------------------------------------------------------------


def _longest_piece(word: str, kind: str) -> int:
    """The longest part of ``word`` when it breaks after each of its break points."""
    points = _break_points(kind)
    longest, start = 0, 0
    for i, ch in enumerate(word):
        if ch in points:
            longest, start = max(longest, i + 1 - start), i + 1
    return max(longest, len(word) - start)


def _words(text: str) -> list[str]:
    """The words of a cell: split at its spaces, except those in ``(+2 more)`` and
    ``…, +2 more``."""
    return [w for w in _SPACES.split(text) if w]


_SPACES = re.compile(r"(?<!…,)(?<!\.\.\.,) (?!more\b)")


def _least(text: str, kind: str, level: int) -> int:
    """The narrowest a cell may get at ``level`` (without its tree glyphs)."""
    words = _words(text) or [""]
    if level == 0:
        return len(text)
    if level == 1 or (kind in ("count", "number") and level == 2):
        return max(map(len, words))
    if level == 2:
        return max(_longest_piece(w, kind) for w in words)
    return min(max(map(len, words)), 2)


def _two_lines(header: str) -> list[str]:
    """A heading split at its space nearest the middle (``Output`` over ``Shape``)."""
    spaces = [i for i, ch in enumerate(header) if ch == " "]
    if not spaces:
        return [header]
    best = min(spaces, key=lambda i: max(i, len(header) - i - 1))
    return [header[:best], header[best + 1 :]]


def _heading(header: str, width: int, step: Step) -> list[str]:
    """A heading on one line, or on two (and more, when it must wrap) where it is
    wider than its column."""
    if len(header) <= width or not step.headers:
        return [header]
    two = _two_lines(header)
    if max(map(len, two)) <= width:
        return two
    return wrap_cell(header, width, width, "text", max(step.level, 1))


def _heading_least(header: str, headers: bool, level: int) -> int:
    """The narrowest a heading may get: on one line, or on two (``headers``), or
    wrapped as a cell at ``level``."""
    if not headers:
        return len(header)
    two = max(map(len, _two_lines(header)))
    return min(two, _least(header, "text", level)) if level else two


@dataclass(frozen=True, slots=True)
class _Plan:
    """The texts of one step and each column's widths: natural, then the floors it
    may shrink to, one tier after another (whole words, words broken at their
    break points, anywhere but numbers, anywhere)."""

    texts: list[list[str]]
    natural: list[int]
    tiers: list[list[int]]


def _kinds(cells: TableCells) -> tuple[str, ...]:
    return cells.kinds or ("name", *("text",) * (len(cells.headers) - 1))


def _plan(cells: TableCells, step: Step) -> _Plan:
    kinds = _kinds(cells)
    short = cells.short_rows or cells.rows
    texts: list[list[str]] = []
    for r, row in enumerate(cells.rows):
        texts.append(
            [
                short[r][i]
                if (kind == "shape" and step.shapes) or (kind == "count" and step.counts)
                else row[i]
                for i, kind in enumerate(kinds)
            ]
        )
    prefixes, continuations = _glyphs(cells)

    def floors(level: int, numbers: int) -> list[int]:
        out = []
        for i, kind in enumerate(kinds):
            at = numbers if kind in ("count", "number") else level
            if kind == "name":
                low = max(
                    (
                        max(len(p), len(c) if at else 0) + _least(t[0][len(p) :], "name", at)
                        for p, c, t in zip(prefixes, continuations, texts, strict=True)
                    ),
                    default=0,
                )
            else:
                low = max((_least(t[i], kind, at) for t in texts), default=0)
            out.append(max(low, _heading_least(cells.headers[i], step.headers, at)))
        return out

    natural = [max(n, len(h)) for n, h in zip(floors(0, 0), cells.headers, strict=True)]
    tiers = [floors(level, level) for level in range(step.level + 1)]
    if step.level == 3:
        anywhere, words = floors(3, 2), tiers[2]
        # numbers whole while anything else gives way: first no column under six
        # characters (a short shape, a heading such as "Trainable" keep their words),
        # then any
        tiers.insert(-1, [max(a, min(w, _SHORT)) for a, w in zip(anywhere, words, strict=True)])
        tiers.insert(-1, anywhere)
    tiers = [[min(f, n) for f, n in zip(tier, natural, strict=True)] for tier in tiers]
    return _Plan(texts, natural, tiers)


def _glyphs(cells: TableCells) -> tuple[tuple[str, ...], tuple[str, ...]]:
    prefixes = cells.prefixes or ("",) * len(cells.rows)
    continuations = cells.continuations or tuple(" " * (len(p) + 2) for p in prefixes)
    return prefixes, continuations


def _widths(plan: _Plan, budget: int, lines: Callable[[int, int], int]) -> list[int]:
    """Each column's width. Tier by tier, the column whose narrowing by one adds
    the fewest lines gives way first (a heading longer than its cells, one long
    name, a long mapping of outputs; on a tie, the one with the most room above
    its floor), so that a column breaks inside its words only when no column can
    wrap at its spaces any more. ``lines(i, w)`` counts the lines column ``i``
    takes at width ``w``."""
    widths = list(plan.natural)

    def cost(i: int, floor: Sequence[int]) -> tuple[int, int, int]:
        added = lines(i, widths[i] - 1) - lines(i, widths[i])
        return (added, -(widths[i] - floor[i]), -i)

    for floor in plan.tiers:
        excess = sum(widths) - budget
        while excess > 0:
            room = [i for i in range(len(widths)) if widths[i] > floor[i]]
            if not room:
                break
            i = min(room, key=lambda i: cost(i, floor))
            widths[i] -= 1
            excess -= 1
        if excess <= 0:
            break
    return widths


def _line_counter(cells: TableCells, plan: _Plan, step: Step) -> Callable[[int, int], int]:
    """``lines(i, w)``: the lines column ``i`` takes at width ``w`` (its heading's
    and its cells'), each distinct cell wrapped once per width."""
    kinds = _kinds(cells)
    prefixes, continuations = _glyphs(cells)
    level = max(step.level, 1)
    distinct: list[Counter[tuple[str, int, int]]] = []
    for i in range(len(kinds)):
        column: Counter[tuple[str, int, int]] = Counter()
        for texts, prefix, more in zip(plan.texts, prefixes, continuations, strict=True):
            if i == 0:
                column[(texts[0][len(prefix) :], len(prefix), len(more))] += 1
            else:
                column[(texts[i], 0, 0)] += 1
        distinct.append(column)
    memo: dict[tuple[int, int], int] = {}

    def lines(i: int, width: int) -> int:
        if (i, width) not in memo:
            kind = "name" if i == 0 else kinds[i]
            total = len(_heading(cells.headers[i], width, step))
            for (text, first, rest), n in distinct[i].items():
                wrapped = wrap_cell(text, max(width - first, 1), max(width - rest, 1), kind, level)
                total += n * len(wrapped)
            memo[i, width] = total
        return memo[i, width]

    return lines


# -- drawing ------------------------------------------------------------------------------


def _cell_lines(
    cells: TableCells, plan: _Plan, widths: Sequence[int], step: Step, ellipsis: str
) -> list[list[list[str]]]:
    """Per row, per column: the cell's lines, the name column with its tree glyphs."""
    kinds = cells.kinds or ("name", *("text",) * (len(cells.headers) - 1))
    prefixes, continuations = _glyphs(cells)
    out = []
    for texts, prefix, more in zip(plan.texts, prefixes, continuations, strict=True):
        row = []
        for i, (text, kind, width) in enumerate(zip(texts, kinds, widths, strict=True)):
            if i == 0:
                label = text[len(prefix) :]
                first, rest = width - len(prefix), width - len(more)
                lines = wrap_cell(label, first, rest, "name", step.level)
                row.append([prefix + lines[0], *(more + line for line in lines[1:])])
                continue
            lines = wrap_cell(text, width, width, kind, step.level)
            if kind == "shape" and len(lines) > MAX_SHAPE_LINES:

                def fits(t: str, width: int = width, kind: str = kind) -> bool:
                    return len(wrap_cell(t, width, width, kind, step.level)) <= MAX_SHAPE_LINES

                lines = wrap_cell(
                    shorten_entries(text, fits, ellipsis), width, width, kind, step.level
                )
            row.append(lines)
        height = max(map(len, row))
        row[0] += [more.rstrip()] * (height - len(row[0]))
        out.append(row)
    return out


def _draw_simple(
    cells: TableCells, plan: _Plan, widths: Sequence[int], step: Step, ellipsis: str
) -> str:
    """tabulate's ``simple`` format, drawn here so that cells may take several lines."""
    gap = " " * step.gap
    right = [align == "right" for align in cells.colalign]

    def line(parts: Sequence[str]) -> str:
        return gap.join(
            p.rjust(w) if r else p.ljust(w) for p, w, r in zip(parts, widths, right, strict=True)
        ).rstrip()

    heads = [_heading(h, w, step) for h, w in zip(cells.headers, widths, strict=True)]
    tall = max(map(len, heads))
    heads = [[""] * (tall - len(h)) + h for h in heads]  # headings sit on the rule
    out = [line([h[k] for h in heads]) for k in range(tall)]
    out.append(gap.join("-" * w for w in widths))
    for row in _cell_lines(cells, plan, widths, step, ellipsis):
        height = max(map(len, row))
        for k in range(height):
            out.append(line([c[k] if k < len(c) else "" for c in row]))
    return "\n".join(out)


def _draw_tabulate(
    cells: TableCells, plan: _Plan, widths: Sequence[int], step: Step, ellipsis: str, fmt: str
) -> str:
    """Any other tabulate format, its cells on several lines where they wrap."""
    rows = [["\n".join(c) for c in row] for row in _cell_lines(cells, plan, widths, step, ellipsis)]
    headers = ["\n".join(_heading(h, w, step)) for h, w in zip(cells.headers, widths, strict=True)]
    return tabulate(
        rows,
        headers=headers,
        tablefmt=fmt,
        disable_numparse=True,
        colalign=tuple(cells.colalign),
        preserve_whitespace=True,
    )


def _text_width(text: str) -> int:
    return max((len(line) for line in text.splitlines()), default=0)


def fit_table(
    cells: TableCells,
    limit: int,
    *,
    tablefmt: str = "simple",
    ellipsis: str = "…",
) -> str:
    """The table no wider than ``limit``, shortened in the order of `STEPS`.

    Args:
        cells: The table's cells in full, with their compact forms, kinds and glyphs.
        limit: The widest line allowed.
        tablefmt: A tabulate format; ``simple`` (the default) is drawn here.
        ellipsis: Ends a shape cell that lists ``…, +N more`` entries.

    Returns:
        The table as text, no line wider than ``limit`` unless the tree's glyphs and
        the numbers alone are wider.
    """
    best = ""
    for step in STEPS:
        plan = _plan(cells, step)
        n = len(cells.headers)
        if tablefmt == "simple":
            budget = limit - step.gap * (n - 1)
            widths = _widths(plan, budget, _line_counter(cells, plan, step))
            best = _draw_simple(cells, plan, widths, step, ellipsis)
            if sum(widths) <= budget:
                return best
            continue
        # another format: measure what it draws around the cells, and try again
        overhead = _text_width(_draw_tabulate(cells, plan, plan.natural, step, ellipsis, tablefmt))
        overhead -= sum(plan.natural)
        budget = limit - overhead
        lines = _line_counter(cells, plan, step)
        for _ in range(8):
            widths = _widths(plan, budget, lines)
            best = _draw_tabulate(cells, plan, widths, step, ellipsis, tablefmt)
            excess = _text_width(best) - limit
            if excess <= 0:
                return best
            if widths == plan.tiers[-1]:
                break
            budget -= excess
    return best
