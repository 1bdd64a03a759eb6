"""Benchmark modelsummary against a bare forward pass and torchinfo, in one run.

Prints Markdown tables: per-model times and ratios, peak memory, the nesting-depth
series, 10,000 modules, and the meta-device Llama 70B figure. torchinfo is only
a benchmark dependency (``pip install -e .[bench]``); its runs that grow
exponentially go to a subprocess with a time cap.

Usage:
    python benchmarks/bench.py [--repeat 7] [--cap 30] [--threads N] [--device cuda]

With ``--device cuda`` the three models and their inputs live on the GPU, every timed
run ends with a device synchronisation, and the peak column is the CUDA allocator's
peak; the nesting-depth series, 10,000 modules and the meta 70B stay on the CPU.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from modelsummary import summary  # noqa: E402


def build(name: str) -> tuple[nn.Module, Any]:
    """A model and its input data (a tensor or a dict of keyword arguments)."""
    if name == "resnet50":
        import torchvision

        return torchvision.models.resnet50(), torch.rand(1, 3, 224, 224)
    if name == "vit_b_16":
        import torchvision

        return torchvision.models.vit_b_16(), torch.rand(1, 3, 224, 224)
    if name == "gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel

        return GPT2LMHeadModel(GPT2Config()), {"input_ids": torch.zeros(1, 128, dtype=torch.long)}
    raise ValueError(name)


def nested(depth: int) -> nn.Module:
    model: nn.Module = nn.Linear(4, 4)
    for _ in range(depth):
        model = nn.Sequential(model)
    return model


def wide(n: int) -> nn.Module:
    return nn.Sequential(*[nn.Linear(4, 4) for _ in range(n)])


def runners(
    model: nn.Module, data: Any, device: torch.device | None = None
) -> dict[str, Callable[[], object]]:
    """The three contenders on ``model`` and ``data`` (both on ``device``, CPU by default).
    On a GPU each run waits for the device, so it is timed whole."""
    import torchinfo

    model.eval()
    device = device or torch.device("cpu")

    def bare() -> object:
        with torch.no_grad():
            return model(**data) if isinstance(data, dict) else model(data)

    fns: dict[str, Callable[[], object]] = {
        "bare": bare,
        "modelsummary": lambda: summary(model, input_data=data, verbose=0),
        # torchinfo would otherwise pick a GPU of its own whenever one is present
        "torchinfo": lambda: torchinfo.summary(model, input_data=data, device=device, verbose=0),
    }
    if device.type != "cuda":
        return fns

    def synced(fn: Callable[[], object]) -> Callable[[], object]:
        def run() -> object:
            out = fn()
            torch.cuda.synchronize(device)
            return out

        return run

    return {key: synced(fn) for key, fn in fns.items()}


def to_device(data: Any, device: torch.device) -> Any:
    if isinstance(data, dict):
        return {key: value.to(device) for key, value in data.items()}
    return data.to(device)


def cuda_peak(fn: Callable[[], object], device: torch.device) -> str:
    """The CUDA allocator's peak during one run of ``fn``."""
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    fn()
    return f"{torch.cuda.max_memory_allocated(device) / 2**20:.0f} MB"


def timed(
    fns: dict[str, Callable[[], object]], repeat: int, faults: dict[str, list[int]] | None = None
) -> dict[str, list[float]]:
    """Interleaved runs after one warm-up each, so drift hits every contender alike;
    each round in its own shuffled (seeded) order, since a run's time depends on the
    one just before it (see ``overhead.py``).

    With ``faults``, also the minor page faults of each run: memory the run had
    to fault in afresh (a bare forward in a steady state reuses its memory: 0).
    """
    for fn in fns.values():
        fn()
    times: dict[str, list[float]] = {k: [] for k in fns}
    order = list(fns.items())
    shuffle = random.Random(0).shuffle
    for _ in range(repeat):
        shuffle(order)
        for key, fn in order:
            before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
            start = time.perf_counter()
            fn()
            times[key].append(time.perf_counter() - start)
            if faults is not None:
                after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
                faults.setdefault(key, []).append(after - before)
    return times


def child(code: str, cap: float) -> dict[str, Any] | None:
    """Run ``code`` in a fresh interpreter; its last stdout line is JSON. None on timeout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    try:
        done = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=cap,
            env=env,
            check=True,
        )
    except subprocess.TimeoutExpired:
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


# A child's own resident peak: ru_maxrss would include the parent's peak at fork time.
PEAK_KIB = """
def peak_kib():
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
"""

PEAK = (
    PEAK_KIB
    + """
import json, sys, torch
sys.path.insert(0, {root!r}); sys.path.insert(0, {bench!r})
from bench import build, runners
torch.set_num_threads({threads})
model, data = build({name!r})
fn = runners(model, data)[{kind!r}]
before = peak_kib()
fn()
print(json.dumps({{"before_kib": before, "peak_kib": peak_kib()}}))
"""
)

TORCHINFO_DEPTH = """
import json, time, sys, torch
sys.path.insert(0, {bench!r})
from bench import nested, wide
import torchinfo
model = {builder}
start = time.perf_counter()
torchinfo.summary(model, (1, 4), verbose=0)
print(json.dumps({{"seconds": time.perf_counter() - start}}))
"""

LLAMA = (
    PEAK_KIB
    + """
