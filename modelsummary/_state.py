"""Snapshot and restore everything a summary must not change in the user's model.

Example:
    >>> import torch
    >>> from torch import nn
    >>> bn = nn.BatchNorm1d(2).train()
    >>> with preserved_state(bn):
    ...     _ = bn(torch.ones(4, 2))
    >>> bn.running_mean
    tensor([0., 0.])
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.parameter import is_lazy


@contextmanager
def preserved_state(model: nn.Module, devices: Iterable[torch.device] = ()) -> Iterator[None]:
    """Restore, on exit (also after an exception), what a forward pass may change.

    Restored: every module's own ``training`` flag, the identity and values of
    every buffer (BatchNorm statistics, counters), the identity of every
    parameter, every parameter's ``requires_grad``, and the global random number
    streams of the CPU and of the CUDA devices in use: those holding the model's
    tensors and those in ``devices`` (where the pass will run).

    Example:
        >>> m = nn.Sequential(nn.Dropout(0.5)).train()
        >>> before = torch.random.get_rng_state()
        >>> with preserved_state(m):
        ...     _ = m.eval()(torch.rand(3))
        >>> m.training, torch.equal(before, torch.random.get_rng_state())
        (True, True)
    """
    modules = list(model.modules())
    training = [(m, m.training) for m in modules]
    params = [
        (m, name, p, p is not None and p.requires_grad)
        for m in modules
        for name, p in m._parameters.items()
    ]
    buffers = [(m, name, b, _snapshot(b)) for m in modules for name, b in m._buffers.items()]
    used = [t.device for t in [*model.parameters(), *model.buffers()]] + list(devices)
    cuda_devices = sorted(
        {
            d.index if d.index is not None else torch.cuda.current_device()
            for d in used
            if d.type == "cuda"
        }
    )
    with torch.random.fork_rng(devices=cuda_devices):
        try:
            yield
        finally:
            for m, flag in training:
                m.training = flag
            for m, name, p, requires_grad in params:
                m._parameters[name] = p
                if p is not None and p.requires_grad != requires_grad:
                    p.requires_grad_(requires_grad)
            with torch.no_grad():
                for m, name, b, saved in buffers:
                    m._buffers[name] = b
                    if saved is not None and b is not None and not torch.equal(b, saved):
                        b.copy_(saved)


def _snapshot(t: torch.Tensor | None) -> torch.Tensor | None:
    """A copy of a buffer's values, or ``None`` where there are none to keep.

    Lazy (uninitialised) buffers have no values yet and meta tensors have no data.
    """
    if t is None or is_lazy(t) or t.is_meta:
        return None
    return t.detach().clone()
