"""A pass that fails: the table up to the failure, and messages that say what went wrong.

The truths are the models' own parameters and closed-form mult-adds of the layers that
ran; the audit fixture checks that each model is left exactly as it was.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from modelsummary import ModelSummaryError, summary
from modelsummary._present.render import FAILED_MARK, NOT_REACHED_TITLE, footer_groups
from tests import models as M

DEVICES = pytest.mark.parametrize("device", ["cpu", "meta"])


class Deep(nn.Module):
    """issue 23's example: the innermost Linear gets 30 features where it takes 31."""

    def __init__(self) -> None:
        super().__init__()
        inner = nn.Sequential(nn.Linear(20, 30), nn.Linear(31, 5))
        self.a = nn.Sequential(nn.Linear(10, 20), nn.ReLU(), inner)
        self.b = nn.Linear(5, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.b(self.a(x))


class RootFails(nn.Module):
    """Both children run; the root's own matrix product then fails."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(4, 6)
        self.fc2 = nn.Linear(6, 3)
        self.proj = nn.Parameter(torch.ones(4, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.fc1(x)) @ self.proj


class SharedTwice(nn.Module):
    """One Linear called twice: the second call gets three features where it takes four."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.head = nn.Linear(4, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.fc(self.fc(x)[:, :3]))


class Tokens(nn.Module):
    """Token ids into an embedding: float inputs made from input_size fail there."""

    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.Identity()
        self.embed = nn.Embedding(10, 8)
        self.head = nn.Linear(8, 2)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(self.norm(ids)))


def _failure(model: nn.Module, *args: object, **kwargs: object) -> ModelSummaryError:
    with pytest.raises(ModelSummaryError) as info:
        summary(model, *args, **{"verbose": 0, **kwargs})
    return info.value


def _linear_macs(batch: int, *layers: nn.Linear) -> int:
    return sum(batch * layer.in_features * layer.out_features for layer in layers)


def _numel(*modules: nn.Module) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


@DEVICES
def test_a_failure_in_a_deep_child_keeps_the_table_up_to_it(device, audit):
    model = audit(Deep())
    error = _failure(model, (2, 10), device=device)
    a0, inner = model.a[0], model.a[2]
    assert "module 'a.2.1' (Linear) with inputs [2, 30]" in str(error)
    # where the failing input came from: the call before it that returned that tensor
    assert f"Input [2, 30] came from 'a.2.0' ({inner[0]!r})" in str(error)
    s = error.summary
    assert s is not None and s.tree.partial
    rows = {layer.path: layer for layer in s.layers}
    assert list(rows) == ["", "a", "a.0", "a.1", "a.2", "a.2.0", "a.2.1"]
    assert [p for p, layer in rows.items() if layer.failed] == ["a.2.1"]
    assert rows["a.0"].output_size == [2, a0.out_features]
    assert rows["a.2.0"].output_size == [2, inner[0].out_features]
    assert rows["a.2.1"].input_size == [2, inner[0].out_features]
    failure = s.tree.failure
    assert [(n, spec.shape) for n, spec in failure.params] == [
        (n, tuple(p.shape)) for n, p in inner[1].named_parameters()
    ]
    # counts: the modules that ran, the failing one with its parameters; b never reached
    assert s.total_params == _numel(a0, inner)
    assert s.unused_params == _numel(model.b)
    assert s.all_params == _numel(model)
    assert [(e.path, e.params) for e in s.tree.unused] == [("b", _numel(model.b))]
    assert s.total_mult_adds == _linear_macs(2, a0, inner[0])


def test_the_partial_table_is_printed_before_the_error_by_default(capsys):
    with pytest.raises(ModelSummaryError):
        summary(Deep(), (2, 10))  # verbose at its default, as in a script
    printed = capsys.readouterr().out
    assert f"1 (Linear) {FAILED_MARK}" in printed
    assert NOT_REACHED_TITLE in printed
    assert "Total params (partial):" in printed
    assert "The input [2, 30] came from 'a.2.0'" in printed
    with pytest.raises(ModelSummaryError):
        summary(Deep(), (2, 10), verbose=0)
    assert capsys.readouterr().out == ""


@DEVICES
def test_a_failure_in_the_roots_own_code_after_its_children_ran(device, audit):
    model = audit(RootFails())
    error = _failure(model, (2, 4), device=device)
    assert "the root module (RootFails) with inputs [2, 4]" in str(error)
    s = error.summary
    assert [(layer.path, layer.failed) for layer in s.layers] == [
        ("", True),
        ("fc1", False),
        ("fc2", False),
    ]
    assert [layer.output_size for layer in s.layers[1:]] == [[2, 6], [2, 3]]
    assert s.layers[0].output is None
    assert s.total_params == _numel(model)  # the root's own parameter counts too
    assert s.total_mult_adds == _linear_macs(2, model.fc1, model.fc2)
    assert s.tree.failure.params == (("proj", s.tree.failure.params[0][1]),)
    assert s.tree.failure.params[0][1].shape == tuple(model.proj.shape)


