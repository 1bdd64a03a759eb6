"""Quantized weights (issue 22): logical parameters, stored bytes, mult-adds of quantized
kernels, with the real libraries (torch.ao, torchao, optimum-quanto, bitsandbytes).

Every truth is computed here, apart from the code under test: the float model before
quantization (its parameters and mult-adds), the bytes of the inner tensors summed by
hand, Hugging Face's ``num_parameters()`` and PEFT's own counts.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Callable
from typing import Any

import pytest
import torch
from torch import nn

from modelsummary import (
    TensorStorage,
    register_storage,
    storage_of,
    summary,
    unregister_storage,
)
from modelsummary._present.render import footer_groups
from modelsummary._trace.catalogue import current_catalogue

warnings.filterwarnings("ignore", message=".*quantiz.*deprecated.*")
bnb = pytest.importorskip("bitsandbytes")  # in the test extras: never skipped in CI
quanto = pytest.importorskip("optimum.quanto")
torchao_q = pytest.importorskip("torchao.quantization")

X = torch.randn(2, 64, generator=torch.Generator().manual_seed(0))


def float_model(out: int = 10) -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 128), nn.ReLU(), nn.Linear(128, out))


def float_truth(out: int = 10) -> tuple[int, int]:
    """The float model's parameters (``model.parameters()``) and mult-adds (closed form:
    one multiply-accumulate per weight element per row of the batch of 2)."""
    params = sum(p.numel() for p in float_model(out).parameters())
    return params, X.shape[0] * (64 * 128 + 128 * out)


# -- the quantizers of the issue's table, and the bytes each stores, summed by hand -------
def _torch_dynamic(m: nn.Module) -> nn.Module:
    return torch.ao.quantization.quantize_dynamic(m, {nn.Linear})


def _torchao(config: Callable[[], Any]) -> Callable[[nn.Module], nn.Module]:
    def quantize(m: nn.Module) -> nn.Module:
        torchao_q.quantize_(m, config())
        return m

    return quantize


def _quanto(weights: Any) -> Callable[[nn.Module], nn.Module]:
    def quantize(m: nn.Module) -> nn.Module:
        quanto.quantize(m, weights=weights)
        quanto.freeze(m)
        return m

    return quantize


def _bnb_4bit(quant_type: str) -> Callable[[nn.Module], nn.Module]:
    def quantize(m: nn.Module) -> nn.Module:
        for i in (0, 2):
            fc = m[i]
            q = bnb.nn.Linear4bit(fc.in_features, fc.out_features, quant_type=quant_type)
            q.load_state_dict(fc.state_dict())
            m[i] = q
        return m.to("cpu")  # bitsandbytes quantizes when the layer moves to its device

    return quantize


def _bnb_int8(m: nn.Module) -> nn.Module:
    for i in (0, 2):
        fc = m[i]
        q = bnb.nn.Linear8bitLt(fc.in_features, fc.out_features, has_fp16_weights=False)
        q.load_state_dict(fc.state_dict())
        m[i] = q
    return m.to("cpu")


def _flat_bytes(t: torch.Tensor) -> int:
    """A wrapper tensor's bytes: the leaves of ``__tensor_flatten__``, recursively."""
    if type(t) in (torch.Tensor, nn.Parameter):
        return t.nbytes
    names, _ = t.__tensor_flatten__()
    return sum(_flat_bytes(getattr(t, name)) for name in names)


def _stored_bytes(m: nn.Module) -> int:
    """What each weight of the quantized model keeps, by its library's own attributes."""
    total = 0
    for module in m.modules():
        if isinstance(module, torch.ao.nn.quantized.dynamic.Linear):
            w, b = module._weight_bias()
            scale = torch.tensor(w.q_scale(), dtype=torch.float64)
            zero = torch.tensor(w.q_zero_point(), dtype=torch.int64)
            total += w.int_repr().nbytes + scale.nbytes + zero.nbytes + b.nbytes
            continue
        for p in module._parameters.values():
            if p is None:
                continue
            if isinstance(p, bnb.nn.Params4bit):
                qs = p.quant_state
                parts = [p.data, qs.absmax, qs.code]
                if qs.nested:
                    parts += [qs.state2.absmax, qs.state2.code, qs.offset]
                total += sum(t.nbytes for t in parts)
            elif isinstance(p, bnb.nn.Int8Params):
                total += p.data.nbytes + p.SCB.nbytes
            else:
                total += _flat_bytes(p)
    return total


