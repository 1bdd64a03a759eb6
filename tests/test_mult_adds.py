"""Mult-adds counted at the operator level, checked against closed forms.

Expected values are computed here from the layer sizes, never pasted: a MAC is one
``a * b + c`` of a matrix product or convolution; bias additions are not counted.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchvision
import transformers
from torch import nn
from torch.nn import functional as F

from modelsummary import summary
from modelsummary._trace.catalogue import current_catalogue
from modelsummary._trace.formulas import mha_macs
from tests.conftest import check_invariants
from tests.models import SeedCase2, rand, tiny_gpt2


def classify(op: object) -> object:
    return current_catalogue().classify(op)


def macs(model: nn.Module, *args: object, mode: str = "eval", **kw: object) -> int:
    s = summary(model, input_data=list(args), mode=mode, verbose=0, **kw)
    assert s.uncounted_ops == {}, s.uncounted_ops
    return s.total_mult_adds


# -- the truths of the issue ------------------------------------------------------------
def test_seed_conv_called_twice(audit):
    model = audit(SeedCase2())
    s = summary(model, (1, 1, 512, 512), verbose=0)
    per_call = 512 * 512 * 3 * 3  # one output channel, one input channel, 3x3 kernel
    assert s.total_mult_adds == 2 * per_call == 4_718_592
    conv1 = s.layers[1]
    assert (conv1.calls, conv1.mult_adds, conv1.mult_adds_per_call) == (2, 2 * per_call, per_call)


def test_linear_512_to_1000(audit):
    model = audit(nn.Linear(512, 1000))
    assert macs(model, rand(1, 512)) == 512 * 1000


def test_resnet_stem_conv_without_bias_term(audit):
    model = audit(nn.Conv2d(3, 64, 7, stride=2, padding=3))  # has a bias: not counted
    out = (224 + 2 * 3 - 7) // 2 + 1
    expected = out * out * 64 * 3 * 7 * 7
    assert expected == 118_013_952
    assert macs(model, rand(1, 3, 224, 224)) == expected


def mha_closed_form(length: int, batch: int, embed: int) -> int:
    projections = 4 * length * batch * embed * embed  # q, k, v and output projections
    attention = 2 * batch * length * length * embed  # q @ k.T and weights @ v, all heads
    return projections + attention


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_multihead_attention(audit, mode):
    model = audit(nn.MultiheadAttention(64, 4))
    x = rand(10, 1, 64)
    expected = mha_closed_form(10, 1, 64)
    assert expected == 176_640
    assert macs(model, x, x, x, mode=mode) == pytest.approx(expected, rel=0.01)


def test_multihead_attention_under_no_grad_in_eval(audit):
    model = audit(nn.MultiheadAttention(64, 4, batch_first=True))
    x = rand(1, 10, 64)
    with torch.no_grad():
        total = macs(model, x, x, x, mode="eval")
    assert total == pytest.approx(mha_closed_form(10, 1, 64), rel=0.01)


def lstm_closed_form(steps: int, batch: int, sizes: list[tuple[int, int]], gates: int) -> int:
    """``sizes``: (input size, hidden size) per layer and direction."""
    return steps * batch * sum(gates * h * (i + h) for i, h in sizes)


def test_lstm_two_layers(audit):
    model = audit(nn.LSTM(10, 20, 2))
    expected = lstm_closed_form(5, 3, [(10, 20), (20, 20)], gates=4)
    assert expected == 84_000
    assert macs(model, rand(5, 3, 10)) == expected


@pytest.mark.parametrize(
    "cls, gates", [(nn.LSTM, 4), (nn.GRU, 3), (nn.RNN, 1)], ids=["lstm", "gru", "rnn"]
)
def test_bidirectional_stacked_recurrent_layers(audit, cls, gates):
    model = audit(cls(6, 8, num_layers=2, bidirectional=True, batch_first=True))
    # layer 1 sees 6 inputs, layer 2 sees both directions' 8 outputs; two directions each
    expected = lstm_closed_form(7, 2, [(6, 8), (6, 8), (16, 8), (16, 8)], gates)
    assert macs(model, rand(2, 7, 6)) == expected


@pytest.mark.filterwarnings("ignore:LSTM with projections is not supported with oneDNN")
def test_lstm_with_projection(audit):
    model = audit(nn.LSTM(6, 8, proj_size=4))
    steps_batch = 5 * 2
    expected = steps_batch * (4 * 8 * 6 + 4 * 8 * 4 + 4 * 8)  # w_ih, w_hh (8 -> proj 4), w_hr
    assert macs(model, rand(5, 2, 6)) == expected


def test_packed_sequence_counts_only_real_steps(audit):
    model = audit(nn.LSTM(4, 8))
    lengths = [5, 3]
    packed = nn.utils.rnn.pack_padded_sequence(rand(5, 2, 4), lengths)
    s = summary(model, input_data=[packed], verbose=0)
    assert s.total_mult_adds == sum(lengths) * 4 * 8 * (4 + 8)


@pytest.mark.parametrize(
    "cell, gates", [(nn.LSTMCell, 4), (nn.GRUCell, 3), (nn.RNNCell, 1)], ids=["lstm", "gru", "rnn"]
)
def test_recurrent_cells(audit, cell, gates):
    model = audit(cell(10, 20))
    assert macs(model, rand(3, 10)) == 3 * gates * 20 * (10 + 20)


# -- whole models -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "name, published", [("resnet50", 4.09e9), ("vit_b_16", 17.56e9)], ids=["resnet50", "vit_b_16"]
)
def test_torchvision_published_figures(audit, name, published):
    model = audit(getattr(torchvision.models, name)())
    s = summary(model, (1, 3, 224, 224), verbose=0)
    assert s.total_mult_adds == pytest.approx(published, rel=0.015)
    assert s.uncounted_ops == {}
    check_invariants(s, model)


def test_gpt2_small_at_128_tokens(audit):
    config = transformers.GPT2Config()
    model = audit(transformers.GPT2LMHeadModel(config))
    n, d, vocab = 128, config.n_embd, config.vocab_size
    per_block = n * d * 3 * d + n * d * d + 2 * n * d * 4 * d + 2 * n * n * d
    expected = config.n_layer * per_block + n * d * vocab
    tokens = torch.zeros(1, n, dtype=torch.long)
    s = summary(model, input_data=[tokens], verbose=0)
    assert s.total_mult_adds == pytest.approx(expected, rel=0.02)
    assert s.uncounted_ops == {}
    head = next(layer for layer in s.layers if layer.path == "lm_head")
    assert head.mult_adds == n * d * vocab


# -- operator coverage ------------------------------------------------------------------
class Call(nn.Module):
    """Runs a function of its inputs, so functional ops can be summarised."""

    def __init__(self, fn):  # type: ignore[no-untyped-def]
        super().__init__()
        self.fn = fn

    def forward(self, *args):  # type: ignore[no-untyped-def]
        return self.fn(*args)


@pytest.mark.parametrize(
    "fn, shapes, expected",
    [
        (torch.matmul, [(3, 4), (4, 5)], 3 * 4 * 5),
        (torch.mm, [(3, 4), (4, 5)], 3 * 4 * 5),
        (torch.bmm, [(2, 3, 4), (2, 4, 5)], 2 * 3 * 4 * 5),
        (torch.matmul, [(2, 1, 3, 4), (6, 4, 5)], 2 * 6 * 3 * 4 * 5),
        (lambda a, b: torch.einsum("bij,bjk->bik", a, b), [(2, 3, 4), (2, 4, 5)], 120),
        (lambda a, b: torch.einsum("ij,kj->ik", a, b), [(3, 4), (5, 4)], 60),
        (lambda c, a, b: torch.baddbmm(c, a, b), [(2, 3, 5), (2, 3, 4), (2, 4, 5)], 120),
        (lambda c, a, b: torch.addmm(c, a, b), [(3, 5), (3, 4), (4, 5)], 60),
        (torch.mv, [(3, 4), (4,)], 12),
        (torch.dot, [(7,), (7,)], 7),
        (lambda x, w: F.linear(x, w), [(2, 3, 4), (5, 4)], 2 * 3 * 4 * 5),
        # operands passed by name (BLOOM scores with alibi.baddbmm(batch1=, batch2=))
        (lambda c, a, b: c.baddbmm(batch1=a, batch2=b), [(2, 3, 5), (2, 3, 4), (2, 4, 5)], 120),
        (lambda c, a, b: torch.addmm(c, mat1=a, mat2=b), [(3, 5), (3, 4), (4, 5)], 60),
        (lambda a, b: torch.mm(input=a, mat2=b), [(3, 4), (4, 5)], 60),
        (lambda a, b: a.bmm(mat2=b), [(2, 3, 4), (2, 4, 5)], 120),
        (lambda x, w: F.linear(input=x, weight=w), [(2, 3, 4), (5, 4)], 2 * 3 * 4 * 5),
        (lambda x, w: F.conv1d(x, weight=w), [(1, 2, 9), (3, 2, 4)], 3 * 6 * 2 * 4),
    ],
    ids=[
        "matmul",
        "mm",
        "bmm",
        "broadcast-matmul",
        "einsum-bmm",
        "einsum-mm",
        "baddbmm",
        "addmm",
        "mv",
        "dot",
        "linear",
        "baddbmm-by-name",
        "addmm-by-name",
        "mm-by-name",
        "bmm-by-name",
        "linear-by-name",
        "conv1d-by-name",
    ],
)
def test_matrix_products(audit, fn, shapes, expected):
    model = audit(Call(fn))
    assert macs(model, *[rand(*s) for s in shapes]) == expected


_OFFS = torch.tensor([4, 8, 12], dtype=torch.int32)  # three groups of four


@pytest.mark.parametrize(
    "fn, a, b, expected",
    [
        # rows 0-3, 4-7, 8-11 each through their group's 4 x 8 matrix (experts of an MoE)
        (lambda a, b: torch._grouped_mm(a, b, offs=_OFFS), (12, 4), (3, 8, 4), 12 * 4 * 8),
        # a batch of three 4 x 4 by 4 x 8 products
        (lambda a, b: torch._grouped_mm(a, b), (3, 4, 4), (3, 8, 4), 3 * 4 * 4 * 8),
        # the contracted dimension split in three: each group's 4 x 8 output sums over 4
        (lambda a, b: torch._grouped_mm(a, b, offs=_OFFS), (4, 12), (8, 12), 3 * 4 * 8 * 4),
    ],
    ids=["2d-3d", "3d-3d", "2d-2d"],
)
def test_grouped_matrix_products(audit, fn, a, b, expected):
    # torch wants the second operand column-major: built transposed, as MoE layers do
    model = audit(Call(fn))
    assert macs(model, rand(*a), rand(*b).transpose(-2, -1)) == expected


def conv_out(size: int, kernel: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@pytest.mark.parametrize(
    "module, shape, expected",
    [
        (nn.Conv1d(4, 6, 3, padding=1), (2, 4, 10), 2 * 10 * 6 * 4 * 3),
        (nn.Conv2d(4, 8, 3, groups=2), (1, 4, 9, 9), conv_out(9, 3) ** 2 * 8 * 2 * 9),
        (nn.Conv2d(4, 4, 3, groups=4), (1, 4, 9, 9), conv_out(9, 3) ** 2 * 4 * 1 * 9),
        (
            nn.Conv2d(3, 5, 3, stride=2, dilation=2),
            (1, 3, 17, 17),
            conv_out(17, 3, 2, 0, 2) ** 2 * 5 * 3 * 9,
        ),
        (nn.Conv3d(2, 3, 2), (1, 2, 4, 4, 4), 3**3 * 3 * 2 * 8),
        (nn.ConvTranspose1d(4, 6, 3), (1, 4, 10), 10 * 4 * 6 * 3),
        (nn.ConvTranspose2d(3, 4, 3, stride=2), (1, 3, 8, 8), 8 * 8 * 3 * 4 * 9),
        (nn.ConvTranspose2d(4, 6, 3, groups=2), (1, 4, 5, 5), 5 * 5 * 4 * 3 * 9),
        (nn.ConvTranspose3d(2, 3, 2), (1, 2, 3, 3, 3), 27 * 2 * 3 * 8),
    ],
    ids=[
        "conv1d",
        "grouped",
        "depthwise",
        "strided-dilated",
        "conv3d",
        "transposed1d",
        "transposed2d",
        "transposed-grouped",
        "transposed3d",
    ],
)
def test_convolutions(audit, module, shape, expected):
    model = audit(module)
    assert macs(model, rand(*shape)) == expected


@pytest.mark.parametrize("causal", [False, True], ids=["full", "causal"])
@pytest.mark.parametrize("v_dim", [8, 16], ids=["flash-cpu", "math"])
def test_scaled_dot_product_attention(audit, causal, v_dim):
    # equal head dims take aten._scaled_dot_product_flash_attention_for_cpu; others the math path
    q, k, v = rand(2, 4, 6, 8), rand(2, 4, 9, 8), rand(2, 4, 9, v_dim)
    model = audit(Call(lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=causal)))
    # Causal masking still computes (then masks) every score: the work done is dense.
    assert macs(model, q, k, v) == 2 * 4 * 6 * 9 * (8 + v_dim)


class FusedAttention(nn.Module):
    """Calls the fused eval fast path of nn.MultiheadAttention directly."""

    def __init__(self) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(64, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.mha
        out, _ = torch._native_multi_head_attention(
            x,
            x,
            x,
            m.embed_dim,
            m.num_heads,
            m.in_proj_weight,
            m.in_proj_bias,
            m.out_proj.weight,
            m.out_proj.bias,
            need_weights=False,
        )
        return out


def test_fused_multihead_attention_fast_path(audit):
    model = audit(FusedAttention())
    s = summary(model, (1, 10, 64), verbose=0)
    assert s.total_mult_adds == mha_closed_form(10, 1, 64)
    assert s.uncounted_ops == {}


class FusedEncoderLayer(nn.Module):
    """Calls the fused eval fast path of nn.TransformerEncoderLayer directly."""

    def __init__(self) -> None:
        super().__init__()
        self.layer = nn.TransformerEncoderLayer(32, 4, dim_feedforward=48, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = self.layer
        out: torch.Tensor = torch._transformer_encoder_layer_fwd(
            x,
            m.self_attn.embed_dim,
            m.self_attn.num_heads,
            m.self_attn.in_proj_weight,
            m.self_attn.in_proj_bias,
            m.self_attn.out_proj.weight,
            m.self_attn.out_proj.bias,
            False,
            m.norm_first,
            m.norm1.eps,
            m.norm1.weight,
            m.norm1.bias,
            m.norm2.weight,
            m.norm2.bias,
            m.linear1.weight,
            m.linear1.bias,
            m.linear2.weight,
            m.linear2.bias,
            None,
        )
        return out


def encoder_layer_closed_form(length: int, embed: int, ffn: int) -> int:
    return mha_closed_form(length, 1, embed) + 2 * length * embed * ffn


def test_fused_encoder_layer_fast_path(audit):
    model = audit(FusedEncoderLayer())
    s = summary(model, (1, 10, 32), verbose=0)
    assert s.total_mult_adds == encoder_layer_closed_form(10, 32, 48)
    assert s.uncounted_ops == {}


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_transformer_encoder_layer_module(audit, mode):
    model = audit(nn.TransformerEncoderLayer(32, 4, dim_feedforward=48, batch_first=True))
    assert macs(model, rand(1, 10, 32), mode=mode) == encoder_layer_closed_form(10, 32, 48)


def test_embedding_has_no_mult_adds_and_is_not_uncounted(audit):
    model = audit(nn.Embedding(100, 16))
    s = summary(model, input_data=[torch.zeros(2, 5, dtype=torch.long)], verbose=0)
    assert (s.total_mult_adds, s.uncounted_ops) == (0, {})


def test_elementwise_norm_softmax_and_pooling_are_not_mult_adds(audit):
    model = audit(
        nn.Sequential(
            nn.BatchNorm2d(3),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.LayerNorm(3),
            nn.GELU(),
            nn.Softmax(-1),
            nn.Dropout(),
        )
    )
    assert macs(model, rand(2, 3, 8, 8), mode="train") == 0


# -- attribution and roll-up ------------------------------------------------------------
class Nested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
        self.scale = nn.Parameter(torch.ones(4, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return y @ self.scale  # run by the root itself


def test_ops_go_to_the_innermost_module_and_roll_up(audit):
    model = audit(Nested())
    s = summary(model, (2, 8), verbose=0)
    rows = {layer.path: layer for layer in s.layers}
    assert rows["block.0"].mult_adds == 2 * 8 * 16
    assert rows["block.2"].mult_adds == 2 * 16 * 4
    assert rows["block"].mult_adds == 0
    assert rows["block"].subtree_mult_adds == 2 * 8 * 16 + 2 * 16 * 4
    assert rows[""].mult_adds == 2 * 4 * 4
    for layer in s.layers:
        assert layer.subtree_mult_adds == layer.mult_adds + sum(
            c.subtree_mult_adds for c in layer.children
        )
    assert s.layers[0].subtree_mult_adds == s.total_mult_adds
    assert sum(layer.mult_adds for layer in s.layers) == s.total_mult_adds


def test_mult_adds_in_to_dict(audit):
    model = audit(Nested())
    d = summary(model, (2, 8), verbose=0).to_dict()
    assert d["totals"]["total_mult_adds"] == 2 * 8 * 16 + 2 * 16 * 4 + 2 * 4 * 4
    assert d["uncounted_ops"] == {}
    row = next(r for r in d["layers"] if r["path"] == "block")
    assert (row["mult_adds"], row["subtree_mult_adds"]) == (0, 2 * 8 * 16 + 2 * 16 * 4)


def test_mult_adds_column_matches_golden(golden):
    model = nn.Sequential(
        nn.Sequential(nn.Conv2d(1, 2, 3, bias=False), nn.ReLU()), nn.Flatten(), nn.Linear(72, 3)
    )
    s = summary(
        model,
        (1, 1, 8, 8),
        col_names=("kernel_size", "num_params", "params_percent", "mult_adds"),
        depth=1,
        col_width=12,
        verbose=0,
    )
    golden("mult_adds_columns", str(s))


# -- partial totals ---------------------------------------------------------------------
class Orthogonalised(nn.Module):
    """A QR decomposition, which has no formula, then a linear layer."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(5, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.linalg.qr(x).Q)


