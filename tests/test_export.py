"""Exports: JSON, CSV, Markdown, DataFrame and the tablefmt choice, checked against to_dict()."""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from tabulate import tabulate_formats
from torch import nn
from torch.utils._pytree import tree_leaves

from modelsummary import ModelSummaryError, summary
from modelsummary._present.export import ROOT_MARKER, SHAPE_COLUMNS, layer_records, layers_csv
from modelsummary._present.render import PIPE_FORMATS, table_cells
from tests import models as M
from tests.models import SeedCase3, Siamese, TiedLM, rand

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def seed3():
    return summary(SeedCase3(), (1, 1, 6, 6), verbose=0)


@pytest.fixture(scope="module")
def tied():
    return summary(TiedLM(), input_data=rand(2, 5).long(), verbose=0)


def test_json_is_to_dict_with_a_schema_version(seed3, tied):
    for s in (seed3, tied):
        data = json.loads(s.to_json())
        assert data == json.loads(json.dumps(s.to_dict()))
        assert isinstance(data["schema_version"], int)
        assert data["totals"]["total_params"] == s.total_params
        assert [layer["path"] for layer in data["layers"]] == [n.path for n in s.layers]
        assert data["unused_modules"] == list(s.unused_modules)


def test_json_schema_documented_in_docs_is_what_to_dict_gives(tied):
    """Every field the schema section of docs/outputs.md names is in the data."""
    doc = (ROOT / "docs" / "outputs.md").read_text(encoding="utf-8")
    section = doc.split("## JSON schema", 1)[1].split("\n## ", 1)[0]
    documented = re.findall(r"^\| `([a-z_.\[\]]+)` \|", section, flags=re.M)
    data = tied.to_dict()
    assert f"version {data['schema_version']}" in section
    assert len(documented) > 20
    for name in documented:
        value: object = data
        for part in name.replace("[]", "").split("."):
            if isinstance(value, list):
                value = value[-1]
            assert isinstance(value, dict) and part in value, name
            value = value[part]
    top_level = {n for n in documented if "." not in n}
    assert top_level == set(data)


def test_csv_has_one_row_per_layer_and_every_field(tied):
    rows = list(csv.DictReader(io.StringIO(tied.to_csv())))
    layers = tied.to_dict()["layers"]
    assert len(rows) == len(layers) == len(tied.layers)
    assert list(rows[0]) == list(layers[0])
    assert sum(int(r["num_params"]) for r in rows) == tied.total_params
    for row, layer in zip(rows, layers, strict=True):
        assert json.loads(row["output"]) == layer["output"]
        assert json.loads(row["shared"]) == layer["shared"]


def test_exporters_pass_through_fields_they_do_not_know():
    data = {"layers": [{"path": "", "future_field": {"x": 1}}, {"path": "a", "other": 2}]}
    rows = list(csv.DictReader(io.StringIO(layers_csv(data))))
    assert rows == [
        {"path": "", "future_field": '{"x":1}', "other": ""},
        {"path": "a", "future_field": "", "other": "2"},
    ]
    assert layer_records(data)[1] == {"path": "a", "other": 2}


def test_dataframe_rows_are_the_layers(tied):
    df = tied.to_dataframe()
    assert list(df["path"]) == [n.path or ROOT_MARKER for n in tied.layers]
    assert df["path"].iloc[0] == "(root)"  # the marker docs/outputs.md documents
    assert int(df["num_params"].sum()) == tied.total_params
    fields = list(tied.to_dict()["layers"][0])
    assert [c for c in df.columns if c not in SHAPE_COLUMNS] == fields
    at = fields.index("output") + 1
    assert list(df.columns) == [*fields[:at], *SHAPE_COLUMNS, *fields[at:]]


def _tensors_of(value: object) -> list[torch.Tensor]:
    return [leaf for leaf in tree_leaves(value) if isinstance(leaf, torch.Tensor)]


