"""The printed table at a terminal's width: resnet50, GPT-2 and BERT at 60, 80 and 120 columns.

Models are built on the meta device from their constructors and configs (no download, no
weights), which gives the numbers of a real pass (tests/test_meta.py). A table wider than its
width is shortened without losing a character (`modelsummary._present.layout`): the tests read
the printed table back, column by column, and find every shape and count of every row in it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
import torch

from modelsummary import ModelSummary, summary
from modelsummary._present.render import UNICODE_GUIDES, visible_rows
from modelsummary._records import MapSpec, SeqSpec, TensorSpec, ValueSpec

COLUMNS = ("input_size", "output_size", "num_params", "mult_adds")
SEVEN = (
    "input_size",
    "output_size",
    "num_params",
    "params_percent",
    "kernel_size",
    "mult_adds",
    "trainable",
)


def _resnet50() -> ModelSummary:
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.resnet50()
    return summary(model, (1, 3, 224, 224), col_names=COLUMNS, verbose=0)


def _tokens() -> dict[str, torch.Tensor]:
    return {"input_ids": torch.zeros(1, 128, dtype=torch.long, device="meta")}


def _gpt2() -> ModelSummary:
    import transformers

    with torch.device("meta"):
        model = transformers.GPT2LMHeadModel(transformers.GPT2Config())  # GPT-2 small
    return summary(model, input_data=_tokens(), col_names=COLUMNS, verbose=0)


def _bert() -> ModelSummary:
    import transformers

    with torch.device("meta"):
        model = transformers.BertModel(transformers.BertConfig())  # bert-base
    return summary(model, input_data=_tokens(), col_names=COLUMNS, verbose=0)


MODELS: dict[str, Callable[[], ModelSummary]] = {
    "resnet50": _resnet50,
    "gpt2": _gpt2,
    "bert": _bert,
}


@pytest.fixture(scope="module", params=list(MODELS))
def model_summary(request: pytest.FixtureRequest) -> tuple[str, ModelSummary]:
    return request.param, MODELS[request.param]()


@pytest.mark.parametrize("width", [80, 120])
def test_tables_fit_the_width(model_summary, width, golden):
    name, s = model_summary
    text = s.to_text(width=width)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= width
    assert lines[0] == "=" * len(lines[0]) and lines[-1] == lines[0]  # rules: the table's width
    assert "DynamicCache" not in text and "use_cache" not in text and "None" not in text
    golden(f"layout_{name}_{width}", text)
    assert "…" not in s.to_text(width=0)  # nothing is cut without a limit


def test_unused_parameter_free_modules_are_one_line(model_summary):
    name, s = model_summary
    text = str(s)
    dropouts = [e for e in s.tree.unused if e.type_name == "Dropout"]
    if name == "resnet50":
        assert not s.tree.unused and "never ran" not in text
        return
    assert len(dropouts) == 12  # one attention dropout per layer never runs (sdpa)
    assert "12 modules without parameters never ran: Dropout ×12" in text.splitlines()
    assert not any("attn_dropout" in line or ".dropout (" in line for line in text.splitlines())
    listed = str(s.with_options(row_settings=["list_unused"]))
    assert all(f"{e.path} (Dropout)" in listed for e in dropouts)


def test_default_columns_fit_80(model_summary):
    _, s = model_summary
    text = s.with_options(col_names=("output_size", "num_params")).to_text(width=80)
    assert max(len(line) for line in text.splitlines()) <= 80


@pytest.fixture(scope="module")
def gpt2_summary() -> ModelSummary:
    return _gpt2()


def test_gpt2_tied_head_says_where_it_is_counted(gpt2_summary):
    text = gpt2_summary.with_options(col_names=("num_params", "trainable")).to_text(width=0)
    row = next(line for line in text.splitlines() if "lm_head (Linear)" in line)
    assert row.split()[-3:] == ["[1]", "see", "transformer.wte"]


# -- fit without losing: the issue-24 goldens ------------------------------------------------


@pytest.fixture(scope="module")
def fit_summaries() -> dict[str, ModelSummary]:
    """resnet50 with seven columns; BERT and GPT-2 with their default columns."""
    return {
        "resnet50": _resnet50().with_options(col_names=SEVEN),
        "bert": _bert().with_options(col_names=("output_size", "num_params")),
        "gpt2": _gpt2().with_options(col_names=("output_size", "num_params")),
    }


def _table_lines(text: str) -> tuple[list[tuple[int, int]], list[str]]:
    """The column spans (from the dashes under the headings) and the body lines."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if re.fullmatch(r"-+( +-+)+", line))
    spans = [m.span() for m in re.finditer(r"-+", lines[rule])]
    end = next(i for i in range(rule + 1, len(lines)) if set(lines[i]) <= {"-", "="})
    return spans, lines[rule + 1 : end]


def _printed_rows(text: str) -> list[list[str]]:
    """Each printed row's cells, its continuation lines joined, spaces dropped."""
    spans, body = _table_lines(text)
    rows: list[list[list[str]]] = []
    for line in body:
        cells = [line[a:b] for a, b in spans]
        # the last span may be shorter than a right-aligned cell's start: widen to the end
        cells[-1] = line[spans[-1][0] :]
        starts_row = (
            not rows or UNICODE_GUIDES.branch in cells[0] or UNICODE_GUIDES.last in cells[0]
        )
        if starts_row:
            rows.append([[c] for c in cells])
        else:  # a continuation line: the name column's guides go on before its text
            cells[0] = cells[0].lstrip(UNICODE_GUIDES.line + " ")
            for parts, c in zip(rows[-1], cells, strict=True):
                parts.append(c)
    return [["".join(parts).replace(" ", "") for parts in row] for row in rows]