def test_uncounted_operator_is_reported(audit):
    model = audit(Orthogonalised())
    s = summary(model, (3, 5, 5), verbose=0)
    assert s.total_mult_adds == 3 * 5 * 5 * 5  # the part that is known
    assert s.uncounted_ops == {"aten.linalg_qr": 1}
    assert s.to_dict()["uncounted_ops"] == {"aten.linalg_qr": 1}
    footer = str(s).split("Total mult-adds")[1]
    assert "Uncounted operators (mult-adds may be partial): aten.linalg_qr ×1" in footer


def test_complete_total_prints_no_uncounted_line():
    assert "Uncounted" not in str(summary(nn.Linear(3, 2), (1, 3), verbose=0))


@pytest.mark.parametrize(
    "op, kind",
    [
        (torch.ops.aten.addmm.default, "counted"),
        (torch.ops.aten._scaled_dot_product_flash_attention_for_cpu.default, "counted"),
        (torch.ops.aten._native_multi_head_attention.default, "counted"),
        (torch.ops.aten._transformer_encoder_layer_fwd.default, "counted"),
        (torch.ops.aten.lstm.input, "counted"),
        (torch.ops.aten.gru.data, "counted"),
        (torch.ops.aten.rnn_tanh.input, "counted"),
        (torch.ops.aten.mkldnn_rnn_layer.default, "counted"),
        (torch.ops.aten._cudnn_rnn.default, "counted"),
        (torch.ops.aten._scaled_dot_product_efficient_attention.default, "counted"),
        (torch.ops.aten._flash_attention_forward.default, "counted"),
        (torch.ops.aten.embedding.default, "free"),
        (torch.ops.aten.add_.Tensor, "free"),
        (torch.ops.aten.native_layer_norm.default, "free"),
        (torch.ops.aten._softmax.default, "free"),
        (torch.ops.aten.transpose.int, "free"),
        (torch.ops.aten._grouped_mm.default, "counted"),
        (torch.ops.aten.linalg_vector_norm.default, "free"),
        (torch.ops.aten._weight_norm_interface.default, "free"),
        (torch.ops.aten._fft_r2c.default, "counted"),
        (torch.ops.aten.linalg_solve_triangular.default, "counted"),
        (torch.ops.aten.linalg_qr.default, "uncounted"),
    ],
    ids=lambda v: v if isinstance(v, str) else str(v),
)
def test_operator_classes(op, kind):
    result = classify(op)
    got = "free" if result is True else "uncounted" if result is False else "counted"
    assert got == kind


