"""How much slower summary() is than a bare forward pass (best of a few runs each).

Run from the repository root: ``python benchmarks/summary_overhead.py [resnet50|vit_b_16|gpt2]``.
Prints one line per model: bare forward time, summary time, and their ratio.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import torch

from modelsummary import summary


def best_of(fn: Callable[[], object], runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def build(name: str) -> tuple[torch.nn.Module, list[torch.Tensor]]:
    if name == "gpt2":
        from transformers import GPT2Config, GPT2LMHeadModel

        return GPT2LMHeadModel(GPT2Config()).eval(), [torch.zeros(1, 128, dtype=torch.long)]
    import torchvision

    return getattr(torchvision.models, name)().eval(), [torch.zeros(1, 3, 224, 224)]


def main(names: list[str]) -> None:
    for name in names or ["resnet50", "vit_b_16", "gpt2"]:
        model, inputs = build(name)

        def bare(model: torch.nn.Module = model, inputs: list[torch.Tensor] = inputs) -> None:
            with torch.no_grad():
                model(*inputs)

        def summarised(model: torch.nn.Module = model, inputs: list[torch.Tensor] = inputs) -> None:
            summary(model, input_data=inputs, verbose=0)

        bare()  # warm-up
        t_bare, t_summary = best_of(bare), best_of(summarised)
        print(
            f"{name}: forward {t_bare:.3f} s, summary {t_summary:.3f} s, {t_summary / t_bare:.2f}x"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
