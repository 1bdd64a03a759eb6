"""Small models with known answers, shared by the tests."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


def _conv() -> nn.Conv2d:
    return nn.Conv2d(1, 1, kernel_size=3, stride=1, padding=1, bias=False)


class SeedCase1(nn.Module):
    """Two convolutions, each called once: 18 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = _conv()
        self.conv2 = _conv()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv2(self.conv1(x))


class SeedCase2(nn.Module):
    """One convolution called twice: 9 parameters (torchsummary says 18)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = _conv()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv1(self.conv1(x))


class SeedCase3(SeedCase2):
    """Case 2 plus a registered conv2 the forward never calls: 9 used, 9 unused."""

    def __init__(self) -> None:
        super().__init__()
        self.conv2 = _conv()


class TiedLM(nn.Module):
    """Embedding(100, 16) whose weight is also the output head's: 1,700 parameters."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(100, 16)
        self.head = nn.Linear(16, 100)
        self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(tokens))


class Functional(nn.Module):
    """The parent uses ``proj.weight`` through F.linear; ``proj`` is never called."""

    def __init__(self) -> None:
        super().__init__()
        self.proj = nn.Linear(8, 4)
        self.scale = nn.Parameter(torch.ones(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.proj.weight) * self.scale


class Siamese(nn.Module):
    """One encoder applied to two inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.encoder = nn.Sequential(nn.Linear(10, 6), nn.ReLU(), nn.Linear(6, 3))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (self.encoder(a) - self.encoder(b)).abs()


class Looped(nn.Module):
    """A linear layer applied in a loop four times."""

    def __init__(self) -> None:
        super().__init__()
        self.step = nn.Linear(5, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for _ in range(4):
            x = torch.tanh(self.step(x))
        return x


class Branches(nn.Module):
    """A ModuleDict whose branch is chosen by a forward keyword."""

    def __init__(self) -> None:
        super().__init__()
        self.branches = nn.ModuleDict({"small": nn.Linear(4, 2), "big": nn.Linear(4, 64)})

    def forward(self, x: torch.Tensor, branch: str = "small") -> torch.Tensor:
        return self.branches[branch](x)


class SharedAcrossParents(nn.Module):
    """One Linear registered under two parents and called from both."""

    def __init__(self) -> None:
        super().__init__()
        shared = nn.Linear(6, 6)
        self.left = nn.Sequential(shared, nn.ReLU())
        self.right = nn.Sequential(shared, nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.left(x) + self.right(x)


class Nested(nn.Module):
    """Sequential in ModuleList in Sequential, with an unused sub-branch."""

    def __init__(self) -> None:
        super().__init__()
        self.stages = nn.ModuleList(
            [
                nn.Sequential(nn.Linear(4, 4), nn.Sequential(nn.Linear(4, 4), nn.ReLU()))
                for _ in range(2)
            ]
        )
        self.extra = nn.Sequential(nn.Linear(4, 100), nn.Linear(100, 4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return x


class WithParameterList(nn.Module):
    """Parameters held in a ParameterList and used functionally; one of them unused."""

    def __init__(self) -> None:
        super().__init__()
        self.weights = nn.ParameterList([nn.Parameter(torch.randn(4, 4)) for _ in range(3)])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weights[0] @ self.weights[1]


class Frozen(nn.Module):
    """A frozen backbone and a trainable head."""

    def __init__(self) -> None:
        super().__init__()
        self.backbone = nn.Sequential(nn.Linear(10, 20), nn.BatchNorm1d(20), nn.ReLU())
        self.head = nn.Linear(20, 2)
        for p in self.backbone.parameters():
            p.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))


class ManyOutputs(nn.Module):
    """Returns a dict holding a tuple, None, an int, and a string."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> dict[str, object]:
        y = self.fc(x)
        return {"pair": (y, y.sum()), "none": None, "count": 3, "label": "ok"}


class MixedInputs(nn.Module):
    """Float features, integer ids, and a boolean mask, as three inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return (self.fc(x) + self.embed(ids)).masked_fill(mask, 0.0)


class Failing(nn.Module):
    """The inner module raises on the shape it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(4, 4), nn.Linear(5, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


_GENERATOR = torch.Generator().manual_seed(1234)


class NeverRun(nn.Module):
    """Fails the test if its forward is ever called: for arguments refused before a pass."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("the forward pass ran before the arguments were checked")


def rand(*shape: int) -> torch.Tensor:
    """Uniform test input from a private generator, so the global RNG stream stays put."""
    return torch.rand(shape, generator=_GENERATOR)


def tiny_gpt2(**config: object) -> nn.Module:
    """A two-layer GPT-2 language model of width 32 and a vocabulary of 50, built from its
    config (``config`` overrides or adds settings, e.g. ``attn_implementation``)."""
    import transformers

    settings: dict[str, object] = {
        "n_embd": 32,
        "n_layer": 2,
        "n_head": 2,
        "vocab_size": 50,
        "n_positions": 16,
        "bos_token_id": 0,
        "eos_token_id": 0,
    }
    return transformers.GPT2LMHeadModel(transformers.GPT2Config(**(settings | config)))
