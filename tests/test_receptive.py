"""The ``mode`` and ``receptive_field`` columns, from the records of the pass.

Receptive fields are checked against the closed form on a chain of convolutions
and pooling, and against the gradient: on a torchvision MobileNetV2 (strided,
depthwise and residual blocks) made linear on the way (positive weights and a
small positive input, so no activation clips), the input positions whose gradient
is nonzero for one output element span exactly the field.
"""

from __future__ import annotations

import pytest
import torch
import torchvision
from torch import nn

from modelsummary import summary
from modelsummary._present.render import COLUMNS, RenderOptions, table_cells
from modelsummary._trace.tracer import Tracer


def _rows(s) -> dict[str, object]:
    return {n.path: n for n in s.layers}


def _closed_form(layers: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``(field, stride)`` after each ``(kernel, stride)``: r += (k - 1) * j; j *= s."""
    field, jump, out = 1, 1, []
    for kernel, stride in layers:
        field += (kernel - 1) * jump
        jump *= stride
        out.append((field, jump))
    return out


def test_the_chain_of_the_issue_gives_3_5_7_15() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 2, 3),
        nn.Conv2d(2, 2, 3, stride=2),
        nn.MaxPool2d(2),
        nn.Conv2d(2, 2, 3),
        nn.Flatten(),
        nn.LazyLinear(3),
    )
    s = summary(model, (1, 1, 32, 32), col_names=("receptive_field",), verbose=0)
    rows = _rows(s)
    fields = [(rows[str(i)].receptive_field, rows[str(i)].rf_stride) for i in range(4)]
    expected = _closed_form([(3, 1), (3, 2), (2, 2), (3, 1)])
    assert [(f[0], j[0]) for f, j in fields] == expected == [(3, 1), (5, 2), (7, 4), (15, 4)]
    assert all(len(f) == 2 and f[0] == f[1] for f, _ in fields)
    cells = table_cells(s.tree, s.options)
    assert [row[1] for row in cells.rows] == [
        "--",  # the model ends in a linear layer
        "3 (stride 1)",
        "5 (stride 2)",
        "7 (stride 4)",
        "15 (stride 4)",
        "--",  # flatten: not a map of positions any more
        "--",
    ]


def test_dilation_and_unequal_kernels() -> None:
    model = nn.Sequential(
        nn.Conv2d(1, 1, (3, 1), dilation=2), nn.Conv2d(1, 1, (1, 5), stride=(1, 2))
    )
    s = summary(model, (1, 1, 20, 20), verbose=0)
    rows = _rows(s)
    assert (rows["0"].receptive_field, rows["0"].rf_stride) == ((5, 1), (1, 1))
    assert (rows["1"].receptive_field, rows["1"].rf_stride) == ((5, 5), (1, 2))
    cells = table_cells(s.tree, RenderOptions(columns=("receptive_field",)))
    assert cells.rows[1][1] == "5×1 (stride 1)"
    assert cells.rows[2][1] == "5 (stride 1×2)"
    assert COLUMNS["receptive_field"].header == "Receptive Field"


@pytest.fixture(scope="module")
def mobilenet():
    model = torchvision.models.mobilenet_v2().eval()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):  # positive: no activation clips a gradient away
                m.weight.fill_(1.0 / m.weight[0].numel())
    return model, summary(model, (1, 3, 224, 224), verbose=0)


def _gradient_extent(features: nn.Module) -> tuple[int, int]:
    """The rows and columns of the input whose gradient is nonzero for the middle
    element of the first channel of ``features``' output."""
    x = torch.full((1, 3, 224, 224), 0.1, requires_grad=True)
    y = features(x)
    y[0, 0, y.shape[2] // 2, y.shape[3] // 2].backward()
    assert x.grad is not None
    hit = x.grad[0].abs().sum(0).nonzero()
    return tuple(int(hit[:, d].max() - hit[:, d].min() + 1) for d in (0, 1))


@pytest.mark.parametrize("k", range(11), ids=lambda k: f"features.{k}")
def test_mobilenet_fields_match_the_gradient(mobilenet, k: int) -> None:
    model, s = mobilenet
    row = _rows(s)[f"features.{k}"]
    assert row.receptive_field == _gradient_extent(model.features[: k + 1])
    x = torch.zeros(1, 3, 224, 224)
    out = model.features[: k + 1](x)
    assert row.rf_stride == (224 // out.shape[2], 224 // out.shape[3])


def test_undefined_after_a_global_pool_a_linear_layer_or_attention(mobilenet) -> None:
    _, s = mobilenet
    rows = _rows(s)
    assert rows["classifier.1"].receptive_field is None  # after the global pool
    assert rows[""].receptive_field is None
    attention = nn.MultiheadAttention(8, 2, batch_first=True)

    class Attend(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.conv = nn.Conv1d(8, 8, 3, padding=1)
            self.attn = attention
            self.act = nn.ReLU()

        def forward(self, x):
            h = self.conv(x).transpose(1, 2)
            h, _ = self.attn(h, h, h)
            return self.act(h)

    t = _rows(summary(Attend(), (1, 8, 10), verbose=0))
    assert t["conv"].receptive_field == (3,)
    assert t["attn"].receptive_field is None and t["act"].receptive_field is None


class _Switch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.norm = nn.BatchNorm1d(4)
        self.fc = nn.Linear(4, 4)

    def forward(self, x):
        return self.fc(self.norm(self.drop(x)))


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_mode_column_shows_the_flag_of_the_pass(mode: str) -> None:
    model = _Switch()
    s = summary(model, (2, 4), mode=mode, col_names=("mode",), verbose=0)
    assert {n.path: n.training for n in s.layers} == {
        name or "": mode == "train" for name, _ in model.named_modules()
    }
    cells = table_cells(s.tree, s.options)
    assert {row[1] for row in cells.rows} == {mode}
    assert model.training  # the model's own flag is back


def test_mode_same_keeps_each_module_flag() -> None:
    model = _Switch()
    model.norm.eval()  # a frozen norm inside a model in training
    s = summary(model, (2, 4), mode="same", verbose=0)
    flags = {n.path: n.training for n in s.layers}
    assert flags == {name: m.training for name, m in model.named_modules()}
    assert flags["norm"] is False and flags["fc"] is True
    cells = table_cells(s.tree, RenderOptions(columns=("mode",)))
    assert [row[1] for row in cells.rows] == ["train", "train", "eval", "train"]


def test_nothing_defined_when_the_input_is_mixed_first() -> None:
    # The fields start at the model's input: a linear layer that takes it mixes every
    # position, so no call after it has one (the tree stage then resolves none), while
    # the same convolution on the input itself has its kernel's.
    conv = nn.Conv2d(1, 1, 3)
    mixed = nn.Sequential(nn.Flatten(), nn.Linear(64, 64), nn.Unflatten(1, (1, 8, 8)), conv)
    rows = _rows(summary(mixed, (1, 1, 8, 8), verbose=0))
    assert [rows[str(i)].receptive_field for i in range(4)] == [None] * 4
    alone = _rows(summary(nn.Sequential(conv), (1, 1, 8, 8), verbose=0))
    assert alone["0"].receptive_field == (3, 3)


def test_a_model_without_a_kernel_has_no_fields_and_no_data_flow() -> None:
    # An activation on the model's input keeps one position per element, which a model
    # with a convolution shows ("1 (stride 1)"); without any kernel the column has no
    # field to show, and the pass records no data flow between calls.
    relu = nn.ReLU()
    mlp = nn.Sequential(relu, nn.Flatten(), nn.Linear(64, 4))
    s = summary(mlp, (1, 1, 8, 8), col_names=("receptive_field",), verbose=0)
    assert [n.receptive_field for n in s.layers] == [None] * 4
    tracer = Tracer(mlp)
    with torch.no_grad(), tracer:
        mlp(torch.ones(1, 1, 8, 8))
    assert not tracer.calls.flow
    assert {(c.input_from, c.output_from) for c in tracer.finish().calls} == {(None, None)}
    with_conv = nn.Sequential(relu, nn.Conv2d(1, 1, 3))
    rows = _rows(summary(with_conv, (1, 1, 8, 8), verbose=0))
    assert (rows["0"].receptive_field, rows["1"].receptive_field) == ((), (3, 3))