def test_lstm_formula_matches_the_fused_op_arguments():
    """The fused aten.lstm signature (as run on CPU without mkldnn, and by cuDNN's sibling)."""
    lstm = nn.LSTM(10, 20, 2)
    x = rand(5, 3, 10)
    h = (torch.zeros(2, 3, 20), torch.zeros(2, 3, 20))
    formula = classify(torch.ops.aten.lstm.input)
    assert callable(formula)
    args = (x, h, list(lstm._flat_weights), True, 2, 0.0, False, False, False)
    assert formula(args, {}, None) == lstm_closed_form(5, 3, [(10, 20), (20, 20)], gates=4)


def test_cudnn_rnn_formula_on_its_argument_layout():
    gru = nn.GRU(6, 8, bidirectional=True)
    x = rand(4, 2, 6)
    formula = classify(torch.ops.aten._cudnn_rnn.default)
    assert callable(formula)
    weights = list(gru._flat_weights)
    args = (x, weights, 4, None, None, None, 1, 8, 0, 1, False, 0.0, False, True, [], None)
    assert formula(args, {}, None) == math.prod((4, 2)) * 2 * 3 * 8 * (6 + 8)


def test_blhe_attention_formula_layout():
    formula = classify(torch.ops.aten._flash_attention_forward.default)
    assert callable(formula)
    q, k, v = rand(2, 6, 4, 8), rand(2, 9, 4, 8), rand(2, 9, 4, 8)  # (B, L, H, E)
    assert formula((q, k, v), {}, None) == 2 * 4 * 6 * 9 * 16


