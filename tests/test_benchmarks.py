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


def _script(name: str) -> ModuleType:
    """A script of benchmarks/ imported as a module (as the scripts import each other)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, BENCHMARKS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def overhead() -> ModuleType:
    return _script("overhead")


@pytest.fixture(scope="module")
def instructions(overhead: ModuleType) -> ModuleType:
    return _script("instructions")


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


def _dump(path: Path, label: str, events: dict[str, int]) -> None:
    """A callgrind dump as far as its header and totals go."""
    path.write_text(
        "# callgrind format\nversion: 1\n"
        f"desc: Trigger: dump {label}\n"
        f"events: {' '.join(events)}\n"
        "summary: 0\n\nfn=(1) main\n0 1\n"
        f"totals: {' '.join(str(v) for v in events.values())}\n"
    )


def test_counts_are_read_per_call_with_the_cycle_estimate_where_caches_were_simulated(
    instructions: ModuleType, tmp_path: Path
) -> None:
    repeat = instructions.REPEAT
    simulated = {"Ir": 1000 * repeat, "Dr": 7, "Dw": 8, "I1mr": 2 * repeat, "D1mr": 3 * repeat}
    simulated |= {"D1mw": 4 * repeat, "ILmr": repeat, "DLmr": 0, "DLmw": 0, "Bc": 50}
    simulated |= {"Bcm": 5 * repeat, "Bi": 10, "Bim": 6 * repeat}
    _dump(tmp_path / "cg.out.1", "m/summary/a", simulated)
    _dump(tmp_path / "cg.out.2", "m/bare/a", {"Ir": 400 * repeat})
    _dump(tmp_path / "other.out.1", "m/bare/b", {"Ir": 1})  # another run's dump: not read
    counts = instructions.totals(str(tmp_path / "cg.out"))
    # one cycle an instruction, 10 a first-level miss or mispredicted branch, 100 a last-level miss
    cycles = 1000 + 10 * (2 + 3 + 4) + 10 * (5 + 6) + 100 * 1
    assert counts == {
        "Ir": {"m/summary/a": 1000, "m/bare/a": 400},
        "CEst": {"m/summary/a": cycles},
    }


def test_the_report_gives_overheads_side_by_side_and_as_multiples_of_the_floor(
    instructions: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    counts = {"m/bare/new": 100.0, "m/summary/new": 400.0, "m/bare/old": 100.0}
    counts |= {"m/summary/old": 500.0, "m/floor/reference": 200.0, "m/least/reference": 250.0}
    instructions.report(counts, "Instructions", ["m"], ["bare", "summary"], ["new", "old"])
    out = capsys.readouterr().out
    assert "| m | overhead | 0.0 | 0.0 | 0.750 |" in out  # 300 against 400, in millions
    assert "| m | 1.50× | 3.00× | 4.00× |" in out  # least, new and old over the floor's 100


def test_the_overhead_script_prints_both_tables(
    overhead: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    threads = torch.get_num_threads()
    monkeypatch.setattr(sys, "argv", ["overhead.py", "--models", "linears", "--repeat", "1"])
    try:
        overhead.main()
    finally:
        torch.set_num_threads(threads)
    out = capsys.readouterr().out
    assert "| linears | 1,001 |" in out  # the Sequential and its 1,000 layers
    table = out.split("Each over the bare pass")[1]
    assert "| model | floor | least | modelsummary | torchinfo |" in table
    assert "| linears | " in table
