"""Summary tree -> a bar chart of parameters per layer. matplotlib is imported only by ``plot``.

`plot_bars()` decides the bars (pure): the rows visible at a depth, each
showing what it and its folded rows carry, plus one bar per unused entry. The
bars of used rows add up to ``total_params`` and all bars to ``all_params``.
A row that holds a tied weight counted on another row says where it is counted.

Examples:
    >>> from modelsummary._tree.nodes import SummaryNode, SummaryTree, UnusedEntry
    >>> a = SummaryNode("a", "Linear", 1, 1, num_params=6, subtree_params=6)
    >>> tree = SummaryTree(SummaryNode("", "Net", 0, 1, subtree_params=6, children=(a,)),
    ...                    (UnusedEntry("b", "Linear", 4),))
    >>> [(b.label, b.params, b.unused) for b in plot_bars(tree, 1)]
    [('a (Linear)', 6, False), ('b (Linear)', 4, True)]
    >>> format_tick(2_500_000)
    '2.5M'
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._tree.nodes import SummaryNode, SummaryTree
from .._tree.wrappers import merge_wrappers
from .render import UNICODE_GUIDES, visible_rows

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from .figure import SummaryFigure

_USED_COLOR = "#4C72B0"
_MACS_COLOR = "#DD8452"
_UNUSED_COLOR = "#9E9E9E"
_TIED_COLOR = "#55A868"
_TICK_SUFFIXES = ("", "K", "M", "B", "T")
_OPS_TICK_SUFFIXES = ("", "K", "M", "G", "T", "P")


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar of the chart.

    Examples:
        >>> Bar("fc (Linear)", 6, 0, False).params
        6
    """

    label: str
    """``path (Type)``; the root is its type name."""
    params: int
    """Parameters the row carries, with its folded rows."""
    mult_adds: int
    """Mult-adds of the row, with its folded rows."""
    unused: bool
    """An entry of the unused section."""
    counted_in: tuple[str, ...] = ()
    """Rows that carry the count of tied parameters this bar's modules register
    (the bar leaves them out)."""
    rest: int = 0
    """For the bar of the smaller layers `top_bars()` sums: how many it stands for."""


AUTO_ROWS = 40
"""A chart of more bars than this shows the `AUTO_TOP` largest by default."""
AUTO_TOP = 20
"""How many of the largest layers a chart of a big model shows by default, the rest
summed in one bar: about 7 inches tall instead of 0.28 inch a layer."""


def top_bars(bars: list[Bar], top: int) -> list[Bar]:
    """The ``top`` bars with the most parameters, in their order, and one bar that sums
    the rest (a second one for the rest of the unused entries, so that the used bars
    still add up to ``total_params``); ``bars`` when there are no more than ``top``.

    Examples:
        >>> bars = [Bar(f"l{i} (Linear)", p, 2 * p, False) for i, p in enumerate([5, 90, 7, 60])]
        >>> [(b.label, b.params, b.mult_adds) for b in top_bars(bars, 2)]
        [('l1 (Linear)', 90, 180), ('l3 (Linear)', 60, 120), ('2 other layers', 12, 24)]
    """
    if len(bars) <= top:
        return bars
    ranked = sorted(range(len(bars)), key=lambda i: -bars[i].params)  # stable: ties in order
    kept = set(ranked[:top])
    shown = [bar for i, bar in enumerate(bars) if i in kept]
    for unused in (False, True):
        rest = [bar for i, bar in enumerate(bars) if i not in kept and bar.unused == unused]
        if rest:
            label = f"{len(rest)} other {'unused entries' if unused else 'layers'}"
            if len(rest) == 1:
                label = f"1 other {'unused entry' if unused else 'layer'}"
            params = sum(b.params for b in rest)
            macs = sum(b.mult_adds for b in rest)
            shown.append(Bar(label, params, macs, unused, rest=len(rest)))
    return shown