def _every_op_agrees(model: nn.Module, *args: torch.Tensor, **kwargs: torch.Tensor) -> None:
    """Counting at the torch level (with the aten level for the rest) gives, per call,
    exactly what counting every aten operator gives."""
    from modelsummary._trace.tracer import Tracer

    traces = []
    for every_op in (False, True):
        tracer = Tracer(model, every_op=every_op)
        with torch.no_grad(), tracer:
            model(*args, **kwargs)
        traces.append(tracer.finish())
    fast, full = traces
    assert [(c.path, c.mult_adds) for c in fast.calls] == [
        (c.path, c.mult_adds) for c in full.calls
    ]
    assert fast.uncounted_ops == full.uncounted_ops
    assert set(fast.param_uses) == set(full.param_uses)
    assert sum(c.mult_adds for c in fast.calls) > 0


@pytest.mark.parametrize(
    "build, shape",
    [
        (lambda: __import__("torchvision").models.resnet18(), (1, 3, 64, 64)),
        (lambda: __import__("torchvision").models.mobilenet_v3_small(), (1, 3, 64, 64)),
        (lambda: nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), (2, 5, 32)),
        (lambda: nn.LSTM(8, 16, num_layers=2, bidirectional=True), (4, 2, 8)),
        (lambda: nn.Sequential(nn.ConvTranspose2d(3, 4, 3), nn.ReLU()), (1, 3, 5, 5)),
    ],
    ids=["resnet18", "mobilenet_v3", "encoder_layer", "lstm", "conv_transpose"],
)
def test_torch_level_counting_matches_counting_every_aten_op(build, shape):
    model = build().eval()
    _every_op_agrees(model, torch.zeros(shape))


