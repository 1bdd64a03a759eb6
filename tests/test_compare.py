"""compare() puts totals side by side; diff() says what changed when a model changes."""

from __future__ import annotations

import pytest
from torch import nn

from modelsummary import Comparison, compare, diff, summary
from tests.models import SeedCase2, SeedCase3


def _a() -> nn.Module:
    return nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 2))


def _b() -> nn.Module:
    return nn.Sequential(nn.Linear(10, 20), nn.Linear(20, 2))


def test_compare_models_and_summaries_side_by_side(audit):
    a, b = _a(), _b()  # both built before the audit snapshots the RNG
    audit(a), audit(b)
    sa = summary(a, (1, 10), verbose=0)
    table = compare(a, sa, b, names=["A", "A again", "B"], input_size=(1, 10))
    assert isinstance(table, Comparison)
    data = table.to_dict()
    assert data["A"] == data["A again"] == sa.to_dict()["totals"]
    assert data["B"]["total_params"] == sum(p.numel() for p in b.parameters())
    lines = str(table).splitlines()
    assert lines[0].split() == ["A", "A", "again", "B"]
    # every total the summaries report is a row, in to_dict() order; unmeasured ones are left out
    measured = [k for k, v in sa.to_dict()["totals"].items() if v is not None]
    assert "cuda_peak_bytes" not in measured  # no CUDA pass here
    assert [line.split()[0] for line in lines[2:]] == measured


def test_compare_used_unused_and_all_params():
    table = compare(SeedCase2(), SeedCase3(), input_size=(1, 1, 4, 4)).to_dict()
    assert list(table) == ["SeedCase2", "SeedCase3"]
    two, three = table["SeedCase2"], table["SeedCase3"]
    assert (two["total_params"], two["unused_params"], two["all_params"]) == (9, 0, 9)
    assert (three["total_params"], three["unused_params"], three["all_params"]) == (9, 9, 18)


def test_default_names_number_repeated_classes():
    table = compare(_a(), _b(), nn.Linear(10, 2), input_size=(1, 10))
    assert table.names == ("Sequential", "Sequential #2", "Linear")


def test_compare_takes_a_mapping_of_names_to_models_or_summaries():
    a = summary(_a(), (1, 10), verbose=0)
    by_mapping = compare({"small": a, "wide": _b()}, input_size=(1, 10))
    by_names = compare(a, _b(), names=["small", "wide"], input_size=(1, 10))
    assert by_mapping.names == ("small", "wide")
    assert by_mapping.to_dict() == by_names.to_dict()
    with pytest.raises(ValueError, match="not both"):
        compare({"small": a}, names=["other"])


@pytest.mark.parametrize(
    "args, kwargs, error",
    [
        ((), {}, ValueError),
        ((nn.Linear(2, 2),), {"names": ["a", "b"], "input_size": (1, 2)}, ValueError),
        (
            (nn.Linear(2, 2), nn.Linear(2, 2)),
            {"names": ["a", "a"], "input_size": (1, 2)},
            ValueError,
        ),
        (("not a model",), {}, TypeError),
        (({},), {}, ValueError),
        (({1: nn.Linear(2, 2)},), {"input_size": (1, 2)}, ValueError),
        ((nn.Linear(2, 2),), {"input_size": (1, 2), "verbose": 1}, ValueError),
    ],
    ids=["empty", "names_count", "names_repeat", "not_model", "empty_map", "map_keys", "verbose"],
)
def test_compare_bad_arguments(args, kwargs, error):
    with pytest.raises(error):
        compare(*args, **kwargs)


def test_keyword_arguments_need_a_model():
    s = summary(nn.Linear(2, 2), (1, 2), verbose=0)
    with pytest.raises(ValueError, match="apply only to models"):
        compare(s, input_size=(1, 2))


