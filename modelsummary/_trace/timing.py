"""Opt-in per-module wall time: warmed-up repeated passes, timed by forward hooks.

The figures are indicative: the hooks and (on CUDA) the device synchronisation
around each module add their own small cost, and a module's time includes its
children's. Nothing here runs unless the ``time`` column is asked for, so the
default summary pays nothing for it.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 4), nn.ReLU())
    >>> times = dict(time_modules(model, lambda: model(torch.ones(1, 4)), torch.device("cpu")))
    >>> sorted(times), all(t >= 0 for t in times.values())
    (['', '0', '1'], True)
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from types import TracebackType
from typing import Any

import torch
from torch import nn
from torch.utils.hooks import RemovableHandle


class ModuleTimer:
    """Context manager that adds each module call's wall time to its path.

    Examples:
        >>> model = nn.Linear(2, 2)
        >>> with ModuleTimer(model, torch.device("cpu")) as timer:
        ...     _ = model(torch.ones(1, 2))
        >>> list(timer.seconds)
        ['']
    """

    def __init__(self, model: nn.Module, device: torch.device) -> None:
        self._modules = [
            (path, m)
            for path, m in model.named_modules()
            if not isinstance(m, torch.jit.ScriptModule)
        ]
        self._paths = {id(m): path for path, m in self._modules}
        self._sync = device.type == "cuda"
        self._device = device
        self._starts: list[float] = []
        self._handles: list[RemovableHandle] = []
        self.seconds: dict[str, float] = {}
        """Path -> wall seconds summed over every call while the timer was entered."""

    def __enter__(self) -> ModuleTimer:
        try:
            for _, module in self._modules:
                self._handles.append(module.register_forward_pre_hook(self._pre))
                self._handles.append(module.register_forward_hook(self._post))
        except BaseException:
            self._remove()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._remove()

    def _remove(self) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def _now(self) -> float:
        if self._sync:
            torch.cuda.synchronize(self._device)
        return time.perf_counter()

    def _pre(self, module: nn.Module, args: Any) -> None:
        self._starts.append(self._now())

    def _post(self, module: nn.Module, args: Any, output: Any) -> None:
        if not self._starts:
            return
        elapsed = self._now() - self._starts.pop()
        path = self._paths[id(module)]
        self.seconds[path] = self.seconds.get(path, 0.0) + elapsed


def time_modules(
    model: nn.Module,
    run: Callable[[], Any],
    device: torch.device,
    *,
    warmup: int = 1,
    repeats: int = 3,
) -> tuple[tuple[str, float], ...]:
    """Time each module's forward: ``warmup`` untimed passes, then the median of ``repeats``.

    Args:
        model: The model whose modules are timed.
        run: Runs one forward pass.
        device: Where the pass runs; CUDA is synchronised around each module.
        warmup: Passes run first and discarded.
        repeats: Timed passes; each module's figure is the median over them.

    Returns:
        ``(path, seconds per pass)`` for every module that ran, all its calls in
        one pass summed.
    """
    for _ in range(warmup):
        run()
    samples: dict[str, list[float]] = {}
    for _ in range(repeats):
        with ModuleTimer(model, device) as timer:
            run()
        for path, seconds in timer.seconds.items():
            samples.setdefault(path, []).append(seconds)
    return tuple((path, statistics.median(values)) for path, values in samples.items())
