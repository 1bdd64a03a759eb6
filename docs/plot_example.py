"""Draw docs/images/plot_example.png: ``python docs/plot_example.py`` from the repository root.

A four-layer GPT-2 built from a config (no weights, no download), its output head
tied to the token embedding, and a value head that the forward never calls: at
depth 3 on a log scale, the tied head is marked with where its weight is
counted and the value head is drawn as unused.
"""

from __future__ import annotations

from pathlib import Path


def main() -> None:
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout's package
    import torch
    from torch import nn
    from transformers import GPT2Config, GPT2LMHeadModel

    from modelsummary import summary

    small = {"n_layer": 4, "n_embd": 256, "n_head": 4, "vocab_size": 8000, "n_positions": 256}
    config = GPT2Config(**small, bos_token_id=0, eos_token_id=0)  # ids inside the vocabulary
    model = GPT2LMHeadModel(config)
    model.value_head = nn.Linear(256, 1)  # registered, never called: drawn as unused
    s = summary(model, input_data=torch.zeros(1, 64, dtype=torch.long), verbose=0)
    s.plot(depth=3, log=True, path=Path(__file__).parent / "images" / "plot_example.png")


if __name__ == "__main__":
    main()
