"""Plain records that flow from the tracer to the tree builder.

Nothing here imports torch: the tracer translates what it observes into these
frozen dataclasses, and every later stage (tree, renderer, exporters) works on
them alone. That keeps the stages testable without a forward pass.

Examples:
    >>> spec = TensorSpec(shape=(1, 3, 8, 8), dtype="float32", nbytes=768)
    >>> spec.shape
    (1, 3, 8, 8)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

_Record = TypeVar("_Record")


def direct_init(cls: type[_Record]) -> type[_Record]:
    """Give a frozen, slotted dataclass an ``__init__`` that fills its slots fast.

    The ``__init__`` that ``@dataclass(frozen=True)`` writes assigns every field
    through ``object.__setattr__``: about 900 machine instructions a field, where a
    plain assignment to a slot takes a few dozen. A summary builds several records
    per module (a row alone has 25 fields), and that was the largest part of its
    cost beyond the forward pass. This ``__init__`` turns the new instance, for the
    moment of filling it, into an instance of a mutable twin class with the same
    slots (the same memory layout, so CPython allows the ``__class__`` change),
    assigns each field plainly, and turns it back: a 25-field record is built with
    a third of the instructions, an 8-field one with two thirds. An instance of a
    subclass (whose layout may differ) has each slot set through its descriptor
    instead. It takes the same arguments with the same defaults, and everything
    else is the dataclass's own: instances stay frozen, and ``==``, ``hash``,
    ``repr``, `dataclasses.replace()` and pickling are unchanged. Apply it on top of
    ``@dataclass(frozen=True, slots=True)``, to classes whose fields have plain
    defaults (no ``default_factory``).

    Examples:
        >>> @direct_init
        ... @dataclass(frozen=True, slots=True)
        ... class Point:
        ...     x: int
        ...     y: int = 0
        >>> Point(1), Point(y=2, x=1) == Point(1, 2), type(Point(1)) is Point
        (Point(x=1, y=0), True, True)
        >>> Point(1).x = 5
        Traceback (most recent call last):
        dataclasses.FrozenInstanceError: cannot assign to field 'x'
    """
    twin = type(
        f"_{cls.__name__}Filling",
        cls.__bases__,
        {"__slots__": cls.__slots__, "__module__": cls.__module__},  # type: ignore[attr-defined]
    )
    namespace: dict[str, Any] = {"_cls": cls, "_twin": twin, "_become": object.__setattr__}
    params, fast, slow = [], [], []
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.default_factory is not dataclasses.MISSING:
            raise TypeError(f"{cls.__name__}.{f.name}: direct_init takes plain defaults only")
        namespace[f"_set_{f.name}"] = getattr(cls, f.name).__set__  # the slot's descriptor
        if f.default is dataclasses.MISSING:
            params.append(f.name)
        else:
            namespace[f"_default_{f.name}"] = f.default
            params.append(f"{f.name}=_default_{f.name}")
        fast.append(f"        self.{f.name} = {f.name}\n")
        slow.append(f"        _set_{f.name}(self, {f.name})\n")
    exec(
        f"def __init__(self, {', '.join(params)}):\n"
        "    if type(self) is _cls:\n"
        "        _become(self, '__class__', _twin)\n"
        f"{''.join(fast)}"
        "        self.__class__ = _cls\n"
        "    else:\n"
        f"{''.join(slow) or '        pass'}\n",
        namespace,
    )
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    init.__module__ = cls.__module__
    cls.__init__ = init  # type: ignore[method-assign]
    return cls


def positional(cls: type[_Record]) -> Callable[..., _Record]:
    """A constructor of ``cls``, a frozen, slotted dataclass, that takes every field by
    position, in order, none left to its default: for the loops that build a record per
    module or call.

    Calling the class itself runs ``type.__call__``, then an ``__init__`` that changes
    the instance's class twice (see `direct_init()`); this one fills an instance of a
    mutable twin class with the same slots and changes its class once. A 10-field
    record takes about two thirds of the instructions of ``cls(...)``, and a field
    added to the class is a missing argument at every call, not a silent default.

    Examples:
        >>> @dataclass(frozen=True, slots=True)
        ... class Point:
        ...     x: int
        ...     y: int = 0
        >>> new_point = positional(Point)
        >>> new_point(1, 2) == Point(1, 2), type(new_point(1, 2)) is Point
        (True, True)
        >>> new_point(1)
        Traceback (most recent call last):
        TypeError: new_Point() missing 1 required positional argument: 'y'
    """
    fields = dataclasses.fields(cls)  # type: ignore[arg-type]
    if hasattr(cls, "__post_init__") or not all(f.init for f in fields):
        raise TypeError(f"{cls.__name__}: positional() fills init fields only, no __post_init__")
    twin = type(
        f"_{cls.__name__}Filling",
        cls.__bases__,
        {"__slots__": cls.__slots__, "__module__": cls.__module__},  # type: ignore[attr-defined]
    )
    names = [f.name for f in fields]
    namespace: dict[str, Any] = {"_cls": cls, "_twin": twin, "_new": object.__new__}
    exec(
        f"def new_{cls.__name__}({', '.join(names)}):\n"
        "    self = _new(_twin)\n"
        + "".join(f"    self.{name} = {name}\n" for name in names)
        + "    self.__class__ = _cls\n"
        "    return self\n",
        namespace,
    )
    make: Callable[..., _Record] = namespace[f"new_{cls.__name__}"]
    make.__module__ = cls.__module__
    return make


@direct_init
@dataclass(frozen=True, slots=True)
class TensorSpec:
    """Shape, dtype and size of one tensor seen during the pass.

    Examples:
        >>> TensorSpec(shape=(2, 4), dtype="int64", nbytes=64).dtype
        'int64'
    """

    shape: tuple[int | str, ...]
    """Sizes of each dimension; a dynamic dimension of an exported program by its name
    (``"batch"``, ``"s0"``)."""
    dtype: str
    """The dtype without the ``torch.`` prefix, e.g. ``"float32"``."""
    nbytes: int
    """``numel() * element_size()`` of the tensor."""


@direct_init
@dataclass(frozen=True, slots=True)
class OtherSpec:
    """A value that is not a tensor, shown by its type name.

    Examples:
        >>> OtherSpec(type_name="NoneType").type_name
        'NoneType'
    """

    type_name: str
    """``type(value).__name__``."""


@direct_init
@dataclass(frozen=True, slots=True)
class SeqSpec:
    """A tuple, list, or namedtuple of values.

    Examples:
        >>> SeqSpec(items=(OtherSpec("int"),)).items[0]
        OtherSpec(type_name='int')
    """

    items: tuple[ValueSpec, ...]
    """The described elements, in order."""


@direct_init
@dataclass(frozen=True, slots=True)
class MapSpec:
    """A mapping, dataclass, or Hugging Face ``ModelOutput``.

    Examples:
        >>> MapSpec(items=(("logits", OtherSpec("NoneType")),)).items[0][0]
        'logits'
    """

    items: tuple[tuple[str, ValueSpec], ...]
    """``(key, value)`` pairs in the container's own order."""


