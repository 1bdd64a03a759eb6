"""What ``Watcher.step()`` costs a training loop when the structure did not change.

Run from the repository root: ``python benchmarks/watch_step.py [resnet50|vit_b_16|gpt2]
[--steps 2000] [--threads 2]``.

Prints the microseconds per unchanged step (best and median of ``--steps`` steps),
beside the model's module and parameter counts and one bare forward pass of the
benchmark input; and checks, by counting forward calls, that no unchanged step ran one.
Then it changes the model (one parameter frozen) and times the step that notices it:
a new summary, with its forward pass.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from modelsummary import watch  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench import build  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="resnet50")
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    model, data = build(opts.model)
    calls = [0]
    model.register_forward_pre_hook(lambda *_: calls.__setitem__(0, calls[0] + 1))
    start = time.perf_counter()
    with torch.no_grad():
        model(**data) if isinstance(data, dict) else model(data)
    forward_s = time.perf_counter() - start

    w = watch(model, input_data=data, print_fn=None)
    after_first = calls[0]
    times = []
    for step in range(opts.steps):
        start = time.perf_counter()
        w.step(step)
        times.append(time.perf_counter() - start)
    assert calls[0] == after_first, "an unchanged step ran a forward pass"
    assert not w.changes

    next(model.parameters()).requires_grad_(False)
    start = time.perf_counter()
    w.step(opts.steps)
    changed_s = time.perf_counter() - start
    assert w.changes and calls[0] == after_first + 1

    modules = sum(1 for _ in model.modules())
    params = sum(1 for _ in model.parameters())
    print(f"{opts.model}: {modules} modules, {params} parameter tensors, {opts.threads} threads")
    print(
        f"unchanged step: best {min(times) * 1e6:.0f} us,"
        f" median {statistics.median(times) * 1e6:.0f} us over {opts.steps} steps"
        " (no forward pass)"
    )
    print(f"bare forward pass: {forward_s * 1e3:.1f} ms")
    print(f"step that found a change (a new summary): {changed_s * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
