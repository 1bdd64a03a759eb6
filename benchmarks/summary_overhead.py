"""Where a summary's time goes beyond the bare forward pass, phase by phase.

Run from the repository root: ``python benchmarks/summary_overhead.py [resnet50|vit_b_16|gpt2]
[--repeat 40] [--threads 2]``.

Each phase (building the tracer, saving the model's state, the traced pass, the records,
restoring the state, building the tree) is timed separately, after the CPU caches have been
flushed as a real forward pass flushes them, and the best of ``--repeat`` runs is printed
with the bare forward beside it. Timings on a shared machine are noisy; minima over many
runs are stable to about 0.1 ms.
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from modelsummary import summary  # noqa: E402
from modelsummary._trace.state import preserved_state  # noqa: E402
from modelsummary._trace.tracer import Tracer  # noqa: E402
from modelsummary._tree.build import build_tree  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
from bench import build  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default="resnet50")
    parser.add_argument("--repeat", type=int, default=40)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    model, data = build(opts.model)  # the models and inputs of bench.py
    model.eval()
    args, kwargs = ([], data) if isinstance(data, dict) else ([data], {})
    junk = torch.empty(64 * 2**20 // 4)  # larger than the last-level cache
    cpu = [torch.device("cpu")]
    phases = ["bare forward", "Tracer()", "save state", "traced pass", "records", "restore state"]
    phases += ["tree", "summary() in all"]
    best = dict.fromkeys(phases, float("inf"))
    with torch.no_grad():  # warm-up: first calls allocate and load kernels
        model(*args, **kwargs)
    summary(model, input_data=args or kwargs, verbose=0)
    gc.disable()
    for _ in range(opts.repeat):
        stamps: list[tuple[str, float]] = []
        junk.fill_(1.0)
        start = time.perf_counter()
        with torch.no_grad():
            model(*args, **kwargs)
        stamps.append(("bare forward", time.perf_counter() - start))
        junk.fill_(1.0)
        start = time.perf_counter()
        tracer = Tracer(model)
        stamps.append(("Tracer()", time.perf_counter() - start))
        start = time.perf_counter()
        state = preserved_state(model, devices=cpu, modules=[m for _, m in tracer.census.modules])
        state.__enter__()
        stamps.append(("save state", time.perf_counter() - start))
        start = time.perf_counter()
        with torch.no_grad(), tracer:
            model(*args, **kwargs)
        stamps.append(("traced pass", time.perf_counter() - start))
        junk.fill_(1.0)  # what the pass's activations do to the caches
        start = time.perf_counter()
        trace = tracer.finish()
        stamps.append(("records", time.perf_counter() - start))
        start = time.perf_counter()
        state.__exit__(None, None, None)
        stamps.append(("restore state", time.perf_counter() - start))
        start = time.perf_counter()
        build_tree(trace)
        stamps.append(("tree", time.perf_counter() - start))
        junk.fill_(1.0)
        start = time.perf_counter()
        summary(model, input_data=args or kwargs, verbose=0)
        stamps.append(("summary() in all", time.perf_counter() - start))
        for phase, seconds in stamps:
            best[phase] = min(best[phase], seconds)
    gc.enable()
    bare = best["bare forward"]
    print(f"{opts.model}, {opts.threads} torch threads, best of {opts.repeat}:")
    for phase in phases:
        line = f"  {phase:18s} {best[phase] * 1e3:8.2f} ms"
        if phase in ("traced pass", "summary() in all"):
            line += f"   ({(best[phase] - bare) * 1e3:+.2f} ms beyond the bare forward)"
        print(line)
    print(f"  summary / bare     {best['summary() in all'] / bare:8.3f}x")


if __name__ == "__main__":
    main()
