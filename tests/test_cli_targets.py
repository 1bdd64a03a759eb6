"""Command-line targets: a Python file, a .pt2 program, hf:, torchvision: and timm: names.

The truth of each count is the model built in the test from the same constructor or
config, its unique parameters summed (``model.parameters()`` by identity).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch
from torch import nn

from modelsummary import summary
from modelsummary._cli import main

ROOT = Path(__file__).resolve().parents[1]


def _unique_params(model: nn.Module) -> int:
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


def _gpt2(**config: object) -> nn.Module:
    import transformers

    with torch.device("meta"):
        return transformers.GPT2Model(transformers.GPT2Config(**config))


def test_hf_gpt2_prints_gpt2_smalls_parameters_without_a_download():
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-m", "modelsummary", "hf:gpt2", "--depth", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "HF_HUB_OFFLINE": "1"},  # a download would fail
    )
    elapsed = time.perf_counter() - start
    assert out.returncode == 0, out.stderr
    truth = _unique_params(_gpt2())
    assert truth == 124_439_808  # GPT-2 small, its tied head once
    assert f"Total params: {truth:,}" in out.stdout
    assert out.stdout.startswith("hf:gpt2: GPT2Model from transformers' default config")
    assert "token ids of shape [1, 16]" in out.stdout
    assert elapsed < 120  # seconds on a loaded CI machine; a few on a quiet one


def test_hf_set_overrides_config_fields(capsys):
    sets = ["--set", "n_layer=2", "--set", "n_embd=64", "--set", "n_head=4"]
    assert main(["hf:gpt2", *sets, "--format", "json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["totals"]["total_params"] == _unique_params(_gpt2(n_layer=2, n_embd=64, n_head=4))


def test_hf_input_size_gives_token_ids_of_that_shape(capsys):
    assert main(["hf:gpt2", "--set", "n_layer=1", "--input-size", "2,5", "--depth", "0"]) == 0
    assert "[2, 5, 768]" in capsys.readouterr().out


def test_python_file_factory(tmp_path, capsys):
    file = tmp_path / "models.py"
    file.write_text(
        textwrap.dedent(
            """
            from torch import nn

            class TinyLM(nn.Module):
                def __init__(self, width=8):
                    super().__init__()
                    self.embed = nn.Embedding(20, width)
                    self.head = nn.Linear(width, 20)

                def forward(self, x):
                    return self.head(self.embed(x))
            """
        )
    )
    status = main(
        [f"{file}:TinyLM", "--kwarg", "width=4", "--input-size", "1,6", "--dtype", "long"]
    )
    assert status == 0
    out = capsys.readouterr().out
    truth = 20 * 4 + 4 * 20 + 20
    assert f"Total params: {truth}" in out
    assert "[1, 6, 20]" in out


def test_python_file_errors(tmp_path, capsys):
    assert main([f"{tmp_path / 'absent.py'}:Net"]) == 2
    assert "no file" in capsys.readouterr().err
    file = tmp_path / "net.py"
    file.write_text("from torch import nn\nclass Network(nn.Linear):\n    pass\n")
    assert main([f"{file}:Netwrk"]) == 2
    assert "did you mean Network?" in capsys.readouterr().err


def test_pt2_file_is_read_from_its_graph(tmp_path, capsys):
    model = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 2))
    path = tmp_path / "model.pt2"
    torch.export.save(torch.export.export(model, (torch.zeros(3, 6),)), path)
    out = subprocess.run(
        [sys.executable, "-m", "modelsummary", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    truth = summary(model, (3, 6), verbose=0)
    assert f"Total params: {_unique_params(model)}" in out.stdout
    assert f"Total mult-adds: {truth.total_mult_adds}" in out.stdout
    assert "[3, 2]" in out.stdout
    assert main([str(path), "--mode", "train"]) == 2
    assert "--mode needs a pass" in capsys.readouterr().err


def test_torchvision_name_on_meta_at_its_default_size(capsys):
    import torchvision

    assert main(["torchvision:resnet18", "--depth", "0", "--format", "json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    with torch.device("meta"):
        truth = _unique_params(torchvision.models.resnet18())
    assert data["totals"]["total_params"] == truth
    assert data["layers"][0]["output"]["shape"] == [1, 1000]
    assert data["layers"][0]["inputs"][0]["shape"] == [1, 3, 224, 224]


@pytest.mark.parametrize(
    ("spec", "suggestion"),
    [
        ("hf:gpt", "gpt2"),
        ("torchvision:resnet81", "resnet18"),
        ("torchvision:mobilenet_v3_smal", "mobilenet_v3_small"),
    ],
    ids=["hf", "torchvision", "torchvision-near"],
)
def test_unknown_name_suggests_close_matches(spec, suggestion, capsys):
    assert main([spec]) == 2
    err = capsys.readouterr().err
    assert "unknown" in err and suggestion in err.partition("did you mean")[2]


def test_unknown_config_field_suggests_the_real_one(capsys):
    assert main(["hf:gpt2", "--set", "n_layr=2"]) == 2
    assert "did you mean n_layer?" in capsys.readouterr().err


def test_set_needs_an_hf_target(capsys):
    assert main(["torchvision:resnet18", "--set", "n_layer=2"]) == 2
    assert "--set overrides the config of an hf: target only" in capsys.readouterr().err


def test_timm_missing_says_so(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "timm", None)  # as where timm is not installed
    assert main(["timm:resnet18"]) == 2
    assert "timm: targets need timm, which is not installed" in capsys.readouterr().err


def test_mode_is_passed_to_the_pass(tmp_path, capsys):
    file = tmp_path / "modal.py"
    file.write_text(
        textwrap.dedent(
            """
            from torch import nn

            class Modal(nn.Module):
                def forward(self, x):
                    return x[:1] if self.training else x
            """
        )
    )
    assert main([f"{file}:Modal", "--input-size", "3,2", "--mode", "train"]) == 0
    assert "[1, 2]" in capsys.readouterr().out
    assert main([f"{file}:Modal", "--input-size", "3,2"]) == 0
    assert "[3, 2]" in capsys.readouterr().out


def test_hf_encoder_decoder_runs_on_token_ids_for_both(capsys):
    import transformers

    assert main(["hf:t5", "--set", "num_layers=1", "--set", "num_decoder_layers=1"]) == 0
    out = capsys.readouterr().out
    with torch.device("meta"):
        model = transformers.T5Model(transformers.T5Config(num_layers=1, num_decoder_layers=1))
    assert f"Total params: {_unique_params(model):,}" in out
    assert "for the encoder and for the decoder" in out.splitlines()[0]
