"""What a summary adds to a forward pass whose compute is negligible, against the floor.

Any tracer built from module hooks and a torch-function mode pays an instrumentation
floor: the same forward pass under no-op process-wide module forward hooks (pre and
post) and a no-op ``TorchFunctionMode``. On a fast GPU the forward of a small input is
launch-bound, so what a summary adds on top of that floor is what a user sees. This
script times, interleaved in one run with one torch thread:

* ``bare``: a ``no_grad`` forward pass;
* ``floor``: the same pass under the no-op hooks and mode;
* ``least``: the least a tracer of this kind does to print a table at all: its
  post-hook keeps each call's module and output shape, its mode looks each operator
  up once in a dict (where a summary finds its formula), and one small record is
  made per call afterwards. Its multiple of the floor is a lower bound for any such
  tracer; a summary also counts parameters, uses, bytes and mult-adds;
* ``modelsummary``: ``summary(model, input_data=..., verbose=0)``;
* ``torchinfo``: ``torchinfo.summary(model, input_data=..., verbose=0)``;

on three models with tiny inputs: resnet50 at 1x3x32x32, a 12-layer GPT-2 of width 64
(4 heads, a vocabulary of 1,000) at 8 tokens, and 1,000 ``Linear(8, 8)`` in a
``Sequential``. For each it prints the overhead over the bare pass per module call
(microseconds) and as a multiple of the floor's overhead, from the medians over the
rounds of each round's own overheads (the contenders of a round run back to back, so
the machine's slow drift cancels).

Usage:
    python benchmarks/overhead.py [--repeat 30] [--models resnet50 gpt2 linears]
    python benchmarks/overhead.py --repo /path/to/another/checkout  # time that version
    python benchmarks/overhead.py --baseline /path/to/old/checkout --clock cpu
    python benchmarks/overhead.py --models resnet50 --resolution 224 --threads 2

``--repo`` imports ``modelsummary`` from another checkout. ``--baseline`` loads a second
checkout's package under another name (``modelsummary_baseline``) and times its
``summary()`` as one more contender in the same rounds, so two versions are compared
side by side in one process. ``--clock cpu`` times with the process's CPU time instead
of the wall clock: on a loaded machine the time spent waiting for a core is left out.
``--resolution`` sets the side of resnet50's input and ``--threads`` torch's threads, for
the case where compute counts; a second table gives each contender's time over the bare
pass's (the median of each round's own ratio, as ``bench.py`` reports it).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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


@contextmanager
def instrumented(post: Callable[..., None], mode: TorchFunctionMode) -> Iterator[None]:
    """Process-wide module hooks (the no-op pre-hook and ``post``) and ``mode``, for the body."""
    pre = module_hooks.register_module_forward_pre_hook(_pre)
    hook = module_hooks.register_module_forward_hook(post, with_kwargs=True, always_call=True)
    try:
        with mode:
            yield
    finally:
        pre.remove()
        hook.remove()
        getattr(module_hooks, "_global_forward_hooks_with_kwargs", {}).pop(hook.id, None)


class LookupMode(TorchFunctionMode):
    """A torch-function mode that looks the operator up once, then runs the call."""

    def __init__(self) -> None:
        super().__init__()
        self.kinds: dict[Any, None] = {}

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        self.kinds.get(func)
        return func(*args, **(kwargs or {}))


def least(forward: Callable[[], object]) -> list[dict[str, Any]]:
    """``forward()`` under the reference tracer (``least`` above): one record per call."""
    seen: list[tuple[nn.Module, tuple[int, ...] | None]] = []

    def post(module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> None:
        seen.append((module, tuple(out.shape) if isinstance(out, torch.Tensor) else None))

    with instrumented(post, LookupMode()):
        forward()
    return [{"type": type(m).__name__, "output": shape} for m, shape in seen]


def build(name: str, resolution: int = 32) -> tuple[nn.Module, Any]:
    """A model and its input data (a tensor or a dict of keyword arguments);
    ``resolution`` is the side of resnet50's input image."""
    if name == "resnet50":
        import torchvision

        return torchvision.models.resnet50(), torch.rand(1, 3, resolution, resolution)
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


