"""Checking ``summary()``'s arguments and building the inputs of the traced pass.

Every check here runs before any forward pass, so a wrong argument is a clear
``TypeError``/``ValueError`` and never a failure deep inside the model.

Examples:
    >>> normalize_input_size((1, 3, 8, 8))
    [(1, 3, 8, 8)]
    >>> normalize_input_size([(1, 4), [2, 5]])
    [(1, 4), (2, 5)]
    >>> normalize_input_size([(2, 4), []])  # a 0-d tensor as the second input
    [(2, 4), ()]
"""

from __future__ import annotations

import inspect
import itertools
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from ._errors import ArgumentError
from ._present.options import is_int
from ._trace.values import branches, to_device


def _check_shape(shape: Sequence[Any], what: str) -> tuple[int, ...]:
    for dim in shape:
        if not is_int(dim):
            raise TypeError(f"{what} must contain integers, got {dim!r} in {list(shape)!r}")
        if dim <= 0:
            raise ValueError(f"{what} must contain positive sizes, got {dim} in {list(shape)!r}")
    return tuple(int(d) for d in shape)


def normalize_input_size(input_size: object) -> list[tuple[int, ...]]:
    """Turn ``input_size`` (one shape, or a sequence of shapes) into a list of shapes.

    In a sequence of shapes, ``[]`` (or ``()``) is the shape of a 0-d tensor, a
    scalar input, as torchinfo reads it; an empty ``input_size`` itself is refused.

    Raises:
        TypeError: Not a sequence of integers or of sequences of integers.
        ValueError: Empty, or with a size that is not positive.

    Examples:
        >>> normalize_input_size(torch.Size([2, 3]))
        [(2, 3)]
        >>> normalize_input_size([[]])
        [()]
        >>> normalize_input_size((1, 0))
        Traceback (most recent call last):
        ...
        ValueError: input_size must contain positive sizes, got 0 in [1, 0]
    """
    if isinstance(input_size, (str, bytes)) or not isinstance(input_size, Sequence):
        raise TypeError(
            "input_size must be a shape such as (1, 3, 224, 224) or a list of shapes,"
            f" got {type(input_size).__name__}"
        )
    if len(input_size) == 0:
        raise ValueError("input_size is empty; give a shape such as (1, 3, 224, 224)")
    if not any(isinstance(d, Sequence) and not isinstance(d, (str, bytes)) for d in input_size):
        return [_check_shape(input_size, "input_size")]
    shapes = []
    for item in input_size:
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence):
            raise TypeError(
                "input_size must be one shape or a list of shapes, got an element"
                f" {item!r} of type {type(item).__name__}"
            )
        shapes.append(_check_shape(item, "input_size"))
    return shapes


def input_sizes(input_size: object, input_data: object) -> Any:
    """The inputs' shapes as torchinfo's ``ModelStatistics.input_size`` gives them.

    For ``input_size``: a list of the shapes as passed, one shape turned into a
    list of one (a list shape into a tuple). For ``input_data``: the same
    structure with each tensor (or numpy array) replaced by its ``torch.Size``:
    a ``torch.Size`` for one tensor, a list or dict of them for several. ``[]``
    when neither is given. Call it after `build_inputs()` has checked both.

    Examples:
        >>> input_sizes((1, 3, 8, 8), None), input_sizes([2, 4], None)
        ([(1, 3, 8, 8)], [(2, 4)])
        >>> input_sizes(None, {"x": torch.zeros(2, 4), "scale": 2.0})
        {'x': torch.Size([2, 4]), 'scale': 2.0}
        >>> input_sizes(None, None)
        []
    """
    if input_size is not None:
        shapes = normalize_input_size(input_size)
        if len(shapes) == 1 and not _is_shape_list(input_size):
            one = input_size
            return [tuple(one) if isinstance(one, list) else one]
        return list(input_size)  # type: ignore[call-overload]
    if input_data is None:
        return []
    return _sizes_of(_from_numpy(input_data))