def _shapes(spec: ValueSpec | None) -> Iterator[str]:
    """Every tensor's shape in a recorded value, written compactly: ``[1,64,112,112]``."""
    if isinstance(spec, TensorSpec):
        yield "[" + ",".join(str(d) for d in spec.shape) + "]"
    elif isinstance(spec, (SeqSpec, MapSpec)):
        for item in spec.items:
            yield from _shapes(item[1] if isinstance(item, tuple) else item)


_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9, "G": 1e9, "T": 1e12}


def _count_is_close(text: str, n: int) -> bool:
    """A count as a column prints it: exact (``9,408``), or compact with one decimal
    (``9.4K``), so within half a unit of its last digit."""
    text = re.sub(r"\[\d+\]$", "", text).replace(",", "")
    if text[-1] not in _SCALE:
        return int(text) == n
    return abs(float(text[:-1]) * _SCALE[text[-1]] - n) <= 0.05 * _SCALE[text[-1]]


def _check_nothing_lost(s: ModelSummary, text: str, whole: bool = True) -> None:
    """Every row's name, every shape of its first call, its kernel and its count are in
    the printed table, whole, once the row's continuation lines are joined; a cell that
    ends in ``…, +N more`` (only where ``whole`` is false) has every entry before."""
    nodes = [r.node for r in visible_rows(s.tree.root, s.options.depth, UNICODE_GUIDES)]
    printed = _printed_rows(text)
    assert len(printed) == len(nodes)
    columns = ("name", *s.options.columns)
    for node, cells in zip(nodes, printed, strict=True):
        cell = dict(zip(columns, cells, strict=True))
        label = node.type_name if node.path == "" else f"{node.name}({node.type_name})"
        assert label in cell["name"], (node.path, cell["name"])
        inputs, output = node.variants[0] if node.variants else (node.inputs, node.output)
        for key, value in (("output_size", output), ("input_size", inputs)):
            if key not in cell:
                continue
            shapes = list(_shapes(value))
            more = re.search(r"…,\+(\d+)more", cell[key])  # whole entries, then how many more
            if more:
                assert 0 < int(more[1]) < len(shapes) and not whole, (node.path, cell[key])
                shapes = shapes[: len(shapes) - int(more[1])]
            for shape in shapes:
                assert shape in cell[key], (node.path, key, shape, cell[key])
        if "kernel_size" in cell and node.kernel_size:
            assert cell["kernel_size"] == "[" + ",".join(map(str, node.kernel_size)) + "]"
        if "num_params" in cell and node.num_params:
            assert _count_is_close(cell["num_params"], node.num_params), (node.path, cell)


@pytest.mark.parametrize("width", [60, 80, 120])
@pytest.mark.parametrize("name", ["resnet50", "bert", "gpt2"])
def test_the_table_fits_without_losing_a_character(fit_summaries, name, width, golden):
    s = fit_summaries[name]
    text = s.to_text(width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    _, body = _table_lines(text)
    assert "…" not in "\n".join(body)  # nothing cut
    _check_nothing_lost(s, text)
    golden(f"fit_{name}_{width}", text)


@pytest.mark.parametrize("width", range(40, 161))
@pytest.mark.parametrize("name", ["resnet50", "bert", "gpt2"])
def test_no_line_is_wider_than_the_width(fit_summaries, name, width):
    text = fit_summaries[name].to_text(width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    _check_nothing_lost(fit_summaries[name], text, whole=width >= 60)


def test_the_exact_figures_stay_in_the_footer_and_the_exports(fit_summaries):
    s = fit_summaries["resnet50"]
    text = s.to_text(width=80)
    assert "Total params: 25,557,032 (25.56M)" in text  # torchvision's published count
    conv1 = 64 * 112 * 112 * 3 * 7 * 7  # closed form: out channels x out pixels x kernel
    assert f"{conv1 / 1e6:.1f}M" in text  # compact in the column
    layer = next(layer for layer in s.to_dict()["layers"] if layer["path"] == "conv1")
    assert layer["mult_adds"] == conv1  # the export keeps the exact figure


@pytest.mark.parametrize("width", [60, 80, 120])
def test_a_torchinfo_col_width_is_a_minimum_not_a_cut(fit_summaries, width):
    s = fit_summaries["resnet50"].with_options(
        col_names=("output_size", "num_params"), col_width=16, row_settings=("depth",)
    )
    spans, _ = _table_lines(s.to_text(width=0))
    assert all(b - a >= 16 for a, b in spans[1:])  # no limit: each value column at least 16
    text = s.to_text(width=width)
    assert max(len(line) for line in text.splitlines()) <= width
    assert "…" not in text
    names = [cells[0] for cells in _printed_rows(text)]
    assert "├─bn1(BatchNorm2d):1-2" in names  # whole, with torchinfo's depth-index
    _check_nothing_lost(s, text)


@pytest.mark.parametrize("columns", ["40", "72"])
def test_the_terminal_width_comes_from_columns(fit_summaries, monkeypatch, columns):
    monkeypatch.setenv("COLUMNS", columns)
    s = fit_summaries["gpt2"]
    text = str(s)  # print() and the REPL: the terminal's width, COLUMNS first
    assert max(len(line) for line in text.splitlines()) <= int(columns)
    _check_nothing_lost(s, text)
