"""Hypothesis strategies that build random module trees with a forward that follows them.

Every module maps a ``(2, W, W)`` tensor to one of the same shape, so any module
can sit anywhere: leaves are ``Linear(W, W)`` (last dimension), ``Conv1d(W, W, 3)``
(channels = ``W``), norms over ``W`` and activations. Containers are
``nn.Sequential`` and :class:`Block`, which holds its children in a ``ModuleList``
or ``ModuleDict`` and calls a drawn sequence of them: some repeatedly, some never.
A module already built can be placed again (reused within or across parents),
parameters of equal shape can be tied, a block may use a never-called helper's
weight functionally or hold a raw parameter, and any parameter may be frozen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from hypothesis import strategies as st
from torch import nn
from torch.nn import functional as F

LEAF_KINDS = (
    "linear",
    "linear_nobias",
    "conv",
    "batchnorm",
    "layernorm",
    "groupnorm",
    "relu",
    "tanh",
    "dropout",
    "identity",
)


def make_leaf(kind: str, width: int) -> nn.Module:
    """A module of the given kind that keeps a ``(2, width, width)`` shape."""
    factories: dict[str, Callable[[], nn.Module]] = {
        "linear": lambda: nn.Linear(width, width),
        "linear_nobias": lambda: nn.Linear(width, width, bias=False),
        "conv": lambda: nn.Conv1d(width, width, 3, padding=1),
        "batchnorm": lambda: nn.BatchNorm1d(width),
        "layernorm": lambda: nn.LayerNorm(width),
        "groupnorm": lambda: nn.GroupNorm(1, width),
        "relu": nn.ReLU,
        "tanh": nn.Tanh,
        "dropout": lambda: nn.Dropout(0.25),
        "identity": nn.Identity,
    }
    return factories[kind]()


class Block(nn.Module):
    """Children in a ModuleList or ModuleDict, called in ``order`` (repeats and gaps allowed).

    ``helper`` is never called; its weight is used through ``F.linear`` when
    ``use_helper``. ``scale`` is a raw parameter, multiplied in when ``use_scale``.
    """

    def __init__(
        self,
        items: nn.ModuleList | nn.ModuleDict,
        order: list[Any],
        residual: bool,
        helper: nn.Linear | None,
        use_helper: bool,
        scale: nn.Parameter | None,
        use_scale: bool,
    ) -> None:
        super().__init__()
        self.items = items
        self.order = order
        self.residual = residual
        self.helper = helper
        self.use_helper = use_helper
        self.scale = scale
        self.use_scale = use_scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for key in self.order:
            y = self.items[key](x)
            x = x + y if self.residual else y
        if self.helper is not None and self.use_helper:
            x = F.linear(x, self.helper.weight)
        if self.scale is not None and self.use_scale:
            x = x * self.scale
        return x


@dataclass
class Generated:
    """A drawn model, its input, and the summary mode to use."""

    model: nn.Module
    x: torch.Tensor
    mode: str

    def __repr__(self) -> str:  # shown by Hypothesis on failure
        return f"Generated(mode={self.mode!r}, x={tuple(self.x.shape)},\nmodel={self.model})"


@st.composite
def models(draw: st.DrawFn, max_depth: int = 3, max_children: int = 3) -> Generated:
    """Draw a random module tree, tie and freeze some parameters, and an input for it."""
    width = draw(st.integers(2, 4))
    pool: list[nn.Module] = []

    def build(depth: int) -> nn.Module:
        if pool and draw(st.integers(0, 5)) == 0:
            return draw(st.sampled_from(pool))  # the same module object, placed again
        container = depth < max_depth and draw(st.integers(0, 2)) > 0
        if not container:
            module = make_leaf(draw(st.sampled_from(LEAF_KINDS)), width)
        else:
            children = [build(depth + 1) for _ in range(draw(st.integers(1, max_children)))]
            kind = draw(st.sampled_from(("sequential", "list", "dict")))
            if kind == "sequential":
                module = nn.Sequential(*children)
            else:
                keys: list[Any]
                items: nn.ModuleList | nn.ModuleDict
                if kind == "list":
                    items, keys = nn.ModuleList(children), list(range(len(children)))
                else:
                    keys = [f"k{i}" for i in range(len(children))]
                    items = nn.ModuleDict(dict(zip(keys, children, strict=True)))
                order = draw(st.lists(st.sampled_from(keys), max_size=4))
                helper = nn.Linear(width, width) if draw(st.booleans()) else None
                scale = nn.Parameter(torch.ones(width)) if draw(st.booleans()) else None
                module = Block(
                    items,
                    order,
                    residual=draw(st.booleans()),
                    helper=helper,
                    use_helper=draw(st.booleans()),
                    scale=scale,
                    use_scale=draw(st.booleans()),
                )
        pool.append(module)
        return module

    model = build(0)
    _tie_some(draw, model)
    unique = list({id(p): p for p in model.parameters()}.values())
    for p, frozen in zip(
        unique,
        draw(st.lists(st.booleans(), min_size=len(unique), max_size=len(unique))),
        strict=True,
    ):
        p.requires_grad_(not frozen)
    x = torch.rand(
        (2, width, width), generator=torch.Generator().manual_seed(draw(st.integers(0, 9)))
    )
    return Generated(model, x, draw(st.sampled_from(("eval", "train", "same"))))


def _tie_some(draw: st.DrawFn, model: nn.Module) -> None:
    """Make a few parameter slots of equal shape share one tensor (``b.weight = a.weight``)."""
    slots = [
        (module, name, p)
        for module in model.modules()
        for name, p in module._parameters.items()
        if p is not None
    ]
    if len(slots) < 2:
        return
    for _ in range(draw(st.integers(0, 2))):
        src, dst = draw(st.lists(st.sampled_from(slots), min_size=2, max_size=2))
        if src[2].shape == dst[2].shape and src[0] is not dst[0]:
            setattr(dst[0], dst[1], src[0]._parameters[src[1]])
