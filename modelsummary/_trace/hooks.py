"""Installing and removing the tracer's module hooks, process-wide or on each module.

`install_hooks()` registers the tracer's pre-hook and post-hook once for the whole
process (or, for a compiled model and on a torch whose process-wide hooks take no
keyword arguments, a pair on each recorded module), and a late post-hook on each
module with forward hooks of its own; `remove_hooks()` takes them all out again.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> seen = []
    >>> fc = nn.Linear(2, 2)
    >>> handles = install_hooks(
    ...     pre=lambda m, args: seen.append(type(m).__name__),
    ...     post=lambda m, args, kwargs, out=None: None,
    ...     close=lambda m, args, kwargs, out: None,
    ...     own_hooks=[],
    ...     each=None,
    ... )
    >>> _ = fc(torch.zeros(1, 2))
    >>> remove_hooks(handles)
    >>> _ = fc(torch.zeros(1, 2))
    >>> seen, handles
    (['Linear'], [])
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from torch import nn
from torch.nn.modules import module as module_hooks
from torch.utils.hooks import RemovableHandle

Hook = Callable[..., Any]


def install_hooks(
    *,
    pre: Hook,
    post: Hook,
    close: Hook,
    own_hooks: Iterable[nn.Module],
    each: Iterable[nn.Module] | None,
) -> list[RemovableHandle]:
    """Register ``pre`` and ``post`` for every module call (or, with ``each``, ``pre``
    and ``close`` on each of those modules), and ``close`` after the own forward hooks
    of each module in ``own_hooks``. Returns the handles, for `remove_hooks()`."""
    handles: list[RemovableHandle] = []
    try:
        if each is not None:
            for module in each:
                handles.append(module.register_forward_pre_hook(pre, prepend=True))
                handles.append(module.register_forward_hook(close, with_kwargs=True))
            return handles
        # One pair of process-wide hooks rather than a pair on every module: it costs
        # nothing to install for 10,000 modules. They run before the module's own hooks,
        # so a user's pre-hook that computes ``weight`` from ``weight_orig`` (pruning,
        # weight_norm) runs inside the call. always_call: torch runs the post-hook also
        # when forward raises, so a call that raised is closed at once (and leaves no
        # suspension behind), even when a parent catches the exception.
        handles.append(module_hooks.register_module_forward_pre_hook(pre))
        handles.append(
            module_hooks.register_module_forward_hook(post, with_kwargs=True, always_call=True)
        )
        # A module with forward hooks of its own gets one more, after them: the output
        # recorded is then the one they return, as the next layer sees it, and what they
        # compute belongs to the call.
        for module in own_hooks:
            handles.append(module.register_forward_hook(close, with_kwargs=True))
    except BaseException:
        remove_hooks(handles)
        raise
    return handles


def remove_hooks(handles: list[RemovableHandle]) -> None:
    """Remove every hook of ``handles`` and empty it."""
    # Removing a process-wide hook registered with_kwargs leaves its id in torch's
    # table of such hooks (torch 2.x), and torch.compile then warns about global hooks
    # forever after: take it out too.
    with_kwargs = getattr(module_hooks, "_global_forward_hooks_with_kwargs", {})
    for handle in handles:
        handle.remove()
        with_kwargs.pop(handle.id, None)
    handles.clear()
