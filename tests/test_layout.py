"""The printed table at a terminal's width: resnet50, GPT-2 and BERT at 80 and 120 columns.

Models are built on the meta device from their constructors and configs (no download, no
weights), which gives the numbers of a real pass (tests/test_meta.py).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from modelsummary import ModelSummary, summary

COLUMNS = ("input_size", "output_size", "num_params", "mult_adds")


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


def test_gpt2_tied_head_says_where_it_is_counted(model_summary):
    name, s = model_summary
    if name != "gpt2":
        pytest.skip("GPT-2 ties its head")
    text = s.with_options(col_names=("num_params", "trainable")).to_text(width=0)
    row = next(line for line in text.splitlines() if "lm_head (Linear)" in line)
    assert row.split()[-3:] == ["[1]", "see", "transformer.wte"]
