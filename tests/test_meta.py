"""The meta-device path: the same numbers as a real pass, without parameter data."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch
import torchvision
from torch import nn
from torch.nn.parameter import is_lazy
from torch.utils._python_dispatch import TorchDispatchMode

from modelsummary import ModelSummaryError, summary
from tests import models as M
from tests.conftest import check_invariants

ROOT = Path(__file__).resolve().parents[1]


def _gpt2() -> nn.Module:
    from transformers import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(n_layer=2, n_embd=64, n_head=4, vocab_size=500, n_positions=64)
    config.bos_token_id = config.eos_token_id = 0
    return GPT2LMHeadModel(config)


def _encoder() -> nn.Module:
    layer = nn.TransformerEncoderLayer(32, 4, 64, batch_first=True)
    return nn.TransformerEncoder(layer, 2, enable_nested_tensor=False)


def _mha_inputs() -> dict[str, Any]:
    x = M.rand(10, 1, 64)
    return {"input_data": [x, x, x]}


# name -> (constructor, summary() arguments)
CASES: dict[str, tuple[Callable[[], nn.Module], Callable[[], dict[str, Any]]]] = {
    "resnet18": (torchvision.models.resnet18, lambda: {"input_size": (1, 3, 64, 64)}),
    "vit": (
        lambda: torchvision.models.VisionTransformer(32, 16, 2, 4, 64, 128),
        lambda: {"input_size": (1, 3, 32, 32)},
    ),
    "gpt2": (_gpt2, lambda: {"input_data": {"input_ids": torch.zeros(1, 16, dtype=torch.long)}}),
    "transformer_encoder": (_encoder, lambda: {"input_size": (2, 10, 32)}),
    "multihead_attention": (lambda: nn.MultiheadAttention(64, 4), _mha_inputs),
    "lstm": (lambda: nn.LSTM(8, 16, 2), lambda: {"input_size": (5, 1, 8)}),
    "tied_lm": (M.TiedLM, lambda: {"input_data": torch.zeros(1, 5, dtype=torch.long)}),
    "functional": (M.Functional, lambda: {"input_data": M.rand(2, 8)}),
    "seed_case3": (M.SeedCase3, lambda: {"input_size": (1, 1, 16, 16)}),
    "frozen_batchnorm": (M.Frozen, lambda: {"input_size": (4, 10)}),
    "mixed_inputs": (
        M.MixedInputs,
        lambda: {
            "input_data": [
                M.rand(2, 4),
                torch.zeros(2, dtype=torch.long),
                torch.zeros(2, 1, dtype=torch.bool),
            ]
        },
    ),
}


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_meta_summary_equals_cpu_summary(name, mode, audit):
    """Every field of to_dict() (shapes, counts, mult-adds, sizes) agrees with the CPU pass."""
    make, arguments = CASES[name]
    model = audit(make())
    cpu = summary(model, mode=mode, verbose=0, **arguments())
    meta = summary(model, mode=mode, device="meta", verbose=0, **arguments())
    assert meta.to_dict() == cpu.to_dict()
    assert str(meta) == str(cpu)
    check_invariants(meta, model)


@pytest.mark.parametrize("name", ["resnet18", "gpt2", "tied_lm"])
def test_model_built_on_meta_just_works(name):
    make, arguments = CASES[name]
    cpu = summary(make(), verbose=0, **arguments())
    with torch.device("meta"):
        model = make()
    s = summary(model, verbose=0, **arguments())  # no device: the model's own
    assert s.to_dict() == cpu.to_dict()
    assert all(p.is_meta for p in model.parameters())


def test_tied_weights_stay_tied_on_meta(audit):
    model = audit(M.TiedLM())
    s = summary(model, input_data=torch.zeros(1, 5, dtype=torch.long), device="meta", verbose=0)
    assert s.total_params == 100 * 16 + 100
    assert [(sh.param, sh.counted_at) for sh in s.layers[2].shared] == [("embed.weight", "embed")]
    assert model.head.weight is model.embed.weight


@pytest.mark.parametrize("name", ["tied_lm", "functional", "seed_case3", "frozen_batchnorm"])
def test_meta_training_estimate_equals_cpu(name, audit):
    """With ``optimizer=``, what autograd saves of a stand-in is a weight, not an activation."""
    make, arguments = CASES[name]
    model = audit(make())
    cpu = summary(model, optimizer="adam", verbose=0, **arguments())
    meta = summary(model, optimizer="adam", device="meta", verbose=0, **arguments())
    assert meta.to_dict() == cpu.to_dict()


def test_meta_training_estimate_counts_saved_activations_only():
    model = nn.Sequential(nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 8))
    s = summary(model, (4, 64), optimizer="sgd", device="meta", verbose=0)
    # addmm saves its input (the pass's input: not counted) and the transposed weight (a
    # parameter: not counted); tanh saves its output, which the second addmm saves again
    # (one storage): 1 tensor.
    assert s.tree.totals.saved_bytes == 4 * 64 * 4


class _NonMetaOps(TorchDispatchMode):
    """Records every operator whose result is a tensor off the meta device."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        out = func(*args, **(kwargs or {}))
        results = out if isinstance(out, (tuple, list)) else [out]
        if any(isinstance(t, torch.Tensor) and not t.is_meta for t in results):
            self.seen.append(str(func))
        return out


