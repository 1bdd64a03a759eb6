"""Meta-device passes: shapes without data, for models of any size.

:func:`meta_stand_ins` swaps every parameter and buffer of a model for a meta
tensor of the same shape, dtype and ``requires_grad`` while a pass runs, and
puts the originals back afterwards, also when the pass raises (the way
``torch.func.functional_call`` substitutes parameters). No parameter data is
allocated, copied or moved, so a model whose weights do not fit the machine
can be summarised, and the model's own tensors are never touched.

Each original tensor gets exactly one stand-in, so tied weights stay tied
(one object registered on two modules is replaced by one stand-in on both).
The context manager yields ``{id(stand_in): original}`` so a tracer that knows
parameters by identity can count a stand-in as its original.

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Linear(3, 2)
    >>> weight = model.weight
    >>> with meta_stand_ins(model) as originals:
    ...     out = model(torch.empty(1, 3, device="meta"))
    ...     model.weight.is_meta, originals[id(model.weight)] is weight
    (True, True)
    >>> out.shape, out.is_meta, model.weight is weight
    (torch.Size([1, 2]), True, True)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.nn.parameter import is_lazy

from ._errors import ModelSummaryError
from ._state import substituted

META_HINT = (
    "The pass ran on the meta device, which has shapes but no values: operations that"
    " read tensor values (.item(), `if tensor:`, torch.nonzero, boolean masks, .tolist())"
    " and tensors the model keeps outside its parameters and buffers cannot take part."
    " Summarise on a real device instead, e.g. device='cpu'."
)
"""Appended to the error of a pass that failed on the meta device."""


def stand_in(t: torch.Tensor) -> torch.Tensor:
    """A meta tensor shaped like ``t`` (a ``Parameter`` for a parameter); no data is allocated.

    Example:
        >>> p = stand_in(nn.Parameter(torch.zeros(2, 3, dtype=torch.float16), requires_grad=False))
        >>> type(p).__name__, p.shape, p.dtype, p.is_meta, p.requires_grad
        ('Parameter', torch.Size([2, 3]), torch.float16, True, False)
    """
    meta = torch.empty_strided(t.shape, t.stride(), dtype=t.dtype, device="meta")
    if isinstance(t, nn.Parameter):
        return nn.Parameter(meta, requires_grad=t.requires_grad)
    return meta


@contextmanager
def meta_stand_ins(model: nn.Module) -> Iterator[dict[int, torch.Tensor]]:
    """Replace the model's parameters and buffers by meta stand-ins for the duration.

    Tensors already on the meta device stay as they are. Yields a map from the
    ``id()`` of each stand-in to the original tensor it replaces.

    Raises:
        ModelSummaryError: The model has lazy (uninitialised) parameters or
            buffers, whose shapes only a real pass can decide. Nothing is
            swapped in that case.

    Example:
        >>> tied = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
        >>> tied[1].weight = tied[0].weight
        >>> with meta_stand_ins(tied) as originals:
        ...     tied[0].weight is tied[1].weight, len(originals)
        (True, 3)
    """
    modules = list(model.modules())
    lazy = [name for name, t in [*model.named_parameters(), *model.named_buffers()] if is_lazy(t)]
    if lazy:
        raise ModelSummaryError(
            f"cannot summarise on the meta device: {', '.join(lazy)} not initialised yet"
            " (lazy modules learn their shapes from a real pass); summarise on a real"
            " device, e.g. device='cpu'"
        )
    with substituted(modules, lambda t: None if t.is_meta else stand_in(t)) as originals:
        yield originals
