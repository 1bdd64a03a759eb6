"""What a summary adds to a forward pass whose compute is negligible, against the floor.

Any tracer built from module hooks and a torch-function mode pays an instrumentation
floor: the same forward pass under no-op process-wide module forward hooks (pre and
post) and a no-op ``TorchFunctionMode``. On a fast GPU the forward of a small input is
launch-bound, so what a summary adds on top of that floor is what a user sees. This
script times, interleaved in one run with one torch thread:

* ``bare``: a ``no_grad`` forward pass;
* ``floor``: the same pass under the no-op hooks and mode;
* ``modelsummary``: ``summary(model, input_data=..., verbose=0)``;
* ``torchinfo``: ``torchinfo.summary(model, input_data=..., verbose=0)``;

on three models with tiny inputs: resnet50 at 1x3x32x32, a 12-layer GPT-2 of width 64
(4 heads, a vocabulary of 1,000) at 8 tokens, and 1,000 ``Linear(8, 8)`` in a
``Sequential``. For each it prints the overhead over the bare pass per module call
(microseconds) and as a multiple of the floor's overhead, from the median over the
rounds of each round's own figures (the contenders of a round run back to back, so the
machine's slow drift cancels).

Usage:
    python benchmarks/overhead.py [--repeat 30] [--models resnet50 gpt2 linears]
    python benchmarks/overhead.py --repo /path/to/another/checkout  # time that version

``--repo`` imports ``modelsummary`` from another checkout, so two versions can be
measured back to back (not in one process: both are the same package).
"""

from __future__ import annotations

import argparse
import importlib
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as module_hooks
from torch.overrides import TorchFunctionMode

ROOT = Path(__file__).resolve().parents[1]


class NoOpMode(TorchFunctionMode):
    """A torch-function mode that only runs the call."""

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        return func(*args, **(kwargs or {}))


def _pre(module: nn.Module, args: tuple[Any, ...]) -> None:
    return None


def _post(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
    return None


def build(name: str) -> tuple[nn.Module, Any]:
    """A model and its input data (a tensor or a dict of keyword arguments)."""
    if name == "resnet50":
        import torchvision

        return torchvision.models.resnet50(), torch.rand(1, 3, 32, 32)
    if name == "gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel

        config = GPT2Config(
            n_layer=12,
            n_embd=64,
            n_head=4,
            vocab_size=1000,
            n_positions=64,
            bos_token_id=0,
            eos_token_id=0,
        )
        return GPT2LMHeadModel(config), {"input_ids": torch.zeros(1, 8, dtype=torch.long)}
    if name == "linears":
        return nn.Sequential(*[nn.Linear(8, 8) for _ in range(1000)]), torch.rand(1, 8)
    raise ValueError(name)


def module_calls(model: nn.Module, call: Callable[[], object]) -> int:
    """How many module calls one forward pass makes."""
    count = 0

    def pre(module: nn.Module, args: tuple[Any, ...]) -> None:
        nonlocal count
        count += 1

    handle = module_hooks.register_module_forward_pre_hook(pre)
    try:
        call()
    finally:
        handle.remove()
    return count


def contenders(model: nn.Module, data: Any, summary: Any) -> dict[str, Callable[[], object]]:
    import torchinfo

    model.eval()

    def bare() -> object:
        with torch.no_grad():
            return model(**data) if isinstance(data, dict) else model(data)

    def floor() -> object:
        pre = module_hooks.register_module_forward_pre_hook(_pre)
        post = module_hooks.register_module_forward_hook(_post, with_kwargs=True, always_call=True)
        try:
            with NoOpMode():
                return bare()
        finally:
            pre.remove()
            post.remove()
            getattr(module_hooks, "_global_forward_hooks_with_kwargs", {}).pop(post.id, None)

    cpu = torch.device("cpu")
    return {
        "bare": bare,
        "floor": floor,
        "modelsummary": lambda: summary(model, input_data=data, verbose=0),
        "torchinfo": lambda: torchinfo.summary(model, input_data=data, device=cpu, verbose=0),
    }


def timed(fns: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Interleaved rounds after two warm-ups each."""
    for fn in fns.values():
        fn()
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        for key, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="interleaved rounds")
    parser.add_argument("--models", nargs="*", default=["resnet50", "gpt2", "linears"])
    parser.add_argument("--repo", default=str(ROOT), help="checkout to import modelsummary from")
    opts = parser.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, str(Path(opts.repo).resolve()))
    summary = importlib.import_module("modelsummary").summary
    where = Path(sys.modules["modelsummary"].__file__ or "").parent
    print(
        f"modelsummary from {where}; Python {platform.python_version()}, torch"
        f" {torch.__version__}, 1 torch thread, {opts.repeat} interleaved rounds.\n"
    )
    print(
        "| model | module calls | bare | floor | modelsummary | torchinfo |"
        " µs per call: floor / modelsummary / torchinfo |"
        " modelsummary / floor | torchinfo / floor |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in opts.models:
        model, data = build(name)
        fns = contenders(model, data, summary)
        calls = module_calls(model, fns["bare"])
        times = timed(fns, opts.repeat)
        rounds = list(zip(*(times[k] for k in fns), strict=True))
        keys = list(fns)
        # per round: the overhead of each contender over that round's bare pass
        extra = {k: statistics.median(r[keys.index(k)] - r[0] for r in rounds) for k in keys[1:]}
        ratio = {
            k: statistics.median((r[keys.index(k)] - r[0]) / max(r[1] - r[0], 1e-9) for r in rounds)
            for k in ("modelsummary", "torchinfo")
        }
        med = {k: statistics.median(v) for k, v in times.items()}
        per_call = " / ".join(f"{extra[k] / calls * 1e6:.1f}" for k in keys[1:])
        print(
            f"| {name} | {calls:,} | {med['bare'] * 1e3:.2f} ms | {med['floor'] * 1e3:.2f} ms |"
            f" {med['modelsummary'] * 1e3:.2f} ms | {med['torchinfo'] * 1e3:.2f} ms |"
            f" {per_call} | {ratio['modelsummary']:.2f}× | {ratio['torchinfo']:.2f}× |"
        )


if __name__ == "__main__":
    main()