ValueSpec = TensorSpec | OtherSpec | SeqSpec | MapSpec
"""What the tracer records of an input or output value."""


@direct_init
@dataclass(frozen=True, slots=True)
class ParamInfo:
    """One unique parameter tensor of the model (tied weights appear once).

    Examples:
        >>> ParamInfo(key=0, name="fc.weight", numel=6, nbytes=24,
        ...           trainable=True, dtype="float32").numel
        6
    """

    key: int
    """Index of the tensor in the model's unique parameters; stable identity."""
    name: str
    """First dotted name ``named_parameters()`` gives the tensor."""
    numel: int
    """Number of elements: for a quantized weight, those of the weight it stands for
    (as Hugging Face's ``num_parameters()`` counts them)."""
    nbytes: int
    """Bytes stored: ``numel() * element_size()`` of a plain tensor; every inner tensor
    of a quantized one (data, scales, zero points, quant state)."""
    trainable: bool
    """``requires_grad`` of the tensor."""
    dtype: str
    """The stored format: the dtype without the ``torch.`` prefix (``"float32"``), or a
    quantized format (``"int8"``, ``"nf4"``, ``"qint8"``)."""
    local_nbytes: int | None = None
    """Bytes of it this process holds on its device, where an engine spreads it (a
    shard, a ZeRO-3 partition; 0 when offloaded); ``None``: all of ``nbytes``."""
    placement: str = ""
    """How an engine placed it (``"sharded over 2 ranks"``, ``"offloaded to disk"``);
    ``""`` for a plain parameter."""
    uninitialised: bool = False
    """An ``nn.UninitializedParameter`` (a lazy module's, before its first pass): its size
    is unknown, and ``numel`` and ``nbytes`` are 0."""
    dense_nbytes: int | None = None
    """For a quantized parameter (``nbytes`` then counts what it stores, ``dtype`` names
    its format): ``numel`` times the element size of the dtype it computes in, what a
    gradient of it takes; ``None`` for a plain parameter (``nbytes``)."""


