"""The command line: subprocess runs from the repo root, and main() in-process for the errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from modelsummary import ModelSummaryError, summary
from modelsummary._cli import main
from modelsummary._demo import DEMO_INPUT, DEMO_INPUT_TEXT, DemoNet
from modelsummary._present.render import FAILED_MARK
from tests.models import Failing, TiedLM

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modelsummary", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_no_arguments_prints_the_demo_summary_and_its_input():
    out = _run()
    assert out.returncode == 0, out.stderr
    expected = summary(
        DemoNet(),
        **DEMO_INPUT,
        col_names=("output_size", "num_params", "calls"),
        verbose=0,
    )
    heading = f"Demo: DemoNet on {DEMO_INPUT_TEXT}\n"
    assert "input_size=(1, 8), dtypes=[torch.long]" in heading
    assert out.stdout == heading + str(expected) + "\n"
    assert out.stderr == ""


def test_factory_with_kwargs_and_json_output(capsys):
    status = main(
        [
            "torchvision.models:resnet18",
            "--kwarg",
            "num_classes=10",
            "--input-size",
            "1,3,32,32",
            "--format",
            "json",
        ]
    )
    assert status == 0
    data = json.loads(capsys.readouterr().out)
    from torchvision.models import resnet18

    model = resnet18(num_classes=10)
    assert data["totals"]["total_params"] == sum(p.numel() for p in model.parameters())
    assert data["layers"][-1]["output"]["shape"] == [1, 10]


@pytest.mark.parametrize(
    "args, message",
    [
        (["no_such_pkg.mod:f"], "cannot import 'no_such_pkg.mod'"),
        (["torch.nn:Linear", "--input-size", "1,x"], "bad --input-size '1,x'"),
    ],
    ids=["module", "size"],
)
def test_bad_specs_print_one_line_and_no_traceback(args, message):
    out = _run(*args)
    assert out.returncode == 2
    assert out.stdout == ""
    assert out.stderr.count("\n") == 1 and message in out.stderr
    assert "Traceback" not in out.stderr


@pytest.mark.parametrize(
    "args, message",
    [
        (["torch.nn"], "expected PACKAGE.MODULE:FACTORY"),
        (["torch.nn:NoSuchThing"], "'torch.nn' has no attribute 'NoSuchThing'"),
        (["math:pi", "--input-size", "1"], "not an nn.Module or a factory"),
        (["torch.nn:Linear"], "calling torch.nn:Linear raised TypeError"),
        (["torch:float32"], "not an nn.Module or a factory"),
        (["torch:zeros", "--kwarg", "size=(2,)"], "returned a Tensor, not an nn.Module"),
        (["--input-size", "1,-3"], "sizes must be positive"),
        (["--input-size", "1,0"], "sizes must be positive"),
        (["--dtype", "float16"], "--dtype applies to --input-size"),
        (["--input-size", ""], "bad --input-size"),
        (["--dtype", "floaty", "--input-size", "1,8"], "bad --dtype 'floaty'"),
        (
            [
                "--input-size",
                "1,8",
                "--input-size",
                "1,8",
                "--dtype",
                "long",
                "--dtype",
                "long",
                "--dtype",
                "long",
            ],
            "got 3 --dtype for 2 --input-size",
        ),
        (["--kwarg", "noequals"], "bad --kwarg 'noequals'"),
        (["--kwarg", "a=1"], "--kwarg needs a model spec"),
        (["--depth", "-1"], "bad --depth"),
        (["--format", "yaml"], "invalid choice: 'yaml'"),
        (["--columns", "bogus"], "unknown col_names"),
        (["--tablefmt", "bogus"], "bad --tablefmt 'bogus': choose from"),
        (["torch.nn:NoSuchThing", "--tablefmt", "bogus"], "bad --tablefmt"),  # before the import
        (["--bogus"], "unrecognized arguments: --bogus"),
    ],
)
def test_argument_errors_in_process(capsys, args, message):
    assert main(args) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith("modelsummary: error: ") and message in captured.err
    assert captured.err.count("\n") == 1


def test_a_model_without_input_size_lists_what_it_registers(capsys):
    assert main(["torch.nn:Linear", "--kwarg", "in_features=4", "--kwarg", "out_features=2"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 10" in out and "nothing ran" in out
    assert "Output Shape" not in out


def test_failing_forward_exits_1_with_the_module_path(capsys):
    args = [
        "torch.nn:Linear",
        "--kwarg",
        "in_features=3",
        "--kwarg",
        "out_features=2",
        "--input-size",
        "1,4",
    ]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "forward pass failed in the root module (Linear)" in err


def test_a_failing_forward_prints_the_table_up_to_the_failure(capsys):
    assert main(["tests.models:Failing", "--input-size", "3,4"]) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and "module 'body.1' (Linear) with inputs [3, 4]" in err
    assert "Input [3, 4] came from 'body.0'" in err
    # the same partial table summary() keeps on the error, as this interface draws it
    with pytest.raises(ModelSummaryError) as info:
        summary(Failing(), (3, 4), verbose=0)
    assert out == str(info.value.summary) + "\n"
    assert FAILED_MARK in out and "Total params (partial)" in out
    assert main(["tests.models:Failing", "--input-size", "3,4", "--format", "json"]) == 1
    assert capsys.readouterr().out == ""  # no text table where data was asked for


@pytest.mark.parametrize("fmt", ["table", "json", "csv", "markdown", "html"])
def test_formats_are_the_summary_methods(capsys, fmt):
    args = ["tests.models:TiedLM", "--input-size", "2,5", "--dtype", "long", "--depth", "1"]
    assert main([*args, "--format", fmt]) == 0
    s = summary(TiedLM(), (2, 5), dtypes=[torch.long], depth=1, verbose=0)
    expected = {
        "table": str(s),
        "json": s.to_json(),
        "csv": s.to_csv().rstrip("\n"),
        "markdown": s.to_markdown(),
        "html": s.to_html(),
    }[fmt]
    assert capsys.readouterr().out == expected + "\n"


def test_several_inputs_one_dtype_for_all(capsys):
    args = ["torch.nn:PairwiseDistance", "--input-size", "2,3", "--input-size", "2,3"]
    assert main([*args, "--dtype", "float64", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["layers"][0]["inputs"] == [
        {"shape": [2, 3], "dtype": "float64"},
        {"shape": [2, 3], "dtype": "float64"},
    ]
    assert data["layers"][0]["output"] == {"shape": [2], "dtype": "float64"}


def test_tablefmt_columns_and_ascii(capsys):
    assert main(["--tablefmt", "grid", "--columns", "num_params,calls", "--ascii"]) == 0
    out = capsys.readouterr().out
    expected = summary(
        DemoNet(),
        **DEMO_INPUT,
        col_names=("num_params", "calls"),
        row_settings=["ascii_only"],
        verbose=0,
    ).to_text(tablefmt="grid")
    assert out == f"Demo: DemoNet on {DEMO_INPUT_TEXT}\n" + expected + "\n"


def test_factory_module_is_found_in_the_current_directory(tmp_path, monkeypatch, capsys):
    (tmp_path / "my_models_for_cli.py").write_text(
        "from torch import nn\nIMPORTED = True\n"
        "def build(width=4):\n    return nn.Linear(width, 2)\n"
    )
    monkeypatch.chdir(tmp_path)
    path_before = list(sys.path)
    try:
        assert (
            main(
                [
                    "my_models_for_cli:build",
                    "--kwarg",
                    "width=6",
                    "--input-size",
                    "1,6",
                    "--format",
                    "json",
                ]
            )
            == 0
        )
    finally:
        sys.modules.pop("my_models_for_cli", None)
    assert sys.path == path_before
    assert json.loads(capsys.readouterr().out)["totals"]["total_params"] == 6 * 2 + 2


def test_module_instance_is_accepted(capsys, monkeypatch):
    import tests.models as models

    monkeypatch.setattr(models, "INSTANCE", torch.nn.Linear(3, 1), raising=False)
    assert main(["tests.models:INSTANCE", "--input-size", "1,3", "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[1].startswith(",Linear,0,1,")
    assert main(["tests.models:INSTANCE", "--kwarg", "a=1"]) == 2


def test_version_prints_the_package_version():
    import modelsummary

    out = _run("--version")
    assert out.returncode == 0 and out.stdout == f"modelsummary {modelsummary.__version__}\n"


def test_the_dtype_hint_names_the_command_line_flag(capsys):
    args = ["torch.nn:Embedding", "--kwarg", "num_embeddings=10", "--kwarg", "embedding_dim=4"]
    assert main([*args, "--input-size", "2,5"]) == 1
    err = capsys.readouterr().err
    assert "--dtype long" in err and "dtypes=[" not in err
    assert main([*args, "--input-size", "2,5", "--dtype", "long"]) == 0


def test_github_tablefmt_pastes_as_markdown(capsys):
    assert main(["--tablefmt", "github"]) == 0
    out = capsys.readouterr().out
    assert "====" not in out
    heading, table_text = out.split("\n\n")[:2]  # a blank line after the demo's heading
    assert heading.startswith("Demo: DemoNet on ")
    table = table_text.splitlines()
    assert table[0].startswith("| Layer (type)") and all(line.startswith("|") for line in table)


@pytest.mark.parametrize("width", [40, 58])
def test_width_fits_every_line_without_cutting(capsys, width):
    args = ["tests.models:TiedLM", "--input-size", "2,5", "--dtype", "long"]
    columns = "input_size,output_size,num_params,mult_adds,trainable"
    assert main([*args, "--width", str(width), "--columns", columns]) == 0
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= width
    assert "…" not in out


def test_width_and_list_unused_flags(capsys):
    args = ["tests.models:TiedLM", "--input-size", "2,5", "--dtype", "long"]
    assert main([*args, "--width", "58", "--columns", "input_size,output_size,num_params"]) == 0
    assert max(len(line) for line in capsys.readouterr().out.splitlines()) <= 58
    assert main([*args, "--list-unused"]) == 0
    assert main([*args, "--width", "wide"]) == 2


def test_weights_as_sizes_the_weights_in_a_format(capsys):
    """``--weights-as nf4`` is ``summary(weights_as="nf4")``: the Linear's weight half a
    byte an element with a float32 absmax a block of 64 and a code table, its bias kept."""
    linear = ["torch.nn:Linear", "--kwarg", "in_features=256", "--kwarg", "out_features=64"]
    assert main([*linear, "--input-size", "1,256", "--weights-as", "nf4", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["weights_as"] == "nf4"
    assert data["totals"]["param_bytes"] == 256 * 64 // 2 + 256 * 64 // 64 * 4 + 16 * 4 + 64 * 4
    assert main([*linear, "--weights-as", "int3"]) == 2
    assert "invalid choice: 'int3'" in capsys.readouterr().err
