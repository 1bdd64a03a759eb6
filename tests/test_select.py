"""Large layers and the top k: against each module's own parameters, as data and as a table."""

from __future__ import annotations

import pytest
from torch import nn

from modelsummary import summary
from modelsummary._present.select import select_layers
from modelsummary._tree.nodes import SummaryNode, SummaryTree, Totals


def _model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3),
        nn.ReLU(),
        nn.Sequential(nn.Conv2d(16, 32, 3), nn.BatchNorm2d(32)),
        nn.Flatten(),
        nn.Linear(32 * 4 * 4, 10),
    )


def _own_params(model: nn.Module) -> dict[str, int]:
    """The seed article's layer_wise_params: each module's directly registered parameters."""
    return {
        name: sum(p.numel() for p in m.parameters(recurse=False))
        for name, m in model.named_modules()
    }


@pytest.fixture(scope="module")
def model_and_summary():
    model = _model()
    return model, summary(model, (1, 3, 8, 8), verbose=0)


@pytest.mark.parametrize("threshold", [0, 100, 1000, 5000, 10**9])
def test_large_layers_match_the_modules_own_parameters(model_and_summary, threshold):
    model, s = model_and_summary
    expected = {k: v for k, v in _own_params(model).items() if v > threshold}
    selection = s.large_layers(threshold)
    assert selection.to_dict() == expected
    sizes = list(selection.to_dict().values())
    assert sizes == sorted(sizes, reverse=True)
    assert len(selection) == len(expected)


@pytest.mark.parametrize("k", [1, 2, 3, 50])
def test_top_layers_are_the_k_largest(model_and_summary, k):
    model, s = model_and_summary
    own = sorted((v for v in _own_params(model).values() if v), reverse=True)
    top = s.top_layers(k)
    assert list(top.to_dict().values()) == own[:k]
    assert [n.path for n in top] == list(top.to_dict())


def test_selection_prints_a_table_with_share_of_total(model_and_summary):
    _, s = model_and_summary
    text = str(s.top_layers(2))
    lines = text.splitlines()
    assert lines[0].split() == ["Layer", "Type", "Param", "#", "%", "of", "total"]
    for node, line in zip(s.top_layers(2), lines[2:], strict=True):
        assert line.split()[:2] == [node.path, node.type_name]
        assert line.split()[-1] == f"{100 * node.num_params / s.total_params:.2f}%"


def test_rank_by_mult_adds_on_a_hand_built_tree():
    a = SummaryNode("a", "Conv2d", 1, 1, mult_adds=500, num_params=1)
    b = SummaryNode("b", "Linear", 1, 1, mult_adds=50, num_params=100)
    c = SummaryNode("c", "ReLU", 1, 1)
    tree = SummaryTree(
        SummaryNode("", "Net", 0, 1, children=(a, b, c)),
        totals=Totals(total_params=101, mult_adds=550),
    )
    assert select_layers(tree, "mult_adds", top=5).to_dict() == {"a": 500, "b": 50}
    assert select_layers(tree, "mult_adds", threshold=100).to_dict() == {"a": 500}
    assert select_layers(tree, "params", top=1).to_dict() == {"b": 100}
    assert "90.91%" in str(select_layers(tree, "mult_adds", top=1))


@pytest.mark.parametrize(
    "call, error",
    [
        (lambda s: s.large_layers(-1), ValueError),
        (lambda s: s.large_layers("10"), TypeError),
        (lambda s: s.large_layers(True), TypeError),
        (lambda s: s.large_layers(10, by="flops"), ValueError),
        (lambda s: s.top_layers(0), ValueError),
        (lambda s: s.top_layers(1.5), TypeError),
    ],
    ids=["negative", "str", "bool", "measure", "zero_k", "float_k"],
)
def test_bad_selection_arguments(model_and_summary, call, error):
    with pytest.raises(error):
        call(model_and_summary[1])
