"""Receptive fields of convolutional networks, from the records of one pass. Pure.

The receptive field of a module's output is how many input positions, along each
spatial dimension, reach one element of it; the cumulative stride is how many
input positions lie between two neighbouring elements. A convolution or pooling
layer of kernel ``k``, stride ``s`` and dilation ``d`` takes a field ``r`` and
stride ``j`` to ``r + (k - 1) * d * j`` and ``j * s``: ``Conv2d(3)``,
``Conv2d(3, stride=2)``, ``MaxPool2d(2)``, ``Conv2d(3)`` in a row give 3, 5, 7
and 15, with strides 1, 2, 4 and 4.

The fields follow the data, not the order of the calls: each call records which
earlier call returned its input (`CallRecord.input_from`) and which child
returned its output (`CallRecord.output_from`), so a ResNet's downsampling
branch starts from the block's input, and a block's field is that of the layer
that made its output. Where an operator outside any module made a tensor (``x +
y``, ``F.relu``), the nearest call before that returned a tensor of the same
shape stands in (for a residual sum, the branch with the larger field). A module
without a kernel passes the field on when it keeps the shape of its input and has
at most a weight and a bias per channel (activations, normalisation, dropout);
anything else (a linear layer, attention, an adaptive or global pool, a
transposed convolution) leaves the field undefined, and it stays undefined
downstream. A model with no kernel anywhere (no convolution or pooling layer: an
MLP, a transformer) has no receptive fields at all.

Examples:
    >>> from modelsummary._records import CallRecord, ModuleInfo, SeqSpec, TensorSpec
    >>> def spec(n):
    ...     return TensorSpec((1, 1, n, n), "float32", 4 * n * n)
    >>> def conv(path, k, s):
    ...     return ModuleInfo(path, "Conv2d", "", kernel_size=(k, k), stride=(s, s),
    ...                       dilation=(1, 1))
    >>> modules = (ModuleInfo("", "Net", None), conv("a", 3, 1), conv("b", 3, 2))
    >>> calls = (CallRecord("", SeqSpec((spec(9),)), spec(3), output_from=2),
    ...          CallRecord("a", SeqSpec((spec(9),)), spec(7), input_from=-1),
    ...          CallRecord("b", SeqSpec((spec(7),)), spec(3), input_from=1))
    >>> receptive_fields(modules, calls)
    [((5, 5), (2, 2)), ((3, 3), (1, 1)), ((5, 5), (2, 2))]
"""

from __future__ import annotations

from collections.abc import Sequence

from .._records import CallRecord, ModuleInfo, ParamInfo, SeqSpec, TensorSpec, ValueSpec

Field = tuple[tuple[int, ...], tuple[int, ...]]
"""``(receptive field, cumulative stride)``, one number per spatial dimension."""

_ORIGIN: Field = ((), ())
"""The model's input: one position, stride 1, in as many dimensions as a kernel gives."""


class FirstFields:
    """The receptive field of each module's first call, resolved from one pass's records
    the first time one is read: most summaries never show the column, and every row of
    the tree shares this one object.

    Examples:
        >>> from modelsummary._records import CallRecord, ModuleInfo, SeqSpec, TensorSpec
        >>> x, y = TensorSpec((1, 1, 5, 5), "float32", 100), TensorSpec((1, 1, 3, 3), "float32", 36)
        >>> conv = ModuleInfo("c", "Conv2d", "", kernel_size=(3, 3), stride=(1, 1),
        ...                   dilation=(1, 1))
        >>> fields = FirstFields((ModuleInfo("", "Net", None), conv),
        ...                      (CallRecord("", SeqSpec((x,)), y, output_from=1),
        ...                       CallRecord("c", SeqSpec((x,)), y, input_from=-1)))
        >>> fields.of("c"), fields.of("missing")
        (((3, 3), (1, 1)), None)
    """

    __slots__ = ("_fields", "_records")

    def __init__(
        self,
        modules: Sequence[ModuleInfo],
        calls: Sequence[CallRecord],
        params: Sequence[ParamInfo] = (),
    ) -> None:
        self._records: tuple[Sequence[ModuleInfo], Sequence[CallRecord], Sequence[ParamInfo]] | None
        self._fields: dict[str, Field] | None = None
        if has_kernel(modules):
            self._records = (modules, calls, params)
        else:  # no field to resolve: the records are not kept alive for nothing
            self._records, self._fields = None, {}

    def of(self, path: str) -> Field | None:
        """The field of the first call of the module at ``path`` (``None``: not defined,
        or never called)."""
        if self._fields is None:
            assert self._records is not None
            self._fields = first_fields(*self._records)
            self._records = None  # resolved: the records are no longer needed here
        return self._fields.get(path)

    def __deepcopy__(self, memo: dict[int, object]) -> FirstFields:
        """Itself: what it tells never changes (a copied tree shares it, as rows do)."""
        return self


