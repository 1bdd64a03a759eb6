"""Summaries in several threads at once, of different models or of one, are each correct.

The tracer's hooks are process-wide but record only their own model's modules,
called from their own thread, and torch's TorchFunctionMode stack is
thread-local, so one thread's pass must not see another's. A barrier inside
each forward makes the passes overlap for certain.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import torch
from torch import nn
from torch.overrides import _get_current_function_mode_stack

from modelsummary import summary
from tests.conftest import StateSnapshot, backward_reached, check_invariants, used_names

THREADS = 4


class Waits(nn.Module):
    """``width``-wide layers; its forward waits for every thread mid-pass, then uses
    its parameters (one of them only functionally)."""

    def __init__(self, width: int, barrier: threading.Barrier | None) -> None:
        super().__init__()
        self.first = nn.Linear(3, width)
        self.second = nn.Linear(width, width)
        self.unused = nn.Linear(width, 1)
        self.barrier = barrier

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.first(x)
        if self.barrier is not None:
            self.barrier.wait(timeout=30)
        return torch.nn.functional.linear(y, self.second.weight) + self.second.bias


def test_concurrent_summaries_of_different_models_are_each_correct():
    barrier = threading.Barrier(THREADS)
    models = [Waits(width=2 + i, barrier=barrier) for i in range(THREADS)]
    inputs = [torch.full((2, 3), float(i)) for i in range(THREADS)]
    snapshots = [StateSnapshot(m) for m in models]

    def run(i: int):
        s = summary(models[i], input_data=inputs[i], verbose=0)
        return s, len(_get_current_function_mode_stack())

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(run, range(THREADS)))

    for model, x, snapshot, (s, modes_left) in zip(models, inputs, snapshots, results, strict=True):
        model.barrier = None  # the oracle's pass runs alone
        width = model.second.out_features
        assert s.total_params == (3 * width + width) + (width * width + width)
        assert s.unused_params == width + 1 and s.unused_modules == ("unused",)
        assert used_names(s) == backward_reached(model, x)
        assert modes_left == 0
        check_invariants(s, model)
        snapshot.assert_unchanged()
    assert len(_get_current_function_mode_stack()) == 0


def test_concurrent_summaries_of_one_model_each_see_only_their_own_pass():
    barrier = threading.Barrier(THREADS)
    model = Waits(width=3, barrier=None).eval()
    alone = summary(model, (2, 3), verbose=0).to_dict()
    model.barrier = barrier
    snapshot = StateSnapshot(model)

    def run(i: int):
        return summary(model, input_data=torch.full((2, 3), float(i)), verbose=0).to_dict()

    with ThreadPoolExecutor(THREADS) as pool:
        results = list(pool.map(run, range(THREADS)))
    model.barrier = None
    for result in results:
        assert result == alone  # one call per module, not one per thread
    assert [layer["calls"] for layer in alone["layers"]] == [1, 1, 0]  # second: functional
    snapshot.assert_unchanged()
