"""Models whose weights rest off the device and are loaded for each call (accelerate).

accelerate's ``cpu_offload``, ``disk_offload`` and ``dispatch_model`` leave the
parameters on ``meta`` and attach hooks that load them on the execution device
for each call. The truths are the same model's numbers without offloading, the
used set by autograd, and what the hooks' weight maps hold.
"""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from modelsummary import summary

accelerate = pytest.importorskip("accelerate")


def mlp() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, 10))


def used_names(s: Any) -> list[str]:
    return sorted(name for layer in s.layers for name in layer.param_names)


def plain_truth(model: nn.Module, *args: Any) -> dict[str, Any]:
    model(*args).sum().backward()
    s = summary(model, input_data=list(args), verbose=0)
    return {
        "used": sorted(n for n, p in model.named_parameters() if p.grad is not None),
        "all_params": s.all_params,
        "total_params": s.total_params,
        "mult_adds": s.total_mult_adds,
        "param_bytes": s.total_param_bytes,
        "layers": [(layer.path, layer.num_params, layer.output_size) for layer in s.layers],
    }


def resident_bytes(model: nn.Module) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters() if not p.is_meta)


def registered(model: nn.Module) -> dict[str, tuple[int, torch.device]]:
    return {name: (id(p), p.device) for name, p in model.named_parameters()}


def offloaded(how: str, model: nn.Module, tmp_path: Any) -> nn.Module:
    if how == "cpu_offload":
        return accelerate.cpu_offload(model, execution_device="cpu")
    if how == "disk_offload":
        return accelerate.disk_offload(model, str(tmp_path), execution_device="cpu")
    assert how == "dispatch_model"
    device_map = {"0": "cpu", "1": "cpu", "2": "disk"}
    return accelerate.dispatch_model(model, device_map=device_map, offload_dir=str(tmp_path))


PLACEMENTS = {
    "cpu_offload": {"offloaded to cpu": 9_610},
    "disk_offload": {"offloaded to disk": 9_610},
    "dispatch_model": {"on this device": 8_320, "offloaded to disk": 1_290},
}


@pytest.mark.parametrize("how", list(PLACEMENTS))
def test_offloaded_model_runs_where_it_executes(how, tmp_path):
    truth = plain_truth(mlp(), torch.ones(2, 64))
    model = offloaded(how, mlp(), tmp_path)
    assert any(p.is_meta for p in model.parameters())
    before = registered(model)

    s = summary(model, (2, 64), verbose=0)

    assert s.all_params == s.total_params == truth["all_params"]
    assert s.unused_params == 0
    assert used_names(s) == truth["used"]
    assert s.total_mult_adds == truth["mult_adds"]
    assert s.total_param_bytes == truth["param_bytes"]
    assert [(r.path, r.num_params, r.output_size) for r in s.layers] == truth["layers"]
    d = s.to_dict()
    assert d["placements"] == PLACEMENTS[how]
    assert d["totals"]["local_param_bytes"] == resident_bytes(model)
    assert registered(model) == before  # the hooks' meta tensors are back in their slots
    assert torch.equal(model(torch.ones(2, 64)), mlp()(torch.ones(2, 64)))


def test_offloaded_footer_says_what_is_resident(tmp_path):
    s = summary(offloaded("disk_offload", mlp(), tmp_path), (2, 64), verbose=0)
    assert "Parameters size: 38.44 kB (0 B on the device, the rest offloaded)" in str(s)
    assert "Parameter placement: 9,610 (9.61K) offloaded to disk" in str(s)


def test_weightless_meta_model_still_runs_on_meta():
    with torch.device("meta"):
        model = mlp()
    s = summary(model, (2, 64), verbose=0)
    assert s.total_params == 9_610
    assert s.to_dict()["placements"] == {}


def test_hugging_face_big_model_path(tmp_path):
    """``from_pretrained(..., device_map=..., offload_folder=...)`` from a checkpoint
    written here: one block on disk, the rest on cpu, the head tied to the embedding."""
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=2, vocab_size=100, n_positions=16)
    torch.manual_seed(0)
    reference = transformers.GPT2LMHeadModel(config).eval()
    reference.save_pretrained(tmp_path / "checkpoint")
    device_map = {
        "transformer.wte": "cpu",
        "transformer.wpe": "cpu",
        "transformer.drop": "cpu",
        "transformer.h.0": "cpu",
        "transformer.h.1": "disk",
        "transformer.ln_f": "cpu",
        "lm_head": "cpu",
    }
    model = transformers.GPT2LMHeadModel.from_pretrained(
        tmp_path / "checkpoint", device_map=device_map, offload_folder=tmp_path / "offload"
    )
    tokens = torch.randint(0, 100, (1, 8), generator=torch.Generator().manual_seed(0))
    s = summary(model, input_data=tokens, verbose=0)
    truth = summary(reference, input_data=tokens, verbose=0)
    on_disk = sum(p.numel() for p in model.transformer.h[1].parameters())
    assert on_disk > 0
    assert (s.total_params, s.unused_params, s.total_mult_adds) == (
        truth.total_params,
        truth.unused_params,
        truth.total_mult_adds,
    )
    assert s.to_dict()["placements"] == {
        "on this device": truth.all_params - on_disk,
        "offloaded to disk": on_disk,
    }
    assert s.to_dict()["totals"]["local_param_bytes"] == resident_bytes(model)