def plot_bars(tree: SummaryTree, depth: int) -> list[Bar]:
    """The bars for the rows visible at ``depth``, then the unused entries.

    A row deeper than ``depth`` folds into its ancestor, whose bar then covers
    it; a row with children shown only gets a bar for what it carries itself. A
    wrapper merged with the model it wraps takes no level, as in the table. Rows
    with neither parameters, mult-adds nor tied parameters get no bar.
    """
    bars = []
    # a wrapper (DDP, PEFT, torch.compile) takes no level here either, as in the table
    for row in visible_rows(merge_wrappers(tree.root), depth, UNICODE_GUIDES):
        node = row.node
        whole = row.collapsed or not node.children
        params = node.subtree_params if whole else node.num_params
        macs = node.subtree_mult_adds if whole else node.mult_adds
        counted_in = _counted_elsewhere(node, whole)
        if params or macs or counted_in:
            label = f"{node.path} ({node.type_name})" if node.path else node.type_name
            bars.append(Bar(label, params, macs, False, counted_in))
    bars += [Bar(f"{e.path} ({e.type_name})", e.params, 0, True) for e in tree.unused if e.params]
    return bars


def _counted_elsewhere(node: SummaryNode, whole: bool) -> tuple[str, ...]:
    """Rows outside the bar that count the tied parameters of the bar's modules."""
    covered = node.walk() if whole else iter((node,))

    def inside(path: str) -> bool:
        if not whole:
            return path == node.path
        return node.path == "" or path == node.path or path.startswith(node.path + ".")

    rows = (s.counted_at for n in covered for s in n.shared)
    return tuple(dict.fromkeys(path for path in rows if not inside(path)))


def format_tick(value: float, *, ops: bool = False) -> str:
    """An axis tick as a count with a K/M/B suffix (``ops``: mult-adds, K/M/G, as
    `modelsummary._present.units.format_count()` writes them), to three significant digits.

    Examples:
        >>> [format_tick(v) for v in (0, 0.5, 250, 1_500, 2e6, 1.25e9)]
        ['0', '0.5', '250', '1.5K', '2M', '1.25B']
        >>> format_tick(1.25e9, ops=True)
        '1.25G'
    """
    suffixes = _OPS_TICK_SUFFIXES if ops else _TICK_SUFFIXES
    for suffix in suffixes:
        if abs(value) < 999.5 or suffix == suffixes[-1]:
            return f"{value:.3g}{suffix}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def shorten(label: str, limit: int) -> str:
    """Cut the middle of a long label, keeping its start and its end.

    Examples:
        >>> shorten("encoder.layers.11.self_attn.out_proj (Linear)", 24)
        'encoder.lay…roj (Linear)'
    """
    if len(label) <= limit:
        return label
    head = (limit - 1) // 2
    return label[:head] + "…" + label[len(label) - (limit - 1 - head) :]