def test_meta_pass_allocates_no_real_tensor_and_leaves_weights_alone(audit):
    model = audit(torchvision.models.resnet18())
    pointers = [(p.data_ptr(), p.device) for p in model.parameters()]
    with _NonMetaOps() as ops:
        s = summary(model, (1, 3, 64, 64), device="meta", verbose=0)
    assert ops.seen == []  # nothing copied, moved or computed off the meta device
    assert s.all_params == 11_689_512  # resnet18's published count
    assert [(p.data_ptr(), p.device) for p in model.parameters()] == pointers


def test_cpu_pass_is_seen_by_the_dispatch_oracle():
    """The oracle above can fail: a real pass does show non-meta results."""
    with _NonMetaOps() as ops:
        summary(nn.Linear(3, 2), (1, 3), verbose=0)
    assert ops.seen


def _llama_70b_expected() -> int:
    hidden, layers, heads, kv_heads = 8192, 80, 64, 8
    intermediate, vocab = 28672, 128256
    head_dim = hidden // heads
    attention = 2 * hidden * hidden + 2 * hidden * kv_heads * head_dim  # q, o; k, v
    mlp = 3 * hidden * intermediate  # gate, up, down
    norms = 2 * hidden
    return 2 * vocab * hidden + layers * (attention + mlp + norms) + hidden  # embed, head, norm


LLAMA_70B = """
import json, torch
from transformers import LlamaConfig, LlamaForCausalLM
from modelsummary import summary
config = LlamaConfig(hidden_size=8192, num_hidden_layers=80, num_attention_heads=64,
                     num_key_value_heads=8, intermediate_size=28672, vocab_size=128256)
with torch.device("meta"):
    model = LlamaForCausalLM(config)
s = summary(model, (1, 128), dtypes=[torch.long], verbose=0)
# This process's own resident peak (ru_maxrss would include the parent's at fork time).
with open("/proc/self/status") as status:
    peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"total": s.total_params, "all": s.all_params, "bytes": s.total_param_bytes,
                  "peak_kib": peak_kib}))
"""


def test_llama_70b_on_meta_counts_right_in_little_memory():
    """280 GB of float32 weights: only a meta pass can summarise it, in a small process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", LLAMA_70B], capture_output=True, text=True, env=env, check=True
    )
    result = json.loads(done.stdout.strip().splitlines()[-1])
    expected = _llama_70b_expected()
    assert expected == 70_553_706_496
    assert result["total"] == result["all"] == expected
    assert result["bytes"] == 4 * expected
    assert result["peak_kib"] < 1.5 * 1024 * 1024  # resident peak under 1.5 GB


class _ValueDependent(nn.Module):
    def __init__(self, how: str) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.how = how
        self.scale = torch.ones(4)  # a plain attribute: neither parameter nor buffer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        if self.how == "outside":
            return y * self.scale
        if self.how == "branch":
            return y if y.sum() > 0 else -y
        if self.how == "item":
            return y * y.abs().max().item()
        return y[y > 0]  # a data-dependent shape


@pytest.mark.parametrize("how", ["branch", "item", "mask", "outside"])
def test_value_dependent_model_fails_on_meta_with_advice(how, audit):
    model = audit(_ValueDependent(how))
    summary(model, (2, 4), verbose=0)  # fine on a real device
    with pytest.raises(ModelSummaryError) as info:
        summary(model, (2, 4), device="meta", verbose=0)
    message = str(info.value)
    assert "the root module (_ValueDependent)" in message
    assert "meta device" in message and "device='cpu'" in message


class _ShapeChecked(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        torch._assert(x.shape[-1] == 224, f"Wrong image width! Expected 224 but got {x.shape[-1]}!")
        return x


@pytest.mark.parametrize(
    "model, shape",
    [
        (M.Failing(), (2, 4)),  # fails as it would on a real device
        (_ShapeChecked(), (1, 3, 518, 518)),  # the model's own shape check: values play no part
    ],
    ids=["failing", "shape-check"],
)
def test_meta_error_not_caused_by_missing_values_gives_no_meta_advice(model, shape):
    with pytest.raises(ModelSummaryError) as info:
        summary(model, shape, device="meta", verbose=0)
    assert "has shapes but no values" not in str(info.value)


def test_real_device_error_gives_no_meta_advice():
    with pytest.raises(ModelSummaryError) as info:
        summary(M.Failing(), (2, 4), verbose=0)
    assert "meta" not in str(info.value)


def test_lazy_module_on_meta_is_refused_before_any_pass():
    model = nn.Sequential(nn.LazyLinear(3))
    weight = model[0].weight
    expected = r"0\.weight, 0\.bias not initialised.*device='cpu'"
    with pytest.raises(ModelSummaryError, match=expected):
        summary(model, (1, 5), device="meta", verbose=0)
    assert model[0].weight is weight and is_lazy(weight)  # untouched, still lazy


def test_meta_model_on_a_real_device_is_a_value_error():
    with torch.device("meta"):
        model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match="meta device and has no values"):
        summary(model, (1, 3), device="cpu", verbose=0)


def test_meta_stand_ins_restored_after_failure(audit):
    model = audit(_ValueDependent("item"))
    weight = model.fc.weight
    with pytest.raises(ModelSummaryError):
        summary(model, (2, 4), device="meta", verbose=0)
    assert model.fc.weight is weight and not weight.is_meta
