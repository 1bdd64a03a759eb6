"""plot(): bars that add up to the totals, log scale, short names, unused marked apart."""

from __future__ import annotations

import sys

import matplotlib
import pytest
from matplotlib.figure import Figure
from torch import nn

from modelsummary import summary
from modelsummary._plot import plot_bars, shorten

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
    "kwargs", [{"depth": -1}, {"depth": "2"}, {"max_label": 2}], ids=["neg", "str", "label"]
)
def test_bad_plot_arguments(wide, kwargs):
    with pytest.raises(ValueError):
        wide.plot(**kwargs)


def test_plot_without_matplotlib_names_the_extra(wide, monkeypatch):
    for name in ["matplotlib", "matplotlib.figure", "matplotlib.patches"]:
        monkeypatch.setitem(sys.modules, name, None)
    monkeypatch.setitem(sys.modules, "matplotlib.backends.backend_agg", None)
    with pytest.raises(ImportError, match=r"modelsummary\[plot\]"):
        wide.plot()
