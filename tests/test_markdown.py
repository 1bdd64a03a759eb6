"""Markdown: one renderer for to_markdown(), render("markdown") and the pipe tablefmts,
its tables holding the text table's cells and the footer's values, two columns each."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest
from torch import nn

from modelsummary import ModelSummary, summary
from modelsummary._present.markdown import VALUE_HEADER, render_markdown
from modelsummary._present.render import footer_groups, table_cells, unused_cells
from tests.models import SeedCase3


def _split_pipe_row(line: str) -> list[str]:
    assert line.startswith("|") and line.endswith("|"), line
    cells = re.split(r"(?<!\\)\|", line[1:-1])
    return [
        c.strip().replace("\\|", "|").replace("\\\\", "\\").replace("\u00a0", " ") for c in cells
    ]


def _tables(markdown: str) -> list[list[list[str]]]:
    """Each pipe table of the text as rows of cells, header first, rule left out."""
    blocks = [b for b in markdown.split("\n\n") if b.startswith("|")]
    return [[_split_pipe_row(line) for line in b.splitlines() if "---" not in line] for b in blocks]


SUMMARIES = {
    "seed3": lambda: summary(SeedCase3(), (1, 1, 6, 6), verbose=0),
    "training": lambda: summary(
        nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2)),
        (2, 4),
        optimizer="adam",
        verbose=0,
    ),
    "no-pass": lambda: summary(nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 2)), verbose=0),
}


@pytest.fixture(scope="module", params=list(SUMMARIES))
def any_summary(request: pytest.FixtureRequest) -> ModelSummary:
    return SUMMARIES[request.param]()


def test_one_renderer_for_every_way_to_markdown(any_summary):
    s = any_summary
    markdown = s.to_markdown()
    assert s.render("markdown") == markdown
    assert s.to_text(tablefmt="pipe") == markdown  # the pipe tablefmt is the same Markdown
    github = s.to_text(tablefmt="github")
    assert github == render_markdown(s.tree, replace(s.options, tablefmt="github"))
    assert _tables(github) == _tables(markdown)  # github only draws its rule without colons
    assert "====" not in github and "Total params:" not in github


def test_totals_are_two_column_tables_with_a_value_in_every_row(any_summary):
    s = any_summary
    groups = [g for g in footer_groups(s.tree, s.options) if g.kind != "note"]
    tables = _tables(s.to_markdown())[-len(groups) :]
    assert len(tables) == len(groups)
    for group, table in zip(groups, tables, strict=True):
        header, *rows = table
        assert len(header) == 2 and header[0] and header[1] == VALUE_HEADER
        assert all(len(row) == 2 and row[0] and row[1] for row in rows), rows
        labelled = [(line.label, line.value) for line in group.lines if line.kind != "title"]
        assert [tuple(row) for row in rows] == labelled
    totals = dict(row for table in tables for row in table[1:])
    assert totals["Total params"].split()[0] == f"{s.total_params:,}"
    assert totals["Buffers"].split()[0] == f"{s.total_buffers:,}"
    if s.training_bytes is not None:
        assert tables[-1][0][0] == "Training estimate (adam)"


def test_a_summary_without_a_pass_ends_with_its_note_as_a_paragraph():
    markdown = SUMMARIES["no-pass"]().to_markdown()
    last = markdown.split("\n\n")[-1]
    assert last.startswith("No input was given") and "|" not in last


def test_markdown_tables_hold_the_same_cells_with_pipes_escaped():
    class Pipe(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
            self.unused = nn.Linear(3, 1)

        def forward(self, x):
            return self.inner(x)

    Pipe.__name__ = "A|B"
    s = summary(Pipe(), (1, 3), col_names=("output_size", "num_params", "calls"), verbose=0)
    blocks = s.to_markdown().split("\n\n")
    cells = table_cells(s.tree, s.options)
    layer_lines = blocks[0].splitlines()
    assert _split_pipe_row(layer_lines[0]) == list(cells.headers)
    assert re.fullmatch(r"\|:-+(\|-+:)+\|", layer_lines[1])  # names left, numbers right
    assert [_split_pipe_row(line) for line in layer_lines[2:]] == [
        [c.strip() for c in row] for row in cells.rows
    ]
    _, rows = unused_cells(s.tree)
    assert [_split_pipe_row(line) for line in blocks[1].splitlines()[2:]] == list(map(list, rows))
    totals = dict(_split_pipe_row(line) for line in blocks[2].splitlines()[2:])
    assert totals["Total params"] == "24"
    assert totals["Unused params"] == "4"
