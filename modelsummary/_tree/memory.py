"""Training-memory arithmetic: gradients and optimizer state per parameter. Pure.

What a named optimizer keeps per trainable parameter, as ``torch.optim`` does it:

====================  ===========================================  =====================
name                  state tensors the size of the parameter       scalar ``step``
====================  ===========================================  =====================
``sgd``               none (``momentum=0``)                          no
``momentum``          ``momentum_buffer`` (SGD with momentum)        no
``adam``, ``adamw``   ``exp_avg``, ``exp_avg_sq``                    one float32
``rmsprop``           ``square_avg``                                 one float32
``adagrad``           ``sum``                                        one float32
====================  ===========================================  =====================

An optimizer object (a ``torch.optim.Optimizer``) brings its own rule, read before the
pass into an `OptimizerState`: the bytes each parameter in its groups keeps, as its
class and its groups' settings make them (Adam's two moments, SGD's momentum or none).
A frozen parameter gets state only where the optimizer made it at once (``Adagrad``);
trainable parameters in no group and frozen ones in a group are named.

Examples:
    >>> from modelsummary._records import ParamInfo
    >>> w = ParamInfo(0, "fc.weight", 200, 800, True, "float32")
    >>> optimizer_state_bytes("adam", [w])
    1604
    >>> gradient_bytes([w])
    800
    >>> estimate_training("adam", [w], saved_bytes=64).grad_bytes
    800
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .._records import OptimizerState, ParamInfo

OPTIMIZERS: dict[str, tuple[int, int]] = {
    "sgd": (0, 0),
    "momentum": (1, 0),
    "adam": (2, 4),
    "adamw": (2, 4),
    "rmsprop": (1, 4),
    "adagrad": (1, 4),
}
"""Optimizer name -> (state tensors the size of each parameter, bytes of per-parameter scalars)."""


def check_optimizer(name: object) -> str | None:
    """Validate an optimizer name (case-insensitive); ``None`` means no training estimate.

    Raises:
        TypeError: Not a string.
        ValueError: Not a known optimizer.

    Examples:
        >>> check_optimizer("AdamW")
        'adamw'
        >>> check_optimizer("lion")
        Traceback (most recent call last):
        ...
        ValueError: optimizer must be one of [...] or None, got 'lion'
    """
    if name is None:
        return None
    if not isinstance(name, str):
        raise TypeError(f"optimizer must be a string such as 'adam', got {type(name).__name__}")
    if name.lower() not in OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)} or None, got {name!r}")
    return name.lower()


def gradient_bytes(params: Iterable[ParamInfo]) -> int:
    """Bytes of the gradients of the trainable parameters (one per parameter, of the
    parameter's own dtype: a quantized one's gradient is dense, ``dense_nbytes``).

    Examples:
        >>> gradient_bytes([ParamInfo(0, "w", 4, 8, True, "float16"),
        ...                 ParamInfo(1, "v", 4, 16, False, "float32")])
        8
        >>> gradient_bytes([ParamInfo(0, "w", 64, 36, True, "nf4", dense_nbytes=256)])
        256
    """
    return sum(_dense(p) for p in params if p.trainable)


def _dense(p: ParamInfo) -> int:
    return p.nbytes if p.dense_nbytes is None else p.dense_nbytes


def optimizer_state_bytes(name: str, params: Iterable[ParamInfo]) -> int:
    """Bytes of the state ``name`` keeps for the trainable parameters after its first step.

    Examples:
        >>> optimizer_state_bytes("momentum", [ParamInfo(0, "w", 4, 16, True, "float32")])
        16
    """
    copies, scalars = OPTIMIZERS[name]
    return sum(copies * _dense(p) + scalars for p in params if p.trainable)


@dataclass(frozen=True, slots=True)
class TrainingEstimate:
    """What training with an optimizer keeps beyond the forward pass's own memory.

    Examples:
        >>> TrainingEstimate("sgd", grad_bytes=800, optimizer_bytes=0, saved_bytes=64).saved_bytes
        64
    """

    optimizer: str
    """The optimizer's name, as `check_optimizer()` returns it."""
    grad_bytes: int
    """Bytes of the gradients of the trainable parameters."""
    optimizer_bytes: int
    """Bytes of the optimizer's state for those parameters."""
    saved_bytes: int
    """Bytes of the distinct tensors the pass made that autograd saved for backward."""
    not_in_optimizer: tuple[str, ...] | None = None
    """Trainable parameters in none of an optimizer object's groups (``None``: a name
    was given)."""
    frozen_in_optimizer: tuple[str, ...] | None = None
    """Frozen parameters still in one of its groups (``None``: a name was given)."""


def estimate_training(
    optimizer: str,
    params: Iterable[ParamInfo],
    saved_bytes: int,
    state: OptimizerState | None = None,
    registered: Iterable[ParamInfo] = (),
) -> TrainingEstimate:
    """The training estimate for ``params`` (the parameters the pass used).

    Args:
        optimizer: A name `check_optimizer()` accepts, lower case, or an optimizer
            object's class name when ``state`` is given.
        params: The parameters the pass used, each tensor once.
        saved_bytes: Bytes autograd saved for backward during the pass.
        state: An optimizer object's state per parameter in its groups (what it
            holds, or what a step would make: nothing for a frozen parameter
            without state); the used parameters keep that. ``None``: the rule of
            the name, for the used trainable parameters.
        registered: Every parameter of the model, used or not, for the names of the
            trainable ones in no group and the frozen ones in one (with ``state``).

    Examples:
        >>> w = ParamInfo(0, "fc.weight", 200, 800, True, "float32")
        >>> frozen = ParamInfo(1, "fc.bias", 4, 16, False, "float32")
        >>> estimate_training("momentum", [w, frozen], saved_bytes=96)  # doctest: +ELLIPSIS
        TrainingEstimate(optimizer='momentum', grad_bytes=800, optimizer_bytes=800, ...)
        >>> head = ParamInfo(2, "head.weight", 10, 40, True, "float32")
        >>> adam = OptimizerState("Adam", (("fc.weight", 1604), ("fc.bias", 0)))
        >>> e = estimate_training("Adam", [w, frozen, head], 0, adam, [w, frozen, head])
        >>> e.optimizer_bytes, e.not_in_optimizer, e.frozen_in_optimizer
        (1604, ('head.weight',), ('fc.bias',))
    """
    params = tuple(params)
    if state is None:
        return TrainingEstimate(
            optimizer=optimizer,
            grad_bytes=gradient_bytes(params),
            optimizer_bytes=optimizer_state_bytes(optimizer, params),
            saved_bytes=saved_bytes,
        )
    held = dict(state.state_bytes)
    every = tuple(registered) or params
    return TrainingEstimate(
        optimizer=optimizer,
        grad_bytes=gradient_bytes(params),
        optimizer_bytes=sum(held.get(p.name, 0) for p in params),
        saved_bytes=saved_bytes,
        not_in_optimizer=tuple(p.name for p in every if p.trainable and p.name not in held),
        frozen_in_optimizer=tuple(p.name for p in every if not p.trainable and p.name in held),
    )