def _first_calls(model: nn.Module, args: tuple[object, ...]) -> dict[str, tuple[list, list]]:
    """The truth, from forward hooks on the model itself: each module's first call's input
    and output tensors."""
    seen: dict[str, tuple[list, list]] = {}

    def hook(name):  # type: ignore[no-untyped-def]
        def record(module, args, kwargs, output):  # type: ignore[no-untyped-def]
            seen.setdefault(name, (_tensors_of((args, kwargs)), _tensors_of(output)))

        return record

    handles = [
        m.register_forward_hook(hook(name), with_kwargs=True) for name, m in model.named_modules()
    ]
    with torch.no_grad():
        model(*args)
    for handle in handles:
        handle.remove()
    return seen


def _shapes(tensors: list[torch.Tensor]) -> tuple[tuple[int, ...], ...]:
    return tuple(tuple(t.shape) for t in tensors)


def _dtypes(tensors: list[torch.Tensor]) -> tuple[str, ...]:
    return tuple(str(t.dtype).removeprefix("torch.") for t in tensors)


DATAFRAME_MODELS = {
    "mixed-inputs": (
        M.MixedInputs,
        lambda: (rand(2, 4), torch.tensor([1, 7]), torch.tensor([[True, False, True, False]] * 2)),
    ),
    "dict-of-a-tuple": (M.ManyOutputs, lambda: (rand(1, 3),)),
    "tied": (TiedLM, lambda: (rand(2, 5).long(),)),
}


@pytest.mark.parametrize("name", list(DATAFRAME_MODELS))
def test_dataframe_shapes_and_dtypes_are_the_tensors_themselves(name):
    build, make_args = DATAFRAME_MODELS[name]
    model, args = build(), make_args()
    truth = _first_calls(model, args)
    df = summary(model, input_data=list(args), verbose=0).to_dataframe()
    for row in df.itertuples():
        inputs, output = truth["" if row.path == ROOT_MARKER else row.path]
        assert row.input_shapes == _shapes(inputs), row.path
        assert row.input_dtypes == _dtypes(inputs), row.path
        assert row.output_shapes == _shapes(output), row.path
        assert row.output_dtypes == _dtypes(output), row.path
    # filterable: the rows whose output holds a given shape, as the hooks saw them
    shape = _shapes(truth[""][1])[0]
    picked = df[df.output_shapes.map(lambda shapes: shape in shapes)].path
    expected = [p or ROOT_MARKER for p, (_, out) in truth.items() if shape in _shapes(out)]
    assert sorted(picked) == sorted(expected) and len(expected) >= 1


def test_dataframe_cells_are_values_not_json_text(tied):
    df = tied.to_dataframe()
    layers = tied.to_dict()["layers"]
    for column in ("inputs", "output", "param_names", "shared", "variants", "used_by"):
        for cell, layer in zip(df[column], layers, strict=True):
            assert not isinstance(cell, str), column
            assert json.loads(json.dumps(cell)) == layer[column], column  # the same data
    assert [tuple(n.param_names) for n in tied.layers] == list(df.param_names)
    head = df[df.path == "head"].iloc[0]
    assert (
        head.shared
        == tuple(
            {"name": s.name, "param": s.param, "counted_at": s.counted_at}
            for s in tied.layers[2].shared
        )
        != ()
    )
    assert df.output_shapes.map(len).tolist() == [1, 1, 1]
    assert df.param_names.value_counts().sum() == len(df)  # tuples: hashable, countable


def test_dataframe_without_pandas_names_the_extra(seed3, monkeypatch):
    monkeypatch.setitem(sys.modules, "pandas", None)
    with pytest.raises(ImportError, match=r"modelsummary\[pandas\]"):
        seed3.to_dataframe()


