"""Counting invariants over random module trees, checked against autograd and tensor identity.

The oracle is independent of the tracer: a backward pass from the outputs of a
copy of the model (every parameter made trainable) decides which parameters were
used, and ``named_parameters(remove_duplicate=False)`` decides who holds what.
The number of examples comes from the Hypothesis profile (see tests/conftest.py):
``HYPOTHESIS_PROFILE=nightly`` runs ten times more.
"""

from __future__ import annotations

import copy
from collections import Counter

from hypothesis import given
from torch import nn

from modelsummary import summary
from tests.conftest import StateSnapshot, backward_reached, check_invariants, used_names
from tests.strategies import Generated, models


def reached(model: nn.Module, *args: object) -> set[str]:
    """Parameters a backward pass reaches, frozen ones included (on a copy of the model)."""
    twin = copy.deepcopy(model)  # keeps ties and shared modules: deepcopy memoises
    for p in twin.parameters():
        p.requires_grad_(True)
    return backward_reached(twin, *args)


def holders(model: nn.Module) -> dict[str, list[str]]:
    """Canonical parameter name -> every full name it is reachable under."""
    canonical = {id(p): n for n, p in reversed(list(model.named_parameters()))}
    names: dict[str, list[str]] = {}
    for full, p in model.named_parameters(remove_duplicate=False):
        names.setdefault(canonical[id(p)], []).append(full)
    return names


@given(models())
def test_counts_agree_with_autograd_and_identity(g: Generated) -> None:
    model, x = g.model, g.x
    snapshot = StateSnapshot(model)
    s = summary(model, input_data=x, mode=g.mode, verbose=0)
    snapshot.assert_unchanged()

    params = dict(model.named_parameters())  # canonical name -> tensor, each tensor once
    numel = {n: p.numel() for n, p in params.items()}
    used = reached(model, x)

    # used / unused / all, and the trainable split
    assert used_names(s) == used
    assert s.total_params == sum(numel[n] for n in used)
    assert s.all_params == sum(numel.values())
    assert s.unused_params == s.all_params - s.total_params
    assert s.trainable_params == sum(numel[n] for n in used if params[n].requires_grad)
    check_invariants(s, model)

    # each used parameter on exactly one row
    rows = Counter(name for layer in s.layers for name in layer.param_names)
    assert all(count == 1 for count in rows.values()), rows

    # each row's roll-up is the unique used parameters below it; exact where nothing
    # outside the subtree holds any of them
    where = holders(model)
    for node in s.layers:
        carried = {name for below in node.walk() for name in below.param_names}
        assert node.subtree_params == sum(numel[n] for n in carried)
        prefix = f"{node.path}." if node.path else ""
        module = model.get_submodule(node.path)
        inside = {n for n in used if any(params[n] is p for p in module.parameters())}
        assert carried <= inside, (node.path, carried - inside)
        exclusive = all(f.startswith(prefix) for n in inside for f in where[n])
        if exclusive:
            assert carried == inside, (node.path, inside - carried)

    # a module listed as unused holds no used parameter
    for path in s.unused_modules:
        held = {id(p) for p in model.get_submodule(path).parameters()}
        assert not any(id(params[n]) in held for n in used), path

    assert str(s)