def plot(
    tree: SummaryTree,
    depth: int,
    *,
    log: bool = False,
    mult_adds: bool = False,
    max_label: int = 40,
    path: str | os.PathLike[str] | None = None,
    top: int | None = None,
) -> SummaryFigure:
    """Draw parameters per layer as horizontal bars, unused entries hatched in grey.

    Counts on the axes read 1.5K, 2M, 1.2B (mult-adds 1.2G). A row holding a tied weight that
    another row counts is marked with where it is counted.

    Args:
        tree: The summary tree.
        depth: Rows deeper than this fold into their ancestor's bar.
        log: Use a logarithmic axis for the counts.
        mult_adds: Add a second panel with each row's mult-adds.
        max_label: Longer layer names are cut in the middle to this many characters.
        path: Save the figure there (format from the suffix, e.g. ``.png``, ``.svg``).
        top: Show the ``top`` layers with the most parameters and one bar that sums
            the rest (see `top_bars()`); ``0`` shows every layer. By default every
            layer, unless there are more than `AUTO_ROWS`: then the `AUTO_TOP`
            largest, so a big model gives a chart to read, not one 3,000 pixels tall.

    Returns:
        A ``matplotlib.figure.Figure`` (not registered with pyplot) that a notebook
        shows as an image when it is a cell's value.

    Raises:
        ImportError: matplotlib is not installed; the message names the extra.
    """
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.patches import Patch
        from matplotlib.ticker import FuncFormatter

        from .figure import SummaryFigure
    except ImportError as err:
        raise ImportError(
            "plot() needs matplotlib: pip install 'modelsummary[plot]' (or pip install matplotlib)"
        ) from err
    bars = plot_bars(tree, depth)
    layers = len(bars)
    if top is None:
        top = AUTO_TOP if layers > AUTO_ROWS else 0
    if top:
        bars = top_bars(bars, top)
    labels = [shorten(b.label, max_label) for b in bars]
    positions = list(range(len(bars)))
    panels = 2 if mult_adds else 1
    fig = SummaryFigure(
        figsize=(
            4.5 * panels + 0.09 * max(map(len, labels), default=10),
            1.4 + 0.28 * max(len(bars), 1),
        ),
        layout="constrained",
    )
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, panels, sharey=True, squeeze=False)[0]
    colors = [_UNUSED_COLOR if b.unused else _USED_COLOR for b in bars]
    hatches = ["//" if b.unused else "" for b in bars]
    series = [("Parameters", [b.params for b in bars], colors, False)]
    if mult_adds:
        series.append(("Mult-adds", [b.mult_adds for b in bars], [_MACS_COLOR] * len(bars), True))
    for ax, (title, values, color, ops) in zip(axes, series, strict=True):
        drawn = ax.barh(positions, values, color=color, hatch=hatches, edgecolor="white")
        for bar, bar_info in zip(drawn, bars, strict=True):
            if bar_info.unused:
                bar.set_edgecolor("black")
        ax.set_title(title)
        as_log = log and any(v > 0 for v in values)  # a log axis needs a positive value
        ax.set_xscale("log" if as_log else "linear")
        ax.set_xlabel("count (log scale)" if as_log else "count")
        ax.xaxis.set_major_formatter(FuncFormatter(_tick_label(ops)))
        if as_log:
            ax.xaxis.set_minor_formatter(FuncFormatter(_minor_log_label(ax, ops)))
        ax.grid(axis="x", alpha=0.3)
        ax.set_axisbelow(True)
    first = axes[0]
    for position, bar_info in zip(positions, bars, strict=True):
        if bar_info.counted_in:
            # A tied row's own bar may be empty: the note starts at its end, or at the axis.
            where = ", ".join(bar_info.counted_in)
            first.annotate(
                shorten(f"tied: counted in {where}", 2 * max_label),
                xy=(bar_info.params, position) if bar_info.params else (0, position),
                xycoords="data" if bar_info.params else ("axes fraction", "data"),
                xytext=(4, 0),
                textcoords="offset points",
                va="center",
                fontsize="small",
                color=_TIED_COLOR,
            )
    first.set_yticks(positions, labels)
    first.invert_yaxis()
    if any(b.unused for b in bars):
        first.legend(
            handles=[
                Patch(color=_USED_COLOR, label="used"),
                Patch(facecolor=_UNUSED_COLOR, hatch="//", edgecolor="black", label="unused"),
            ],
            loc="lower right",
        )
    title = f"{tree.root.type_name}: layers at depth {depth}"
    if len(bars) < layers:
        title += f", the {top} largest of {layers}"
    fig.suptitle(title)
    if path is not None:
        fig.savefig(path)
    return fig


def _tick_label(ops: bool) -> Callable[[float, int | None], str]:
    """The major tick labels of a panel: parameters (``ops`` false) or mult-adds."""
    return lambda value, _: format_tick(value, ops=ops)


def _minor_log_label(ax: Axes, ops: bool) -> Callable[[float, int | None], str]:
    """Labels for the minor ticks of a log axis, which need them when it spans a decade
    or less (too few decade ticks to read it by): 2 and 5, or all when it spans half a
    decade or less; none on a wider axis."""

    def label(value: float, _: int | None) -> str:
        low, high = sorted(ax.get_xlim())
        decades = math.log10(high / low) if low > 0 else math.inf
        mantissa = round(value / 10 ** math.floor(math.log10(value) + 1e-9))
        shown = decades <= 0.5 or (decades <= 1 and mantissa in (2, 5))
        return format_tick(value, ops=ops) if shown else ""

    return label