def test_optional_dependencies_are_not_imported_with_the_package():
    code = (
        "import sys, modelsummary;"
        "print(sorted(m for m in ('pandas', 'matplotlib', 'nbclient') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("fmt", ["simple", "grid", "github", "psql", "rst", "plain"])
def test_tablefmt_draws_the_same_rows_in_any_tabulate_format(seed3, fmt):
    text = seed3.to_text(tablefmt=fmt)
    assert fmt in tabulate_formats
    for row in table_cells(seed3.tree, seed3.options).rows:
        assert row[0] in text
    assert "conv2 (Conv2d)" in text
    if fmt in PIPE_FORMATS:  # Markdown: the totals are a table
        assert "| Total params | 9 |" in [" ".join(line.split()) for line in text.splitlines()]
    else:
        assert "Total params: 9" in text


def test_tablefmt_simple_is_the_printed_table(seed3):
    assert seed3.to_text() == str(seed3)


@pytest.mark.parametrize("bad", ["nope", 3, None])
def test_unknown_tablefmt_is_a_value_error(seed3, bad):
    with pytest.raises(ValueError, match="tablefmt"):
        seed3.to_text(tablefmt=bad)


WITH_OPTIONS = [
    {},
    {"depth": 0},
    {"col_names": ("input_size", "output_size", "num_params", "kernel_size", "mult_adds", "calls")},
    {"row_settings": ("ascii_only", "depth"), "col_width": 8},
]


@pytest.mark.parametrize("options", WITH_OPTIONS, ids=["none", "depth", "columns", "rows"])
def test_with_options_draws_what_a_new_summary_with_them_would(options):
    model, x = Siamese(), [rand(1, 10), rand(1, 10)]
    s = summary(model, input_data=x, verbose=0)
    again = s.with_options(**options)
    assert str(again) == str(summary(model, input_data=x, verbose=0, **options))
    assert again.tree is s.tree  # no new pass
    back = again.with_options(
        col_names=s.options.columns, col_width=s.options.col_width, depth=s.options.depth
    )
    assert str(back.with_options(row_settings=())) == str(s)  # and back again


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"col_names": ["bogus"]}, "unknown col_names"),
        ({"depth": -1}, "depth"),
        ({"col_width": 0}, "col_width"),
        ({"row_settings": ["sideways"]}, "unknown row_settings"),
        ({"col_names": ["num_params", "time"]}, "timed passes"),
    ],
)
def test_with_options_refuses_what_summary_refuses(seed3, options, message):
    with pytest.raises(ValueError, match=message):
        seed3.with_options(**options)


def test_with_options_keeps_the_times_of_a_timed_summary():
    s = summary(SeedCase3(), (1, 1, 6, 6), col_names=("num_params", "time"), verbose=0)
    untimed_view = s.with_options(col_names=("num_params",))
    assert "Time" not in str(untimed_view)
    assert "Time" in str(untimed_view.with_options(col_names=("num_params", "time")))


@pytest.mark.parametrize("method", ["to_json", "to_csv", "to_markdown", "to_text", "to_html"])
def test_each_export_writes_to_a_path_when_given_one(tmp_path, method):
    s = summary(Siamese(), [(1, 10), (1, 10)], verbose=0)
    target = tmp_path / f"out.{method}"
    text = getattr(s, method)(target)
    assert text == getattr(s, method)()
    assert target.read_text(encoding="utf-8") == text.rstrip("\n") + "\n"
    assert getattr(s, method)(str(tmp_path / "b")) == text  # str paths too