def first_fields(
    modules: Sequence[ModuleInfo], calls: Sequence[CallRecord], params: Sequence[ParamInfo] = ()
) -> dict[str, Field]:
    """The field of each module's first call, by path, where one is defined.

    Examples:
        >>> first_fields((), ())
        {}
    """
    fields: dict[str, Field] = {}
    seen: set[str] = set()
    for call, field in zip(calls, receptive_fields(modules, calls, params), strict=True):
        if call.path not in seen:
            seen.add(call.path)
            if field is not None:
                fields[call.path] = field
    return fields


def has_kernel(modules: Sequence[ModuleInfo]) -> bool:
    """Whether a module has a kernel (a convolution or a pooling layer): a model without
    one has no receptive fields.

    Examples:
        >>> has_kernel([ModuleInfo("", "MLP", None), ModuleInfo("fc", "Linear", "")])
        False
    """
    for m in modules:  # noqa: SIM110  # a loop, not any(): it runs for every summary
        if m.kernel_size is not None:
            return True
    return False


def receptive_fields(
    modules: Sequence[ModuleInfo], calls: Sequence[CallRecord], params: Sequence[ParamInfo] = ()
) -> list[Field | None]:
    """The field of each call's output, in call order (``None``: not defined).

    ``params`` tells the sizes of the modules' parameters: a module with more than one
    per channel (a linear layer's matrix) mixes positions.

    A field of no dimensions (``((), ())``) is one position of the input itself,
    before any kernel: an activation applied to the model's input. A model with no
    kernel at all (no convolution or pooling layer) has no fields: its tracer records
    no data flow.
    """
    if not has_kernel(modules):
        return [None] * len(calls)
    infos = {m.path: m for m in modules}
    numel = {p.key: p.numel for p in params}
    has_calls_below: set[str] = set()
    for call in calls:
        parent = infos[call.path].parent if call.path in infos else None
        while parent is not None and parent not in has_calls_below:
            has_calls_below.add(parent)
            parent = infos[parent].parent if parent in infos else None
    fields: list[Field | None] = [None] * len(calls)
    # A field is made from the model's input (-1) through a chain of calls: if no call
    # made from the input itself has one (a token embedding, a linear layer), none has.
    for i, call in enumerate(calls):
        origin = call.output_from == -1 or (
            call.output_from is None and call.input_from == -1 and call.path not in has_calls_below
        )
        if origin and _field(i, -1, calls, infos, has_calls_below, fields, numel) is not None:
            break
    else:
        return fields
    done = [False] * len(calls)
    for i in range(len(calls)):
        if not done[i]:  # most are, resolved as what an earlier call depended on
            _resolve(i, calls, infos, has_calls_below, fields, done, numel)
    return fields


def _resolve(
    start: int,
    calls: Sequence[CallRecord],
    infos: dict[str, ModuleInfo],
    parents: set[str],
    fields: list[Field | None],
    done: list[bool],
    numel: dict[int, int],
) -> None:
    """Fill ``fields[start]`` and what it depends on; iterative (no recursion limit)."""
    pending = [start]
    waiting: dict[int, int] = {}
    """``{call: the call it waits for}``, while that one is resolved first."""
    while pending:
        i = pending[-1]
        if done[i]:
            pending.pop()
            continue
        # The call whose field call i's is made from (-1: the model's input; None: none).
        call = calls[i]
        need: int | None
        if i in waiting:  # back after what it waited for: known
            need = waiting.pop(i)
        elif call.output_from is not None:
            need = call.output_from
        elif call.path in parents:  # a module whose own operators made its output
            need = _last_inside(i, calls)
        elif call.input_from is not None:
            need = call.input_from
        else:
            need = _stand_in(i, calls)
        if need is not None and need >= 0 and not done[need]:
            if need not in waiting:
                waiting[i] = need
                pending.append(need)
                continue
            need = None  # records that loop (none a pass makes): no field
        fields[i] = _field(i, need, calls, infos, parents, fields, numel)
        done[i] = True
        pending.pop()