class Small(nn.Module):
    """The seed's monitored model: fc2 is replaced at epoch 2."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(10, 5)
        self.fc2 = nn.Linear(5, 2)

    def forward(self, x):
        return self.fc2(self.fc1(x))


def test_diff_when_a_layer_is_replaced():
    model = Small()  # changed on purpose below, so not audited
    before = summary(model, (1, 10), verbose=0)
    model.fc2 = nn.Linear(5, 3)
    after = summary(model, (1, 10), verbose=0)
    d = diff(before, after)
    assert d and not d.added and not d.removed
    fields = {(c.path, c.field): (c.before, c.after) for c in d.changed}
    assert fields[("fc2", "num_params")] == ("12", "18")
    assert fields[("fc2", "output")] == ("[1, 2]", "[1, 3]")
    assert ("fc1", "num_params") not in fields
    totals = {k: (a, b) for k, a, b in d.totals}
    assert totals["total_params"] == (before.total_params, after.total_params)
    assert "~ fc2: output [1, 2] -> [1, 3]; num_params 12 -> 18" in str(d)
    assert f"total_params: 67 -> 73 (+{after.total_params - before.total_params})" in str(d)


def test_diff_added_removed_and_newly_unused():
    class V1(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)

        def forward(self, x):
            return self.b(self.a(x))

    class V2(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(4, 4)
            self.b = nn.Linear(4, 4)
            self.c = nn.Linear(4, 4)
            self.old = nn.Linear(4, 4)

        def forward(self, x):
            return self.c(self.a(x))

    d = diff(V1(), V2(), input_size=(1, 4))
    assert [n.path for n in d.added] == ["c"]
    assert [n.path for n in d.removed] == ["b"]
    assert d.unused_added == ("b", "old")
    text = str(d)
    assert "- b (Linear): 20 params" in text and "+ c (Linear): 20 params" in text
    assert "+ unused: old" in text


def test_diff_of_identical_models_is_empty():
    d = diff(_a(), _a(), input_size=(1, 10))
    assert not d and str(d) == "no changes" and d.totals == ()


def test_diff_gives_each_change_in_its_total_s_unit():
    before = summary(nn.Sequential(nn.Linear(1000, 1000)), (1, 1000), verbose=0)
    after = summary(nn.Sequential(nn.Linear(1000, 10)), (1, 1000), verbose=0)
    lines = str(diff(before, after)).splitlines()
    assert "  total_params: 1,001,000 -> 10,010 (-990,990)" in lines
    assert "  param_bytes: 4.00 MB -> 40.04 kB (-3.96 MB)" in lines


def _params(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_diff_lists_an_added_container_with_its_subtree_count():
    import torchvision

    small, large = torchvision.models.resnet18(), torchvision.models.resnet34()
    d = diff(small, large, input_size=(1, 3, 32, 32))
    lines = str(d).splitlines()
    added_blocks = [
        f"layer{i}.{j}"
        for i, (n18, n34) in enumerate([(2, 3), (2, 4), (2, 6), (2, 3)], 1)
        for j in range(n18, n34)
    ]
    for path in added_blocks:
        block = large.get_submodule(path)
        assert f"+ {path} (BasicBlock): {_params(block):,} params" in lines
    assert f"+ layer1.2 (BasicBlock): {73_984:,} params" in lines
    assert _params(large.layer1[2]) == 73_984
    # The layers inside an added block are in d.added, and not listed again.
    assert "layer1.2.conv1" in [n.path for n in d.added]
    assert not any(line.startswith("+ layer1.2.") for line in lines)
    totals = {k: (a, b) for k, a, b in d.totals}
    assert totals["total_params"] == (_params(small), _params(large))


def test_diff_lists_a_removed_container_with_its_subtree_count():
    before = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Linear(4, 3), nn.Linear(3, 4)))
    after = nn.Sequential(nn.Linear(4, 4))
    lines = str(diff(before, after, input_size=(1, 4))).splitlines()
    assert f"- 1 (Sequential): {_params(before[1])} params" in lines
    assert not any(line.startswith("- 1.") for line in lines)


def test_compare_two_models_has_a_difference_column():
    a, b = _a(), _b()
    table = compare(a, b, names=["a", "b"], input_size=(1, 10))
    change = _params(b) - _params(a)
    assert table.differences()["total_params"] == (change, change / _params(a))
    lines = str(table).splitlines()
    assert lines[0].split() == ["a", "b", "difference"]
    row = next(line for line in lines if line.startswith("total_params"))
    assert row.split()[-2:] == [f"+{change:,}", f"(+{change / _params(a):.1%})"]
    unchanged = next(line for line in lines if line.startswith("input_bytes"))
    assert unchanged.split()[-1] == "0"


def test_difference_column_only_for_two():
    table = compare(_a(), _b(), _a(), input_size=(1, 10))
    assert "difference" not in str(table).splitlines()[0]
    with pytest.raises(ValueError, match="two summaries"):
        table.differences()