def _is_shape_list(input_size: object) -> bool:
    """Whether ``input_size`` is a sequence of shapes rather than one shape."""
    return isinstance(input_size, Sequence) and any(
        isinstance(d, Sequence) and not isinstance(d, (str, bytes)) for d in input_size
    )


def _sizes_of(value: Any) -> Any:
    """``value`` with each tensor as its size: mappings become dicts, lists stay lists
    and other tuples (a ``PackedSequence`` too) plain tuples; no user type is rebuilt.

    Examples:
        >>> from torch.nn.utils.rnn import pack_sequence
        >>> _sizes_of([pack_sequence([torch.zeros(3, 2), torch.zeros(1, 2)]), 2])
        [(torch.Size([4, 2]), torch.Size([3]), None, None), 2]
    """
    if isinstance(value, torch.Tensor):
        return value.size()
    held = branches(value)  # the one walker of nested values (modelsummary._trace.values)
    if held is None or not isinstance(value, (Mapping, list, tuple)):
        return value  # a leaf, or a dataclass instance: as it is
    sizes = [_sizes_of(child) for _, child in held[1]]
    if isinstance(value, Mapping):
        return dict(zip(value.keys(), sizes, strict=True))
    return sizes if isinstance(value, list) else tuple(sizes)


def _from_numpy(value: object) -> object:
    """A bare numpy array as a tensor (sharing its memory), as torchinfo takes it.

    numpy is not imported here: a caller holding an array has imported it.

    Examples:
        >>> import numpy as np
        >>> _from_numpy(np.zeros((2, 3), dtype=np.float32)).shape
        torch.Size([2, 3])
    """
    numpy = sys.modules.get("numpy")
    if numpy is not None and isinstance(value, numpy.ndarray):
        return torch.as_tensor(value)
    return value


def normalize_dtypes(
    dtypes: object, count: int, default: torch.dtype = torch.float32
) -> list[torch.dtype]:
    """One dtype per input: ``None`` means ``default`` for all.

    torchinfo's legacy tensor types (``torch.FloatTensor``, ``torch.LongTensor``,
    ``torch.cuda.HalfTensor``) stand for their dtype; the device is ``device``'s.

    Examples:
        >>> normalize_dtypes([torch.long], 1)
        [torch.int64]
        >>> normalize_dtypes([torch.FloatTensor, torch.LongTensor], 2)
        [torch.float32, torch.int64]
        >>> normalize_dtypes(None, 2)
        [torch.float32, torch.float32]
    """
    if dtypes is None:
        return [default] * count
    if isinstance(dtypes, torch.dtype) or _legacy_dtype(dtypes) is not None:
        dtypes = [dtypes]
    if not isinstance(dtypes, Sequence) or isinstance(dtypes, (str, bytes)):
        raise TypeError(f"dtypes must be a list of torch.dtype, got {dtypes!r}")
    found = [d if isinstance(d, torch.dtype) else _legacy_dtype(d) for d in dtypes]
    if any(d is None for d in found):
        raise TypeError(f"dtypes must be a list of torch.dtype, got {dtypes!r}")
    if len(found) != count:
        raise ValueError(f"dtypes has {len(found)} entries for {count} input shape(s)")
    return [d for d in found if d is not None]


def _legacy_dtype(value: object) -> torch.dtype | None:
    """The dtype of a legacy tensor type such as ``torch.FloatTensor``, else ``None``
    (``torch.Tensor.dtype`` is an attribute descriptor, not a dtype)."""
    dtype = getattr(value, "dtype", None) if isinstance(value, type) else None
    return dtype if isinstance(dtype, torch.dtype) else None


def normalize_device(device: object) -> torch.device | None:
    """Parse ``device`` (``None``, a string, or a ``torch.device``).

    Examples:
        >>> normalize_device("cpu")
        device(type='cpu')
        >>> normalize_device("nonsense")
        Traceback (most recent call last):
        ...
        modelsummary.ArgumentError: device 'nonsense' is not a valid torch device
    """
    if device is None:
        return None
    if isinstance(device, torch.device):
        return device
    if not isinstance(device, str):
        raise TypeError(f"device must be a str or torch.device, got {type(device).__name__}")
    try:
        return torch.device(device)
    except RuntimeError as err:
        raise ArgumentError(f"device {device!r} is not a valid torch device") from err


