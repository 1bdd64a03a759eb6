"""The three reference cases from the second seed article, with exact numbers and goldens."""

from __future__ import annotations

import pytest

from modelsummary import summary
from tests.conftest import check_invariants
from tests.models import SeedCase1, SeedCase2, SeedCase3

SHAPE = (1, 1, 512, 512)


def test_case1_two_convs_count_18(audit):
    model = audit(SeedCase1())
    s = summary(model, SHAPE, verbose=0)
    assert (s.total_params, s.unused_params, s.all_params) == (18, 0, 18)
    assert s.unused_modules == ()
    assert [(layer.path, layer.calls, layer.num_params) for layer in s.layers] == [
        ("", 1, 0),
        ("conv1", 1, 9),
        ("conv2", 1, 9),
    ]
    check_invariants(s, model)


def test_case2_conv_called_twice_counts_9_once(audit):
    model = audit(SeedCase2())
    s = summary(model, SHAPE, verbose=0)
    assert (s.total_params, s.unused_params, s.all_params) == (9, 0, 9)
    conv1 = s.layers[1]
    assert (conv1.path, conv1.calls, conv1.num_params) == ("conv1", 2, 9)
    assert len(s.layers) == 2  # one row for both calls
    check_invariants(s, model)


def test_case3_unused_conv2_is_listed_apart(audit):
    model = audit(SeedCase3())
    s = summary(model, SHAPE, verbose=0)
    assert (s.total_params, s.unused_params, s.all_params) == (9, 9, 18)
    assert s.unused_modules == ("conv2",)
    assert [(e.path, e.type_name, e.params) for e in s.tree.unused] == [("conv2", "Conv2d", 9)]
    assert "conv2" not in [layer.path for layer in s.layers]
    check_invariants(s, model)


@pytest.mark.parametrize(
    "name, model_cls",
    [("case1", SeedCase1), ("case2", SeedCase2), ("case3", SeedCase3)],
    ids=["case1", "case2", "case3"],
)
def test_printed_tables_match_goldens(golden, name, model_cls):
    s = summary(model_cls(), SHAPE, verbose=0)
    golden(f"seed_{name}", str(s))


def test_case3_table_shows_unused_section_and_footer():
    text = str(summary(SeedCase3(), SHAPE, verbose=0))
    unused_section = text.split("Unused (never called or used)")[1]
    assert "conv2 (Conv2d)" in unused_section.split("Total params")[0]
    assert "Total params: 9\n" in text
    assert "Unused params: 9\n" in text
    assert "All params: 18\n" in text


@pytest.mark.parametrize("verbose", [None, 1])
def test_summary_prints_when_verbose(capsys, verbose):
    s = summary(SeedCase3(), SHAPE, verbose=verbose)
    assert capsys.readouterr().out == str(s) + "\n"


def test_verbose_zero_prints_nothing(capsys):
    summary(SeedCase3(), SHAPE, verbose=0)
    assert capsys.readouterr().out == ""


def test_repr_is_the_table():
    s = summary(SeedCase2(), SHAPE, verbose=0)
    assert repr(s) == str(s)
    assert "conv1 (Conv2d) ×2" in str(s)


def test_interactive_shells_get_the_value_not_a_print(capsys, monkeypatch):
    monkeypatch.setattr("sys.ps1", ">>> ", raising=False)
    s = summary(SeedCase2(), SHAPE)
    assert capsys.readouterr().out == ""  # the prompt shows repr(s), which is the table
    assert repr(s) == str(s)
