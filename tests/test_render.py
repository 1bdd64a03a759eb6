"""The renderer alone: hand-built trees in, text out. No torch."""

from __future__ import annotations

import re

import pytest

from modelsummary._present.render import RenderOptions, render_table
from modelsummary._tree.nodes import SharedParam, SummaryNode, SummaryTree, Totals, UnusedEntry


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


# -- presentation as data ---------------------------------------------------------------


def test_every_column_is_one_object_that_every_check_and_renderer_reads(tree):
    from modelsummary._present.options import check_options
    from modelsummary._present.render import COLUMNS, table_cells

    for key, column in COLUMNS.items():
        options, _ = check_options([key], None, 3, None, 0)
        cells = table_cells(tree, options)
        assert column.key == key and cells.headers == ("Layer (type)", column.header)
        assert len(cells.rows) == 5 and all(len(row) == 2 for row in cells.rows)
    assert not COLUMNS["num_params"].needs_pass and COLUMNS["output_size"].needs_pass
    assert COLUMNS["time"].needs_timing and not COLUMNS["mult_adds"].needs_timing


@pytest.fixture
def no_pass_tree() -> SummaryTree:
    root = node("", "Net", 0, [node("fc", "Linear", 1, num_params=6)])
    return SummaryTree(root, totals=Totals(total_params=6, trainable_params=6), forward_pass=False)


