"""plot(): bars that add up to the totals, log scale, short names, unused and tied marked,
counts with K/M/G, and a figure that shows itself as an image."""

from __future__ import annotations

import io
import sys

import matplotlib
import pytest
import torch
from matplotlib.figure import Figure
from matplotlib.image import imread
from torch import nn

from modelsummary import summary
from modelsummary._present.plot import format_tick, plot_bars, shorten, top_bars
from tests.models import TiedLM

matplotlib.use("Agg")


class Wide(nn.Module):
    """Deep nesting, a long name, a parameter on a container, and an unused branch."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder_with_a_really_quite_long_name = nn.Sequential(
            nn.Sequential(nn.Linear(8, 16), nn.ReLU()), nn.Linear(16, 8)
        )
        self.scale = nn.Parameter(nn.init.ones_(nn.Linear(8, 8).weight.detach().clone()))
        self.head = nn.Linear(8, 2)
        self.spare = nn.Sequential(nn.Linear(8, 100))  # never called

    def forward(self, x):
        x = self.encoder_with_a_really_quite_long_name(x) @ self.scale
        return self.head(x)


@pytest.fixture(scope="module")
def wide():
    return summary(Wide(), (2, 8), verbose=0)


@pytest.mark.parametrize("depth", [0, 1, 2, 3, 10], ids=lambda d: f"depth{d}")
def test_bars_add_up_to_used_and_all_params(wide, depth):
    bars = plot_bars(wide.tree, depth)
    assert sum(b.params for b in bars if not b.unused) == wide.total_params
    assert sum(b.params for b in bars) == wide.all_params
    assert [b.label for b in bars if b.unused] == ["spare (Sequential)"]


def test_figure_draws_one_bar_per_entry_with_unused_hatched_grey(wide):
    fig = wide.plot(depth=1)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    bars = plot_bars(wide.tree, 1)
    patches = ax.patches
    assert [p.get_width() for p in patches] == [b.params for b in bars]
    used_colors = {p.get_facecolor() for p, b in zip(patches, bars, strict=True) if not b.unused}
    unused = [p for p, b in zip(patches, bars, strict=True) if b.unused]
    assert unused and all(p.get_hatch() == "//" for p in unused)
    assert {p.get_facecolor() for p in unused}.isdisjoint(used_colors)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["used", "unused"]
    assert ax.get_xscale() == "linear"


def test_log_scale_and_mult_adds_panel(wide):
    fig = wide.plot(depth=2, log=True, mult_adds=True)
    assert [ax.get_title() for ax in fig.axes] == ["Parameters", "Mult-adds"]
    bars = plot_bars(wide.tree, 2)
    assert fig.axes[0].get_xscale() == "log"
    macs = [b.mult_adds for b in bars]
    assert [p.get_width() for p in fig.axes[1].patches] == macs
    # a log axis needs a positive value: all-zero mult-adds stay linear, without a warning
    assert fig.axes[1].get_xscale() == ("log" if any(macs) else "linear")


def test_long_names_are_cut_in_the_middle(wide):
    fig = wide.plot(depth=3, max_label=20)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels and all(len(label) <= 20 for label in labels)
    assert any("…" in label for label in labels)
    full = [b.label for b in plot_bars(wide.tree, 3)]
    for label, original in zip(labels, full, strict=True):
        head, _, tail = label.partition("…")
        assert original.startswith(head) and original.endswith(tail)


def test_shorten_keeps_short_names():
    assert shorten("fc (Linear)", 40) == "fc (Linear)"
    assert len(shorten("x" * 100, 9)) == 9


def test_depth_defaults_to_the_summary_depth():
    s = summary(Wide(), (2, 8), depth=1, verbose=0)
    labels = [t.get_text() for t in s.plot().axes[0].get_yticklabels()]
    assert labels == [shorten(b.label, 40) for b in plot_bars(s.tree, 1)]


def test_plot_saves_to_a_path(wide, tmp_path):
    target = tmp_path / "layers.png"
    wide.plot(path=target)
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "kwargs",
    [{"depth": -1}, {"depth": "2"}, {"max_label": 2}, {"top": -1}, {"top": 2.5}, {"top": True}],
    ids=["neg", "str", "label", "top-neg", "top-float", "top-bool"],
)
def test_bad_plot_arguments(wide, kwargs):
    with pytest.raises(ValueError):
        wide.plot(**kwargs)


def test_plot_without_matplotlib_names_the_extra(wide, monkeypatch):
    for name in ["matplotlib", "matplotlib.figure", "matplotlib.patches", "matplotlib.ticker"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    # cached by earlier tests
    monkeypatch.setitem(sys.modules, "modelsummary._present.figure", None)
    with pytest.raises(ImportError, match=r"modelsummary\[plot\]"):
        wide.plot()


_SUFFIX = {"": 1, "K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}


def _value_of(label: str) -> float:
    """A tick label read back: '2.5M' -> 2_500_000."""
    label = label.replace("\N{MINUS SIGN}", "-")
    suffix = label[-1] if label[-1] in _SUFFIX else ""
    return float(label.removesuffix(suffix) if suffix else label) * _SUFFIX[suffix]


def _tick_labels(ax, which="major"):
    ax.figure.canvas.draw()
    ticks = ax.xaxis.get_minor_ticks() if which == "minor" else ax.xaxis.get_major_ticks()
    low, high = sorted(ax.get_xlim())
    return [
        (t.get_loc(), t.label1.get_text())
        for t in ticks
        if low <= t.get_loc() <= high and t.label1.get_text()
    ]


class Big(nn.Module):
    """3.2M parameters in an embedding, 4.1K in a head: ticks in the millions."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(50_000, 64)
        self.head = nn.Linear(64, 64)

    def forward(self, tokens):
        return self.head(self.embed(tokens))


