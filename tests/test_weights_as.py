"""summary(weights_as=...): the weights sized as the quantization libraries store them.

The truth for each format is the same float model really quantized by the library
(torchao, bitsandbytes, optimum-quanto), its stored bytes summed here from the tensors
each quantized weight holds inside (data, scales, zero points, absmax, code tables), or
cast with ``model.to(dtype)``; and, for a Llama-style model on the meta device, the
format's rule written out from the config.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import pytest
import torch
from torch import nn

from modelsummary import summary
from modelsummary._tree.weights_as import WEIGHT_FORMATS

warnings.filterwarnings("ignore", module="bitsandbytes")


def mlp(dtype: torch.dtype = torch.float32) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(256, 128), nn.ReLU(), nn.Linear(128, 64)).to(dtype)


def stored_bytes(t: Any) -> int:
    """Bytes of what a (quantized) tensor stores: the tensors inside a wrapper subclass
    (torchao, quanto), bitsandbytes' quant state beside its packed data, else itself."""
    if hasattr(t, "__tensor_flatten__") and type(t) not in (torch.Tensor, nn.Parameter):
        names, _ = t.__tensor_flatten__()
        return sum(stored_bytes(getattr(t, name)) for name in names)
    total = t.numel() * t.element_size()
    state = getattr(t, "quant_state", None)
    if state is not None:  # bitsandbytes 4-bit: absmax, code, and a nested state
        total += stored_bytes(state.absmax) + stored_bytes(state.code)
        if state.nested:
            total += stored_bytes(state.state2.absmax) + stored_bytes(state.state2.code)
            total += stored_bytes(state.offset)
    scb = getattr(t, "SCB", None)
    if isinstance(scb, torch.Tensor):  # bitsandbytes int8: one scale per row
        total += stored_bytes(scb)
    return total


def model_bytes(model: nn.Module) -> int:
    return sum(stored_bytes(p) for p in model.parameters())


def torchao(config_name: str) -> Any:
    def quantized(model: nn.Module) -> nn.Module:
        import torchao.quantization as q

        q.quantize_(model, getattr(q, config_name)())
        return model

    return quantized


def quanto(weights: str) -> Any:
    def quantized(model: nn.Module) -> nn.Module:
        from optimum import quanto as oq

        oq.quantize(model, weights=getattr(oq, weights))
        oq.freeze(model)
        return model

    return quantized


def bnb_4bit(quant_type: str) -> Any:
    def quantized(model: nn.Module) -> nn.Module:
        import bitsandbytes as bnb

        for i, layer in enumerate(model):
            if isinstance(layer, nn.Linear):
                q = bnb.nn.Linear4bit(
                    layer.in_features,
                    layer.out_features,
                    quant_type=quant_type,
                    compress_statistics=False,  # transformers' default: no double quant
                )
                q.load_state_dict(layer.state_dict())
                model[i] = q.to("cpu")  # quantized as it moves
        return model

    return quantized


def bnb_int8(model: nn.Module) -> nn.Module:
    import bitsandbytes as bnb

    for i, layer in enumerate(model):
        if isinstance(layer, nn.Linear):
            q = bnb.nn.Linear8bitLt(layer.in_features, layer.out_features, has_fp16_weights=False)
            q.load_state_dict(layer.state_dict())
            model[i] = q.to("cpu")
    return model


def cast(dtype: torch.dtype) -> Any:
    return lambda model: model.to(dtype)


REAL = {
    "int8-torchao": ("int8", torch.float32, torchao("Int8WeightOnlyConfig")),
    "int8-bitsandbytes": ("int8", torch.float32, bnb_int8),
    "int8-quanto": ("int8", torch.float32, quanto("qint8")),
    "int4-quanto": ("int4", torch.float32, quanto("qint4")),
    "int4-quanto-bfloat16": ("int4", torch.bfloat16, quanto("qint4")),
    "nf4-bitsandbytes": ("nf4", torch.float32, bnb_4bit("nf4")),
    "fp4-bitsandbytes": ("fp4", torch.float32, bnb_4bit("fp4")),
    "float8-torchao": ("float8_e4m3fn", torch.float32, torchao("Float8WeightOnlyConfig")),
    "float8-quanto": ("float8_e4m3fn", torch.float32, quanto("qfloat8")),
    "bfloat16-cast": ("bfloat16", torch.float32, cast(torch.bfloat16)),
    "float16-cast": ("float16", torch.float32, cast(torch.float16)),
}


def test_every_format_is_checked_against_a_real_library():
    assert {fmt for fmt, _, _ in REAL.values()} == set(WEIGHT_FORMATS)


@pytest.mark.parametrize("case", list(REAL))
def test_estimate_matches_the_library_within_3_percent(case):
    fmt, dtype, quantize = REAL[case]
    model = mlp(dtype)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    s = summary(model, (2, 256), dtypes=[dtype], weights_as=fmt, verbose=0)
    assert all(torch.equal(v, before[k]) for k, v in model.state_dict().items())  # untouched
    plain = summary(model, (2, 256), dtypes=[dtype], verbose=0)
    real = model_bytes(quantize(mlp(dtype)))

    assert real < plain.total_param_bytes or fmt in ("bfloat16", "float16")
    assert abs(s.total_param_bytes - real) <= 0.03 * real, (s.total_param_bytes, real)
    # the counts are the float model's: only the sizes change
    assert (s.total_params, s.total_mult_adds) == (plain.total_params, plain.total_mult_adds)
    assert f"(weights as {fmt})" in str(s)
    assert s.to_dict()["totals"]["weights_as"] == fmt


