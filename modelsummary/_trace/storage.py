"""How a tensor is stored: its logical element count, its stored bytes and a format name.

A plain tensor stores ``numel() * element_size()`` bytes in its dtype. A quantized
weight does not: it stands for a weight of one shape (the *logical* elements that
Hugging Face's ``num_parameters()`` and PEFT count) and keeps other tensors: packed
4-bit or 8-bit data, and the scales, zero points, absmax values, nested quant state or
row statistics needed to turn them back into numbers. `storage_of()` is the one place
that knows, for each family:

* torch's quantized tensors (``qint8``, ``quint8``, ``quint4x2``: their integers and
  their per-tensor or per-channel scale and zero point);
* wrapper tensor subclasses that flatten to inner tensors through the subclass
  protocol (``__tensor_flatten__``), as torchao's and optimum-quanto's weights do: the
  inner tensors, flattened again where they are wrappers too, are what is stored. No
  class name is needed, so a new library of that kind is read unchanged;
* bitsandbytes' ``Params4bit`` (``nf4``, ``fp4``) and ``Int8Params``, which keep their
  quant state in attributes: built-in rules registered by class name, so that
  bitsandbytes is never imported here;
* whatever a user registers with `register_storage()`.

`packed_weights()` reads the weights that ``torch.ao.nn.quantized`` modules keep
packed, outside any ``nn.Parameter``, so that the summary shows them as the module's
own parameters.

Examples:
    >>> storage_of(torch.zeros(2, 3))
    TensorStorage(numel=6, nbytes=24, format='float32', dense_itemsize=0)
    >>> w = torch.quantize_per_tensor(torch.zeros(4, 4), 0.1, 0, torch.qint8)
    >>> storage_of(w)  # 16 int8 values, a float64 scale and an int64 zero point
    TensorStorage(numel=16, nbytes=32, format='qint8', dense_itemsize=4)
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from .values import DTYPE_NAMES, dtype_name, tensor_nbytes

_Tensor = torch.Tensor
_Parameter = nn.Parameter


@dataclass(frozen=True, slots=True)
class TensorStorage:
    """How one tensor is stored.

    Examples:
        >>> TensorStorage(numel=8192, nbytes=4160, format="nf4").nbytes * 8 / 8192
        4.0625
    """

    numel: int
    """Logical elements: those of the weight the tensor stands for (a 4-bit
    ``(128, 64)`` weight has 8,192, however it is packed)."""
    nbytes: int
    """Bytes stored: every inner tensor (data, scales, zero points, quant state)."""
    format: str
    """A short name of the stored format: a dtype (``"float32"``, ``"bfloat16"``) for a
    plain tensor; ``"int8"``, ``"int4"``, ``"nf4"``, ``"fp4"``, ``"float8_e4m3fn"``,
    ``"qint8"``, ... for a quantized one."""
    dense_itemsize: int = 0
    """Bytes of one element of the dtype the weight computes in (its gradient's, were it
    trained): bitsandbytes' ``quant_state.dtype``; 0: the tensor's own element size (a
    wrapper subclass reports its float dtype)."""


StorageRule = Callable[[torch.Tensor], "TensorStorage | None"]
"""``tensor -> TensorStorage`` of one tensor class; ``None``: store it as a plain tensor
(a bitsandbytes weight not quantized yet)."""


# -- the registry ---------------------------------------------------------------------------
_lock = threading.Lock()
_rules: dict[Any, StorageRule] = {}
"""Rules by class, or by ``"module.QualName"`` for a class of a library that may not be
loaded (never imported here)."""
_cache: dict[type, StorageRule | None] = {}
"""The rule found for each tensor class met so far (``None``: no registered rule)."""


def _class_key(cls: Any) -> Any:
    if isinstance(cls, str):
        if "." not in cls:
            raise ValueError(f"a class name is 'module.QualName', got {cls!r}")
        return cls
    if isinstance(cls, type) and issubclass(cls, torch.Tensor):
        return cls
    raise TypeError(f"storage rules are for torch.Tensor subclasses, got {cls!r}")


def register_storage(
    cls: type | str, rule: StorageRule | None = None, *, override: bool = False
) -> Any:
    """Tell the summary how the tensors of a class are stored.

    For quantized weights of a library the summary does not know: one that keeps its
    quant state in attributes of an ``nn.Parameter`` subclass (as bitsandbytes
    does). Wrapper subclasses that implement ``__tensor_flatten__`` (torchao,
    optimum-quanto) need no rule: their inner tensors are read through that protocol.
    The rule applies to the class and its subclasses, for every summary in the process.

    Args:
        cls: A ``torch.Tensor`` subclass, or its ``"module.QualName"`` (a library not
            imported yet; matched by the name of the class or of one of its bases).
        rule: ``tensor -> TensorStorage``; leave it out to use ``register_storage``
            as a decorator. It may return ``None`` for a tensor stored plainly.
        override: Replace a rule the class has already.

    Returns:
        ``rule`` (or, as a decorator, a function that registers and returns it).

    Raises:
        TypeError: ``cls`` is no tensor class, or ``rule`` is not callable.
        ValueError: ``cls`` has a rule already and ``override`` is false.

    Examples:
        >>> from torch import nn
        >>> from modelsummary import TensorStorage, register_storage, summary
        >>> from modelsummary import unregister_storage
        >>> class Ternary(nn.Parameter):  # 2 bits a weight, one float scale per row
        ...     pass
        >>> @register_storage(Ternary)
        ... def ternary(t):
        ...     return TensorStorage(t.numel(), t.numel() // 4 + 4 * t.shape[0], "ternary")
        >>> fc = nn.Linear(64, 32)
        >>> fc.weight = Ternary(fc.weight.detach())
        >>> s = summary(fc, (1, 64), verbose=0)
        >>> s.total_params, s.tree.totals.param_bytes  # 512 + 128 + the bias's 128
        (2080, 768)
        >>> unregister_storage(Ternary)
    """
    if rule is None:

        def decorator(f: StorageRule) -> StorageRule:
            register_storage(cls, f, override=override)
            return f

        return decorator
    key = _class_key(cls)
    if not callable(rule):
        raise TypeError(f"the storage rule for {cls!r} must be callable, got {rule!r}")
    with _lock:
        same = [k for k in _rules if _name(k) == _name(key)]  # the class, or its name
        if same and not override:
            raise ValueError(
                f"{cls!r} has a storage rule already; pass override=True to replace it"
            )
        for k in same:
            del _rules[k]
        _rules[key] = rule
        _cache.clear()
    return rule


def _name(key: Any) -> str:
    return key if isinstance(key, str) else f"{key.__module__}.{key.__qualname__}"


def unregister_storage(cls: type | str) -> None:
    """Remove a rule added with `register_storage()`.

    Raises:
        ValueError: ``cls`` has no rule registered.

    Examples:
        >>> from modelsummary import register_storage, unregister_storage
        >>> class Packed(torch.Tensor):
        ...     pass
        >>> _ = register_storage(Packed, lambda t: None)
        >>> unregister_storage(Packed)
        >>> unregister_storage(Packed)
        Traceback (most recent call last):
        ...
        ValueError: <class 'modelsummary._trace.storage.Packed'> has no storage rule registered
    """
    key = _class_key(cls)
    with _lock:
        if key not in _rules:
            raise ValueError(f"{cls!r} has no storage rule registered")
        del _rules[key]
        _cache.clear()


def _rule_for(cls: type) -> StorageRule | None:
    if cls in _cache:
        return _cache[cls]
    rule = None
    for base in cls.__mro__:
        rule = _rules.get(base) or _rules.get(f"{base.__module__}.{base.__qualname__}")
        if rule is not None:
            break
    _cache[cls] = rule
    return rule


# -- reading a tensor ---------------------------------------------------------------------
def storage_of(t: torch.Tensor) -> TensorStorage:
    """How ``t`` is stored (a plain tensor: its dtype, ``numel() * element_size()``).

    Examples:
        >>> storage_of(torch.zeros(3, dtype=torch.bfloat16))
        TensorStorage(numel=3, nbytes=6, format='bfloat16', dense_itemsize=0)
    """
    stored = quantized_storage(t)
    if stored is not None:
        return stored
    numel = t.numel()
    return TensorStorage(numel, numel * t.element_size(), dtype_name(t.dtype))


def quantized_storage(t: torch.Tensor) -> TensorStorage | None:
    """How ``t`` is stored, or ``None`` when it is a plain tensor of its dtype (the
    common case, answered by the tensor's class alone).

    Examples:
        >>> quantized_storage(nn.Parameter(torch.zeros(2))) is None
        True
    """
    cls = type(t)
    if cls is _Parameter or cls is _Tensor:
        return _torch_quantized(t) if t.is_quantized else None
    rule = _rule_for(cls)
    if rule is not None:
        return rule(t)
    if t.is_quantized:
        return _torch_quantized(t)
    if _is_wrapper(t):
        return _flattened(t)
    return None


def quantized_storages(tensors: Iterable[torch.Tensor]) -> dict[int, TensorStorage]:
    """``{id(t): storage}`` of those of ``tensors`` that are not stored plainly, read
    before a pass (a kernel may repack a weight in its first pass: bitsandbytes' CPU
    path). Lazy parameters are left out: they take their shape in the pass.

    Examples:
        >>> w = torch.quantize_per_tensor(torch.zeros(2, 2), 0.5, 0, torch.quint8)
        >>> list(quantized_storages([nn.Parameter(torch.zeros(2)), w]).values())
        [TensorStorage(numel=4, nbytes=20, format='quint8', dense_itemsize=4)]
    """
    found: dict[int, TensorStorage] = {}
    for t in tensors:
        if type(t) is _Parameter or is_lazy(t):
            continue
        stored = quantized_storage(t)
        if stored is not None:
            found[id(t)] = stored
    return found


def _is_wrapper(t: torch.Tensor) -> bool:
    """A subclass that flattens into inner tensors (not a DTensor: the engines read those)."""
    return callable(getattr(type(t), "__tensor_flatten__", None)) and not hasattr(t, "device_mesh")


def _torch_quantized(t: torch.Tensor) -> TensorStorage:
    """A torch quantized tensor: its integers and its scales and zero points (a float64
    scale and an int64 zero point per tensor, or per channel)."""
    numel = t.numel()
    if t.dtype == torch.quint4x2:
        data = (numel + 1) // 2
    elif t.dtype == torch.quint2x4:
        data = (numel + 3) // 4
    else:
        data = numel * t.element_size()
    scheme = t.qscheme()
    if scheme in (torch.per_channel_affine, torch.per_channel_affine_float_qparams):
        scales, zeros = t.q_per_channel_scales(), t.q_per_channel_zero_points()
        params = tensor_nbytes(scales) + tensor_nbytes(zeros)
    else:
        params = 16
    name = DTYPE_NAMES.get(t.dtype) or dtype_name(t.dtype)
    return TensorStorage(numel, data + params, name, dense_itemsize=4)  # dequantized: float32


def _inner_tensors(t: torch.Tensor) -> Iterator[torch.Tensor]:
    """The plain tensors a wrapper subclass stores, flattened again where they are
    wrappers themselves."""
    names, _ = t.__tensor_flatten__()  # type: ignore[attr-defined]
    for name in names:
        inner = getattr(t, name, None)
        if not isinstance(inner, torch.Tensor):
            continue
        if type(inner) is not _Tensor and _is_wrapper(inner):
            yield from _inner_tensors(inner)
        else:
            yield inner


def _flattened(t: torch.Tensor) -> TensorStorage:
    """A wrapper subclass: the logical shape is its own, the bytes are its inner tensors'."""
    numel = t.numel()
    inner = _distinct(_inner_tensors(t))
    nbytes = sum(storage_of(i).nbytes for i in inner)
    return TensorStorage(numel, nbytes, _format(t, inner, numel))


def _format(t: torch.Tensor, inner: list[torch.Tensor], numel: int) -> str:
    """The format of a wrapper: the dtype it names as its target (torchao's
    ``target_dtype``), its quantization type (optimum-quanto's ``qtype``: ``qint4`` ->
    ``int4``), else its largest inner tensor's dtype, with the bits it packs per
    logical element where that is fewer than the dtype's (``int4`` in a ``uint8``)."""
    target = getattr(t, "target_dtype", None)
    if isinstance(target, torch.dtype):
        return dtype_name(target)
    qtype = getattr(t, "qtype", None) or getattr(t, "_qtype", None)
    name = getattr(qtype, "name", None)
    if isinstance(name, str) and name:
        return name[1:] if name.startswith(("qint", "quint", "qfloat")) else name
    if not inner:
        return dtype_name(t.dtype)
    data = max(inner, key=tensor_nbytes)
    bits = tensor_nbytes(data) * 8 // max(numel, 1)
    if not data.dtype.is_floating_point and 0 < bits < data.element_size() * 8:
        return f"{'u' if data.dtype == torch.uint8 else ''}int{bits}"
    return dtype_name(data.dtype)


def _distinct(tensors: Any) -> list[torch.Tensor]:
    """Each stored tensor once: by its memory (a view of one kept twice), or by identity
    on meta, where every address is 0."""
    seen: set[Any] = set()
    found = []
    for t in tensors:
        if not isinstance(t, torch.Tensor):
            continue
        key: Any = id(t)
        if not t.is_meta:
            with suppress(RuntimeError):  # a tensor without storage of its own: by identity
                key = (t.data_ptr(), tensor_nbytes(t))
        if key not in seen:
            seen.add(key)
            found.append(t)
    return found


# -- bitsandbytes ---------------------------------------------------------------------------
def _tensors_of(state: Any) -> Iterator[Any]:
    """The tensors a bitsandbytes ``QuantState`` holds, its nested ``state2`` included."""
    while state is not None:
        yield from (v for v in vars(state).values() if isinstance(v, torch.Tensor))
        state = getattr(state, "state2", None)


def _bnb_4bit(t: torch.Tensor) -> TensorStorage | None:
    """``Params4bit``: two 4-bit codes a byte, and its quant state (absmax per block, the
    code table, and when nested the absmax's own absmax, code table and offset)."""
    state = getattr(t, "quant_state", None)
    if state is None:  # not quantized yet: a plain float weight
        return None
    stored = _distinct([t.data, *_tensors_of(state)])
    nbytes = sum(tensor_nbytes(s) for s in stored)
    itemsize = state.dtype.itemsize if isinstance(state.dtype, torch.dtype) else 4
    return TensorStorage(math.prod(state.shape), nbytes, str(state.quant_type), itemsize)


def _bnb_int8(t: torch.Tensor) -> TensorStorage | None:
    """``Int8Params``: an int8 weight and its row scales (``SCB``)."""
    if t.dtype != torch.int8:  # has_fp16_weights: a plain float weight
        return None
    extra = [v for k, v in vars(t).items() if k in ("CB", "SCB") and isinstance(v, torch.Tensor)]
    stored = _distinct([t.data, *extra])
    nbytes = sum(tensor_nbytes(s) for s in stored)
    scales = vars(t).get("SCB")
    itemsize = scales.element_size() if isinstance(scales, torch.Tensor) else 4
    return TensorStorage(t.numel(), nbytes, "int8", itemsize)


register_storage("bitsandbytes.nn.modules.Params4bit", _bnb_4bit)
register_storage("bitsandbytes.nn.modules.Int8Params", _bnb_int8)


# -- torch.ao's packed weights --------------------------------------------------------------
def packs_weights(cls: type) -> bool:
    """Whether modules of ``cls`` keep their weights packed, outside any ``nn.Parameter``
    (``torch.ao.nn.quantized`` and ``.dynamic``: Linear, convolutions, Embedding,
    recurrent layers): `packed_weights()` reads them.

    Examples:
        >>> packs_weights(torch.ao.nn.quantized.dynamic.Linear), packs_weights(nn.Linear)
        (True, False)
    """
    module = cls.__module__
    if not module.startswith("torch.ao.nn.") or ".reference" in module:
        return False  # reference modules keep real parameters
    if cls.__name__.endswith(("PackedParams", "PackedParameter")):
        return False  # the holder of a module's packed weights, not the module
    return (
        callable(getattr(cls, "_weight_bias", None))
        or callable(getattr(cls, "get_weight", None))
        or callable(getattr(cls, "weight", None))
    )


def packed_weights(module: nn.Module) -> dict[str, torch.Tensor]:
    """The weights a ``torch.ao`` quantized module keeps packed, by the names its methods
    give them (``weight``, ``bias``; ``weight_ih_l0`` ... for recurrent layers).

    Examples:
        >>> lin = torch.ao.nn.quantized.dynamic.Linear(4, 2)
        >>> {name: (t.dtype, tuple(t.shape)) for name, t in packed_weights(lin).items()}
        {'weight': (torch.qint8, (2, 4)), 'bias': (torch.float32, (2,))}
    """
    found: dict[str, Any] = {}
    get_weight = getattr(module, "get_weight", None)
    if callable(get_weight):  # recurrent layers: one weight and bias per layer and direction
        found.update(get_weight())
        found.update(module.get_bias())  # type: ignore[operator]
    elif callable(getattr(module, "_weight_bias", None)):
        weight_bias = module._weight_bias()  # type: ignore[operator]
        if isinstance(weight_bias, dict):  # recurrent cells: {"weight": {"ih": ...}, ...}
            for kind, parts in weight_bias.items():
                for part, t in parts.items():
                    found[f"{kind}_{part}"] = t
        else:
            found["weight"], found["bias"] = weight_bias
    else:
        weight = getattr(module, "weight", None)
        if callable(weight):
            found["weight"] = weight()
    return {name: t for name, t in found.items() if isinstance(t, torch.Tensor)}
