"""The renderer alone: hand-built trees in, text out. No torch."""

from __future__ import annotations

import pytest

from modelsummary._render import RenderOptions, render_table
from modelsummary._tree import SharedParam, SummaryNode, SummaryTree, Totals, UnusedEntry


def node(path, type_name, depth, children=(), **kw) -> SummaryNode:
    num = kw.pop("num_params", 0)
    trainable = kw.pop("trainable_params", num)
    sub = num + sum(c.subtree_params for c in children)
    sub_t = trainable + sum(c.subtree_trainable for c in children)
    return SummaryNode(
        path,
        type_name,
        depth,
        kw.pop("calls", 1),
        num_params=num,
        trainable_params=trainable,
        subtree_params=sub,
        subtree_trainable=sub_t,
        children=tuple(children),
        **kw,
    )


@pytest.fixture
def tree() -> SummaryTree:
    a1 = node("a.l1", "Linear", 2, num_params=10)
    a2 = node("a.l2", "Linear", 2, num_params=5, trainable_params=0, calls=3)
    a = node("a", "Block", 1, [a1, a2])
    b = node("b", "Linear", 1, num_params=0, shared=(SharedParam("weight", "a.l1.weight", "a.l1"),))
    root = node("", "Net", 0, [a, b])
    totals = Totals(total_params=15, trainable_params=10, unused_params=4)
    return SummaryTree(root, unused=(UnusedEntry("spare", "Linear", 4),), totals=totals)


def lines(text: str) -> list[str]:
    return [line.rstrip() for line in text.splitlines()]


def test_tree_glyphs_mark_last_children_and_continuing_lines(tree):
    text = render_table(tree, RenderOptions(columns=("num_params",), col_width=1))
    names = [line.split("  ")[0] for line in lines(text)[3:7]]
    assert names == ["Net", "├─a (Block)", "│ ├─l1 (Linear)", "│ └─l2 (Linear) ×3"]
    assert lines(text)[7].startswith("└─b (Linear)")


def test_ascii_only(tree):
    text = render_table(tree, RenderOptions(columns=(), ascii_only=True))
    assert "|-a (Block)" in text and "| `-l2 (Linear) x3" in text and "`-b (Linear)" in text
    assert not any(ord(ch) > 127 for ch in text)


def test_depth_folds_children_into_ancestor_with_subtree_counts(tree):
    text = render_table(tree, RenderOptions(columns=("num_params", "trainable"), depth=1))
    row = next(line for line in lines(text) if "a (Block)" in line)
    assert row.split()[-2:] == ["15", "Partial"]
    assert "l1 (Linear)" not in text


def test_shared_parameter_footnote(tree):
    text = render_table(tree, RenderOptions(columns=("num_params",)))
    assert "-- [1]" in text
    assert "[1] b.weight is a.l1.weight, counted at a.l1" in text


def test_unused_section_and_footer(tree):
    text = render_table(tree, RenderOptions())
    assert "spare (Linear)" in text.split("Unused (never called or used)")[1]
    for line in [
        "Total params: 15",
        "Unused params: 4",
        "All params: 19",
        "Non-trainable params: 5",
    ]:
        assert line in lines(text)


def test_params_percent_calls_and_depth_index(tree):
    options = RenderOptions(columns=("params_percent", "calls"), show_depth_index=True)
    text = render_table(tree, options)
    l1 = next(line for line in lines(text) if "l1 (Linear)" in line)
    assert l1.split()[-2:] == ["66.67%", "1"]
    assert "l2 (Linear) ×3: 2-2" in text


def test_rule_lines_span_the_widest_line(tree):
    out = lines(render_table(tree, RenderOptions()))
    width = max(len(line) for line in out)
    assert out[0] == "=" * width and out[-1] == "=" * width
