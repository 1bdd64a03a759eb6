"""Shared fixtures: golden files, the state audit, and the counting invariants."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, settings
from torch import nn
from torch.overrides import _get_current_function_mode_stack

from modelsummary import ModelSummary

GOLDENS = Path(__file__).parent / "goldens"

# Hypothesis profiles, chosen with HYPOTHESIS_PROFILE (default "ci"). CI is
# derandomised (the same examples every run, no example database written);
# nightly draws ten times more, fresh each run.
_SLOW_OK = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci",
    max_examples=500,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=_SLOW_OK,
)
settings.register_profile(
    "nightly", max_examples=5000, deadline=None, suppress_health_check=_SLOW_OK
)
settings.register_profile("dev", max_examples=50, deadline=None, suppress_health_check=_SLOW_OK)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        default=False,
        help="rewrite tests/goldens/*.txt from the current output instead of comparing",
    )


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare text with ``tests/goldens/NAME.txt``; rewrite it under ``--update-goldens``."""
    update = request.config.getoption("--update-goldens")

    def check(name: str, text: str) -> None:
        path = GOLDENS / f"{name}.txt"
        if update:
            path.write_text(text + "\n", encoding="utf-8")
            return
        assert path.exists(), f"missing golden {path}; run pytest --update-goldens"
        assert text + "\n" == path.read_text(encoding="utf-8")

    return check