@direct_init
@dataclass(frozen=True, slots=True)
class BufferInfo:
    """One unique buffer tensor (e.g. BatchNorm running statistics).

    Examples:
        >>> BufferInfo(name="bn.running_mean", numel=4, nbytes=16).nbytes
        16
    """

    name: str
    """First dotted name ``named_buffers()`` gives the tensor."""
    numel: int
    """Number of elements."""
    nbytes: int
    """``numel() * element_size()``."""
    uninitialised: bool = False
    """An ``nn.UninitializedBuffer``: its size is unknown, ``numel`` and ``nbytes`` are 0."""


@direct_init
@dataclass(frozen=True, slots=True)
class ModuleInfo:
    """Static facts about one module, in ``named_modules()`` order.

    Examples:
        >>> ModuleInfo(path="conv1", type_name="Conv2d", parent="",
        ...            param_keys=(("weight", 0),)).param_keys
        (('weight', 0),)
    """

    path: str
    """Dotted path as ``named_modules()`` spells it; the root is ``""``."""
    type_name: str
    """Class name of the module."""
    parent: str | None
    """Path of the parent module, ``None`` for the root."""
    param_keys: tuple[tuple[str, int], ...] = ()
    """``(attribute name, ParamInfo.key)`` of the parameters registered on it."""
    buffer_numel: int = 0
    """Elements of the buffers registered directly on it."""
    kernel_size: tuple[int, ...] | None = None
    """The ``kernel_size`` attribute of convolution-like modules."""
    aliases: tuple[str, ...] = ()
    """Other paths that register the same module object (its children are not repeated)."""
    traced: bool = True
    """False when the module cannot run Python hooks (TorchScript)."""
    groups: int | None = None
    """The ``groups`` attribute of convolutions (channel groups); ``None`` for other modules."""
    stride: tuple[int, ...] | None = None
    """The stride of a convolution or pooling layer that has a `kernel_size` (one per
    dimension); ``None`` for other modules and for transposed convolutions."""
    dilation: tuple[int, ...] | None = None
    """Its dilation, as `stride` (1 where the class has none: average pooling)."""
    container: bool = False
    """One of torch.nn's containers (``Sequential``, ``ModuleList``, ``ModuleDict``,
    ``ParameterList``, ``ParameterDict``), which hold modules and add nothing of
    their own; all but ``Sequential`` are never called themselves."""


@direct_init
@dataclass(frozen=True, slots=True)
class CallRecord:
    """One call of one module during the traced pass.

    Examples:
        >>> rec = CallRecord(path="conv1", inputs=SeqSpec(()), output=OtherSpec("NoneType"))
        >>> rec.mult_adds
        0
    """

    path: str
    """Dotted path of the module that was called."""
    inputs: SeqSpec
    """Positional arguments, followed by a ``MapSpec`` of keyword arguments if any."""
    output: ValueSpec
    """What the call returned."""
    mult_adds: int = 0
    """Multiply-accumulates of the operators run while this call was innermost."""
    raised: bool = False
    """True when the call raised (and a caller caught the exception); ``output`` is then unknown."""
    comm_bytes: int = 0
    """Bytes the collectives moved while this call was innermost (all-gathers of sharded
    parameters, all-reduces of tensor parallelism)."""
    training: bool = False
    """The module's ``training`` flag when the call started (train or eval mode)."""
    ops: int = 0
    """Torch functions that returned tensors (not metadata reads or profiler markers) run
    while this call was innermost: 0 for a module that only hands its input to a child
    and returns its output."""
    input_from: int | None = None
    """Index (in start order) of the call that last returned this call's first positional
    tensor, ``-1`` when it is the model's own input; ``None``: an operator outside any
    module's output made it, or it is not a tensor."""
    output_from: int | None = None
    """Index of an earlier call (a child's) that returned the very tensor this call
    returned; ``None`` when this call's own operators made it."""


@dataclass(frozen=True, slots=True)
class InputOrigin:
    """Where a tensor a failing call received came from: the last call before it that
    returned a tensor of that shape and dtype.

    Examples:
        >>> InputOrigin(TensorSpec((2, 30), "float32", 240), "a.2.0", "Linear(20, 30)").path
        'a.2.0'
    """

    spec: TensorSpec
    """The input."""
    path: str
    """Dotted path of the module whose call returned it; the root is ``""``."""
    module: str
    """That module as its ``repr`` starts: its class and settings, ``Linear(20, 30)``."""


@dataclass(frozen=True, slots=True)
class FailedCall:
    """The innermost module call a failing pass's exception came out of.

    Examples:
        >>> FailedCall(path="fc", type_name="Linear", inputs=SeqSpec(())).type_name
        'Linear'
    """

    path: str
    """Dotted path of the module; the root is ``""``."""
    type_name: str
    """Class name of the module."""
    inputs: SeqSpec
    """What it was called with."""
    index: int = -1
    """Its place among the pass's calls (`Trace.calls`); ``-1``: unknown."""
    params: tuple[tuple[str, TensorSpec], ...] = ()
    """``(name, shape)`` of the parameters registered on the module, as it met them."""
    origins: tuple[InputOrigin, ...] = ()
    """Where its tensor inputs came from, for those the pass can tell."""
    note: str = ""
    """What the module can add about the failure (an embedding's size against the
    index asked for); ``""``: nothing."""


