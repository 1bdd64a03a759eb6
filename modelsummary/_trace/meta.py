"""Meta-device passes: shapes without data, for models of any size.

`meta_stand_ins()` swaps every parameter and buffer of a model for a meta
tensor of the same shape, dtype and ``requires_grad`` while a pass runs, and
puts the originals back afterwards, also when the pass raises (the way
``torch.func.functional_call`` substitutes parameters). No parameter data is
allocated, copied or moved, so a model whose weights do not fit the machine
can be summarised, and the model's own tensors are never touched.

Each original tensor gets exactly one stand-in, so tied weights stay tied
(one object registered on two modules is replaced by one stand-in on both).
The context manager yields ``{id(stand_in): original}`` so a tracer that knows
parameters by identity can count a stand-in as its original.

`MetaPass` runs beside it, for what torch's meta kernels get wrong:
shapes alone for the operators whose meta kernel refuses what a real device
runs (``_grouped_mm`` in float32), and a note on every failure that the same
operator on the CPU would not have had, so that the error advises a real device.

Examples:
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

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.nn.parameter import is_lazy
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten, tree_map_only

from .._errors import ModelSummaryError
from .state import substituted
from .values import tensor_nbytes

META_HINT = (
    "The pass ran on the meta device, which has shapes but no values: operations that"
    " read tensor values (.item(), `if tensor:`, torch.nonzero, boolean masks, .tolist())"
    " and tensors the model keeps outside its parameters and buffers cannot take part."
    " Summarise on a real device instead, e.g. device='cpu'."
)
"""Appended to the error of a pass that failed on the meta device."""


def stand_in(t: torch.Tensor) -> torch.Tensor:
    """A meta tensor shaped like ``t`` (a ``Parameter`` for a parameter); no data is allocated.

    Examples:
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

    Examples:
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


def grouped_mm_shape(
    mat_a: torch.Tensor,
    mat_b: torch.Tensor,
    offs: torch.Tensor | None = None,
    bias: torch.Tensor | None = None,
    out_dtype: torch.dtype | None = None,
) -> torch.Tensor:
    """``torch._grouped_mm`` on meta, by shapes alone, for every dtype the CPU runs.

    Torch's meta kernel accepts only bfloat16 and float16 with 16-byte aligned
    strides (the CUDA kernel's limits), though the CPU kernel runs float32: a
    float32 mixture-of-experts model (Mixtral, Qwen2-MoE) then fails on meta
    only. The output has the shape the kernels give it: ``(G, M, N)`` for
    ``(M, K) x (K, N)`` split by ``offs`` into ``G`` groups, ``(M, N)`` for
    ``(M, K) x (G, K, N)`` and ``(G, M, K) x (K, N)`` (rows split), and
    ``(G, M, N)`` for a batch of ``G`` products.

    Examples:
        >>> a = torch.empty(12, 4, device="meta")
        >>> b = torch.empty(3, 4, 8, device="meta")
        >>> offs = torch.empty(3, dtype=torch.int32, device="meta")
        >>> out = grouped_mm_shape(a, b, offs)
        >>> out.shape, out.dtype, out.is_meta
        (torch.Size([12, 8]), torch.float32, True)
    """
    a_2d, b_2d = mat_a.dim() == 2, mat_b.dim() == 2
    if not (a_2d and b_2d) and mat_a.shape[-1] != mat_b.shape[-2]:
        raise RuntimeError("contraction dimension of mat_a and mat_b must match")
    if (a_2d or b_2d) and offs is None:
        raise RuntimeError("Offsets tensor not provided, but is needed for 2D multiplicands")
    if a_2d and b_2d:
        assert offs is not None
        shape: tuple[int, ...] = (offs.shape[0], mat_a.shape[0], mat_b.shape[1])
    elif a_2d:
        shape = (mat_a.shape[0], mat_b.shape[-1])
    elif b_2d:
        shape = (mat_a.shape[1], mat_b.shape[1])
    else:
        shape = (mat_a.shape[0], mat_a.shape[1], mat_b.shape[-1])
    return torch.empty(shape, dtype=out_dtype or mat_a.dtype, device="meta")


_SHAPE_ONLY: dict[Any, Callable[..., torch.Tensor]] = {
    torch.ops.aten._grouped_mm.default: grouped_mm_shape,
}
"""Operators whose meta kernel refuses what a real device runs, and their shapes alone."""

SHAPE_ONLY_CALLS = frozenset({torch._grouped_mm})
"""The torch-level functions that reach an operator of ``_SHAPE_ONLY`` (``F.grouped_mm``
calls ``torch._grouped_mm``): a meta pass enters `MetaPass` around their calls alone,
rather than around the whole pass."""

_CHECK_BYTES = 1 << 26
"""Largest operands (in all) that a failure is tried again with on the CPU: 64 MiB."""


class MetaPass(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """The aten operators of a meta pass: shapes alone where torch's meta kernel refuses
    what a real device runs, and a note on each failure a real device would not have.

    A failing operator is tried again on the CPU, on zeros of the same shapes and
    dtypes (if they are small enough); if it runs there, or if a tensor of another
    device took part (a 0-dim CPU tensor made in ``forward``, which a real device
    takes as a scalar), the exception gets `META_HINT` as a note, and
    `fails_only_on_meta()` says so.

    Examples:
        >>> x = torch.empty(3, device="meta")
        >>> try:
        ...     with MetaPass():  # a 0-dim CPU value: fine on a real device
        ...         _ = x.masked_fill(x > 0, torch.tensor(1.0))
        ... except RuntimeError as err:
        ...     str(err), fails_only_on_meta(err)
        ('Expected `value` to be on same device as `a`', True)
    """

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        shape_only = _SHAPE_ONLY.get(func)
        if shape_only is not None and args and getattr(args[0], "is_meta", False):
            return shape_only(*args, **kwargs)
        try:
            return func(*args, **kwargs)
        except Exception as err:
            if _runs_on_a_real_device(func, args, kwargs):
                err.add_note(META_HINT)
            raise


def _runs_on_a_real_device(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bool:
    """Whether ``func`` failed on meta only: a tensor of another device took part, or the
    CPU runs it on zeros of the same shapes."""
    tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
    if any(not t.is_meta for t in tensors):
        return True
    if sum(tensor_nbytes(t) for t in tensors) > _CHECK_BYTES:
        return False
    cpu_args, cpu_kwargs = tree_map_only(
        torch.Tensor, lambda t: torch.zeros(t.shape, dtype=t.dtype), (args, kwargs)
    )
    try:
        func(*cpu_args, **cpu_kwargs)
    except Exception:
        return False
    return True


def fails_only_on_meta(err: BaseException) -> bool:
    """Whether a pass on meta failed where a real device would not, so the meta advice fits.

    That is an operator that `MetaPass` found runs on the CPU, reading a
    value (``NotImplementedError``, or an error that names the meta device:
    ``Tensor.item() cannot be called on meta tensors``), anywhere in the chain of
    causes. Anything else, such as a model's own shape check, fails the same way
    on a real device.

    Examples:
        >>> fails_only_on_meta(RuntimeError("Tensor.item() cannot be called on meta tensors"))
        True
        >>> fails_only_on_meta(AssertionError("Wrong image height! Expected 224 but got 518!"))
        False
    """
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, NotImplementedError) or "meta" in str(seen).lower():
            return True
        if META_HINT in getattr(seen, "__notes__", ()):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
