"""What an optimizer object keeps for each parameter: read from its state, or foreseen.

``summary(optimizer=...)`` takes a ``torch.optim.Optimizer`` as well as a name. Its
training estimate then follows the optimizer itself: its class (Adam keeps two moments
and a step count, SGD a momentum buffer or nothing), the settings of each param group
(``momentum=0``, ``amsgrad=True``, ``centered=True``) and which parameters its groups
hold. For each parameter of the model in a group, `optimizer_state()` gives the bytes
of its state after a step:

* the state the optimizer holds for it now, when it has taken a step already (or made
  its state at once, as ``Adagrad`` does, for frozen parameters too);
* else nothing for a frozen parameter, which a step passes by;
* else the state a step makes: one step of an optimizer of the same class with the same
  groups, over ``meta`` stand-ins with zero gradients. No memory is allocated and the
  user's optimizer and parameters are not touched; any optimizer that runs on meta
  tensors is foreseen the same way, torch's or another library's.

An optimizer whose step cannot run on meta (one that reads a value, such as
``torch.optim.ASGD``; ``LBFGS``, whose step needs a closure) and that has no state yet
is refused before the pass, with the advice to take one step first or to name it.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Linear(4, 2)
    >>> adam = torch.optim.Adam(model.parameters())
    >>> optimizer_state(adam, model)  # two moments of each, and a float32 step count
    OptimizerState(name='Adam', state_bytes=(('weight', 68), ('bias', 20)))
    >>> optimizer_state(torch.optim.SGD(model.parameters(), lr=0.1), model).state_bytes
    (('weight', 0), ('bias', 0))
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch
from torch import nn

from .._records import OptimizerState
from .values import tensor_nbytes


def optimizer_state(optimizer: torch.optim.Optimizer, model: nn.Module) -> OptimizerState:
    """The bytes of state ``optimizer`` keeps for each parameter of ``model`` in its groups.

    Args:
        optimizer: The optimizer object.
        model: The model it trains; its parameters are named as ``named_parameters()``
            first names them. Tensors of the groups that are not the model's are left out.

    Raises:
        ValueError: A parameter in a group has no state yet and a step of this optimizer
            cannot be foreseen on meta.

    Examples:
        >>> model = nn.Sequential(nn.Linear(4, 2), nn.Linear(2, 1))
        >>> sgd = torch.optim.SGD(model[1].parameters(), lr=0.1, momentum=0.9)
        >>> optimizer_state(sgd, model).state_bytes
        (('1.weight', 8), ('1.bias', 4))
    """
    optimizer = innermost(optimizer)
    names: dict[int, str] = {}
    for name, p in model.named_parameters():
        names.setdefault(id(p), name)
    held: dict[int, int] = {}
    pending: list[list[torch.Tensor]] = []
    for group in optimizer.param_groups:
        waiting = []
        for p in group["params"]:
            if id(p) not in names:
                continue
            state = optimizer.state.get(p)  # .get: the state is a defaultdict
            if state:
                held[id(p)] = _state_bytes(state)
            elif p.requires_grad:
                waiting.append(p)
            else:  # frozen: a step passes it by (it gets no gradient)
                held[id(p)] = 0
        pending.append(waiting)
    if any(pending):
        held.update(_foreseen(optimizer, pending))
    return OptimizerState(
        type(optimizer).__name__,
        tuple(
            (names[id(p)], held[id(p)])
            for group in optimizer.param_groups
            for p in group["params"]
            if id(p) in held
        ),
    )


_KERNELS = ("fused", "foreach", "capturable")
"""Group settings that choose how a step runs (a fused or device kernel), not what
state it keeps: the twin on meta runs the plain loop."""


def innermost(optimizer: torch.optim.Optimizer) -> torch.optim.Optimizer:
    """The optimizer inside the wrappers trainers put around it (accelerate's
    ``AcceleratedOptimizer``, Lightning's ``LightningOptimizer``): an ``optimizer``
    attribute that is itself an optimizer.

    Examples:
        >>> sgd = torch.optim.SGD(nn.Linear(2, 1).parameters(), lr=0.1)
        >>> innermost(sgd) is sgd
        True
    """
    seen = {id(optimizer)}
    inner = getattr(optimizer, "optimizer", None)
    while isinstance(inner, torch.optim.Optimizer) and id(inner) not in seen:
        optimizer = inner
        seen.add(id(inner))
        inner = getattr(optimizer, "optimizer", None)
    return optimizer


def _state_bytes(state: Mapping[str, Any]) -> int:
    """Bytes of the tensors in one parameter's state (Python numbers take none on a device)."""
    return sum(tensor_nbytes(v) for v in state.values() if isinstance(v, torch.Tensor))


def _foreseen(
    optimizer: torch.optim.Optimizer, pending: Iterable[list[torch.Tensor]]
) -> dict[int, int]:
    """``{id(parameter): bytes}`` of the state one step makes for ``pending`` (the
    parameters of each group with no state yet), found by a step of a twin optimizer
    over meta stand-ins that have zero gradients."""
    groups: list[dict[str, Any]] = []
    stand_ins: dict[int, int] = {}
    for group, params in zip(optimizer.param_groups, pending, strict=True):
        if not params:
            continue
        shadows = []
        for p in params:
            shadow = torch.empty_like(p, device="meta").requires_grad_(True)
            shadow.grad = torch.zeros_like(shadow)
            stand_ins[id(shadow)] = id(p)
            shadows.append(shadow)
        twin_group = {**group, "params": shadows}
        for kernel in _KERNELS:  # the plain loop on meta: the same state, any kernel
            if twin_group.get(kernel):
                twin_group[kernel] = False
        groups.append(twin_group)
    name = type(optimizer).__name__
    try:
        make: Any = type(optimizer)  # a subclass takes its groups; the base class needs more
        twin = make(groups)
        with torch.no_grad():
            twin.step()
    except Exception as err:
        raise ValueError(
            f"cannot foresee the state {name} keeps before its first step"
            f" ({type(err).__name__}: {err}): take one optimizer step before the summary,"
            " or give its name (optimizer='adam')"
        ) from err
    return {
        stand_ins[id(shadow)]: _state_bytes(twin.state.get(shadow, {}))
        for group in groups
        for shadow in group["params"]
    }