@pytest.fixture(scope="module")
def big():
    return summary(Big(), input_data=torch.zeros(1, 4, dtype=torch.long), verbose=0)


@pytest.mark.parametrize("log", [False, True], ids=["linear", "log"])
def test_count_axis_reads_k_m_g_without_an_offset(big, log):
    fig = big.plot(log=log, mult_adds=True)
    for ax in fig.axes:
        labels = _tick_labels(ax)
        assert len(labels) >= 2
        for loc, text in labels:  # each label reads back as its tick's value
            assert _value_of(text) == pytest.approx(loc, rel=5e-3, abs=1e-9)
        assert ax.xaxis.get_offset_text().get_text() == ""  # no "1e6" beside the axis
    params = [text for _, text in _tick_labels(fig.axes[0])]
    assert any(text.endswith("M") for text in params)


def test_a_log_axis_within_a_decade_labels_its_minor_ticks():
    # 8 and 9 parameters: a log axis spanning less than a decade, no decade tick inside
    model = nn.Sequential(nn.Linear(7, 1), nn.Linear(1, 4, bias=False), nn.Linear(4, 2))
    ax = summary(model, (1, 7), verbose=0).plot(depth=1, log=True).axes[0]
    labels = _tick_labels(ax, "major") + _tick_labels(ax, "minor")
    assert len(labels) >= 2
    for loc, text in labels:
        assert _value_of(text) == pytest.approx(loc, rel=5e-3)


def test_a_wide_log_axis_labels_decades_only(big):
    ax = big.plot(log=True).axes[0]
    assert _tick_labels(ax, "minor") == []
    assert [text for _, text in _tick_labels(ax)][-2:] == ["100K", "1M"]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (0, "0"),
        (0.25, "0.25"),
        (999, "999"),
        (1_000, "1K"),
        (250_000, "250K"),
        (1.5e6, "1.5M"),
        (999_999, "1M"),
        (2e9, "2B"),
        (3e12, "3T"),
    ],
)
def test_format_tick(value, text):
    assert format_tick(value) == text


@pytest.mark.parametrize(
    ("value", "text"), [(1_500, "1.5K"), (2e9, "2G"), (3e12, "3T"), (4e15, "4P")]
)
def test_format_tick_of_mult_adds_keeps_giga(value, text):
    assert format_tick(value, ops=True) == text


def test_tied_row_says_where_its_weight_is_counted():
    s = summary(TiedLM(), input_data=torch.zeros(1, 5, dtype=torch.long), verbose=0)
    model = TiedLM()
    assert model.head.weight is model.embed.weight  # the truth: one tensor, two modules
    bars = {b.label: b for b in plot_bars(s.tree, 1)}
    assert bars["head (Linear)"].counted_in == ("embed",)
    assert bars["head (Linear)"].params == model.head.bias.numel()  # the weight is not in it
    assert bars["embed (Embedding)"].counted_in == ()
    # folded into the root, the tie is inside the bar: nothing to mark
    assert [b.counted_in for b in plot_bars(s.tree, 0)] == [()]
    ax = s.plot(depth=1).axes[0]
    (note,) = ax.texts
    assert note.get_text() == "tied: counted in embed"
    rows = [t.get_text() for t in ax.get_yticklabels()]
    assert note.xy[1] == rows.index("head (Linear)")