def test_rows_carry_their_weights_estimate_and_biases_stay():
    s = summary(mlp(), (2, 256), weights_as="int8", verbose=0)
    rows = {r.path: r.param_bytes for r in s.layers}
    assert rows["0"] == 256 * 128 + 128 * 4 + 128 * 4  # int8 data, a scale a row, f32 bias
    assert rows["2"] == 128 * 64 + 64 * 4 + 64 * 4
    assert s.to_dict()["totals"]["weights_as"] == "int8"
    assert summary(mlp(), (2, 256), verbose=0).to_dict()["totals"]["weights_as"] is None


def llama_on_meta() -> Any:
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(
        hidden_size=64,
        intermediate_size=160,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        vocab_size=1000,
        max_position_embeddings=128,
        tie_word_embeddings=False,
    )
    with torch.device("meta"):
        model = transformers.LlamaForCausalLM(config)
    return model, config


@pytest.mark.parametrize("fmt", ["nf4", "int8", "int4", "bfloat16"])
def test_llama_on_meta_sized_by_the_rule(fmt):
    """The rule written out from the config: the attention and MLP projections stored in
    the format, the embeddings, norms and output head kept in float32."""
    model, c = llama_on_meta()
    tokens = torch.zeros(1, 16, dtype=torch.long)
    s = summary(model, input_data=tokens, device="meta", weights_as=fmt, verbose=0)

    h, i, v, layers = c.hidden_size, c.intermediate_size, c.vocab_size, c.num_hidden_layers
    kv = c.num_key_value_heads * (h // c.num_attention_heads)
    linears = [(h, h), (kv, h), (kv, h), (h, h), (i, h), (i, h), (h, i)] * layers  # (out, in)
    kept = v * h * 2 + h * (2 * layers + 1)  # embedding, head; two norms a layer, the last
    kept_size = 4  # float32 as built
    if fmt == "nf4":  # half a byte an element, a float32 absmax a block of 64, a code table
        weights = sum(o * n // 2 + math.ceil(o * n / 64) * 4 + 64 for o, n in linears)
    elif fmt == "int8":  # a byte an element, a float32 scale a row
        weights = sum(o * n + o * 4 for o, n in linears)
    elif fmt == "int4":  # half a byte an element, a float32 scale and zero a group of 128
        weights = sum(o * n // 2 + math.ceil(o * n / 128) * 2 * 4 for o, n in linears)
    else:  # every floating parameter in two bytes
        weights, kept_size = sum(o * n for o, n in linears) * 2, 2
    truth = weights + kept * kept_size
    assert s.total_params == sum(p.numel() for p in model.parameters())
    assert s.total_param_bytes == truth
    assert next(model.parameters()).is_meta  # nothing was made


def test_without_an_input_the_registered_weights_are_sized():
    s = summary(mlp(), weights_as="nf4", verbose=0)
    truth = (256 * 128 // 2 + 256 * 128 // 64 * 4 + 64) + 128 * 4
    truth += (128 * 64 // 2 + 128 * 64 // 64 * 4 + 64) + 64 * 4
    assert s.total_param_bytes == truth


class Counting(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.fc(x)


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        ("int3", ValueError, r"weights_as must be one of \['bfloat16', .*got 'int3'"),
        ("NF4", ValueError, "weights_as must be one of"),
        (torch.int8, TypeError, "weights_as must be a format name"),
    ],
    ids=["unknown", "case", "a-dtype"],
)
def test_bad_weights_as_is_refused_before_any_pass(value, error, match):
    model = Counting()
    with pytest.raises(error, match=match):
        summary(model, (2, 4), weights_as=value, verbose=0)
    assert model.calls == 0


def test_gpt2_conv1d_weights_stored_and_the_tied_head_kept():
    """GPT-2's linear layers are transformers' ``Conv1D`` (weight ``(in, out)``): stored in
    the format with a scale per output; the head, tied to the embedding, is kept."""
    transformers = pytest.importorskip("transformers")
    h, layers = 32, 2
    config = transformers.GPT2Config(n_embd=h, n_layer=layers, n_head=2, vocab_size=100)
    model = transformers.GPT2LMHeadModel(config)
    tokens = torch.zeros(1, 8, dtype=torch.long)
    plain = summary(model, input_data=tokens, verbose=0)
    s = summary(model, input_data=tokens, weights_as="int8", verbose=0)
    linears = [(h, 3 * h), (h, h), (h, 4 * h), (4 * h, h)] * layers  # (in, out)
    float_bytes = sum(n * o * 4 for n, o in linears)
    int8_bytes = sum(n * o + o * 4 for n, o in linears)  # a byte an element, a scale a row
    assert s.total_param_bytes == plain.total_param_bytes - float_bytes + int8_bytes
    assert model.lm_head.weight is model.transformer.wte.weight  # kept, with the embedding