CASES = {
    "torch-quantize_dynamic": (_torch_dynamic, "qint8"),
    "torchao-int8-weight-only": (_torchao(lambda: torchao_q.Int8WeightOnlyConfig()), "int8"),
    "torchao-int8-dynamic": (
        _torchao(lambda: torchao_q.Int8DynamicActivationInt8WeightConfig()),
        "int8",
    ),
    "torchao-int4-weight-only": (
        _torchao(lambda: torchao_q.IntxWeightOnlyConfig(weight_dtype=torch.int4)),
        "int4",
    ),
    "torchao-float8-weight-only": (
        _torchao(lambda: torchao_q.Float8WeightOnlyConfig()),
        "float8_e4m3fn",
    ),
    "quanto-qint4": (_quanto(quanto.qint4), "int4"),
    "quanto-qint8": (_quanto(quanto.qint8), "int8"),
    "quanto-qfloat8": (_quanto(quanto.qfloat8), "float8_e4m3fn"),
    "bitsandbytes-nf4": (_bnb_4bit("nf4"), "nf4"),
    "bitsandbytes-fp4": (_bnb_4bit("fp4"), "fp4"),
    "bitsandbytes-int8": (_bnb_int8, "int8"),
}


@pytest.fixture(params=list(CASES), ids=list(CASES))
def quantized(request: pytest.FixtureRequest) -> tuple[nn.Module, str]:
    quantize, fmt = CASES[request.param]
    return quantize(float_model()), fmt


# bitsandbytes' CPU path repacks 4-bit weights in an eval pass, which needs 32 | out
# features: the table's 10-output model runs its 4-bit layers in train mode, as QLoRA does.
MODE = "train"


def test_the_issue_table_gives_the_float_models_numbers(quantized: tuple[nn.Module, str]) -> None:
    model, _ = quantized
    params, macs = float_truth()
    s = summary(model, input_data=X, verbose=0, mode=MODE)
    assert (s.total_params, s.all_params, s.total_mult_adds) == (params, params, macs)
    assert s.uncounted_ops == {}
    assert s.unused_modules == ()


def test_stored_bytes_are_the_inner_tensors(quantized: tuple[nn.Module, str]) -> None:
    model, _ = quantized
    s = summary(model, input_data=X, verbose=0, mode=MODE)
    truth = _stored_bytes(model)
    assert s.total_param_bytes == truth
    assert truth < 4 * float_truth()[0]  # smaller than float32, as quantizing is for


def test_the_footer_tells_the_bits_per_parameter(quantized: tuple[nn.Module, str]) -> None:
    model, _ = quantized
    s = summary(model, input_data=X, verbose=0, mode=MODE)
    sizes = {line.label: line.value for g in footer_groups(s.tree) for line in g.lines}
    bits = 8 * _stored_bytes(model) / float_truth()[0]
    assert sizes["Parameters size"].endswith(f" ({bits:.1f} bits per parameter)")


def test_each_weight_names_its_stored_format(quantized: tuple[nn.Module, str]) -> None:
    model, fmt = quantized
    s = summary(model, input_data=X, verbose=0, mode=MODE)
    formats = {p["name"]: p["format"] for layer in s.to_dict()["layers"] for p in layer["params"]}
    assert formats["0.weight"] == formats["2.weight"] == fmt
    assert formats["0.bias"] == "float32"


def test_a_plain_model_is_unchanged() -> None:
    model = float_model()
    s = summary(model, input_data=X, verbose=0)
    assert s.total_param_bytes == sum(p.nbytes for p in model.parameters())
    assert s.tree.totals.quantized_params == 0
    assert {p["format"] for layer in s.to_dict()["layers"] for p in layer["params"]} == {"float32"}
    sizes = {line.label: line.value for g in footer_groups(s.tree) for line in g.lines}
    assert "bits" not in sizes["Parameters size"]
    assert storage_of(model[0].weight) == TensorStorage(8192, 8192 * 4, "float32", 0)


# -- torch.ao: packed weights are the module's own parameters ------------------------------
def test_torch_ao_packed_weights_are_the_modules_parameters() -> None:
    model = _torch_dynamic(float_model())
    s = summary(model, input_data=X, verbose=0)
    rows = {node.path: node for node in s.summary_list}
    assert set(rows) == {"", "0", "1", "2"}  # no LinearPackedParams row
    assert rows["0"].param_names == ("0.weight", "0.bias")
    assert rows["0"].num_params == 64 * 128 + 128
    assert s.trainable_params == 0  # packed weights are for inference: no optimizer sees them