def load_as(name: str, checkout: str) -> Any:
    """The ``modelsummary`` package of another checkout, imported as ``name``."""
    package = Path(checkout).resolve() / "modelsummary"
    spec = importlib.util.spec_from_file_location(
        name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def contenders(
    model: nn.Module, data: Any, summary: Any, baseline: Any = None
) -> dict[str, Callable[[], object]]:
    import torchinfo

    model.eval()

    def bare() -> object:
        with torch.no_grad():
            return model(**data) if isinstance(data, dict) else model(data)

    def floor() -> object:
        with instrumented(_post, NoOpMode()):
            return bare()

    cpu = torch.device("cpu")
    fns: dict[str, Callable[[], object]] = {
        "bare": bare,
        "floor": floor,
        "least": lambda: least(bare),
        "modelsummary": lambda: summary(model, input_data=data, verbose=0),
    }
    if baseline is not None:
        fns["baseline"] = lambda: baseline(model, input_data=data, verbose=0)
    fns["torchinfo"] = lambda: torchinfo.summary(model, input_data=data, device=cpu, verbose=0)
    return fns


def timed(
    fns: dict[str, Callable[[], object]], repeat: int, clock: Callable[[], float]
) -> dict[str, list[float]]:
    """Interleaved rounds after two warm-ups each, each round in its own shuffled order.

    A contender's time depends on which one ran just before it: with one fixed
    order, the same code measured 10-20 % slower right after the floor than right
    after another summary. A fixed order turned by one each round keeps those
    neighbours; a shuffled order (seeded: runs repeat) gives each contender every
    neighbour and place.
    """
    for fn in fns.values():
        fn()
        fn()
    order = list(fns)
    shuffle = random.Random(0).shuffle
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(repeat):
        shuffle(order)
        for key in order:
            start = clock()
            fns[key]()
            times[key].append(clock() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="interleaved rounds")
    parser.add_argument("--models", nargs="*", default=["resnet50", "gpt2", "linears"])
    parser.add_argument("--repo", default=str(ROOT), help="checkout to import modelsummary from")
    parser.add_argument("--baseline", help="another checkout to time side by side")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall")
    parser.add_argument("--resolution", type=int, default=32, help="resnet50's input side")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    sys.path.insert(0, str(Path(opts.repo).resolve()))
    summary = importlib.import_module("modelsummary").summary
    where = Path(sys.modules["modelsummary"].__file__ or "").parent
    baseline = None
    if opts.baseline:
        baseline = load_as("modelsummary_baseline", opts.baseline).summary
        where = Path(f"{where}; baseline from {Path(opts.baseline).resolve()}")
    clock = time.perf_counter if opts.clock == "wall" else time.process_time
    print(
        f"modelsummary from {where}; Python {platform.python_version()}, torch"
        f" {torch.__version__}, {opts.threads} torch thread(s), {opts.repeat} interleaved rounds,"
        f" {opts.clock} clock.\n"
    )
    others = ["least", "modelsummary", *(["baseline"] if baseline else []), "torchinfo"]
    print(
        f"| model | module calls | bare | floor | {' | '.join(others)} |"
        f" µs per call: floor / {' / '.join(others)} |"
        f" {' | '.join(f'{k} / floor' for k in others)} |"
    )
    print("|---" * (5 + 2 * len(others)) + "|")
    paired: dict[str, dict[str, float]] = {}
    for name in opts.models:
        model, data = build(name, opts.resolution)
        fns = contenders(model, data, summary, baseline)
        calls = module_calls(model, fns["bare"])
        times = timed(fns, opts.repeat, clock)
        rounds = list(zip(*(times[k] for k in fns), strict=True))
        keys = list(fns)
        # per round: the overhead of each contender over that round's bare pass
        extra = {k: statistics.median(r[keys.index(k)] - r[0] for r in rounds) for k in keys[1:]}
        # the ratio of the median overheads: a round's own floor overhead is too small
        # to divide by reliably
        ratio = {k: extra[k] / extra["floor"] for k in others}
        # what a user sees where compute counts: each contender over its round's bare pass
        paired[name] = {k: statistics.median(r[keys.index(k)] / r[0] for r in rounds) for k in keys}
        med = {k: statistics.median(v) for k, v in times.items()}
        per_call = " / ".join(f"{extra[k] / calls * 1e6:.1f}" for k in keys[1:])
        print(
            f"| {name} | {calls:,} | {med['bare'] * 1e3:.2f} ms | {med['floor'] * 1e3:.2f} ms | "
            + " | ".join(f"{med[k] * 1e3:.2f} ms" for k in others)
            + f" | {per_call} | "
            + " | ".join(f"{ratio[k]:.2f}×" for k in others)
            + " |"
        )
    shown = ["floor", *others]
    print("\nEach over the bare pass (the median of each round's own ratio):\n")
    print(f"| model | {' | '.join(shown)} |")
    print("|---" * (1 + len(shown)) + "|")
    for name, ratios in paired.items():
        print(f"| {name} | " + " | ".join(f"{ratios[k]:.3f}×" for k in shown) + " |")


if __name__ == "__main__":
    main()