def tied_gpt2() -> nn.Module:
    """The GPT-2 of issue 22: head tied to the embedding, 168,192 parameters."""
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(
        n_embd=64, n_layer=2, n_head=2, vocab_size=1000, n_positions=64
    )
    torch.manual_seed(0)
    return transformers.GPT2LMHeadModel(config).eval()


def offloaded_tied_gpt2(how: str, tmp_path: Any) -> nn.Module:
    if how == "cpu_offload":
        return accelerate.cpu_offload(tied_gpt2(), execution_device="cpu")
    if how == "disk_offload":
        folder = str(tmp_path / "offload")
        return accelerate.disk_offload(tied_gpt2(), folder, execution_device="cpu")
    assert how == "from_pretrained"
    transformers = pytest.importorskip("transformers")
    tied_gpt2().save_pretrained(tmp_path / "checkpoint")
    return transformers.GPT2LMHeadModel.from_pretrained(  # no memory for any weight: all offloaded
        tmp_path / "checkpoint",
        device_map="auto",
        max_memory={"cpu": 0},
        offload_folder=tmp_path / "offload",
    )


def rows_and_ties(s: Any) -> dict[str, Any]:
    return {
        "numbers": (s.total_params, s.all_params, s.unused_params, s.total_mult_adds),
        "param_bytes": s.total_param_bytes,
        "rows": [(r.path, r.num_params, r.output_size, r.shared) for r in s.layers],
        "unused": s.to_dict()["unused"],
        "unused_modules": s.unused_modules,
    }


@pytest.mark.parametrize("how", ["cpu_offload", "disk_offload", "from_pretrained"])
def test_offloaded_tied_model_counts_as_the_plain_model(how, tmp_path):
    """accelerate puts a placeholder of its own in each slot of the tied weight; the
    weights it loads stand for the registered ones, and the tie holds (issue 22 item 7)."""
    tokens = torch.randint(0, 1000, (1, 8), generator=torch.Generator().manual_seed(0))
    plain = tied_gpt2()
    truth = summary(plain, input_data=tokens, verbose=0)
    model = offloaded_tied_gpt2(how, tmp_path)
    tied = model.lm_head.weight, model.transformer.wte.weight
    assert all(p.is_meta for p in model.parameters())  # the whole model offloaded

    s = summary(model, input_data=tokens, verbose=0)

    assert truth.total_params == sum(p.numel() for p in plain.parameters()) == 168_192
    assert rows_and_ties(s) == rows_and_ties(truth)
    assert s.unused_params == 0 and s.all_params == 168_192
    assert "lm_head.weight is transformer.wte.weight, counted at transformer.wte" in str(s)
    assert s.to_dict()["placements"] == {f"offloaded to {_home(how)}": 168_192}
    assert (model.lm_head.weight, model.transformer.wte.weight) == tied  # slots as they were


def _home(how: str) -> str:
    return "cpu" if how == "cpu_offload" else "disk"


def test_offloaded_one_parameter_module_is_used(tmp_path):
    """An embedding holds one weight, which the hook loads just before it runs: it is
    the registered weight (before, it was left unused), and an untied model stays untied."""
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Embedding(50, 8), nn.Linear(8, 50))
    truth = plain_truth(plain, torch.arange(4))
    model = accelerate.cpu_offload(
        nn.Sequential(nn.Embedding(50, 8), nn.Linear(8, 50)), execution_device="cpu"
    )
    s = summary(model, input_data=torch.arange(4), verbose=0)
    assert used_names(s) == truth["used"]
    assert (s.total_params, s.all_params, s.unused_params) == (truth["all_params"],) * 2 + (0,)
    assert [(r.path, r.num_params, r.output_size) for r in s.layers] == truth["layers"]


def test_offloaded_tie_of_a_plain_module_from_the_weights_map():
    """``cpu_offload`` keeps the model's state dict, where a tied weight is one tensor under
    two names: that alone ties the two placeholders (no transformers declaration)."""
    torch.manual_seed(0)
    plain = nn.Sequential(nn.Embedding(50, 8), nn.Linear(8, 50, bias=False))
    plain[1].weight = plain[0].weight
    tokens = torch.arange(4)
    truth = rows_and_ties(summary(plain, input_data=tokens, verbose=0))
    model = accelerate.cpu_offload(plain, execution_device="cpu")
    assert model[0].weight is not model[1].weight  # accelerate's placeholders differ
    s = summary(model, input_data=tokens, verbose=0)
    assert rows_and_ties(s) == truth
    assert s.all_params == s.total_params == 50 * 8