def test_scripted_child_operators_are_counted_at_the_aten_level():
    from tests.test_exotic import script

    scripted = script(nn.Linear(16, 8))
    model = nn.Sequential(nn.Linear(4, 16), scripted)
    s = summary(model, (2, 4), verbose=0)
    assert s.total_mult_adds == 2 * 4 * 16 + 2 * 16 * 8


def test_a_formula_that_cannot_read_its_arguments_reports_instead_of_failing():
    def unreadable(args, kwargs, out):
        raise IndexError("an argument layout the formula does not know")

    class Functional(nn.Module):  # F.linear itself, not the nn.Linear leaf
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(3, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return F.linear(x, self.weight)

    s = summary(Functional(), (2, 3), verbose=0, formulas={F.linear: unreadable})
    assert s.total_params == 9  # the pass itself went on
    assert s.total_mult_adds == 0
    assert s.uncounted_ops == {"linear": 1}


def test_a_leaf_formula_that_cannot_read_its_arguments_reports_the_module():
    def unreadable(module, x, out):
        raise IndexError("a shape the formula does not know")

    s = summary(nn.Sequential(nn.Linear(3, 3)), (2, 3), verbose=0, formulas={nn.Linear: unreadable})
    assert s.total_params == 12
    assert s.total_mult_adds == 0
    assert s.uncounted_ops == {"Linear": 1}


def _aten_ops_seen(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    from modelsummary._trace import macs as _macs

    seen: list[str] = []
    original = _macs.AtenCounter.__torch_dispatch__

    def spy(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        seen.append(str(func))
        return original(self, func, types, args, kwargs)

    monkeypatch.setattr(_macs.AtenCounter, "__torch_dispatch__", spy)
    return seen


def test_multihead_attention_runs_its_own_fused_fast_path_during_a_summary(audit, monkeypatch):
    """A torch-function mode would make MHA skip its fast path: the tracer suspends its
    mode inside MHA calls, so the summary runs (and counts) what the model runs."""
    seen = _aten_ops_seen(monkeypatch)
    model = audit(nn.MultiheadAttention(64, 4, batch_first=True))
    q = rand(1, 10, 64)
    s = summary(model, input_data=(q, q, q), need_weights=False, verbose=0)
    assert "aten._native_multi_head_attention.default" in seen
    assert s.total_mult_adds == mha_macs(batch=1, q_len=10, kv_len=10, embed=64)
    assert s.total_params == 16_640 and s.unused_params == 0  # out_proj's weights noted as used
    out_proj = next(layer for layer in s.layers if layer.path == "out_proj")
    assert (out_proj.calls, out_proj.num_params) == (0, 4_160)


def test_torch_level_mode_is_back_after_the_fast_path_module():
    class After(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
            self.proj = nn.Parameter(torch.ones(8, 8))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y, _ = self.attn(x, x, x, need_weights=False)
            return torch.matmul(y, self.proj)  # a functional use, seen at the torch level again

    s = summary(After(), (1, 3, 8), verbose=0)
    assert s.unused_params == 0
    assert s.layers[0].mult_adds == 3 * 8 * 8
    assert torch._C._is_torch_function_enabled()


# Common calls counted (or known free) at the torch level: the same numbers as counting
# every aten operator, without entering the aten-level mode, which costs far more than
# the call itself (F.scaled_dot_product_attention: 11 us bare, 458 us under the mode).
class Calls(nn.Module):
    """Runs ``call(*inputs, weight)`` with a weight of its own (a parameter in use)."""

    def __init__(self, call, weight: tuple[int, ...]) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.call = call
        self.weight = nn.Parameter(rand(*weight))

    def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
        return self.call(*inputs, self.weight)


def _counted_at_the_torch_level(monkeypatch, model, *args, **kwargs):  # type: ignore[no-untyped-def]
    """The same MACs, uncounted operators and parameters in use as counting every aten
    operator, and the aten-level mode never entered while counting at the torch level."""
    from modelsummary._trace import macs as _macs
    from modelsummary._trace.tracer import Tracer

    _every_op_agrees(model, *args, **kwargs)
    seen = _aten_ops_seen(monkeypatch)
    enter = _macs.AtenCounter.__enter__

    def entering(self):  # type: ignore[no-untyped-def]
        seen.append("entered")
        return enter(self)

    monkeypatch.setattr(_macs.AtenCounter, "__enter__", entering)
    with torch.no_grad(), Tracer(model):
        model(*args, **kwargs)
    assert seen == []


SDPA = F.scaled_dot_product_attention
ATTENTION = {
    "plain": ((2, 4, 5, 8), (2, 4, 7, 8), lambda q, k, v: SDPA(q, k, v)),
    "causal": ((2, 4, 5, 8), (2, 4, 5, 8), lambda q, k, v: SDPA(q, k, v, is_causal=True)),
    "causal_by_position": (
        (1, 2, 3, 8),
        (1, 2, 6, 8),
        lambda q, k, v: SDPA(q, k, v, None, 0.0, True),
    ),
    "bool_mask": (
        (2, 4, 5, 8),
        (2, 4, 7, 8),
        lambda q, k, v: SDPA(q, k, v, attn_mask=torch.ones(5, 7, dtype=torch.bool).tril()),
    ),
    "float_mask": (
        (2, 4, 5, 8),
        (2, 4, 7, 8),
        lambda q, k, v: SDPA(q, k, v, torch.zeros(2, 1, 5, 7)),
    ),
    "keywords": (
        (2, 4, 5, 8),
        (2, 4, 7, 8),
        lambda q, k, v: SDPA(query=q, key=k, value=v, scale=0.5),
    ),
    "value_wider": ((2, 4, 5, 8), (2, 4, 7, 8), lambda q, k, v: SDPA(q, k, torch.cat([v, v], -1))),
    "no_heads": ((3, 5, 8), (3, 7, 8), lambda q, k, v: SDPA(q, k, v)),
    "no_batch": ((5, 8), (7, 8), lambda q, k, v: SDPA(q, k, v)),
    "query_broadcast": ((1, 4, 5, 8), (2, 4, 7, 8), lambda q, k, v: SDPA(q, k, v)),
    "query_heads_broadcast": ((2, 1, 5, 8), (2, 4, 7, 8), lambda q, k, v: SDPA(q, k, v)),
    "key_broadcast": ((2, 4, 5, 8), (1, 4, 7, 8), lambda q, k, v: SDPA(q, k, v)),
    "dropout": ((2, 4, 5, 8), (2, 4, 7, 8), lambda q, k, v: SDPA(q, k, v, dropout_p=0.5)),
}
if "enable_gqa" in (SDPA.__doc__ or ""):  # torch >= 2.5
    ATTENTION["gqa"] = ((2, 4, 5, 8), (2, 2, 7, 8), lambda q, k, v: SDPA(q, k, v, enable_gqa=True))
    ATTENTION["gqa_causal_value_wider"] = (
        (1, 6, 5, 8),
        (1, 2, 5, 8),
        lambda q, k, v: SDPA(q, k, torch.cat([v, v], -1), is_causal=True, enable_gqa=True),
    )


@pytest.mark.parametrize("case", ATTENTION)
def test_attention_is_counted_at_the_torch_level_as_below_it(monkeypatch, case):
    q_shape, kv_shape, attend = ATTENTION[case]

    def call(q: torch.Tensor, k: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        return attend(q, k, k @ w)  # a value made from a parameter: a use seen at both levels

    model = Calls(call, (kv_shape[-1], kv_shape[-1]))
    _counted_at_the_torch_level(monkeypatch, model, rand(*q_shape), rand(*kv_shape))


MATMUL_SHAPES = [
    ((3,), (3,)),
    ((3,), (3, 4)),
    ((3,), (2, 3, 4)),
    ((3, 4), (4,)),
    ((2, 3, 4), (4,)),
    ((3, 4), (4, 5)),
    ((2, 3, 4), (4, 5)),
    ((3, 4), (2, 4, 5)),
    ((2, 3, 4), (2, 4, 5)),
    ((1, 3, 4), (6, 4, 5)),
    ((6, 1, 3, 4), (2, 4, 5)),
    ((2, 1, 3, 4), (1, 5, 4, 2)),
]
MATMULS = {
    "torch.matmul": lambda a, b: torch.matmul(a, b),
    "keywords": lambda a, b: torch.matmul(input=a, other=b),
    "Tensor.matmul": lambda a, b: a.matmul(other=b),
    "@": lambda a, b: a @ b,
    "__rmatmul__": lambda a, b: b.__rmatmul__(a),  # what `a @ b` calls when `a` declines
}


@pytest.mark.parametrize("how", MATMULS)
@pytest.mark.parametrize(
    "a, b", MATMUL_SHAPES, ids=[f"{a}@{b}".replace(" ", "") for a, b in MATMUL_SHAPES]
)
def test_matmul_is_counted_at_the_torch_level_as_below_it(monkeypatch, a, b, how):
    """A 1-D operand is a row on the left and a column on the right; batch dims broadcast."""
    model = Calls(MATMULS[how], b)  # input @ weight
    _counted_at_the_torch_level(monkeypatch, model, rand(*a))


def test_the_matmul_formula_reads_1d_operands_as_row_and_column():
    formula = current_catalogue().classify_function(torch.matmul)
    for a, b in MATMUL_SHAPES:
        row = (1, *a) if len(a) == 1 else a
        column = (*b, 1) if len(b) == 1 else b
        batch = torch.broadcast_shapes(row[:-2], column[:-2]).numel()
        expected = batch * row[-2] * row[-1] * column[-1]
        assert formula((torch.zeros(a), torch.zeros(b)), {}, None) == expected, (a, b)
    rmatmul = current_catalogue().classify_function(torch.Tensor.__rmatmul__)
    assert rmatmul((torch.zeros(4, 5), torch.zeros(3, 4)), {}, None) == 3 * 4 * 5  # other @ self


def _labels(logits: torch.Tensor) -> torch.Tensor:
    return torch.tensor([[0, 1, 2], [3, 4, 1]])


def _with_grad_off(y: torch.Tensor) -> torch.Tensor:
    with torch.set_grad_enabled(False):
        return y + 1


# Calls that a Hugging Face model makes and that do no multiply-accumulates below.
FREE_CALLS = {
    "tensor": lambda y: torch.tensor(2.0) * y,
    "as_tensor": lambda y: torch.as_tensor([[[1]], [[2]]], dtype=torch.float64) * y,
    "as_tensor_of_a_tensor": lambda y: torch.as_tensor(y, dtype=torch.float64),
    "from_numpy": lambda y: torch.from_numpy(np.ones(5, dtype=np.float32)) * y,
    "isin": lambda y: torch.isin(y.round(), torch.tensor([0.0, 1.0])),
    "set_grad_enabled": _with_grad_off,
    "type": lambda y: (y.type(torch.float64), y.type()),
    "bool_float_int_complex": lambda y: (
        bool(y.any()),
        float(y[0, 0, 0]),
        int(y[0, 0, 0]),
        complex(y[0, 0, 0]),
    ),
    "cross_entropy": lambda y: F.cross_entropy(y.transpose(1, 2), _labels(y)),
    "cross_entropy_options": lambda y: F.cross_entropy(
        y.transpose(1, 2),
        _labels(y),
        torch.ones(5),
        ignore_index=1,
        reduction="sum",
        label_smoothing=0.1,
    ),
    "cross_entropy_of_probabilities": lambda y: F.cross_entropy(
        y.transpose(1, 2), y.transpose(1, 2).softmax(1)
    ),
    "cross_entropy_flat": lambda y: F.cross_entropy(
        y.flatten(0, 1), _labels(y).flatten(), reduction="none"
    ),
}


@pytest.mark.parametrize("case", FREE_CALLS)
def test_calls_free_of_mult_adds_run_at_the_torch_level_as_below_it(monkeypatch, case):
    free = FREE_CALLS[case]
    model = Calls(lambda x, w: free(F.linear(x, w)), (5, 4))  # counted at the torch level
    _counted_at_the_torch_level(monkeypatch, model, rand(2, 3, 4))


@pytest.mark.parametrize("attention", ["sdpa", "eager"])
def test_a_language_model_summary_runs_nothing_at_the_aten_level(audit, monkeypatch, attention):
    """GPT-2's attention, matrix products, scalar tensors and loss: each counted (or known
    free) where it is called, with the numbers counting every aten operator gives."""
    model = audit(tiny_gpt2(attn_implementation=attention).eval())
    tokens = torch.arange(8).reshape(1, 8)
    _counted_at_the_torch_level(monkeypatch, model, input_ids=tokens, labels=tokens)


# Every standard leaf counted from its shapes, with the variants that change its forward.
LEAVES = [
    (nn.Conv1d(4, 6, 3, stride=2, padding=1), (2, 4, 9)),
    (nn.Conv2d(4, 6, 3, groups=2, bias=False, padding_mode="reflect", padding=1), (2, 4, 7, 7)),
    (nn.Conv3d(2, 4, 3, dilation=2), (1, 2, 7, 7, 7)),
    (nn.ConvTranspose1d(4, 6, 3, stride=2, output_padding=1), (2, 4, 5)),
    (nn.ConvTranspose2d(4, 6, 3, groups=2, bias=False), (1, 4, 5, 5)),
    (nn.ConvTranspose3d(2, 4, 2), (1, 2, 3, 3, 3)),
    (nn.Linear(5, 3), (2, 7, 5)),
    (nn.Linear(5, 3, bias=False), (5,)),
    (nn.BatchNorm1d(4), (3, 4)),
    (nn.BatchNorm2d(4, affine=False), (3, 4, 2, 2)),
    (nn.BatchNorm3d(4, momentum=None), (3, 4, 2, 2, 2)),
    (nn.LayerNorm([3, 4], bias=False), (2, 3, 4)),
    (nn.GroupNorm(2, 4), (2, 4, 3)),
    (nn.ReLU(inplace=True), (2, 3)),
    (nn.ReLU6(), (2, 3)),
    (nn.GELU(approximate="tanh"), (2, 3)),
    (nn.SiLU(), (2, 3)),
    (nn.Sigmoid(), (2, 3)),
    (nn.Tanh(), (2, 3)),
    (nn.Hardswish(), (2, 3)),
    (nn.Hardsigmoid(), (2, 3)),
    (nn.LeakyReLU(0.2), (2, 3)),
    (nn.Dropout(0.5), (2, 3)),
    (nn.Dropout1d(0.5), (2, 3, 4)),
    (nn.Dropout2d(0.5), (2, 3, 4, 4)),
    (nn.Dropout3d(0.5), (2, 3, 4, 4, 4)),
    (nn.Identity(), (2, 3)),
    (nn.Flatten(), (2, 3, 4)),
    (nn.MaxPool1d(2), (1, 2, 6)),
    (nn.MaxPool2d(2, return_indices=True), (1, 2, 6, 6)),
    (nn.MaxPool3d(2), (1, 2, 4, 4, 4)),
    (nn.AvgPool1d(2), (1, 2, 6)),
    (nn.AvgPool2d(3, stride=1, padding=1), (1, 2, 6, 6)),
    (nn.AvgPool3d(2), (1, 2, 4, 4, 4)),
    (nn.AdaptiveAvgPool1d(3), (1, 2, 7)),
    (nn.AdaptiveAvgPool2d((1, 1)), (1, 2, 7, 7)),
    (nn.AdaptiveAvgPool3d(2), (1, 2, 4, 4, 4)),
    (nn.AdaptiveMaxPool1d(3), (1, 2, 7)),
    (nn.AdaptiveMaxPool2d(2, return_indices=True), (1, 2, 7, 7)),
    (nn.AdaptiveMaxPool3d(2), (1, 2, 4, 4, 4)),
]


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize(
    "leaf, shape", LEAVES, ids=lambda v: type(v).__name__ if isinstance(v, nn.Module) else ""
)
def test_a_standard_leaf_counted_from_shapes_matches_its_operators(leaf, shape, mode):
    """The same MACs, parameters in use, and uncounted operators as watching every operator."""
    from modelsummary._trace.tracer import Tracer

    leaf.train(mode == "train")
    model = nn.Sequential(leaf)  # a leaf as root would be its own only row
    x = torch.randn(shape, generator=torch.Generator().manual_seed(0))
    traces = []
    for every_op in (False, True):
        tracer = Tracer(model, every_op=every_op)
        with torch.no_grad(), tracer:
            model(x.clone())
        traces.append(tracer.finish())
    fast, full = traces
    assert [(c.path, c.mult_adds, c.output) for c in fast.calls] == [
        (c.path, c.mult_adds, c.output) for c in full.calls
    ]
    assert set(fast.param_uses) == set(full.param_uses)
    assert {fast.params[k].name for k, _ in fast.param_uses} == {
        f"0.{name}" for name, p in leaf.named_parameters()
    }
    assert fast.uncounted_ops == full.uncounted_ops == ()


def test_every_leaf_in_the_table_is_tested():
    leaves = {op for op, kind in current_catalogue().entries() if kind == "leaf"}
    assert leaves == {type(leaf) for leaf, _ in LEAVES}


def test_a_leaf_with_a_hook_of_its_own_or_a_subclass_is_watched_operator_by_operator():
    class MyLinear(nn.Linear):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x) @ self.weight  # uses the weight a second time

    hooked = nn.Linear(4, 4)
    extra = nn.Parameter(torch.ones(4))
    hooked.register_forward_hook(lambda m, i, o: o * extra)  # hooks run inside the call
    model = nn.Sequential(MyLinear(4, 4), hooked)
    s = summary(model, (2, 4), verbose=0)
    assert [layer.mult_adds for layer in s.layers] == [0, 2 * 4 * 4 * 2, 2 * 4 * 4]


@pytest.mark.parametrize(
    "make, shape, macs",
    [
        (lambda: nn.Conv2d(2, 3, 3), (1, 2, 8, 8), (3 * 6 * 6) * (2 * 3 * 3)),  # outputs x ...
        (lambda: nn.ConvTranspose2d(2, 3, 3), (1, 2, 8, 8), (2 * 8 * 8) * (3 * 3 * 3)),  # inputs
        (lambda: nn.Linear(8, 3), (5, 8), 5 * 8 * 3),
    ],
    ids=["conv", "transposed", "linear"],
)
def test_a_leaf_whose_weight_is_a_plain_tensor_is_still_counted(make, shape, macs):
    """A weight replaced by a plain attribute is no parameter, and its MACs still count."""
    leaf = make()
    weight = leaf.weight.detach().clone()
    del leaf.weight
    leaf.weight = weight
    s = summary(nn.Sequential(leaf), input_data=rand(*shape), verbose=0)
    assert s.total_mult_adds == macs
    assert s.uncounted_ops == {}
    assert s.total_params == leaf.bias.numel()