def test_the_no_input_note_is_one_sentence_in_every_format(no_pass_tree):
    from html.parser import HTMLParser

    from modelsummary._present.html import render_html
    from modelsummary._present.markdown import render_markdown
    from modelsummary._present.render import NO_PASS_NOTE

    options = RenderOptions(columns=("num_params",))
    text = render_table(no_pass_tree, options).splitlines()
    start = next(i for i, line in enumerate(text) if line.startswith("No input was given"))
    assert " ".join(line.strip() for line in text[start:-1]) == NO_PASS_NOTE
    assert NO_PASS_NOTE.count(": ") == 1  # the sentence that used to be split at ": "

    markdown = render_markdown(no_pass_tree, options)
    assert markdown.split("\n\n")[-1] == NO_PASS_NOTE  # a paragraph, not a table row
    assert "| No input" not in markdown

    html = render_html(no_pass_tree, options)
    assert "ms-training" not in html

    class Paragraphs(HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.found: dict[str, str] = {}
            self.open: str | None = None

        def handle_starttag(self, tag, attrs):
            if tag == "p":
                self.open = dict(attrs)["class"]

        def handle_data(self, data):
            if self.open:
                self.found[self.open] = data

        def handle_endtag(self, tag):
            self.open = None

    parser = Paragraphs()
    parser.feed(html)
    assert parser.found == {"ms-note": NO_PASS_NOTE}


def test_footer_groups_are_labelled_values_of_a_kind(tree):
    from modelsummary._present.render import PARAMS_TITLE, footer_groups

    counts, sizes = footer_groups(tree)
    assert counts.lines[0].kind == "title" and counts.lines[0].label == PARAMS_TITLE
    total = counts.lines[1]
    assert (total.label, total.value, total.kind) == ("Total params", "15", "total")
    assert sizes.lines[-1].kind == "total" and sizes.lines[-1].label == "Estimated total size"
    assert all(": " not in line.label for g in (counts, sizes) for line in g.lines)


# -- layout that fits ---------------------------------------------------------------------


def _wide_tree() -> SummaryTree:
    from modelsummary._records import MapSpec, OtherSpec, SeqSpec, TensorSpec

    big = TensorSpec((1, 128, 50257), "float32", 0)
    hidden = TensorSpec((1, 128, 768), "float32", 0)
    flags = MapSpec((("use_cache", OtherSpec("bool")), ("position_ids", hidden)))
    inputs = SeqSpec((hidden, OtherSpec("DynamicCache"), OtherSpec("NoneType"), flags))
    deep = node(
        "encoder.a_rather_long_module_name_for_a_layer",
        "SomeVeryLongAttentionImplementation",
        2,
        num_params=123_456_789,
        inputs=inputs,
        output=hidden,
    )
    enc = node("encoder", "Encoder", 1, [deep])
    root = node(
        "", "Net", 0, [enc], output=MapSpec((("logits", big), ("cache", OtherSpec("HybridCache"))))
    )
    ops = tuple((f"aten.some_long_operator_name_{i}", i + 1) for i in range(12))
    return SummaryTree(root, totals=Totals(total_params=123_456_789), uncounted_ops=ops)


@pytest.mark.parametrize("width", [72, 80, 120])
def test_the_table_fits_the_width_without_cutting(width):
    from tests.test_layout import _printed_rows

    options = RenderOptions(
        columns=("input_size", "output_size", "num_params", "mult_adds"), width=width
    )
    text = render_table(_wide_tree(), options)
    out = text.splitlines()
    assert max(len(line) for line in out) <= width
    assert out[0] == "=" * len(out[0]) and len(out[0]) == max(len(line) for line in out)
    assert any("123,456,789" in line for line in out)  # the exact count, in the footer
    assert not any("…" in line for line in out)  # nothing is cut
    name, inputs, output, params, _ = _printed_rows(text)[-1]  # wrapped cells, joined
    assert name == "└─a_rather_long_module_name_for_a_layer(SomeVeryLongAttentionImplementation)"
    assert inputs == "[1,128,768],{position_ids:[1,128,768]}" and output == "[1,128,768]"
    assert params in ("123,456,789", "123.5M")
    # the long footer line wraps under the rule, and nothing of it is lost
    start = next(i for i, line in enumerate(out) if line.startswith("Uncounted operators"))
    joined = " ".join(line.strip() for line in out[start : start + 8])
    assert "aten.some_long_operator_name_11 ×12" in joined


def test_no_width_limit_keeps_every_value_whole():
    options = RenderOptions(columns=("input_size", "output_size"), width=0)
    text = render_table(_wide_tree(), options)
    assert "…" not in text
    assert "SomeVeryLongAttentionImplementation" in text
    # shape cells: no None, no cache, no flag; the dict root shows its tensors only
    assert "[1, 128, 768], {position_ids: [1, 128, 768]}" in text
    assert "{logits: [1, 128, 50257]}" in text
    assert "DynamicCache" not in text and "None" not in text and "use_cache" not in text


def test_width_none_follows_the_terminal_through_columns(monkeypatch):
    from modelsummary._present.render import available_width

    monkeypatch.setenv("COLUMNS", "72")
    assert available_width(None) == 72
    out = render_table(_wide_tree(), RenderOptions(columns=("input_size", "output_size")))
    assert max(len(line) for line in out.splitlines()) <= 72
    monkeypatch.delenv("COLUMNS")
    assert available_width(None) is None  # not a terminal: no limit
    assert available_width(0) is None and available_width(50) == 50


def test_columns_are_sized_to_content_and_col_width_is_a_minimum(tree):
    natural = lines(render_table(tree, RenderOptions(columns=("num_params", "calls"))))
    names = max(len(line.split("  ")[0]) for line in natural[3:8])
    assert len(natural[2]) == names + 2 + 9 + 2 + 7  # tabulate's own padding, no more
    wide = lines(render_table(tree, RenderOptions(columns=("num_params", "calls"), col_width=20)))
    assert [len(rule) for rule in wide[2].split("  ")][1:] == [22, 22]  # as before: + padding


# -- a quieter unused section ---------------------------------------------------------------


@pytest.fixture
def unused_tree() -> SummaryTree:
    a1 = node("a.l1", "Linear", 2, num_params=10)
    a = node("a", "Block", 1, [a1])
    root = node("", "Net", 0, [a])
    unused = (
        *(UnusedEntry(f"a.l1.drop{i}", "Dropout", 0) for i in range(3)),
        UnusedEntry("a.l1.extra", "Linear", 6),
        UnusedEntry("a.l1.more", "Linear", 4),
        UnusedEntry("spare", "Linear", 4),
        UnusedEntry("a.l1.bias2", "Parameter", 2),
        UnusedEntry("act", "ReLU", 0),
    )
    return SummaryTree(root, unused=unused, totals=Totals(total_params=10, unused_params=16))


def test_parameter_free_unused_modules_are_one_line(unused_tree):
    from modelsummary._present.render import unused_cells, unused_line

    options = RenderOptions(depth=3)
    _, rows = unused_cells(unused_tree, options)
    assert rows == (
        ("a.l1.extra (Linear)", "6"),
        ("a.l1.more (Linear)", "4"),
        ("spare (Linear)", "4"),
        ("a.l1.bias2 (Parameter)", "2"),
    )
    assert unused_line(unused_tree, options) == (
        "4 modules without parameters never ran: Dropout ×3, ReLU"
    )
    text = render_table(unused_tree, options)
    assert "drop0" not in text and "Dropout ×3" in text


def test_unused_entries_deeper_than_depth_fold_into_their_ancestor(unused_tree):
    from modelsummary._present.render import unused_cells

    _, rows = unused_cells(unused_tree, RenderOptions(depth=1))
    # a.l1.extra, a.l1.more and the lone parameter a.l1.bias2 all fold into a (Block)
    assert rows == (("a (Block) ×3 inside", "12"), ("spare (Linear)", "4"))
    assert sum(int(n) for _, n in rows) == unused_tree.totals.unused_params


def test_list_unused_lists_each_entry(unused_tree):
    from modelsummary._present.options import check_options
    from modelsummary._present.render import unused_cells, unused_line

    options, _ = check_options(None, None, 1, ["list_unused"], 0)
    _, rows = unused_cells(unused_tree, options)
    assert [label for label, _ in rows] == [f"{e.path} ({e.type_name})" for e in unused_tree.unused]
    assert unused_line(unused_tree, options) == ""


# -- say it plainly ----------------------------------------------------------------------------


def test_a_tied_rows_trainable_cell_says_where_it_is_counted(tree):
    text = render_table(tree, RenderOptions(columns=("num_params", "trainable"), width=0))
    row = next(line for line in lines(text) if "b (Linear)" in line)
    assert row.endswith("see a.l1")


def test_the_footer_says_which_line_is_the_models_count(tree):
    out = lines(render_table(tree, RenderOptions()))
    title = out.index("Parameters (the model's count is Total params):")
    assert out[title + 1] == "Total params: 15"


@pytest.mark.parametrize("fmt", ["github", "pipe"])
def test_pipe_formats_paste_as_markdown_without_rules(tree, fmt):
    from modelsummary._present.export import render_text

    text = render_text(tree, RenderOptions(tablefmt=fmt))
    assert "====" not in text and "----\n" not in text
    blocks = text.split("\n\n")
    assert all(line.startswith("|") for line in blocks[0].splitlines())
    assert "| Total params | 15 |" in [" ".join(line.split()) for line in text.splitlines()]


# -- FLOPs ---------------------------------------------------------------------------------


def test_flops_are_twice_the_mult_adds_and_shown_beside_them():
    leaf = node("fc", "Linear", 1, num_params=6, mult_adds=21, subtree_mult_adds=21)
    root = node("", "Net", 0, [leaf], subtree_mult_adds=21)
    tree = SummaryTree(root, totals=Totals(total_params=6, mult_adds=21))
    both = lines(render_table(tree, RenderOptions(columns=("mult_adds", "flops"))))
    row = next(line for line in both if "fc (Linear)" in line)
    assert row.split()[-2:] == ["21", "42"]
    assert "Total FLOPs (2 × mult-adds): 42" in both and "Total mult-adds: 21" in both
    plain = lines(render_table(tree, RenderOptions(columns=("mult_adds",))))
    assert not any("FLOPs" in line for line in plain)  # the footer line comes with the column


def test_groups_column_shows_a_convolutions_groups():
    conv = node("conv", "Conv2d", 1, groups=4)
    tree = SummaryTree(node("", "Net", 0, [conv, node("fc", "Linear", 1)]))
    out = lines(render_table(tree, RenderOptions(columns=("groups",))))
    assert next(line for line in out if "conv (Conv2d)" in line).endswith(" 4")
    assert next(line for line in out if "fc (Linear)" in line).endswith("--")


# -- nothing cut: a long mapping, the unused section, ASCII -----------------------------------


def _many_outputs_tree() -> SummaryTree:
    from modelsummary._records import MapSpec, TensorSpec

    outputs = MapSpec(
        tuple((f"hidden_{i}", TensorSpec((1, 128, 768), "float32", 0)) for i in range(10))
    )
    leaf = node("encoder", "Encoder", 1, output=outputs, num_params=10)
    return SummaryTree(node("", "Net", 0, [leaf], output=outputs), totals=Totals(total_params=10))


@pytest.mark.parametrize(
    ("ascii_only", "marker"), [(False, "…"), (True, "...")], ids=["unicode", "ascii"]
)
def test_a_long_mapping_ends_in_how_many_more_after_whole_entries(ascii_only, marker):
    from modelsummary._present.layout import MAX_SHAPE_LINES
    from tests.test_layout import _printed_rows

    options = RenderOptions(columns=("output_size", "num_params"), width=50, ascii_only=ascii_only)
    text = render_table(_many_outputs_tree(), options)
    assert max(len(line) for line in text.splitlines()) <= 50
    lines = text.splitlines()
    first_row = next(i for i, line in enumerate(lines) if line.startswith("Net"))
    assert not lines[first_row + MAX_SHAPE_LINES].startswith("│ ")  # at most four lines
    if not ascii_only:
        output = _printed_rows(text)[0][1]
        kept = re.fullmatch(r"\{(.*),…,\+(\d+)more\}", output)
        assert kept, output
        entries = kept[1].split("],")
        assert len(entries) + int(kept[2]) == 10  # whole entries, then how many more
        assert all(e.startswith(f"hidden_{i}:[1,128,768") for i, e in enumerate(entries))
    assert f"{marker}, +" in text


def test_the_unused_section_wraps_a_long_name_instead_of_cutting_it():
    from modelsummary._tree.nodes import UnusedEntry

    long = "encoder.layers.11.a_rather_long_module_name_for_a_layer"
    tree = SummaryTree(
        node("", "Net", 0), (UnusedEntry(long, "SomeVeryLongAttentionImplementation", 123_456),)
    )
    text = render_table(tree, RenderOptions(columns=("num_params",), width=40, list_unused=True))
    assert max(len(line) for line in text.splitlines()) <= 40
    assert "…" not in text and "123,456" in text
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("Unused")) + 1
    name_width = lines[rule].index(" ")
    rows = lines[rule + 1 : next(i for i in range(rule, len(lines)) if lines[i][0] == "=")]
    assert "".join(line[:name_width].strip() for line in rows) == (
        long + "(SomeVeryLongAttentionImplementation)"  # lines joined: each piece in order
    )
