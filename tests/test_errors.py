"""Errors, all in one place: wrong arguments fail before any forward pass, with the model
left as it was; a failing forward names the module, its path and the shapes it got; errors
the model catches itself do not confuse that; an interrupt mid-pass restores everything; odd
inputs that are not errors pass through.

docs/errors.md lists the cases.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from modelsummary import ModelSummaryError, summary
from tests import models as M


class NoForward(nn.Module):
    pass


# -- wrong arguments: refused before any forward pass ------------------------------------------


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        ({"optimizer": "adam"}, ValueError, "optimizer= needs a forward pass"),
        ({"col_names": ["num_params", "time"]}, ValueError, "time needs a forward pass"),
        ({"input_size": (1, 0)}, ValueError, "positive sizes"),
        ({"input_size": (1, -3)}, ValueError, "positive sizes"),
        ({"input_size": (1, 2.5)}, TypeError, "integers"),
        ({"input_size": (1, True)}, TypeError, "integers"),
        ({"input_size": "1,2"}, TypeError, "input_size must be a shape"),
        ({"input_size": ()}, ValueError, "empty"),
        # () in a list of shapes is a 0-d input (torchinfo's []): two inputs for a forward of one
        ({"input_size": [(1, 2), ()]}, TypeError, "do not fit"),
        ({"input_size": [(1, 2), 3]}, TypeError, "one shape or a list of shapes"),
        ({"input_size": (1, 2), "input_data": torch.zeros(1, 2)}, ValueError, "not both"),
        ({"input_data": 3}, TypeError, "input_data must be"),
        ({"input_data": {1: torch.zeros(1)}}, TypeError, "str keys"),
        ({"input_size": (1, 2), "dtypes": [torch.float, torch.long]}, ValueError, "2 entries"),
        ({"input_size": (1, 2), "dtypes": ["float"]}, TypeError, "torch.dtype"),
        ({"input_size": (1, 2), "col_names": ["output_size", "nope"]}, ValueError, "nope"),
        ({"input_size": (1, 2), "col_names": [3]}, TypeError, "strings"),
        ({"input_size": (1, 2), "row_settings": ["tree"]}, ValueError, "row_settings"),
        ({"input_size": (1, 2), "depth": -1}, ValueError, "depth"),
        ({"input_size": (1, 2), "depth": 1.5}, ValueError, "depth"),
        ({"input_size": (1, 2), "col_width": 0}, ValueError, "col_width"),
        ({"input_size": (1, 2), "device": "nonsense"}, ValueError, "not a valid torch device"),
        ({"input_size": (1, 2), "device": 3}, TypeError, "device"),
        ({"input_size": (1, 2), "mode": "test"}, ValueError, "mode"),
        ({"input_size": (1, 2), "verbose": 5}, ValueError, "verbose"),
        ({"input_size": (1, 2), "batch_dim": -1}, ValueError, "batch_dim"),
        ({"input_size": (1, 2), "cache_forward_pass": "yes"}, TypeError, "cache_forward_pass"),
        ({"input_size": [(1, 2)] * 3}, TypeError, "do not fit NeverRun.forward"),
        ({"input_size": (1, 2), "bogus": 1}, TypeError, "bogus"),
        ({"input_data": {"y": torch.zeros(1, 2)}}, TypeError, "do not fit"),
        ({"input_size": (1, 2), "batch_dim": 3}, ValueError, "past the end"),
        (
            {"input_data": [torch.zeros(2)], "dtypes": [torch.float]},
            ValueError,
            "dtypes applies",
        ),
        (
            {"input_data": torch.zeros(2), "dtypes": [torch.float]},
            ValueError,
            "dtypes applies",
        ),
        ({"dtypes": [torch.float]}, ValueError, "dtypes applies"),
        ({"input_size": (1, 2), "device": "cuda:99"}, ValueError, "not available"),
        ({"input_size": (1, 2), "verbose": "1"}, TypeError, "verbose"),
        ({"input_size": (1, 2), "verbose": 1.0}, TypeError, "verbose"),
        ({"input_size": (1, 2), "col_names": 5}, TypeError, "col_names must be a list"),
        ({"input_size": (1, 2), "row_settings": 5}, TypeError, "row_settings"),
        ({"input_size": (1, 2), "depth": True}, ValueError, "depth"),
        ({"input_size": (1, 2), "col_width": "wide"}, ValueError, "col_width"),
        ({"input_size": [[(1, 2)]]}, TypeError, "integers"),
        ({"input_size": (1, None)}, TypeError, "integers|one shape"),
        ({"input_data": "text"}, TypeError, "input_data must be"),
        ({"input_size": (1, 2), "mode": 3}, ValueError, "mode"),
    ],
    ids=lambda v: None,
)
def test_bad_arguments_raise_before_forward(audit, kwargs, error, message):
    model = audit(M.NeverRun())
    with pytest.raises(error, match=message):
        summary(model, **{"verbose": 0, **kwargs})


@pytest.mark.parametrize(
    "model, kwargs, error, message",
    [
        (nn.Linear, {"input_size": (1, 2)}, TypeError, "instance, got the class Linear"),
        (None, {"input_size": (1, 2)}, TypeError, "torch.nn.Module, got NoneType"),
        (NoForward(), {"input_size": (1, 2)}, TypeError, "defines no forward"),
    ],
    ids=lambda v: None,
)
def test_a_model_that_is_no_module_with_a_forward_is_refused(audit, model, kwargs, error, message):
    if isinstance(model, nn.Module):
        audit(model)
    with pytest.raises(error, match=message):
        summary(model, **{"verbose": 0, **kwargs})


def test_model_must_be_a_module():
    with pytest.raises(TypeError, match=r"torch\.nn\.Module"):
        summary(lambda x: x, (1, 2))  # type: ignore[arg-type]


# -- a failing forward: the module, its path and its shapes ------------------------------------


def test_failing_forward_names_innermost_module_and_its_shapes():
    with pytest.raises(ModelSummaryError) as info:
        summary(M.Failing(), (3, 4), verbose=0)
    message = str(info.value)
    assert "module 'body.1' (Linear)" in message
    assert "with inputs [3, 4]" in message
    assert isinstance(info.value.__cause__, RuntimeError)
    assert isinstance(info.value, RuntimeError)


def test_failure_in_the_root_itself():
    class Root(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ValueError("bad input")

    with pytest.raises(ModelSummaryError, match=r"the root module \(Root\).*ValueError: bad input"):
        summary(Root(), (1, 2), verbose=0)


def test_failure_deep_inside_names_the_path_and_shapes(audit):
    inner = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU(), nn.Linear(5, 2)))
    model = audit(nn.Sequential(nn.Sequential(inner)))
    with pytest.raises(ModelSummaryError) as info:
        summary(model, (3, 4), verbose=0)
    message = str(info.value)
    assert "module '0.0.1.1' (Linear)" in message
    assert "[3, 4]" in message  # the shape it got
    assert isinstance(info.value.__cause__, RuntimeError)


# -- errors the model catches itself ------------------------------------------------------------


def test_child_error_caught_by_parent_does_not_confuse_attribution():
    class Tolerant(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bad = nn.Linear(5, 5)
            self.good = nn.Linear(4, 4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            try:  # noqa: SIM105 - the point is a plain try/except in user code
                self.bad(x)
            except RuntimeError:
                pass
            return self.good(x)

    s = summary(Tolerant(), (1, 4), verbose=0)
    assert s.total_params == 20  # bad's weight reached no operator that completed
    assert s.unused_params == 30
    assert s.unused_modules == ()  # bad was called (and raised); it is not "never called"
    bad = next(layer for layer in s.layers if layer.path == "bad")
    assert (bad.calls, bad.num_params, bad.output) == (1, 0, None)
    assert [(e.path, e.params) for e in s.tree.unused] == [("bad.weight", 25), ("bad.bias", 5)]


def test_after_a_caught_error_in_a_leaf_the_parent_is_still_watched():
    """A standard leaf runs with the torch-level mode off; when it raises and its parent
    catches the error, the mode is back on for the parent's own operators."""

    class Tolerant(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bad = nn.Linear(5, 2)
            self.extra = nn.Parameter(torch.ones(4, 4))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            try:  # noqa: SIM105 - the point is a plain try/except in user code
                self.bad(x)
            except RuntimeError:
                pass
            return torch.nn.functional.linear(x, self.extra)  # the root's own operator

    model = Tolerant()
    s = summary(model, (3, 4), verbose=0)
    assert s.total_params == 16 and s.unused_params == 12  # extra used, bad's never
    assert s.layers[0].mult_adds == 3 * 4 * 4
    assert s.layers[1].calls == 1 and s.layers[1].output is None


def test_an_error_caught_and_raised_anew_names_the_module_that_raised_it():
    class Wraps(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Linear(5, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            try:
                return self.inner(x)
            except RuntimeError as err:
                raise ValueError("wrapped") from err

    model = nn.Sequential(Wraps())
    with pytest.raises(ModelSummaryError, match=r"module '0' \(Wraps\).*ValueError: wrapped"):
        summary(model, (3, 4), verbose=0)


# -- an interrupt mid-pass --------------------------------------------------------------------


class Interrupting(nn.Module):
    """Flips state the summary must restore, then raises KeyboardInterrupt mid-pass."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.body(x)
        self.body[0].weight.requires_grad_(False)
        raise KeyboardInterrupt


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_keyboard_interrupt_mid_pass_restores_everything(audit, mode):
    model = audit(Interrupting().train())
    with pytest.raises(KeyboardInterrupt):
        summary(model, (3, 4), mode=mode, verbose=0)
    # the audit asserts modes, BN statistics, requires_grad, hooks and RNG at teardown;
    # the model still works and is not left in the summary's mode
    assert model.training and all(m.training for m in model.modules())


# -- odd inputs that are not errors -----------------------------------------------------------


def test_non_tensor_and_odd_inputs_pass_through(audit):
    class Takes(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 3)

        def forward(self, x, n: int, tag: str, opt=None):
            return self.fc(x) * n if tag == "go" and opt is None else x

    model = audit(Takes())
    s = summary(model, input_data=[M.rand(1, 3), 2, "go"], verbose=0)
    assert s.total_params == 12
    assert s.to_dict()["layers"][0]["inputs"] == [
        {"shape": [1, 3], "dtype": "float32"},
        {"type": "int"},
        {"type": "str"},
    ]
