"""Hostile and wrong input: clear errors before any pass, failures that say where, interrupts.

The argument cases here are those the lead's tests/test_errors.py does not cover;
docs/errors.md lists them all.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from modelsummary import ModelSummaryError, summary
from tests import models as M


class NeverRun(nn.Module):
    """Fails the test if its forward is ever called."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor, scale: float = 1.0) -> torch.Tensor:
        raise AssertionError("the forward pass ran before the arguments were checked")


class NoForward(nn.Module):
    pass


@pytest.mark.parametrize(
    "model, kwargs, error, message",
    [
        (nn.Linear, {"input_size": (1, 2)}, TypeError, "instance, got the class Linear"),
        (None, {"input_size": (1, 2)}, TypeError, "torch.nn.Module, got NoneType"),
        (NoForward(), {"input_size": (1, 2)}, TypeError, "defines no forward"),
        (NeverRun(), {"input_size": [(1, 2)] * 3}, TypeError, "do not fit NeverRun.forward"),
        (NeverRun(), {"input_size": (1, 2), "bogus": 1}, TypeError, "bogus"),
        (NeverRun(), {"input_data": {"y": torch.zeros(1, 2)}}, TypeError, "do not fit"),
        (NeverRun(), {"input_size": (1, 2), "batch_dim": 3}, ValueError, "past the end"),
        (
            NeverRun(),
            {"input_data": [torch.zeros(2)], "dtypes": [torch.float]},
            ValueError,
            "dtypes applies",
        ),
        (
            NeverRun(),
            {"input_data": torch.zeros(2), "dtypes": [torch.float]},
            ValueError,
            "dtypes applies",
        ),
        (NeverRun(), {"dtypes": [torch.float]}, ValueError, "dtypes applies"),
        (NeverRun(), {"input_size": (1, 2), "device": "cuda:99"}, ValueError, "not available"),
        (NeverRun(), {"input_size": (1, 2), "verbose": "1"}, TypeError, "verbose"),
        (NeverRun(), {"input_size": (1, 2), "verbose": 1.0}, TypeError, "verbose"),
        (NeverRun(), {"input_size": (1, 2), "col_names": 5}, TypeError, "col_names must be a list"),
        (NeverRun(), {"input_size": (1, 2), "row_settings": 5}, TypeError, "row_settings"),
        (NeverRun(), {"input_size": (1, 2), "depth": True}, ValueError, "depth"),
        (NeverRun(), {"input_size": (1, 2), "col_width": "wide"}, ValueError, "col_width"),
        (NeverRun(), {"input_size": [[(1, 2)]]}, TypeError, "integers"),
        (NeverRun(), {"input_size": (1, None)}, TypeError, "integers|one shape"),
        (NeverRun(), {"input_data": "text"}, TypeError, "input_data must be"),
        (NeverRun(), {"input_size": (1, 2), "mode": 3}, ValueError, "mode"),
    ],
    ids=lambda v: None,
)
def test_bad_argument_raises_before_forward(audit, model, kwargs, error, message):
    if isinstance(model, nn.Module):
        audit(model)
    with pytest.raises(error, match=message):
        summary(model, **{"verbose": 0, **kwargs})


def test_failure_deep_inside_names_the_path_and_shapes(audit):
    inner = nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.ReLU(), nn.Linear(5, 2)))
    model = audit(nn.Sequential(nn.Sequential(inner)))
    with pytest.raises(ModelSummaryError) as info:
        summary(model, (3, 4), verbose=0)
    message = str(info.value)
    assert "module '0.0.1.1' (Linear)" in message
    assert "[3, 4]" in message  # the shape it got
    assert isinstance(info.value.__cause__, RuntimeError)


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