def _field(
    i: int,
    source: int | None,
    calls: Sequence[CallRecord],
    infos: dict[str, ModuleInfo],
    parents: set[str],
    fields: list[Field | None],
    numel: dict[int, int],
) -> Field | None:
    if source is None:
        return None
    before = _ORIGIN if source == -1 else fields[source]
    call = calls[i]
    if call.output_from is not None or call.path in parents or before is None:
        return before
    info = infos.get(call.path)
    if info is not None and info.kernel_size is not None:
        if info.stride is None or info.dilation is None:
            return None  # a transposed convolution, or unknown settings
        return _through_kernel(before, info.kernel_size, info.stride, info.dilation)
    return before if _keeps_positions(call, info, numel) else None


def _through_kernel(
    before: Field, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]
) -> Field | None:
    """The field after a kernel.

    Examples:
        >>> _through_kernel(((3, 3), (1, 1)), (3, 3), (2, 2), (1, 1))
        ((5, 5), (2, 2))
        >>> _through_kernel(((), ()), (3,), (1,), (2,))
        ((5,), (1,))
    """
    size, jump = before
    if not size:
        size, jump = (1,) * len(kernel), (1,) * len(kernel)
    if len(size) != len(kernel):
        return None
    return (
        tuple(r + (k - 1) * d * j for r, k, d, j in zip(size, kernel, dilation, jump, strict=True)),
        tuple(j * s for j, s in zip(jump, stride, strict=True)),
    )


def _first_tensor(spec: ValueSpec | None) -> TensorSpec | None:
    if isinstance(spec, TensorSpec):
        return spec
    if isinstance(spec, SeqSpec) and spec.items and isinstance(spec.items[0], TensorSpec):
        return spec.items[0]
    return None


def _keeps_positions(call: CallRecord, info: ModuleInfo | None, numel: dict[int, int]) -> bool:
    """A module without a kernel that maps each position to itself: one tensor out of
    the shape of its first input, at most a weight and a bias per channel."""
    x, y = _first_tensor(call.inputs), call.output
    if x is None or not isinstance(y, TensorSpec) or x.shape != y.shape or len(x.shape) < 3:
        return False
    if info is None or not info.param_keys:
        return True
    channels = x.shape[1]
    if not isinstance(channels, int):  # a symbolic size (an exported program)
        return False
    return len(info.param_keys) <= 2 and all(numel[key] <= channels for _, key in info.param_keys)


def _last_inside(i: int, calls: Sequence[CallRecord]) -> int | None:
    """The last call inside call ``i`` whose output has the shape of ``i``'s output."""
    path = calls[i].path
    prefix = f"{path}." if path else ""
    target = _first_tensor(calls[i].output)
    found = None
    for j in range(i + 1, len(calls)):
        inner = calls[j].path
        if not inner.startswith(prefix) or inner == path:
            break
        out = _first_tensor(calls[j].output)
        if target is not None and out is not None and out.shape == target.shape:
            found = j
    return found


def _stand_in(i: int, calls: Sequence[CallRecord]) -> int | None:
    """For an input an operator made: the latest call before ``i`` that is not one of
    its callers and returned a tensor of that input's shape."""
    x = _first_tensor(calls[i].inputs)
    if x is None:
        return None
    path = calls[i].path
    for j in range(i - 1, -1, -1):
        other = calls[j].path
        if other == "" or path.startswith(f"{other}."):
            continue  # a caller of call i, still running
        out = _first_tensor(calls[j].output)
        if out is not None and out.shape == x.shape:
            return j
        return None  # the nearest call returned something else: not a stand-in
    return None
