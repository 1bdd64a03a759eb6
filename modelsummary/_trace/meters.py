"""Byte meters of a traced pass: activations, and the tensors autograd saves for backward.

Both count distinct storages (`StorageCounter`), so a view or an in-place
result adds nothing to what its storage already counted.

Examples:
    >>> import torch
    >>> activations = StorageCounter()
    >>> x = torch.zeros(4)
    >>> activations.add_all([x, x.view(2, 2)])
    >>> activations.total
    16
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from typing import Any

import torch

from .values import tensor_nbytes


def _root(t: torch.Tensor) -> torch.Tensor:
    """The tensor ``t`` is a view of, else ``t`` (a view's base is never a view)."""
    base = t._base if t._is_view() else None
    return t if base is None else base


class StorageCounter:
    """Counts the bytes of distinct tensor storages, so views and in-place results count once.

    A storage is known by the address of its storage object while a tensor seen
    on it is alive; once all of those have died, a storage at that address is
    taken to be new (its memory was freed and the address reused). The address
    exists on every device, so the meta device, where every data pointer is 0,
    counts the same as a real one.

    Liveness is told by Python weak references to the tensors, never by weak
    references to the storages: a weak storage reference keeps the storage's
    bookkeeping allocated after its memory is freed, and those small blocks,
    left between the activations, fragment the heap so that every pass has to
    fault fresh pages in (4,700 page faults and ~10 ms a pass on resnet50).
    The reference is to the tensor a view was made from, not to the view: every
    later view of that storage holds the same base, so the base lives while any
    of them does. (A child's output that is itself a view, as ``nn.Linear``'s on
    a 3-D input is, dies when the parent returns ``self.fc(x).view(...)``, a view
    of the same base; a reference to the child's output alone made that one
    storage count twice.)

    What remains: a storage kept alive only by tensors that share it without being
    views (``detach()``, ``.data``) and that were never seen here counts again when
    a module returns it after every seen tensor on it died.

    Examples:
        >>> counter = StorageCounter()
        >>> x = torch.zeros(4)
        >>> for t in (x, x.view(2, 2), x.relu_(), torch.zeros(4)):
        ...     counter.add(t)
        >>> counter.total
        32
    """

    def __init__(self) -> None:
        self.total = 0
        """Bytes of the distinct storages counted so far."""
        self._seen: dict[int, list[weakref.ref[torch.Tensor]]] = {}

    def add(self, t: torch.Tensor) -> None:
        """Count ``t``'s storage unless it is counted already."""
        try:
            storage = t.untyped_storage()
            key: int = storage._cdata
            nbytes = storage.nbytes()
        except (RuntimeError, NotImplementedError):  # sparse and other storage-less tensors
            key, nbytes = id(t), tensor_nbytes(t)
        base = t._base if t._is_view() else None  # _root(t), inline: once per output
        ref = weakref.ref(t if base is None else base)
        seen = self._seen.get(key)
        if seen is not None:
            for r in seen:  # plain loops: this runs for every module output
                if r() is not None:  # a tensor on this storage is alive: not new
                    for other in seen:
                        if other is ref:  # by identity: == would compare tensors
                            return
                    seen.append(ref)
                    return
        self._seen[key] = [ref]
        self.total += nbytes

    def add_all(self, tensors: Iterable[torch.Tensor]) -> None:
        """`add()` each tensor.

        Examples:
            >>> counter = StorageCounter()
            >>> counter.add_all([torch.zeros(2), torch.zeros(3)])
            >>> counter.total
            20
        """
        for t in tensors:
            self.add(t)

    def exclude(self, tensors: Iterable[torch.Tensor]) -> None:
        """Mark the storages of ``tensors`` as seen without counting them.

        Examples:
            >>> counter, x = StorageCounter(), torch.zeros(4)
            >>> counter.exclude([x])
            >>> counter.add(x[1:])
            >>> counter.total
            0
        """
        total = self.total
        self.add_all(tensors)
        self.total = total


def _unpack_saved(t: torch.Tensor) -> torch.Tensor:
    return t


class SavedTensorMeter:
    """Counts the bytes of the distinct tensors autograd saves for backward.

    Entered as a context manager around the pass, it installs autograd's saved-tensor
    hooks; every saved tensor is counted once per storage (`StorageCounter`),
    except the model's own state: a tensor for which ``is_state`` is true, or a view
    of one (``weight.t()`` saved by ``addmm``), and any tensor on a storage given to
    `exclude()` (the inputs, which the summary reports on their own).

    Args:
        is_state: Whether a tensor is a parameter or buffer of the model (or stands
            for one); consulted with a view's base.
        state: The model's parameters and buffers, whose storages are excluded.

    Examples:
        >>> w = torch.ones(3, 3, requires_grad=True)
        >>> meter = SavedTensorMeter(lambda t: t is w, [w])
        >>> x = torch.ones(2, 3)
        >>> meter.exclude([x])
        >>> with meter:
        ...     y = (x @ w.t()).tanh()  # mm saves x and w.t(), tanh its output
        >>> meter.total  # the tanh output only: x is an input, w.t() a view of the state
        24
    """

    def __init__(
        self, is_state: Callable[[torch.Tensor], bool], state: Iterable[torch.Tensor] = ()
    ) -> None:
        self._is_state = is_state
        self._counter = StorageCounter()
        self._counter.exclude(state)  # seen already: parameters are not activations
        self._hooks: AbstractContextManager[Any] | None = None

    @property
    def total(self) -> int:
        """Bytes of the distinct saved tensors counted so far."""
        return self._counter.total

    def exclude(self, tensors: Iterable[torch.Tensor]) -> None:
        """Tensors autograd may save that the pass did not make (its inputs): seen
        already, so never counted as saved."""
        self._counter.exclude(tensors)

    def __enter__(self) -> SavedTensorMeter:
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, _unpack_saved)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        hooks, self._hooks = self._hooks, None  # it holds a bound method of this meter
        if hooks is not None:
            hooks.__exit__(None, None, None)

    def _pack(self, t: torch.Tensor) -> torch.Tensor:
        # A view of a parameter (``weight.t()`` saved by addmm) is the parameter; on the
        # meta device, where storages cannot tell, the view's base says so.
        base = _root(t)
        # What autograd keeps is an alias without the tensor's grad_fn: an operator that
        # saves its own output (softmax, tanh) would otherwise hold the output in its own
        # node, a cycle that kept the graph and every saved activation alive until the
        # next garbage collection. The alias is counted: it lives as long as the graph.
        packed = t.detach()
        if not self._is_state(base):
            self._counter.add(packed)
        return packed