@DEVICES
def test_a_failure_in_the_second_call_of_a_shared_module(device, audit):
    model = audit(SharedTwice())
    error = _failure(model, (2, 4), device=device)
    assert "module 'fc' (Linear) with inputs [2, 3]" in str(error)
    assert "came from" not in str(error)  # a slice in the root's code: no module returned it
    s = error.summary
    fc = next(layer for layer in s.layers if layer.path == "fc")
    assert (fc.calls, fc.failed) == (2, True)
    assert fc.input_size == [2, 4] and fc.output_size == [2, 4]  # the first call's
    assert s.tree.failure.index == 2  # the root's call, the first fc, then this one
    assert s.tree.failure.inputs.items[0].shape == (2, 3)
    assert s.total_params == _numel(model.fc)
    assert s.unused_params == _numel(model.head) and s.unused_modules == ("head",)


@DEVICES
def test_a_dtype_error_on_an_embedding(device, audit):
    model = audit(Tokens())
    error = _failure(model, (2, 5), device=device)
    message = str(error)
    assert "module 'embed' (Embedding) with inputs [2, 5]" in message
    assert "dtypes=[torch.long]" in message  # the advice for inputs made as floats
    assert "came from 'norm' (Identity())" in message
    s = error.summary
    assert [(layer.path, layer.failed) for layer in s.layers] == [
        ("", False),
        ("norm", False),
        ("embed", True),
    ]
    assert s.total_params == _numel(model.embed)
    assert s.unused_modules == ("head",)
    # and with the right dtype the same model runs through
    assert summary(model, (2, 5), dtypes=[torch.long], device=device, verbose=0).total_params == (
        _numel(model)
    )


def test_the_partial_footer_marks_what_stops_at_the_failure():
    s = _failure(Deep(), (2, 10)).summary
    lines = {line.label: line.value for g in footer_groups(s.tree) for line in g.lines}
    for label in ("Total params", "Total mult-adds", "Forward activations"):
        assert f"{label} (partial)" in lines and label not in lines
    assert "Params not reached" in lines and "Unused params" not in lines
    notes = [line.value for g in footer_groups(s.tree) for line in g.lines if line.kind == "note"]
    assert notes[0].startswith("The forward pass failed in module 'a.2.1' (Linear)")
    assert notes[1] == "It received [2, 30]; its parameters: weight [5, 31], bias [5]."
    # every renderer draws it
    assert FAILED_MARK in s.to_markdown() and FAILED_MARK in s._repr_html_()
    assert "Params not reached" in s.to_markdown()


def test_a_complete_summary_is_not_partial():
    s = summary(Deep().a[:2], (2, 10), verbose=0)
    assert not s.tree.partial and not any(layer.failed for layer in s.layers)
    assert FAILED_MARK not in str(s)


def test_a_root_that_fails_at_once_lists_every_module_as_not_reached():
    class Refuses(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ValueError("not today")

    model = Refuses()
    s = _failure(model, (1, 2)).summary
    assert [(layer.path, layer.failed) for layer in s.layers] == [("", True)]
    assert s.total_params == 0 and s.unused_params == _numel(model.fc)
    assert s.tree.failure.origins == ()


# -- messages (issue 25 item 6) ----------------------------------------------------------


def test_an_index_error_in_an_embedding_names_its_size(audit):
    model = audit(M.tiny_gpt2())
    positions = model.config.n_positions
    ids = torch.zeros(1, 2 * positions, dtype=torch.long)
    error = _failure(model, input_data=ids)
    message = str(error)
    assert "module 'transformer.wpe' (Embedding)" in message
    assert f"wpe has {positions:,} positions, the input asks for {2 * positions:,}" in message
    assert error.summary.tree.failure.note in message


def test_input_shapes_in_errors_show_dtypes_unless_float32():
    model = nn.Sequential(nn.Linear(4, 4), nn.Linear(3, 2)).to(torch.float64)
    message = str(_failure(model, (2, 4)))
    assert "with inputs [2, 4] float64" in message
    assert "Input [2, 4] float64 came from '0'" in message
    assert "with inputs [2, 4]:" in str(_failure(nn.Sequential(nn.Linear(3, 2)), (2, 4)))


class _KeywordsOnly(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.inner = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(input=x)


@DEVICES
def test_a_module_called_with_keywords_only_shows_them(device):
    error = _failure(_KeywordsOnly(), (2, 4), device=device)
    assert "module 'inner' (Linear) with inputs {input: [2, 4]}" in str(error)
    assert error.summary.tree.failure.inputs.items[0].items[0][0] == "input"
