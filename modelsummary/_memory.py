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

Example:
    >>> from modelsummary._records import ParamInfo
    >>> w = ParamInfo(0, "fc.weight", 200, 800, True, "float32")
    >>> optimizer_state_bytes("adam", [w])
    1604
    >>> gradient_bytes([w])
    800
"""

from __future__ import annotations

from collections.abc import Iterable

from ._records import ParamInfo

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

    Example:
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

    Example:
        >>> gradient_bytes([ParamInfo(0, "w", 4, 8, True, "float16"),
        ...                 ParamInfo(1, "v", 4, 16, False, "float32")])
        8
    """
    return sum(p.nbytes for p in params if p.trainable)


def optimizer_state_bytes(name: str, params: Iterable[ParamInfo]) -> int:
    """Bytes of the state ``name`` keeps for the trainable parameters after its first step.

    Example:
        >>> optimizer_state_bytes("momentum", [ParamInfo(0, "w", 4, 16, True, "float32")])
        16
    """
    copies, scalars = OPTIMIZERS[name]
    return sum(copies * p.nbytes + scalars for p in params if p.trainable)
