"""The one walker of nested values: inputs and outputs made of tensors in containers.

A value handed to or returned by a module is a tensor, or a container of values:
a mapping (Hugging Face ``ModelOutput`` is one), a namedtuple, a tuple or list,
or a dataclass instance; anything else is a leaf. `branches()` says what a
value holds and `rebuild()` makes the same container around new contents.
Describing, iterating and moving a value all sort it with the one classification
behind those two, so they always agree on what is inside it.

Examples:
    >>> import dataclasses
    >>> @dataclasses.dataclass
    ... class Batch:
    ...     x: torch.Tensor
    ...     n: int = 2
    >>> batch = Batch(torch.zeros(2, 3))
    >>> [t.shape for t in iter_tensors([batch])]
    [torch.Size([2, 3])]
    >>> map_tensors(batch, lambda t: t + 1).x.sum().item()
    6.0
    >>> describe(batch).items[0]
    ('x', TensorSpec(shape=(2, 3), dtype='float32', nbytes=24))
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import torch

from .._records import MapSpec, OtherSpec, SeqSpec, TensorSpec, ValueSpec

_MAP, _NAMEDTUPLE, _SEQ, _DATACLASS = 1, 2, 3, 4


_PLAIN = frozenset({type(None), int, float, bool, str, torch.dtype, torch.device})
"""Types that are leaves for certain: answered without the abstract-class checks."""


def _kind(value: Any) -> int:
    """Which container ``value`` is (0: none, a leaf)."""
    cls = type(value)
    if cls is tuple or cls is list:  # the common containers first, by exact type
        return _SEQ
    if cls is dict:
        return _MAP
    if cls in _PLAIN:
        return 0
    if isinstance(value, Mapping):
        return _MAP
    if isinstance(value, tuple) and hasattr(value, "_fields"):
        return _NAMEDTUPLE
    if isinstance(value, (tuple, list)):
        return _SEQ
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _DATACLASS
    return 0


def branches(value: Any) -> tuple[bool, list[tuple[str, Any]]] | None:
    """What a container holds: ``(named, [(key, child), ...])``, or ``None`` for a leaf.

    ``named`` is true for mappings, namedtuples and dataclasses (keyed by their keys,
    field names), false for tuples and lists (keyed by position). A tensor is a leaf.

    Examples:
        >>> branches({"a": 1}), branches([1, 2]), branches(torch.zeros(1))
        ((True, [('a', 1)]), (False, [('0', 1), ('1', 2)]), None)
    """
    if isinstance(value, torch.Tensor):
        return None
    kind = _kind(value)
    if kind == 0:
        return None
    return kind != _SEQ, _children(value, kind)


def _children(value: Any, kind: int) -> list[tuple[str, Any]]:
    if kind == _MAP:
        return [(str(k), v) for k, v in value.items()]
    if kind == _NAMEDTUPLE:
        return list(zip(value._fields, value, strict=True))
    if kind == _SEQ:
        return [(str(i), v) for i, v in enumerate(value)]
    return [(f.name, getattr(value, f.name)) for f in dataclasses.fields(value)]


def rebuild(value: Any, children: list[Any]) -> Any:
    """The container ``value`` is, around new ``children`` (in `branches()` order).

    A mapping keeps its keys and type, a namedtuple or sequence its type, and a
    dataclass instance is copied with its fields replaced (frozen ones too), so
    attributes beyond its fields stay as they were.

    Examples:
        >>> rebuild({"a": 1}, [2]), rebuild((1, 2), [3, 4])
        ({'a': 2}, (3, 4))
    """
    kind = _kind(value)
    if kind == _MAP:
        return type(value)(dict(zip(value.keys(), children, strict=True)))
    if kind == _NAMEDTUPLE:
        return type(value)(*children)
    if kind == _SEQ:
        return type(value)(children)
    if kind == _DATACLASS:
        new = copy.copy(value)
        for f, child in zip(dataclasses.fields(value), children, strict=True):
            object.__setattr__(new, f.name, child)  # also through a frozen dataclass
        return new
    raise TypeError(f"{type(value).__name__} is not a container")


def dtype_name(dtype: torch.dtype) -> str:
    """Name a dtype without its ``torch.`` prefix.

    Examples:
        >>> dtype_name(torch.bfloat16)
        'bfloat16'
    """
    name = DTYPE_NAMES.get(dtype)
    return str(dtype).removeprefix("torch.") if name is None else name


DTYPE_NAMES: dict[torch.dtype, str] = {
    dtype: str(dtype).removeprefix("torch.")
    for dtype in vars(torch).values()
    if isinstance(dtype, torch.dtype)
}
"""Every dtype the installed torch names, by dtype: `dtype_name()`'s table, for loops
that look names up without a call each."""


def tensor_nbytes(t: torch.Tensor) -> int:
    """Bytes of a tensor's elements, ``numel() * element_size()``.

    Examples:
        >>> tensor_nbytes(torch.zeros(2, 3, dtype=torch.float16))
        12
    """
    return t.numel() * t.element_size()


def describe(value: Any, memo: dict[Any, TensorSpec] | None = None) -> ValueSpec:
    """Describe a value: tensors by shape, containers element-wise, others by type.

    Containers are those of `branches()`: mappings, namedtuples and dataclass
    instances become a `MapSpec` (by key or field name), tuples and lists a
    `SeqSpec`. With a ``memo``, tensors of one shape and dtype share one
    (immutable) `TensorSpec`.

    Examples:
        >>> describe((torch.zeros(2, 3), None)).items
        (TensorSpec(shape=(2, 3), dtype='float32', nbytes=24), OtherSpec(type_name='NoneType'))
        >>> describe({"n": 3}).items[0]
        ('n', OtherSpec(type_name='int'))
    """
    if isinstance(value, torch.Tensor):
        if memo is None:
            return TensorSpec(tuple(value.shape), dtype_name(value.dtype), tensor_nbytes(value))
        key = (value.shape, value.dtype)
        spec = memo.get(key)
        if spec is None:
            spec = memo[key] = TensorSpec(
                tuple(value.shape), dtype_name(value.dtype), tensor_nbytes(value)
            )
        return spec
    kind = _kind(value)
    if kind == 0:
        return OtherSpec(type(value).__name__)
    if kind == _SEQ:  # the common container: no keys to make
        return SeqSpec(tuple(describe(child, memo) for child in value))
    return MapSpec(tuple((key, describe(child, memo)) for key, child in _children(value, kind)))


def describe_call(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], memo: dict[Any, TensorSpec] | None = None
) -> SeqSpec:
    """Describe the arguments of one call: positional ones, then a map of keywords.

    Examples:
        >>> describe_call((torch.zeros(1),), {"mask": None}).items[1]
        MapSpec(items=(('mask', OtherSpec(type_name='NoneType')),))
    """
    if len(args) == 1:  # the common case, without a generator
        items: tuple[ValueSpec, ...] = (describe(args[0], memo),)
    else:
        items = tuple(describe(a, memo) for a in args)
    if kwargs:
        items += (describe(dict(kwargs), memo),)
    return SeqSpec(items)


def iter_tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor inside a nested value, in the order `describe()` walks.

    Examples:
        >>> [t.shape for t in iter_tensors({"a": [torch.zeros(1)], "b": 2})]
        [torch.Size([1])]
    """
    if isinstance(value, torch.Tensor):
        return [value]
    found: list[torch.Tensor] = []
    pending = [value]
    while pending:  # iterative: nesting depth is not limited by the recursion limit
        item = pending.pop()
        if isinstance(item, torch.Tensor):
            found.append(item)
            continue
        kind = _kind(item)
        if kind == _SEQ:
            pending.extend(reversed(item))
        elif kind:
            pending.extend(child for _, child in reversed(_children(item, kind)))
    return found


def map_tensors(value: Any, fn: Callable[[torch.Tensor], torch.Tensor]) -> Any:
    """Apply ``fn`` to every tensor inside a nested value, keeping the structure.

    Examples:
        >>> map_tensors({"x": [torch.zeros(1)], "n": 2}, lambda t: t + 1)
        {'x': [tensor([1.])], 'n': 2}
    """
    if isinstance(value, torch.Tensor):
        return fn(value)
    held = branches(value)
    if held is None:
        return value
    return rebuild(value, [map_tensors(child, fn) for _, child in held[1]])


def to_device(value: Any, device: torch.device) -> Any:
    """Move every tensor inside a nested value to ``device``, keeping the structure.

    Examples:
        >>> to_device({"x": [torch.zeros(1)]}, torch.device("cpu"))
        {'x': [tensor([0.])]}
    """
    return map_tensors(value, lambda t: t.to(device))
