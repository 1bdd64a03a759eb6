"""The notebook display: same cells as the text table, escaped, theme-neutral; run in a kernel."""

from __future__ import annotations

import base64
import os
import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest
from torch import nn

from modelsummary import summary
from modelsummary._present.render import footer_groups, table_cells, unused_cells
from tests.models import SeedCase3, TiedLM, rand

ROOT = Path(__file__).resolve().parents[1]


class _Tables(HTMLParser):
    """Collect the text of each cell, per row, per table class."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: dict[str, list[list[str]]] = {}
        self.current: str | None = None
        self.cell: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.current = dict(attrs)["class"]
            self.tables[self.current] = []
        elif tag == "tr" and self.current:
            self.tables[self.current].append([])
        elif tag in ("td", "th"):
            self.cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self.cell is not None and self.current:
            self.tables[self.current][-1].append("".join(self.cell))
            self.cell = None
        elif tag == "table":
            self.current = None

    def handle_data(self, data: str) -> None:
        if self.cell is not None:
            self.cell.append(data)


def _parse(html: str) -> dict[str, list[list[str]]]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


class Weird(nn.Module):
    """Module names and a type name that are markup."""

    def __init__(self) -> None:
        super().__init__()
        self.add_module("<b>&amp;", nn.Linear(3, 3))
        self.add_module("never<i>", nn.Linear(3, 3))

    def forward(self, x):
        return getattr(self, "<b>&amp;")(x)


Weird.__name__ = "Net<script>alert(1)</script>"


@pytest.mark.parametrize(
    "model, size",
    [(SeedCase3(), (1, 1, 6, 6)), (Weird(), (1, 3))],
    ids=["seed_case3", "markup_names"],
)
def test_html_shows_the_text_tables_cells_unescaped_back_exactly(model, size):
    s = summary(model, size, col_names=("output_size", "num_params", "calls"), verbose=0)
    html = s._repr_html_()
    tables = _parse(html)
    cells = table_cells(s.tree, s.options, complete=True)
    assert tables["ms-layers"] == [list(cells.headers), *map(list, cells.rows)]
    headers, rows = unused_cells(s.tree)
    assert tables["ms-unused"] == [list(headers), *map(list, rows)]
    counts, sizes = footer_groups(s.tree, s.options)
    assert tables["ms-counts"] == [[line.label, line.value] for line in counts.lines]
    assert tables["ms-sizes"] == [[line.label, line.value] for line in sizes.lines]


def test_html_escapes_user_text():
    html = summary(Weird(), (1, 3), verbose=0)._repr_html_()
    assert "<script>" not in html and "<b>" not in html and "never<i>" not in html
    assert "Net&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;&amp;amp;" in html  # the module name itself contains "&amp;"


def test_html_footnotes_are_shown():
    s = summary(TiedLM(), input_data=rand(1, 5).long(), verbose=0)
    notes = table_cells(s.tree, s.options).notes
    assert notes
    for note in notes:
        assert note.replace("[", "").split("]")[1].strip() in s._repr_html_()


def test_html_inherits_colours_for_light_and_dark_themes():
    html = summary(SeedCase3(), (1, 1, 4, 4), verbose=0).to_html()
    colours = re.findall(r"(?<![-\w])color:\s*([^;\"]+)", html)
    assert colours and set(colours) == {"inherit"}
    backgrounds = set(re.findall(r"background:\s*([^;\"]+)", html))
    assert backgrounds == {"transparent"}
    # rules are translucent grey: visible on white and on black
    assert set(re.findall(r"border-bottom:\s*([^;\"]+)", html)) == {
        "1px solid rgba(128, 128, 128, 0.45)"
    }


@pytest.fixture(scope="module")
def executed_notebook():
    """One notebook run in a real kernel: the summary, the checkout it imports, a plot."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "from torch import nn\nfrom modelsummary import summary\n"
            "model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))"
        ),
        nbformat.v4.new_code_cell("summary(model, (1, 4))"),
        nbformat.v4.new_code_cell("import modelsummary; print(modelsummary.__file__)"),
        # No %matplotlib magic and no pyplot: the figure alone must show as an image.
        nbformat.v4.new_code_cell("summary(model, (1, 4)).plot()"),
        nbformat.v4.new_code_cell("import sys; print('matplotlib.pyplot' in sys.modules)"),
    ]
    # The kernel imports the package from this checkout: cwd and PYTHONPATH at the repo root.
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setenv(
            "PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        )
        client = NotebookClient(
            nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}
        )
        client.execute()
    return nb


def test_executed_notebook_cell_displays_the_html_table(executed_notebook):
    nb = executed_notebook
    outputs = nb.cells[1].outputs
    assert [o["output_type"] for o in outputs] == ["execute_result"]  # shown once, not printed
    data = outputs[0]["data"]
    tables = _parse(data["text/html"])
    assert tables["ms-layers"][0] == ["Layer (type)", "Output Shape", "Param #"]
    assert [row[0] for row in tables["ms-layers"][1:]] == [
        "Sequential",
        "├─0 (Linear)",
        "├─1 (ReLU)",
        "└─2 (Linear)",
    ]
    assert tables["ms-layers"][2][2] == "15"
    assert "Total params: 23" in data["text/plain"]
    printed = nb.cells[2].outputs[0]["text"].strip()
    assert Path(printed).resolve().is_relative_to(ROOT)


def test_executed_notebook_cell_displays_the_plot_as_an_image(executed_notebook):
    outputs = executed_notebook.cells[3].outputs
    assert [o["output_type"] for o in outputs] == ["execute_result"]  # one image, not two
    png = base64.b64decode(outputs[0]["data"]["image/png"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    # the image is the figure at its own size: width and height from the PNG header
    width, height = struct.unpack(">II", png[16:24])
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    fig = summary(model, (1, 4), verbose=0).plot()
    assert (width, height) == tuple(round(v) for v in fig.get_size_inches() * fig.dpi)
    # and pyplot, whose import would turn on the inline display hook, was never imported
    assert executed_notebook.cells[4].outputs[0]["text"].strip() == "False"