def test_input_column_leaves_out_keyword_arguments_passed_as_none():
    """Hugging Face models pass every optional argument by keyword, mostly None: the table
    shows the ones with a value, the records and the JSON keep them all."""

    class Child(nn.Module):
        def forward(self, x, past=None, mask=None, scale=None):  # type: ignore[no-untyped-def]
            return x

    class Parent(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.child = Child()

        def forward(self, x):  # type: ignore[no-untyped-def]
            return self.child(x, None, mask=None, scale=x.new_ones(()))

    s = summary(Parent(), (1, 4), col_names=("input_size",), col_width=8, verbose=0)
    row = next(line for line in str(s).splitlines() if "child (Child)" in line)
    # None is no shape: left out of the cell, positional or keyword (issue 15)
    assert row.split("(Child)")[1].strip() == "[1, 4], {scale: []}"
    assert json.loads(s.to_json())["layers"][1]["inputs"][2] == {
        "mask": {"type": "NoneType"},
        "scale": {"shape": [], "dtype": "float32"},
    }


class _Pyramid(nn.Module):
    """One head run on each level of a feature pyramid, as detection heads are."""

    def __init__(self, levels: int) -> None:
        super().__init__()
        self.head = nn.Conv2d(4, 2, 3, padding=1)
        self.levels = levels

    def forward(self, x):  # type: ignore[no-untyped-def]
        return [self.head(x[:, :, :: 2**i, :: 2**i]) for i in range(self.levels)]


def test_a_module_called_with_other_shapes_shows_the_first_and_how_many_more():
    s = summary(_Pyramid(3), (1, 4, 16, 16), col_names=("input_size", "output_size"), verbose=0)
    row = next(line for line in str(s).splitlines() if "head (Conv2d) ×3" in line)
    assert "[1, 4, 16, 16] (+2 more)" in row
    assert "[1, 2, 16, 16] (+2 more)" in row
    html = s.to_html()  # the HTML view keeps every value
    assert "[1, 2, 16, 16] | [1, 2, 8, 8] | [1, 2, 4, 4]" in html
    layer = s.to_dict()["layers"][1]
    assert [v["output"]["shape"] for v in layer["variants"]] == [
        [1, 2, 16, 16],
        [1, 2, 8, 8],
        [1, 2, 4, 4],
    ]
    assert layer["output"] == layer["variants"][0]["output"]  # the first call, as before
    many = summary(_Pyramid(5), (1, 4, 16, 16), col_names=("output_size",), verbose=0)
    assert "[1, 2, 16, 16] (+4 more)" in str(many)


def test_calls_alike_have_no_variants():
    s = summary(SeedCase3(), (1, 1, 6, 6), verbose=0)  # conv1 called twice on one shape
    assert [layer["variants"] for layer in s.to_dict()["layers"]] == [[], []]
    assert s.layers[1].calls == 2 and s.layers[1].variants == ()


def test_one_format_table_serves_the_summary_and_the_command_line():
    from modelsummary._cli import _parser
    from modelsummary._present.export import FORMATS

    s = summary(SeedCase3(), (1, 1, 6, 6), verbose=0)
    methods = {
        "table": str(s),
        "json": s.to_json(),
        "csv": s.to_csv(),
        "markdown": s.to_markdown(),
        "html": s.to_html(),
    }
    assert set(FORMATS) == set(methods)
    for name, text in methods.items():
        assert s.render(name) == text
    choices = next(a.choices for a in _parser()._actions if a.dest == "format")
    assert tuple(choices) == tuple(FORMATS)
    with pytest.raises(ValueError, match="unknown format 'yaml'"):
        s.render("yaml")


def test_groups_column_and_json_field_give_a_convolutions_groups():
    model = nn.Sequential(nn.Conv2d(4, 8, 3, groups=4), nn.Conv2d(8, 8, 1), nn.Flatten())
    s = summary(model, (1, 4, 6, 6), col_names=("kernel_size", "groups"), verbose=0)
    assert [layer.groups for layer in s.layers] == [None, 4, 1, None]
    assert [layer["groups"] for layer in s.to_dict()["layers"]] == [None, 4, 1, None]
    rows = {line.split()[0]: line.split()[-1] for line in str(s).splitlines()[3:7]}
    assert rows == {"Sequential": "--", "├─0": "4", "├─1": "1", "└─2": "--"}


def test_flops_column_and_total_are_twice_the_mult_adds():
    model = nn.Sequential(nn.Linear(8, 4), nn.ReLU(), nn.Linear(4, 2))
    s = summary(model, (3, 8), col_names=("mult_adds", "flops"), verbose=0)
    assert s.total_flops == 2 * s.total_mult_adds == 2 * 3 * (8 * 4 + 4 * 2)
    assert f"Total FLOPs (2 × mult-adds): {2 * s.total_mult_adds}" in str(s).splitlines()
    row = next(line for line in str(s).splitlines() if "0 (Linear)" in line)
    assert row.split()[-2:] == ["96", "192"]


def test_no_dtype_hint_after_a_dtype_the_user_asked_for():
    model = nn.Linear(4, 2)  # float32
    with pytest.raises(ModelSummaryError) as info:
        summary(model, (1, 4), dtypes=[torch.float16], verbose=0)
    assert "dtypes=[" not in str(info.value) and "token ids" not in str(info.value)