class StateSnapshot:
    """Everything a summary must leave as it found it."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.modules = list(model.modules())
        self.training = [m.training for m in self.modules]
        self.hooks = [
            (
                dict(m._forward_hooks),
                dict(m._forward_pre_hooks),
                dict(m._backward_hooks),
                dict(m._forward_hooks_with_kwargs),
                dict(m._forward_pre_hooks_with_kwargs),
                dict(m._forward_hooks_always_called),
                dict(m._backward_pre_hooks),
                dict(m._state_dict_hooks),
                dict(m._load_state_dict_pre_hooks),
            )
            for m in self.modules
        ]
        self.attributes = [set(vars(m)) for m in self.modules]
        self.classes = [type(m) for m in self.modules]
        self.param_meta = [
            (p.dtype, p.device, p._version, p.grad) for _, p in model.named_parameters()
        ]
        self.buffer_meta = [(b.dtype, b.device, b.requires_grad) for _, b in model.named_buffers()]
        self.params = [
            (n, p, p.detach().clone(), p.requires_grad) for n, p in model.named_parameters()
        ]
        self.buffers = [(n, b, b.detach().clone()) for n, b in model.named_buffers()]
        self.grad_enabled = torch.is_grad_enabled()
        self.rng = torch.random.get_rng_state()
        self.global_hooks = _global_hooks()
        self.default_dtype = torch.get_default_dtype()
        self.inference_mode = torch.is_inference_mode_enabled()
        self.threads = threading.active_count()

    def assert_unchanged(self) -> None:
        model = self.model
        assert list(model.modules()) == self.modules, "module tree changed"
        assert [m.training for m in self.modules] == self.training, "train/eval flags changed"
        for m, (fwd, pre, bwd, kw, *more) in zip(self.modules, self.hooks, strict=True):
            assert dict(m._forward_hooks) == fwd, f"forward hooks changed on {type(m).__name__}"
            assert dict(m._forward_pre_hooks) == pre, "forward pre-hooks changed"
            assert dict(m._backward_hooks) == bwd, "backward hooks changed"
            assert dict(m._forward_hooks_with_kwargs) == kw, "hook kwargs flags changed"
            assert [
                dict(m._forward_pre_hooks_with_kwargs),
                dict(m._forward_hooks_always_called),
                dict(m._backward_pre_hooks),
                dict(m._state_dict_hooks),
                dict(m._load_state_dict_pre_hooks),
            ] == more, f"other hooks changed on {type(m).__name__}"
        assert [type(m) for m in self.modules] == self.classes, "a module changed class"
        assert [set(vars(m)) for m in self.modules] == self.attributes, "module attributes added"
        assert [
            (p.dtype, p.device, p._version, p.grad) for _, p in model.named_parameters()
        ] == self.param_meta, "parameter dtype, device, version (written in place) or grad changed"
        assert [
            (b.dtype, b.device, b.requires_grad) for _, b in model.named_buffers()
        ] == self.buffer_meta, "buffer dtype, device or requires_grad changed"
        now = list(model.named_parameters())
        assert [(n, id(p)) for n, p in now] == [(n, id(p)) for n, p, _, _ in self.params]
        for (name, _, saved, requires_grad), (_, q) in zip(self.params, now, strict=True):
            assert q.requires_grad == requires_grad, f"requires_grad of {name} changed"
            assert q.device == saved.device, f"{name} moved to {q.device}"
            assert torch.equal(q.detach(), saved), f"values of {name} changed"
        now_buffers = list(model.named_buffers())
        assert [n for n, _ in now_buffers] == [n for n, _, _ in self.buffers]
        for (name, b, saved), (_, c) in zip(self.buffers, now_buffers, strict=True):
            assert c is b, f"buffer {name} was replaced"
            assert torch.equal(c, saved), f"values of buffer {name} changed"
        assert torch.is_grad_enabled() == self.grad_enabled, "grad mode changed"
        assert torch.equal(torch.random.get_rng_state(), self.rng), "global RNG stream moved"
        assert _global_hooks() == self.global_hooks, "global hooks changed"
        assert torch.get_default_dtype() == self.default_dtype, "default dtype changed"
        assert torch.is_inference_mode_enabled() == self.inference_mode, "inference mode changed"
        assert not _get_current_function_mode_stack(), "a TorchFunctionMode was left active"


def _global_hooks() -> list[dict[object, object]]:
    hooks = nn.modules.module
    return [
        dict(hooks._global_forward_hooks),
        dict(hooks._global_forward_pre_hooks),
        dict(hooks._global_forward_hooks_always_called),
        dict(hooks._global_forward_hooks_with_kwargs),
        dict(hooks._global_backward_hooks),
        dict(hooks._global_backward_pre_hooks),
        dict(hooks._global_module_registration_hooks),
        dict(hooks._global_parameter_registration_hooks),
        dict(hooks._global_buffer_registration_hooks),
    ]


@pytest.fixture
def audit() -> Iterator[Callable[[nn.Module], nn.Module]]:
    """Snapshot each model handed to it; assert after the test that nothing changed."""
    snapshots: list[StateSnapshot] = []

    def watch(model: nn.Module) -> nn.Module:
        snapshots.append(StateSnapshot(model))
        return model

    yield watch
    for snapshot in snapshots:
        snapshot.assert_unchanged()


def unique_numel(params: object) -> int:
    seen: dict[int, int] = {}
    for p in params:  # type: ignore[attr-defined]
        seen[id(p)] = p.numel()
    return sum(seen.values())


def check_invariants(s: ModelSummary, model: nn.Module | None = None) -> None:
    """The counting invariants, asserted on data."""
    assert s.total_params + s.unused_params == s.all_params
    assert s.trainable_params + s.non_trainable_params == s.total_params
    assert sum(layer.num_params for layer in s.layers) == s.total_params
    assert s.layers[0].subtree_params == s.total_params
    for layer in s.layers:
        assert layer.subtree_params == layer.num_params + sum(
            c.subtree_params for c in layer.children
        )
    assert sum(e.params for e in s.tree.unused) == s.unused_params
    if model is not None:
        assert s.all_params == unique_numel(model.parameters())


def backward_reached(model: nn.Module, *args: object, **kwargs: object) -> set[str]:
    """Canonical names of the parameters a backward pass from the outputs reaches.

    An oracle independent of the tracer: autograd decides what was used.
    """
    from modelsummary._trace.values import iter_tensors

    names = {id(p): n for n, p in reversed(list(model.named_parameters()))}
    params = [p for p in model.parameters() if p.requires_grad]
    training = [m.training for m in model.modules()]
    model.eval()
    try:
        with torch.enable_grad():
            out = model(*args, **kwargs)
            total = sum(t.float().sum() for t in iter_tensors(out) if t.is_floating_point())
            if not params or not getattr(total, "requires_grad", False):
                return set()  # no parameter reaches the outputs
            grads = torch.autograd.grad(total, params, allow_unused=True)  # type: ignore[arg-type]
    finally:
        for m, flag in zip(model.modules(), training, strict=True):
            m.training = flag
    return {names[id(p)] for p, g in zip(params, grads, strict=True) if g is not None}


def used_names(s: ModelSummary) -> set[str]:
    """Canonical names of the parameters the summary counted as used."""
    return {name for layer in s.layers for name in layer.param_names}
