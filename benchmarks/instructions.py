"""Machine instructions of a summary beyond a bare forward pass, counted by callgrind.

On a shared machine the wall clock of one summary drifts by 10 % or more between
runs, and even interleaved rounds leave a few per cent of doubt; the number of
instructions executed does not drift. This script runs, for each model of
``benchmarks/overhead.py`` (tiny inputs: what a summary adds matters, not the
compute), a bare ``no_grad`` forward pass and ``summary()``, three times each, with
callgrind's instrumentation switched on only around those calls, for this checkout
and, with ``--baseline``, for another one in the same process. It prints the
instructions per call and the summary's overhead (summary less bare pass) side by
side. Instructions are not time (memory stalls differ), so confirm a change with
``overhead.py`` too; but a change that adds instructions is slower.

Usage (valgrind must run it; importing torch takes about half a minute there):
    valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file=/tmp/cg.out \\
        python benchmarks/instructions.py --out /tmp/cg.out --baseline /path/to/old/checkout

Run valgrind with ``--cache-sim=yes --branch-sim=yes`` as well (about twice as slow) and
the tables are printed a second time in estimated cycles, which also count the misses of
simulated caches and the mispredicted branches: instructions alone favour code that runs
fewer instructions from more places (more instruction-cache misses).

``--phases`` adds the tracer's parts (``init``: building the ``Tracer``; ``pass``: the
traced forward pass; ``finish``: the trace; ``tree``: ``build_tree()``). A second table
gives the overheads as multiples of the instrumentation floor's, beside the reference
tracer's (``least`` in ``overhead.py``: what a tracer that only records each call's
output shape adds).
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import overhead
from overhead import ROOT, build, load_as

REPEAT = 3


def control(*args: str) -> None:
    """Tell the callgrind instance running this process what to do."""
    done = subprocess.run(
        ["callgrind_control", *args, str(os.getpid())], capture_output=True, text=True
    )
    if done.returncode or "not detected" in done.stdout + done.stderr:
        raise RuntimeError(f"callgrind_control {' '.join(args)}: {done.stdout}{done.stderr}")


def counted(label: str, fn: Callable[[], object]) -> None:
    """Run ``fn`` twice to warm up, then ``REPEAT`` times counted, and dump the count.
    (``--repeat`` sets ``REPEAT``: under callgrind each call is slow.)"""
    fn()
    fn()
    control("--zero")
    control("--instr=on")
    for _ in range(REPEAT):
        fn()
    control("--instr=off")
    control(f"--dump={label}")


def contenders(
    package: Any, model: torch.nn.Module, data: Any, phases: bool = False
) -> dict[str, Callable[[], object]]:
    """The calls to count for one checkout's package (the tracer's parts with ``phases``)."""

    def forward() -> object:
        return model(**data) if isinstance(data, dict) else model(data)

    def bare() -> object:
        with torch.no_grad():
            return forward()

    calls: dict[str, Callable[[], object]] = {
        "bare": bare,
        "summary": lambda: package.summary(model, input_data=data, verbose=0),
    }
    if not phases:
        return calls
    name = package.__name__
    # the tracer's module: _trace/tracer.py since the stage sub-packages, _tracer.py before
    tracer = _first_module(f"{name}._trace.tracer", f"{name}._tracer")
    tree = _first_module(f"{name}._tree.build", f"{name}._tree")
    records = importlib.import_module(f"{name}._records")

    def traced() -> Any:
        t = tracer.Tracer(model)
        with torch.no_grad(), t:
            forward()
        return t

    done = traced()
    trace = done.finish()
    # an older checkout's build_tree() took the trace alone
    tree_args = (trace, records.PassInfo()) if hasattr(records, "PassInfo") else (trace,)
    calls.update(
        {
            "init": lambda: tracer.Tracer(model),
            "traced": traced,  # init and pass: the table shows the pass alone
            "finish": done.finish,
            "tree": lambda: tree.build_tree(*tree_args),
        }
    )
    return calls


def _first_module(*names: str) -> Any:
    """The first of ``names`` that imports (a module moved between checkouts)."""
    for name in names[:-1]:
        try:
            return importlib.import_module(name)
        except ModuleNotFoundError:
            continue
    return importlib.import_module(names[-1])


def totals(out: str) -> dict[str, dict[str, float]]:
    """``{cost: {label: per call}}`` from the dumps callgrind wrote: ``"Ir"``, the
    instructions, and, where callgrind simulated the caches and branches, ``"CEst"``."""
    found: dict[str, dict[str, float]] = {}
    for path in Path(out).parent.glob(f"{Path(out).name}.*"):
        label, events, values = None, [], []
        for line in path.read_text(errors="replace").splitlines():
            if line.startswith("desc: Trigger: "):  # "... dump <label>"
                label = line.rsplit(" ", 1)[-1]
            elif line.startswith("events:"):
                events = line.split()[1:]
            elif line.startswith("totals:"):
                values = [int(v) for v in line.split()[1:]]
        if label and values:
            counts = dict(zip(events, values, strict=False))
            found.setdefault("Ir", {})[label] = counts["Ir"] / REPEAT
            if counts.keys() >= CACHE_EVENTS:
                found.setdefault("CEst", {})[label] = cycles(counts) / REPEAT
    return found


CACHE_EVENTS = {"I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw", "Bcm", "Bim"}
"""The events of ``valgrind --tool=callgrind --cache-sim=yes --branch-sim=yes``."""


def cycles(counts: dict[str, int]) -> float:
    """KCachegrind's cycle estimate: an instruction a cycle, 10 for a first-level cache
    miss or a mispredicted branch, 100 for a last-level miss. It weighs what instructions
    alone leave out: code that runs few instructions from cold cache lines."""
    first = counts["I1mr"] + counts["D1mr"] + counts["D1mw"]
    last = counts["ILmr"] + counts["DLmr"] + counts["DLmw"]
    return counts["Ir"] + 10 * (counts["Bcm"] + counts["Bim"]) + 10 * first + 100 * last


COSTS = {"Ir": "Instructions", "CEst": "Estimated cycles (KCachegrind's formula)"}


def report(
    counts: dict[str, float], title: str, models: list[str], kinds: list[str], names: list[str]
) -> None:
    """Print one cost per call side by side, and the overheads as multiples of the floor's."""
    python = sys.version.split()[0]
    print(f"{title} per call (millions), {REPEAT} calls each, Python {python}.\n")
    print(f"| model | call | {' | '.join(names)} |" + (" ratio |" if len(names) > 1 else ""))
    print("|---|---|" + "---|" * (len(names) + (len(names) > 1)))
    overheads: dict[str, list[float]] = {}
    for model_name in models:
        rows = {kind: [counts[f"{model_name}/{kind}/{k}"] for k in names] for kind in kinds}
        rows["overhead"] = [s - b for s, b in zip(rows["summary"], rows["bare"], strict=True)]
        overheads[model_name] = rows["overhead"]
        if "traced" in rows:
            traced = rows.pop("traced")
            # the traced pass without building the tracer (the forward's compute included)
            rows["pass"] = [t - i for t, i in zip(traced, rows["init"], strict=True)]
        for kind, values in rows.items():
            cells = " | ".join(f"{v / 1e6:.1f}" for v in values)
            ratio = f" {values[0] / values[1]:.3f} |" if len(values) > 1 and values[1] else ""
            print(f"| {model_name} | {kind} | {cells} |" + ratio)
    print(f"\n{title}: the overheads over the bare pass as multiples of the floor's.\n")
    print(f"| model | least | {' | '.join(names)} |")
    print("|---|---|" + "---|" * len(names))
    for model_name, summaries in overheads.items():
        bare = counts[f"{model_name}/bare/{names[0]}"]
        floor = counts[f"{model_name}/floor/reference"] - bare
        extra = [counts[f"{model_name}/least/reference"] - bare, *summaries]
        print(f"| {model_name} | " + " | ".join(f"{e / floor:.2f}×" for e in extra) + " |")
    print()