def test_torch_ao_static_convolution_counts_as_the_float_model() -> None:
    quant = torch.ao.quantization

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.quant, self.dequant = quant.QuantStub(), quant.DeQuantStub()
            self.conv, self.relu = nn.Conv2d(3, 8, 3), nn.ReLU()
            self.fc = nn.Linear(8 * 6 * 6, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.dequant(self.fc(self.relu(self.conv(self.quant(x))).flatten(1)))

    x = torch.randn(2, 3, 8, 8)
    model = Net().eval()
    truth = summary(model, input_data=x, verbose=0)
    model.qconfig = quant.get_default_qconfig("x86")
    prepared = quant.prepare(model)
    prepared(x)
    converted = quant.convert(prepared)
    s = summary(converted, input_data=x, verbose=0)
    assert (s.total_params, s.total_mult_adds) == (truth.total_params, truth.total_mult_adds)
    assert sum(p.numel() for p in model.parameters()) == s.total_params
    assert s.uncounted_ops == {}


@pytest.mark.parametrize("bidirectional", [False, True], ids=["one-way", "bidirectional"])
def test_torch_ao_dynamic_lstm_counts_as_the_float_lstm(bidirectional: bool) -> None:
    torch.manual_seed(0)
    lstm = nn.Sequential(nn.LSTM(16, 32, num_layers=2, bidirectional=bidirectional))
    x = torch.randn(5, 3, 16)
    truth = summary(lstm, input_data=x, verbose=0)
    s = summary(_torch_dynamic(copy.deepcopy(lstm)), input_data=x, verbose=0)
    assert s.total_params == sum(p.numel() for p in lstm.parameters())
    assert s.total_mult_adds == truth.total_mult_adds > 0
    assert s.uncounted_ops == {}


# -- bitsandbytes' eval path, and the model left as it was ---------------------------------
def test_bitsandbytes_4bit_eval_pass_counts_and_leaves_the_model_as_it_was() -> None:
    params, macs = float_truth(32)
    twin = _bnb_4bit("nf4")(float_model(32)).eval()
    with torch.no_grad():
        expected = twin(X)  # the first eval pass: bitsandbytes repacks for its CPU kernel
    model = _bnb_4bit("nf4")(float_model(32))
    stored = _stored_bytes(model)
    s = summary(model, input_data=X, verbose=0)
    assert (s.total_params, s.total_mult_adds, s.total_param_bytes) == (params, macs, stored)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(X), expected)


# -- QLoRA: counts equal PEFT's, and only the adapters train --------------------------------
class TwoLayer4bit(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.q = bnb.nn.Linear4bit(64, 64, quant_type="nf4")
        self.out = bnb.nn.Linear4bit(64, 10, quant_type="nf4")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.q(x)))


@pytest.mark.parametrize("targets", [["q"], ["q", "out"]], ids=["the-issue-row", "both"])
def test_qlora_counts_equal_pefts_and_train_only_the_adapters(targets: list[str]) -> None:
    peft = pytest.importorskip("peft")
    torch.manual_seed(0)
    base = TwoLayer4bit().to("cpu")
    config = peft.LoraConfig(r=4, target_modules=targets)
    model = peft.get_peft_model(base, config)
    trainable, total = model.get_nb_trainable_parameters()
    s = summary(model, input_data=X, verbose=0, mode="train", optimizer="adam")
    assert (s.total_params, s.trainable_params) == (total, trainable)
    adapters = [p for p in model.parameters() if p.requires_grad]
    assert sum(p.numel() for p in adapters) == trainable
    assert s.tree.totals.grad_bytes == sum(p.nbytes for p in adapters)
    assert s.tree.totals.optimizer_bytes == sum(2 * p.nbytes + 4 for p in adapters)


# -- tied, shared and unused quantized weights ----------------------------------------------
def test_shared_and_unused_quantized_weights() -> None:
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(64, 64)
            self.again = self.fc  # one module under two names
            self.spare = nn.Linear(64, 32)  # never called

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.again(self.fc(x))

    model = _torchao(lambda: torchao_q.Int8WeightOnlyConfig())(Net())
    s = summary(model, input_data=X, verbose=0)
    assert s.total_params == 64 * 64 + 64
    assert s.unused_params == 64 * 32 + 32
    assert s.all_params == sum(p.numel() for p in model.parameters())