def check_available(device: torch.device) -> None:
    """Raise `ArgumentError` (a ``ValueError``) if no tensor can be made on ``device`` here.

    Examples:
        >>> check_available(torch.device("meta"))
        >>> check_available(torch.device("cuda", 99))
        Traceback (most recent call last):
        ...
        modelsummary.ArgumentError: device 'cuda:99' is not available here: ...
    """
    if device.type in ("cpu", "meta"):
        return
    try:
        torch.empty(0, device=device)
    except (RuntimeError, AssertionError) as err:  # torch asserts when built without CUDA
        raise ArgumentError(f"device '{device}' is not available here: {err}") from err


def make_inputs(
    shapes: list[tuple[int, ...]],
    dtypes: list[torch.dtype],
    device: torch.device,
    batch_dim: int | None,
) -> list[torch.Tensor]:
    """Build one tensor per shape, without touching the global random stream.

    Floating and complex inputs are uniform in [0, 1) from a private, seeded
    generator; integer inputs are zeros (valid indices for embeddings); boolean
    inputs are ``False``. ``batch_dim`` inserts a dimension of size 1 there.

    Examples:
        >>> [tuple(t.shape) for t in make_inputs([(3, 4)], [torch.long], torch.device("cpu"), 0)]
        [(1, 3, 4)]
    """
    generator = torch.Generator().manual_seed(0)
    tensors = []
    for shape, dtype in zip(shapes, dtypes, strict=True):
        if batch_dim is not None and batch_dim > len(shape):
            raise ValueError(
                f"batch_dim {batch_dim} is past the end of input shape {list(shape)}"
                f" (at most {len(shape)})"
            )
        if batch_dim is not None:
            shape = (*shape[:batch_dim], 1, *shape[batch_dim:])
        if device.type == "meta":
            tensors.append(torch.empty(shape, dtype=dtype, device=device))
        elif dtype.is_floating_point or dtype.is_complex:
            # On the CPU, with its generator, also inside a device context of the caller.
            tensors.append(
                torch.rand(shape, generator=generator, dtype=dtype, device="cpu").to(device)
            )
        else:
            tensors.append(torch.zeros(shape, dtype=dtype, device=device))
    return tensors


def model_device(model: torch.nn.Module) -> torch.device:
    """The device of the model's first parameter or buffer; CPU for a model with neither.

    Examples:
        >>> model_device(torch.nn.ReLU())
        device(type='cpu')
    """
    for tensor in itertools.chain(model.parameters(), model.buffers()):
        return tensor.device
    return torch.device("cpu")


def model_float_dtype(model: torch.nn.Module) -> torch.dtype:
    """The dtype random inputs take: the one of the model's first floating-point
    parameter, as its device is the one of its first parameter or buffer, so that a
    ``.half()`` or ``.double()`` model runs on inputs it accepts; float32 for a model
    without one. In a mixed-precision model the first parameter is usually the first
    layer's, which meets the input (a bfloat16 model with float32 norms gets bfloat16).

    Examples:
        >>> model_float_dtype(torch.nn.Linear(2, 2).double())
        torch.float64
        >>> model_float_dtype(torch.nn.ReLU())
        torch.float32
    """
    for p in model.parameters():  # a generator: stops at the first
        if p.dtype.is_floating_point:
            return p.dtype
    return torch.float32


MODES = ("eval", "train", "same")


def check_model(model: object) -> None:
    if isinstance(model, type) and issubclass(model, nn.Module):
        raise TypeError(f"model must be a module instance, got the class {model.__name__}")
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")