def main() -> None:
    global REPEAT
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="valgrind's --callgrind-out-file")
    parser.add_argument("--baseline", help="another checkout to count side by side")
    parser.add_argument("--models", nargs="*", default=["resnet50", "gpt2", "linears"])
    parser.add_argument("--phases", action="store_true", help="also count the tracer's parts")
    parser.add_argument("--repeat", type=int, default=REPEAT, help="counted calls of each")
    opts = parser.parse_args()
    REPEAT = opts.repeat
    try:
        control("--instr=off")
    except (OSError, RuntimeError):
        sys.exit("run this under valgrind --tool=callgrind --instr-atstart=no (see --help)")
    for old in Path(opts.out).parent.glob(f"{Path(opts.out).name}.*"):
        old.unlink()
    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT))
    packages = {"modelsummary": importlib.import_module("modelsummary")}
    if opts.baseline:
        packages["baseline"] = load_as("modelsummary_baseline", opts.baseline)
    kinds = ["bare", "summary", *(["init", "traced", "finish", "tree"] if opts.phases else [])]
    for model_name in opts.models:
        model, data = build(model_name)
        model.eval()
        reference = overhead.contenders(model, data, packages["modelsummary"].summary)
        for kind in ("floor", "least"):
            counted(f"{model_name}/{kind}/reference", reference[kind])
        for key, package in packages.items():
            calls = contenders(package, model, data, opts.phases)
            for kind in kinds:
                counted(f"{model_name}/{kind}/{key}", calls[kind])
    names = list(packages)
    for cost, counts in totals(opts.out).items():
        report(counts, COSTS[cost], opts.models, kinds, names)


if __name__ == "__main__":
    main()
