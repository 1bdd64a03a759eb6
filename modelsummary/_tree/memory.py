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

from .._records import ParamInfo

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
    """Bytes of the gradients of the trainable parameters (one per parameter, same dtype).

    Examples:
        >>> gradient_bytes([ParamInfo(0, "w", 4, 8, True, "float16"),
        ...                 ParamInfo(1, "v", 4, 16, False, "float32")])
        8
    """
    return sum(p.nbytes for p in params if p.trainable)


def optimizer_state_bytes(name: str, params: Iterable[ParamInfo]) -> int:
    """Bytes of the state ``name`` keeps for the trainable parameters after its first step.

    Examples:
        >>> optimizer_state_bytes("momentum", [ParamInfo(0, "w", 4, 16, True, "float32")])
        16
    """
    copies, scalars = OPTIMIZERS[name]
    return sum(copies * p.nbytes + scalars for p in params if p.trainable)


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


def estimate_training(
    optimizer: str, params: Iterable[ParamInfo], saved_bytes: int
) -> TrainingEstimate:
    """The training estimate for ``params`` (the parameters the pass used).

    Args:
        optimizer: A name `check_optimizer()` accepts, lower case.
        params: The parameters the pass used, each tensor once.
        saved_bytes: Bytes autograd saved for backward during the pass.

    Examples:
        >>> w = ParamInfo(0, "fc.weight", 200, 800, True, "float32")
        >>> frozen = ParamInfo(1, "fc.bias", 4, 16, False, "float32")
        >>> estimate_training("momentum", [w, frozen], saved_bytes=96)
        TrainingEstimate(optimizer='momentum', grad_bytes=800, optimizer_bytes=800, saved_bytes=96)
    """
    params = tuple(params)
    return TrainingEstimate(
        optimizer=optimizer,
        grad_bytes=gradient_bytes(params),
        optimizer_bytes=optimizer_state_bytes(optimizer, params),
        saved_bytes=saved_bytes,
    )