# -- Hugging Face models quantized by from_pretrained ------------------------------------
def _llama_folder(tmp_path: Any) -> Any:
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=4,
        vocab_size=1000,
        max_position_embeddings=64,
    )
    torch.manual_seed(0)
    transformers.LlamaForCausalLM(config).save_pretrained(tmp_path)
    return tmp_path


def _hf_configs() -> dict[str, Callable[[], Any]]:
    import transformers

    return {
        "bitsandbytes-nf4": lambda: transformers.BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4"
        ),
        "bitsandbytes-int8": lambda: transformers.BitsAndBytesConfig(load_in_8bit=True),
        "torchao-int8": lambda: transformers.TorchAoConfig(torchao_q.Int8WeightOnlyConfig()),
        "quanto-int4": lambda: transformers.QuantoConfig(weights="int4"),
    }


@pytest.mark.parametrize(
    "name", ["bitsandbytes-nf4", "bitsandbytes-int8", "torchao-int8", "quanto-int4"]
)
def test_hugging_face_quantized_models_count_as_num_parameters(name: str, tmp_path: Any) -> None:
    transformers = pytest.importorskip("transformers")
    folder = _llama_folder(tmp_path)
    ids = torch.randint(0, 1000, (1, 8), generator=torch.Generator().manual_seed(0))
    plain = transformers.AutoModelForCausalLM.from_pretrained(folder)
    truth = summary(plain, input_data=ids, verbose=0)
    model = transformers.AutoModelForCausalLM.from_pretrained(
        folder, quantization_config=_hf_configs()[name](), device_map="cpu"
    )
    s = summary(model, input_data=ids, verbose=0)
    assert s.all_params == model.num_parameters() == plain.num_parameters()
    assert (s.total_params, s.total_mult_adds) == (truth.total_params, truth.total_mult_adds)
    assert s.uncounted_ops == {}
    assert s.total_param_bytes == _stored_bytes(model) < truth.total_param_bytes


# -- the catalogue and the registry --------------------------------------------------------
@pytest.mark.parametrize(
    "op",
    [
        "bitsandbytes::gemm_4bit",
        "bitsandbytes::gemv_4bit",
        "bitsandbytes::int8_scaled_mm",
        "bitsandbytes::int8_linear_matmul",
        "quanto::qbytes_mm",
        "torchao::int_scaled_matmul",
        "quantized::linear_dynamic",
        "quantized::conv2d",
        "aten::_int_mm",
        "aten::_weight_int8pack_mm",
    ],
)
def test_quantized_kernels_have_formulas(op: str) -> None:
    namespace, name = op.split("::")
    packet = getattr(getattr(torch.ops, namespace), name)
    entry = current_catalogue().classify(getattr(packet, packet.overloads()[0]))
    assert callable(entry)


def test_quantized_kernels_count_as_the_float_product() -> None:
    a = torch.randint(-8, 8, (32, 64), dtype=torch.int8)
    b = torch.randint(-8, 8, (64, 16), dtype=torch.int8)
    out = torch._int_mm(a, b)
    formula = current_catalogue().classify(torch.ops.aten._int_mm.default)
    assert callable(formula)
    assert formula((a, b), {}, out) == 32 * 64 * 16