def has_forward(model: nn.Module) -> bool:
    """Whether the module defines a ``forward`` (``nn.ModuleList``, ``nn.ModuleDict``,
    ``nn.ParameterList`` and plain holders of parameters do not).

    Examples:
        >>> has_forward(nn.Linear(2, 2)), has_forward(nn.ModuleList())
        (True, False)
    """
    return inspect.getattr_static(model, "forward", None) is not nn.Module.forward


def check_has_forward(model: nn.Module) -> None:
    """Raise ``TypeError`` for a module without ``forward``, which no input can run."""
    if not has_forward(model):
        raise TypeError(
            f"{type(model).__name__} defines no forward() to run; summary(model) without"
            " an input lists its modules and parameters as registered"
        )


def forward_takes_arguments(model: nn.Module) -> bool:
    """Whether ``model.forward`` takes any argument at all (False when its signature
    cannot be read: the pass then runs, and says itself what it missed).

    Examples:
        >>> forward_takes_arguments(nn.Linear(2, 2)), forward_takes_arguments(nn.Sequential())
        (True, True)
    """
    try:
        return bool(inspect.signature(model.forward).parameters)
    except (TypeError, ValueError):
        return False


def check_forward_arguments(model: nn.Module, args: list[Any], kwargs: dict[str, Any]) -> None:
    """The inputs must fit ``model.forward``'s signature (when it has one to read)."""
    try:
        signature = inspect.signature(model.forward)
    except (TypeError, ValueError):
        return
    try:
        signature.bind(*args, **kwargs)
    except TypeError as err:
        raise TypeError(
            f"the inputs do not fit {type(model).__name__}.forward{signature}: {err}"
            f" (got {len(args)} positional and keywords {sorted(kwargs)})"
        ) from err


def check_mode(mode: object) -> str:
    mode = getattr(mode, "value", mode)  # torchinfo's Mode enum
    if mode is None:
        return "eval"
    if not isinstance(mode, str) or mode.lower() not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return mode.lower()


def build_inputs(
    input_size: object,
    input_data: object,
    batch_dim: int | None,
    dtypes: object,
    device: torch.device,
    default_dtype: torch.dtype = torch.float32,
) -> tuple[list[Any], dict[str, Any]]:
    """The positional and keyword arguments of the pass, on ``device``.

    ``input_data`` is used as given (a bare numpy array becomes a tensor, as in
    torchinfo); ``input_size`` makes one tensor per shape with `make_inputs()`.

    Raises:
        TypeError: ``input_data`` of another kind, or bad shapes or dtypes.
        ValueError: Both given, or ``dtypes`` that do not fit.

    Examples:
        >>> args, kwargs = build_inputs([(2, 3), []], None, None, None, torch.device("cpu"))
        >>> [tuple(a.shape) for a in args], kwargs
        ([(2, 3), ()], {})
    """
    if input_size is not None and input_data is not None:
        raise ArgumentError("give input_size or input_data, not both")
    if input_data is not None:
        if dtypes is not None:
            raise ValueError("dtypes applies to input_size; input_data carries its own dtypes")
        input_data = _from_numpy(input_data)
        if isinstance(input_data, torch.Tensor):
            return [to_device(input_data, device)], {}
        if isinstance(input_data, Mapping):
            if not all(isinstance(k, str) for k in input_data):
                raise TypeError(
                    "input_data as a dict must have str keys (forward's argument names)"
                )
            return [], dict(to_device(dict(input_data), device))
        if isinstance(input_data, (list, tuple)):
            return list(to_device(list(input_data), device)), {}
        raise TypeError(
            "input_data must be a tensor (or numpy array), a list/tuple of positional"
            f" arguments or a dict of keyword arguments, got {type(input_data).__name__}"
        )
    if input_size is None:
        if dtypes is not None:
            raise ValueError("dtypes applies to input_size, which is not given")
        return [], {}
    shapes = normalize_input_size(input_size)
    dtypes = normalize_dtypes(dtypes, len(shapes), default_dtype)
    return list(make_inputs(shapes, dtypes, device, batch_dim)), {}