@dataclass(frozen=True, slots=True)
class Trace:
    """What the tracer observed during one forward pass, and nothing else.

    How the pass was run and what was measured around it (the input's bytes, the
    optimizer, the CUDA peak, per-module times) travel apart, in `PassInfo`.

    Examples:
        >>> Trace(modules=(), params=(), buffers=(), calls=(), param_uses=()).activation_bytes
        0
    """

    modules: tuple[ModuleInfo, ...]
    """Every module of the model, root first, in ``named_modules()`` order."""
    params: tuple[ParamInfo, ...]
    """Unique parameter tensors, indexed by ``ParamInfo.key``."""
    buffers: tuple[BufferInfo, ...]
    """Unique buffer tensors."""
    calls: tuple[CallRecord, ...]
    """Module calls in the order they started."""
    param_uses: tuple[tuple[int, str], ...]
    """Distinct ``(param key, innermost module path)`` pairs, in the order first seen."""
    activation_bytes: int = 0
    """Bytes of the distinct tensors the module calls returned."""
    uncounted_ops: tuple[tuple[str, int], ...] = ()
    """``(operator name, times run)`` of operators with no MAC formula that may compute."""
    saved_bytes: int | None = None
    """Bytes of the distinct tensors autograd saved for backward (``None``: not measured)."""
    masked: tuple[tuple[str, int], ...] = ()
    """``(parameter name, elements its mask zeroes)`` of the parameters pruned with
    ``torch.nn.utils.prune`` (a ``NAME_orig`` parameter beside a ``NAME_mask`` buffer)."""
    failed: FailedCall | None = None
    """The call the pass failed in, when it raised: the trace then covers the pass as
    far as it got."""


@dataclass(frozen=True, slots=True)
class OptimizerState:
    """What an optimizer object keeps for each parameter of the model in its groups.

    Read from a ``torch.optim.Optimizer`` before the pass (`optimizer_state()`): a
    parameter's state as it is, or, before its first step, as a step would make it.

    Examples:
        >>> OptimizerState("Adam", (("fc.weight", 1604),)).state_bytes[0]
        ('fc.weight', 1604)
    """

    name: str
    """The optimizer's class name (``"Adam"``)."""
    state_bytes: tuple[tuple[str, int], ...]
    """``(parameter name, bytes of its state after a step)`` of every parameter of the
    model in one of its param groups, frozen or not, by the name `ParamInfo` gives it."""


@dataclass(frozen=True, slots=True)
class WeightsAs:
    """Which weights ``summary(weights_as=...)`` sizes in another storage format.

    Examples:
        >>> WeightsAs("nf4", (("fc.weight", 128),)).weights[0]
        ('fc.weight', 128)
    """

    format: str
    """A name of `WEIGHT_FORMATS`."""
    weights: tuple[tuple[str, int], ...]
    """``(parameter name, output rows)`` of the weights the format stores, by the name
    `ParamInfo` gives them; every other parameter keeps its size."""


@dataclass(frozen=True, slots=True)
class PassInfo:
    """Facts about the pass as a whole, known beside the tracer: how it was run and
    what was measured around it.

    ``summary()`` fills it where each fact is known; the tree builder reads it
    beside the `Trace`.

    Examples:
        >>> PassInfo(input_bytes=768, optimizer="adam").forward_pass
        True
        >>> PassInfo(forward_pass=False).input_bytes
        0
    """

    forward_pass: bool = True
    """False when no input was given and nothing ran: every module is listed as it is
    registered, and every parameter counted on the first module that registers it."""
    input_bytes: int = 0
    """Bytes of the input tensors handed to the model."""
    optimizer: str | None = None
    """Optimizer named for the training-memory estimate (``None``: no estimate)."""
    weights_as: WeightsAs | None = None
    """The weights to size in another storage format (``None``: as they are)."""
    optimizer_state: OptimizerState | None = None
    """The state of the optimizer object given for the estimate (``None``: a name was
    given, and the state follows the name's rule)."""
    peak_bytes: int | None = None
    """Peak bytes the CUDA allocator held during the pass (``None``: not on CUDA)."""
    times: tuple[tuple[str, float], ...] = ()
    """``(module path, seconds per pass)`` when per-module timing was asked for."""
    ranks: tuple[int, int] | None = None
    """``(rank, world size)`` of this process under an initialised process group."""