class TiedInside(nn.Module):
    """A head whose last layer's weight is the embedding's, behind a Sequential, and a
    second embedding sharing the first's weight (no parameter, no mult-add of its own)."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.head = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 10, bias=False))
        self.head[1].weight = self.embed.weight
        self.decoder_embed = nn.Embedding(10, 4)
        self.decoder_embed.weight = self.embed.weight

    def forward(self, tokens):
        return self.head(self.embed(tokens) + self.decoder_embed(tokens))


def test_tied_weight_folded_into_an_ancestor_marks_the_ancestor():
    s = summary(TiedInside(), input_data=torch.zeros(1, 3, dtype=torch.long), verbose=0)
    assert [(b.label, b.params, b.counted_in) for b in plot_bars(s.tree, 1)] == [
        ("embed (Embedding)", 40, ()),
        # nothing of its own to draw: the bar is there for the mark
        ("decoder_embed (Embedding)", 0, ("embed",)),
        ("head (Sequential)", 20, ("embed",)),
    ]
    deep = {b.label: b.counted_in for b in plot_bars(s.tree, 2)}
    assert deep["head.0 (Linear)"] == ()
    assert deep["head.1 (Linear)"] == ("embed",)


def test_figure_shows_itself_as_a_png_of_its_own_size(wide):
    fig = wide.plot(mult_adds=True)
    assert isinstance(fig, Figure)
    png = fig._repr_png_()
    image = imread(io.BytesIO(png), format="png")
    width, height = fig.get_size_inches() * fig.dpi
    assert image.shape[:2] == (round(height), round(width))


def _ladder(n: int) -> nn.Sequential:
    """``n`` layers of growing width: layer ``i`` holds ``(i + 1) * 4 + 4`` parameters."""
    return nn.Sequential(*(nn.Linear(4, i + 1) for i in range(n)))


class _Fan(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.layers = _ladder(n)

    def forward(self, x):
        return [layer(x) for layer in self.layers]


@pytest.fixture(scope="module")
def fan():
    return summary(_Fan(60), (1, 4), verbose=0)


def _bar_count(fig) -> int:
    return len(fig.axes[0].patches)


def test_top_keeps_the_largest_layers_and_sums_the_rest(fan):
    model_sizes = sorted(((i + 1) * 4 + i + 1 for i in range(60)), reverse=True)
    fig = fan.plot(top=5)
    widths = [p.get_width() for p in fig.axes[0].patches]
    assert _bar_count(fig) == 6
    assert sorted(widths[:5], reverse=True) == model_sizes[:5]
    assert widths[5] == sum(model_sizes[5:])
    assert sum(widths) == fan.total_params
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[-1] == "55 other layers"
    assert "the 5 largest of 60" in fig._suptitle.get_text()


def test_a_model_of_more_than_40_rows_shows_the_20_largest_by_default(fan):
    full = fan.plot(top=0)
    fig = fan.plot()
    assert _bar_count(full) == 60 and _bar_count(fig) == 21
    assert sum(p.get_width() for p in fig.axes[0].patches) == fan.total_params
    height = fig.get_size_inches()[1] * fig.dpi
    assert height <= 800 < full.get_size_inches()[1] * fig.dpi
    small = summary(_Fan(40), (1, 4), verbose=0).plot()
    assert _bar_count(small) == 40  # 40 rows: every one


def test_top_of_resnet50_is_a_short_figure():
    import torchvision

    s = summary(torchvision.models.resnet50(), (1, 3, 32, 32), verbose=0, depth=3)
    full, default = s.plot(top=0), s.plot()
    assert _bar_count(full) > 40
    assert _bar_count(default) == 21
    assert default.get_size_inches()[1] < full.get_size_inches()[1] / 2
    assert sum(p.get_width() for p in default.axes[0].patches) == s.total_params


def test_the_rest_of_unused_entries_is_a_bar_of_its_own():
    class Spare(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.used = _ladder(3)
            self.spare = nn.ModuleList(nn.Linear(4, 2) for _ in range(4))

        def forward(self, x):
            return self.used[2](x)

    s = summary(Spare(), (1, 4), verbose=0, row_settings=("list_unused",))
    bars = plot_bars(s.tree, 3)
    shown = top_bars(bars, 1)
    # the largest is the unused list (4 x 10); the used rest, then the unused rest
    assert [(b.label, b.unused) for b in shown] == [
        ("spare (ModuleList)", True),
        ("1 other layer", False),
        ("2 other unused entries", True),
    ]
    assert sum(b.params for b in shown if not b.unused) == s.total_params
    assert sum(b.params for b in shown) == s.all_params
