"""Snapshot and restore everything a summary must not change in the user's model.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> bn = nn.BatchNorm1d(2).train()
    >>> with preserved_state(bn):
    ...     _ = bn(torch.ones(4, 2))
    >>> bn.running_mean
    tensor([0., 0.])
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import is_lazy


@contextmanager
def preserved_state(
    model: nn.Module,
    devices: Iterable[torch.device] = (),
    modules: Sequence[nn.Module] | None = None,
) -> Iterator[WrittenValues]:
    """Restore, on exit (also after an exception), what a forward pass may change.

    Restored: every module's own ``training`` flag, the identity and values of
    every buffer (BatchNorm statistics, counters), the identity of every
    parameter, every parameter's ``requires_grad``, and the global random number
    streams of the CPU and of the CUDA devices in use: those holding the model's
    tensors and those in ``devices`` (where the pass will run). Parameter values
    are not copied up front (that would double the model's memory): the
    `WrittenValues` yielded keeps a parameter's values when it is told the
    pass is about to write them, and puts them back too.

    Args:
        model: The model whose state to keep.
        devices: Devices the pass will run on, besides those holding the model.
        modules: Every module of ``model`` once, if the caller has walked it
            already (the order does not matter); else ``model.modules()``.

    Examples:
        >>> m = nn.Sequential(nn.Dropout(0.5)).train()
        >>> before = torch.random.get_rng_state()
        >>> with preserved_state(m):
        ...     _ = m.eval()(torch.rand(3))
        >>> m.training, torch.equal(before, torch.random.get_rng_state())
        (True, True)
    """
    if modules is None:
        modules = list(model.modules())
    # A copy of each module's own slot dicts, put back whole: a tensor replaced or
    # registered during the pass is undone. Few Python steps per tensor: this runs
    # before and after every summary.
    training = [m.training for m in modules]
    param_slots: list[tuple[Any, dict[str, Any]]] = [
        (m._parameters, dict(m._parameters)) for m in modules
    ]
    buffer_slots: list[tuple[Any, dict[str, Any]]] = [
        (m._buffers, dict(m._buffers)) for m in modules
    ]
    params = [p for _, saved in param_slots for p in saved.values() if p is not None]
    requires_grad = [p.requires_grad for p in params]
    # A parameter class with attributes of its own (bitsandbytes' quant state, which its
    # CPU kernel repacks in the first eval pass) gets them back as they were.
    attributes = [
        kept
        for p in params
        if type(p) is not nn.Parameter and p.__dict__
        for kept in _attributes(p)
    ]
    values = BufferValues([b for _, saved in buffer_slots for b in saved.values() if b is not None])
    cuda_devices = set(values.cuda_devices)
    if torch.cuda.is_initialized():  # type: ignore[no-untyped-call]  # else none on CUDA
        cuda_devices.update(p.get_device() for p in params if p.is_cuda)
    cuda_devices.update(
        d.index if d.index is not None else torch.cuda.current_device()
        for d in devices
        if d.type == "cuda"
    )
    written = WrittenValues()
    with torch.random.fork_rng(devices=sorted(cuda_devices)):
        try:
            yield written
        finally:
            for m, flag in zip(modules, training, strict=True):
                if m.training is not flag:  # Module.__setattr__ is slow: only where it changed
                    m.training = flag
            for slots, saved in (*param_slots, *buffer_slots):
                if not (saved or slots):
                    continue
                if isinstance(slots, dict):
                    slots.clear()
                    slots.update(saved)
                else:  # TorchScript's slot wrapper has no clear(): put back what was there
                    for name, t in saved.items():
                        slots[name] = t
            for p, flag in zip(params, requires_grad, strict=True):
                if p.requires_grad is not flag:
                    p.requires_grad_(flag)
            for owner, kept in attributes:
                if owner.__dict__ != kept:
                    owner.__dict__.clear()
                    owner.__dict__.update(kept)
            values.restore()
            written.restore()


def _attributes(p: torch.Tensor) -> list[tuple[Any, dict[str, Any]]]:
    """Copies of the attribute dictionaries of ``p`` and of the plain objects it holds
    (two levels: a quant state and its nested state), to put back after the pass.

    Examples:
        >>> class Quantized(nn.Parameter):
        ...     pass
        >>> w = Quantized(torch.zeros(2))
        >>> w.state = type("State", (), {})()
        >>> w.state.packed = False
        >>> [sorted(kept) for _, kept in _attributes(w)]
        [['state'], ['packed']]
    """
    kept: list[tuple[Any, dict[str, Any]]] = [(p, dict(p.__dict__))]
    pending = [(v, 1) for v in p.__dict__.values()]
    while pending:
        value, level = pending.pop()
        state = getattr(value, "__dict__", None)
        if (
            not isinstance(state, dict)
            or isinstance(value, (torch.Tensor, nn.Module, type))
            or callable(value)
        ):
            continue
        kept.append((value, dict(state)))
        if level < 2:
            pending.extend((v, level + 1) for v in state.values())
    return kept


class WrittenValues:
    """Parameter values kept just before a pass writes them in place, and put back.

    Examples:
        >>> weight = nn.Parameter(torch.ones(2))
        >>> written = WrittenValues()
        >>> written.keep(weight)
        >>> with torch.no_grad():
        ...     _ = weight.mul_(3)
        >>> written.restore()
        >>> weight.tolist(), weight._version
        ([1.0, 1.0], 0)
    """

    def __init__(self) -> None:
        self._kept: dict[int, tuple[torch.Tensor, torch.Tensor, int, int]] = {}

    def keep(self, t: torch.Tensor) -> None:
        """Keep ``t``'s values, version and memory address, unless kept already (the
        first write counts). Meta tensors have no values to keep."""
        if id(t) not in self._kept and not t.is_meta:
            # A normal tensor also inside inference mode: the copy may become t's data.
            with torch._C.DisableTorchFunction(), torch.inference_mode(False), torch.no_grad():
                self._kept[id(t)] = (t, t.detach().clone(), t._version, t.data_ptr())

    def restore(self) -> None:
        """Put back the kept values, and each tensor's version counter: to autograd the
        tensor is as it was, so a graph that saved it before the pass stays valid."""
        with torch.no_grad():
            for t, old, version, address in self._kept.values():
                if t.data_ptr() == address and t.shape == old.shape:
                    t.copy_(old)
                else:  # given other memory (w.data = v) or resized: take the copy
                    t.data = old
                _set_versions((t,), (version,))
        self._kept.clear()


def lazy_copy(model: nn.Module) -> nn.Module:
    """A copy of a model with lazy modules, for a pass to materialise instead of the model.

    ``copy.deepcopy()`` refuses an ``nn.UninitializedBuffer`` (a lazy BatchNorm's
    statistics); each is copied as a new uninitialised buffer of its dtype and device
    (it holds no data to copy).

    Examples:
        >>> lazy = nn.Sequential(nn.LazyLinear(2), nn.LazyBatchNorm1d())
        >>> twin = lazy_copy(lazy)
        >>> _ = twin(torch.ones(4, 3))
        >>> type(twin[1]).__name__, type(lazy[1]).__name__, is_lazy(lazy[1].running_mean)
        ('BatchNorm1d', 'LazyBatchNorm1d', True)
    """
    fresh: Callable[..., torch.Tensor] = nn.UninitializedBuffer  # its stub omits device, dtype
    memo: dict[int, Any] = {
        id(b): fresh(requires_grad=b.requires_grad, device=b.device, dtype=b.dtype)
        for b in model.buffers()
        if isinstance(b, nn.UninitializedBuffer)
    }
    return copy.deepcopy(model, memo)


def _no_version_reset(tensors: Sequence[torch.Tensor], versions: Sequence[int]) -> None:
    pass


_set_versions = getattr(torch._C._autograd, "_unsafe_set_version_counter", _no_version_reset)


@contextmanager
def substituted(
    modules: Iterable[nn.Module], substitute: Callable[[torch.Tensor], torch.Tensor | None]
) -> Iterator[dict[int, torch.Tensor]]:
    """Register ``substitute(t)`` in place of each parameter and buffer ``t`` for the duration.

    Where ``substitute`` returns ``None`` the tensor stays. Each original gets one
    substitute, put in every slot that holds it, so tied weights stay tied. The
    originals are put back on exit, also when the body raises. Yields
    ``{id(substitute): original}``, for a tracer that knows parameters by identity.

    Examples:
        >>> tied = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
        >>> tied[1].weight = weight = tied[0].weight
        >>> with substituted(tied.modules(), lambda t: t.clone() if t is weight else None) as o:
        ...     tied[0].weight is tied[1].weight, tied[0].weight is weight, len(o)
        (True, False, 1)
        >>> tied[0].weight is weight
        True
    """
    substitutes: dict[int, torch.Tensor] = {}
    originals: dict[int, torch.Tensor] = {}
    swapped: list[tuple[dict[str, Any], str, torch.Tensor]] = []
    try:
        for module in modules:
            slot_dicts: tuple[dict[str, Any], ...] = (module._parameters, module._buffers)
            for slots in slot_dicts:
                for name, t in slots.items():
                    if t is None:
                        continue
                    new = substitutes.get(id(t))
                    if new is None:
                        new = substitute(t)
                        if new is None:
                            continue
                        substitutes[id(t)] = new
                        originals[id(new)] = t
                    swapped.append((slots, name, t))
                    slots[name] = new
        yield originals
    finally:
        for slots, name, t in reversed(swapped):
            slots[name] = t


class BufferValues:
    """The values of a list of buffers, kept in a few copies, and put back if changed.

    Buffers of one device and dtype are copied together: 1-D ones (BatchNorm
    statistics) concatenated, others stacked with those of the same shape
    (counters, masks). A model with hundreds of buffers then costs a handful of
    operators to save and to check, not hundreds. Only where a check finds a
    difference are buffers compared, and copied back, one by one; a buffer whose
    values did not change is never written, so its version counter stays as it
    was. Lazy buffers (no values yet) and meta buffers (no data) are skipped.

    Examples:
        >>> running = [torch.zeros(3), torch.ones(2), torch.tensor(0)]
        >>> values = BufferValues(running)
        >>> running[0].add_(1)
        tensor([1., 1., 1.])
        >>> values.restore()
        >>> running[0], running[2]
        (tensor([0., 0., 0.]), tensor(0))
    """

    def __init__(self, tensors: Sequence[torch.Tensor]) -> None:
        groups: dict[tuple[torch.device, torch.dtype, tuple[int, ...] | None], list[torch.Tensor]]
        groups = {}
        self._single: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.cuda_devices: set[int] = set()
        """Indices of the CUDA devices holding the tensors."""
        for t in tensors:
            if type(t) is torch.Tensor and t.layout == torch.strided:
                shape = None if t.dim() == 1 else tuple(t.shape)  # None: concatenated
                groups.setdefault((t.device, t.dtype, shape), []).append(t)
            elif not (is_lazy(t) or t.is_meta):  # sparse, subclasses: a copy of their own
                self._single.append((t, t.detach().clone()))
        self._groups = []
        with torch.no_grad():
            for (device, dtype, shape), group in groups.items():
                if device.type == "cuda":
                    self.cuda_devices.add(group[0].get_device())
                if device.type == "meta":
                    continue
                if dtype in _QUANTIZED:
                    self._single.extend((t, t.clone()) for t in group)
                    continue
                joined = _joined(group, shape is None)
                self._groups.append((group, [t.shape for t in group], shape is None, joined))

    def restore(self) -> None:
        """Copy back the saved values of every buffer whose values differ."""
        with torch.no_grad():
            for group, shapes, concatenated, saved in self._groups:
                try:  # a buffer resized in place changes the length, or cannot stack
                    if torch.equal(_joined(group, concatenated), saved):
                        continue
                except RuntimeError:
                    pass
                if concatenated:
                    parts = torch.split(saved, [shape.numel() for shape in shapes])
                else:
                    parts = saved.unbind(0)
                for t, shape, old in zip(group, shapes, parts, strict=True):
                    if t.shape != shape:  # resized in place
                        t.resize_(shape)
                    old = old.view(shape)
                    if not torch.equal(t, old):
                        t.copy_(old)
            for t, old in self._single:
                if not torch.equal(t, old):
                    t.copy_(old)


_QUANTIZED = frozenset({torch.qint8, torch.quint8, torch.qint32, torch.quint4x2, torch.quint2x4})


def _joined(group: list[torch.Tensor], concatenated: bool) -> torch.Tensor:
    """Same-device, same-dtype tensors in one new tensor: 1-D ones concatenated,
    same-shape ones stacked."""
    return torch.cat(group) if concatenated else torch.stack(group)
