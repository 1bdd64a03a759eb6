"""The benchmark scripts keep working: their contenders run, and the reference tracer
records what it says (timings themselves are measured by running the scripts)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch
from torch import nn
from torch.nn.modules import module as module_hooks
from torch.overrides import _get_current_function_mode_stack

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def overhead() -> ModuleType:
    spec = importlib.util.spec_from_file_location("overhead", BENCHMARKS / "overhead.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["overhead"] = module
    spec.loader.exec_module(module)
    return module


def _global_hooks() -> tuple[int, int, int]:
    return (
        len(module_hooks._global_forward_pre_hooks),
        len(module_hooks._global_forward_hooks),
        len(getattr(module_hooks, "_global_forward_hooks_with_kwargs", {})),
    )


def test_least_records_each_call_innermost_first_and_leaves_nothing_behind(
    overhead: ModuleType,
) -> None:
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Sequential(nn.Linear(3, 2)))
    before = _global_hooks()
    x = torch.ones(5, 4)
    seen = overhead.least(lambda: model(x))
    assert seen == [  # a post-hook runs as each call returns: the innermost first
        {"type": "Linear", "output": (5, 3)},
        {"type": "ReLU", "output": (5, 3)},
        {"type": "Linear", "output": (5, 2)},
        {"type": "Sequential", "output": (5, 2)},
        {"type": "Sequential", "output": (5, 2)},
    ]
    assert _global_hooks() == before
    assert not _get_current_function_mode_stack()


def test_the_lookup_mode_sees_each_operator_and_returns_its_result(overhead: ModuleType) -> None:
    mode = overhead.LookupMode()
    seen: list[object] = []
    mode.kinds = type("Spy", (dict,), {"get": lambda self, f: seen.append(f)})()
    with mode:
        out = torch.add(torch.ones(2), 1)
    assert out.tolist() == [2.0, 2.0]
    assert torch.add in seen


def test_every_contender_runs_on_a_small_model(overhead: ModuleType) -> None:
    from modelsummary import summary

    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    before = _global_hooks()
    fns = overhead.contenders(model, torch.ones(1, 4), summary, baseline=summary)
    assert list(fns) == ["bare", "floor", "least", "modelsummary", "baseline", "torchinfo"]
    times = overhead.timed(fns, repeat=2, clock=lambda: 0.0)
    assert {k: len(v) for k, v in times.items()} == dict.fromkeys(fns, 2)
    assert overhead.module_calls(model, fns["bare"]) == 3
    assert _global_hooks() == before
