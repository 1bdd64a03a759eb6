"""Meta-device summaries against a bare meta forward pass, and against another checkout.

A model built on the meta device has shapes and no values; a summary of it runs one
pass on meta. This script builds each model under ``torch.device("meta")`` and times,
in shuffled interleaved rounds with one torch thread: a bare ``no_grad`` meta forward
pass (``bare``), ``summary(model, ..., device="meta", verbose=0)`` of this checkout
(``now``) and, with ``--baseline``, of another checkout loaded beside it
(``baseline``). It prints each contender's median time and the median over the rounds
of each round's ratio to the bare pass.

Models: torchvision's resnet50 at 1x3x224x224; GPT-2 small from its transformers
config (12 layers, width 768) at 128 tokens; a float32 Mixtral of 2 layers and 4
experts at 8 tokens, whose ``_grouped_mm`` torch's meta kernel refuses in float32 (the
case `MetaPass` is for: its bare pass runs under `MetaPass`; a summary enters it around
the ``torch._grouped_mm`` calls alone).

Usage:
    python benchmarks/meta.py [--repeat 20] [--baseline /path/to/old/checkout]
        [--models resnet50 gpt2 mixtral]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from pathlib import Path
from typing import Any

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from overhead import ROOT, load_as


def build(name: str) -> tuple[nn.Module, dict[str, Any]]:
    """A model built on meta, in eval mode, and the keyword arguments of its summary."""
    with torch.device("meta"):
        if name == "resnet50":
            import torchvision

            model: nn.Module = torchvision.models.resnet50()
            data: Any = torch.empty(1, 3, 224, 224)
        elif name == "gpt2":
            from transformers import GPT2Config, GPT2LMHeadModel

            model = GPT2LMHeadModel(GPT2Config())
            data = {"input_ids": torch.zeros(1, 128, dtype=torch.long)}
        elif name == "mixtral":
            from transformers import MixtralConfig, MixtralForCausalLM

            config = MixtralConfig(
                vocab_size=1000,
                hidden_size=64,
                intermediate_size=128,
                num_hidden_layers=2,
                num_attention_heads=4,
                num_key_value_heads=2,
                num_local_experts=4,
                num_experts_per_tok=2,
            )
            model = MixtralForCausalLM(config)
            data = {"input_ids": torch.zeros(1, 8, dtype=torch.long)}
        else:
            raise ValueError(name)
    return model.eval(), data


def contenders(
    model: nn.Module, data: Any, packages: dict[str, Any], helped: bool
) -> dict[str, Callable[[], object]]:
    """The calls to time; ``helped``: the bare pass runs under `MetaPass` (which the
    float32 Mixtral needs to run on meta at all)."""
    from modelsummary._trace.meta import MetaPass

    def bare() -> object:
        with torch.no_grad(), MetaPass() if helped else nullcontext():
            return model(**data) if isinstance(data, dict) else model(data)

    calls: dict[str, Callable[[], object]] = {"bare": bare}
    for key, package in packages.items():
        calls[key] = lambda package=package: package.summary(
            model, input_data=data, device="meta", verbose=0
        )
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="interleaved rounds")
    parser.add_argument("--baseline", help="another checkout to time side by side")
    parser.add_argument("--models", nargs="*", default=["resnet50", "gpt2", "mixtral"])
    opts = parser.parse_args()
    torch.set_num_threads(1)
    sys.path.insert(0, str(ROOT))
    import modelsummary

    packages: dict[str, Any] = {"now": modelsummary}
    if opts.baseline:
        packages["baseline"] = load_as("modelsummary_baseline", opts.baseline)
    order = random.Random(0)
    names = ["bare", *packages]
    print(f"| model | {' | '.join(names)} | {' | '.join(f'{n} / bare' for n in packages)} |")
    print("|---|" + "---|" * (len(names) + len(packages)))
    for model_name in opts.models:
        model, data = build(model_name)
        calls = contenders(model, data, packages, helped=model_name == "mixtral")
        for fn in calls.values():  # warm up
            fn()
        times: dict[str, list[float]] = {name: [] for name in names}
        for _ in range(opts.repeat):
            round_order = list(names)
            order.shuffle(round_order)
            for name in round_order:
                start = time.perf_counter()
                calls[name]()
                times[name].append(time.perf_counter() - start)
        medians = [statistics.median(times[n]) * 1e3 for n in names]
        ratios = [
            statistics.median(t / b for t, b in zip(times[n], times["bare"], strict=True))
            for n in packages
        ]
        cells = " | ".join(f"{m:.1f} ms" for m in medians)
        print(f"| {model_name} | {cells} | {' | '.join(f'{r:.3f}×' for r in ratios)} |")


if __name__ == "__main__":
    main()