def test_registering_a_storage_format_twice_is_a_value_error() -> None:
    class Packed(nn.Parameter):
        pass

    def rule(t: torch.Tensor) -> TensorStorage:
        return TensorStorage(t.numel(), t.numel() // 2, "int4")

    register_storage(Packed, rule)
    try:
        with pytest.raises(ValueError, match="has a storage rule already"):
            register_storage(Packed, rule)
        with pytest.raises(ValueError, match="has a storage rule already"):
            register_storage(f"{Packed.__module__}.{Packed.__qualname__}", rule)
        fc = nn.Linear(64, 32)
        fc.weight = Packed(fc.weight.detach())
        s = summary(fc, input_data=X, verbose=0)
        assert s.total_params == 64 * 32 + 32
        assert s.total_param_bytes == 64 * 32 // 2 + 32 * 4
    finally:
        unregister_storage(Packed)
    with pytest.raises(TypeError):
        register_storage(int, rule)  # type: ignore[arg-type]


# -- the dtype column and the exports --------------------------------------------------------
def test_the_dtype_column_and_exports_name_each_rows_formats(
    quantized: tuple[nn.Module, str],
) -> None:
    model, fmt = quantized
    s = summary(model, input_data=X, verbose=0, mode=MODE, col_names=("num_params", "dtype"))
    layers = {layer["path"]: layer for layer in s.to_dict()["layers"]}
    assert layers["0"]["dtype"] == f"{fmt} + float32"  # a quantized weight, a float bias
    assert layers["1"]["dtype"] is None
    weight = {p.name: p for p in model[0].parameters()}.get("weight")
    exported = {p["name"]: p for p in layers["0"]["params"]}
    assert exported["0.weight"]["numel"] == 128 * 64
    assert exported["0.bias"] == {
        "name": "0.bias",
        "numel": 128,
        "nbytes": 512,
        "format": "float32",
    }
    assert sum(p["nbytes"] for layer in layers.values() for p in layer["params"]) == (
        _stored_bytes(model)
    )
    if weight is not None:  # torch.ao keeps it packed: no parameter of that name
        assert exported["0.weight"]["format"] == fmt
    row = next(line for line in s.to_text(width=0).splitlines() if "├─0 " in line)
    assert row.rstrip().endswith(f"{fmt} + float32")
    frame = s.to_dataframe()
    assert frame.set_index("path").loc["0", "dtype"] == f"{fmt} + float32"
    csv_header = s.to_csv().splitlines()[0].split(",")
    assert csv_header[-2:] == ["dtype", "params"]


def test_a_collapsed_row_shows_its_subtrees_formats() -> None:
    model = nn.Sequential(_torchao(lambda: torchao_q.Int8WeightOnlyConfig())(float_model()))
    s = summary(model, input_data=X, verbose=0, depth=0, col_names=("num_params", "dtype"))
    root = next(line for line in s.to_text(width=0).splitlines() if line.startswith("Sequential"))
    assert root.rstrip().endswith("int8 + float32")


def test_the_readme_row_ours_against_torchinfo() -> None:
    """The README's comparison row: the nf4 model as the float model against torchinfo,
    which counts the packed ``uint8`` tensors' elements."""
    torchinfo = pytest.importorskip("torchinfo")
    model = _bnb_4bit("nf4")(float_model())
    params, macs = float_truth()
    s = summary(model, input_data=X, verbose=0, mode=MODE)
    assert (s.total_params, s.total_mult_adds) == (params, macs) == (9_610, 18_944)
    assert round(s.total_param_bytes / 1e3, 2) == 7.63
    sizes = {line.label: line.value for g in footer_groups(s.tree) for line in g.lines}
    assert sizes["Parameters size"] == "7.63 kB (6.4 bits per parameter)"
    theirs = torchinfo.summary(model, input_data=X, verbose=0, mode="train")
    packed = sum(p.numel() for p in model.parameters())
    assert theirs.total_params == packed == 4_874
    assert theirs.total_mult_adds == 9_748


@pytest.mark.parametrize(
    "quantize", [_torch_dynamic, _bnb_4bit("nf4")], ids=["torch-quantize_dynamic", "nf4"]
)
def test_a_summary_without_input_lists_packed_and_quantized_weights(
    quantize: Callable[[nn.Module], nn.Module],
) -> None:
    """No pass: every registered weight counted as the float model's, sized as stored."""
    model = quantize(float_model())
    s = summary(model, verbose=0)
    assert s.total_params == float_truth()[0]
    assert s.total_param_bytes == _stored_bytes(model)


@pytest.mark.parametrize("fmt", ["int8", "nf4"])
@pytest.mark.parametrize("case", [c for c in CASES if not c.startswith("torch-")])
def test_weights_as_on_a_quantized_model_is_the_float_models_estimate(case: str, fmt: str) -> None:
    """What if the weights were stored otherwise: from a quantized model as from the float
    model it stands for (its weights compute in float32). ``torch.ao``'s quantized Linear
    is no ``nn.Linear``: ``weights_as`` leaves its packed weights as they are."""
    model = CASES[case][0](float_model())
    truth = summary(float_model(), input_data=X, verbose=0, weights_as=fmt)
    s = summary(model, input_data=X, verbose=0, mode=MODE, weights_as=fmt)
    assert s.total_param_bytes == truth.total_param_bytes
