"""The built-in demo model that ``python -m modelsummary`` summarises.

It has the three things other tools count wrong: a block called twice, an
output head tied to the embedding, and a registered module the forward never
calls.

Example:
    >>> from modelsummary import summary
    >>> s = summary(DemoNet(), **DEMO_INPUT, verbose=0)
    >>> s.total_params, s.unused_params, s.all_params, s.unused_modules
    (1328, 272, 1600, ('aux_head',))
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

DEMO_INPUT: dict[str, Any] = {"input_size": (1, 8), "dtypes": [torch.long]}
"""Arguments of :func:`~modelsummary.summary` that fit :class:`DemoNet`."""

DEMO_INPUT_TEXT = "input_size=(1, 8), dtypes=[torch.long]: one sequence of 8 token ids"
""":data:`DEMO_INPUT` in words, as the command line prints it above the demo's table."""


class DemoNet(nn.Module):
    """A tiny language model: embedding, one block applied twice, a tied head.

    Example:
        >>> DemoNet()(torch.zeros(1, 8, dtype=torch.long)).shape
        torch.Size([1, 8, 64])
    """

    def __init__(self, vocab: int = 64, width: int = 16) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, width)
        self.block = nn.Sequential(nn.Linear(width, width), nn.GELU())
        self.norm = nn.LayerNorm(width)
        self.head = nn.Linear(width, vocab, bias=False)
        self.head.weight = self.embed.weight  # tied: one tensor, two modules
        self.aux_head = nn.Linear(width, width)  # registered, never called

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embed(tokens)
        x = self.block(x)  # the same block ...
        x = self.block(x)  # ... called twice
        out: torch.Tensor = self.head(self.norm(x))
        return out