import json, time, torch
from transformers import LlamaConfig, LlamaForCausalLM
from modelsummary import summary
config = LlamaConfig(hidden_size=8192, num_hidden_layers=80, num_attention_heads=64,
                     num_key_value_heads=8, intermediate_size=28672, vocab_size=128256)
start = time.perf_counter()
with torch.device("meta"):
    model = LlamaForCausalLM(config)
built = time.perf_counter()
s = summary(model, (1, 128), dtypes=[torch.long], verbose=0)
done = time.perf_counter()
print(json.dumps({"build": built - start, "summary": done - built, "params": s.total_params,
                  "peak_kib": peak_kib()}))
"""
)


def fmt(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15, help="timed runs per contender")
    parser.add_argument("--cap", type=float, default=30.0, help="seconds allowed to torchinfo")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--models", nargs="*", default=["resnet50", "vit_b_16", "gpt2"])
    parser.add_argument("--device", default="cpu", help="where the three models run")
    opts = parser.parse_args()
    torch.set_num_threads(opts.threads)
    device = torch.device(opts.device)
    on_gpu = device.type == "cuda"
    bench_dir = str(Path(__file__).parent)

    gpu = f"; GPU: {torch.cuda.get_device_name(device)}" if on_gpu else ""
    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs,"
        f" {opts.threads} torch threads; Python {platform.python_version()},"
        f" torch {torch.__version__}{gpu}; models on {device};"
        f" {opts.repeat} interleaved rounds.\n"
    )
    peak = "peak CUDA memory" if on_gpu else "peak RSS"
    print(
        "| model | bare forward | modelsummary | torchinfo | modelsummary / bare (best of each) |"
        f" torchinfo / bare (best of each) | {peak} bare | {peak} modelsummary |"
        " page faults per run: bare / modelsummary / torchinfo |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for name in opts.models:
        model, data = build(name)
        model, data = model.to(device), to_device(data, device)
        faults: dict[str, list[int]] = {}
        fns = runners(model, data, device)
        times = timed(fns, opts.repeat, faults)
        best = {k: min(v) for k, v in times.items()}
        # Each round runs the contenders back to back: the median of the per-round ratios
        # cancels the machine's slow drift, which a ratio of two medians does not.
        paired = {
            k: statistics.median(t / b for t, b in zip(v, times["bare"], strict=True))
            for k, v in times.items()
        }
        peaks = {}
        for kind in ("bare", "modelsummary"):
            if on_gpu:  # the allocator's own peak, in this process
                peaks[kind] = cuda_peak(fns[kind], device)
                continue
            code = PEAK.format(
                root=str(ROOT), bench=bench_dir, threads=opts.threads, name=name, kind=kind
            )
            result = child(code, 600)
            peaks[kind] = f"{result['peak_kib'] / 1024:.0f} MB" if result else "—"
        print(
            f"| {name} | {fmt(best['bare'])} | {fmt(best['modelsummary'])} |"
            f" {fmt(best['torchinfo'])} | {best['modelsummary'] / best['bare']:.3f}×"
            f" (paired median {paired['modelsummary']:.3f}×) |"
            f" {best['torchinfo'] / best['bare']:.2f}× (paired median {paired['torchinfo']:.2f}×) |"
            f" {peaks['bare']} |"
            f" {peaks['modelsummary']} | "
            + " / ".join(f"{statistics.median(faults[k]):.0f}" for k in faults)
            + " |"
        )

    print(f"\n| model | modules | bare forward | modelsummary | torchinfo (cap {opts.cap:.0f} s) |")
    print("|---|---|---|---|---|")
    series: list[tuple[str, int, str]] = [
        *((f"nested Sequential, depth {d}", d + 1, f"nested({d})") for d in (10, 18, 20, 22, 100)),
        ("flat Sequential of Linear", 10_001, "wide(10_000)"),
    ]
    for label, count, builder in series:
        model = eval(builder)  # one of the two builders above
        x = torch.rand(1, 4)

        def bare(model: nn.Module = model, x: torch.Tensor = x) -> object:
            with torch.no_grad():
                return model(x)

        def ours(model: nn.Module = model) -> object:
            return summary(model, (1, 4), verbose=0)

        times = timed({"bare": bare, "modelsummary": ours}, max(3, opts.repeat // 2))
        code = TORCHINFO_DEPTH.format(bench=bench_dir, builder=builder)
        result = child(code, opts.cap)
        theirs = f"> {opts.cap:.0f} s (stopped)" if result is None else fmt(result["seconds"])
        print(
            f"| {label} | {count:,} | {fmt(min(times['bare']))} |"
            f" {fmt(min(times['modelsummary']))} | {theirs} |"
        )

    result = child(LLAMA, 600)
    assert result is not None
    print(
        f"\nLlama-style 70B on meta (hidden 8192, 80 layers, 64 heads, 8 KV heads):"
        f" {result['params']:,} parameters; build {fmt(result['build'])},"
        f" summary {fmt(result['summary'])}, peak RSS {result['peak_kib'] / 1024:.0f} MB"
        " (whole process, torch and transformers included)."
    )


if __name__ == "__main__":
    main()
