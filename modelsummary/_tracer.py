"""Stage 1: run one forward pass and record what happened, as plain records.

The :class:`Tracer` is a context manager that owns every hook it installs:
``__enter__`` installs process-wide module forward hooks that record the calls
of the traced model's modules made from the tracer's own thread (others are
ignored, so two summaries in two threads cannot see each other), and enters a
:class:`~torch.overrides.TorchFunctionMode` that sees every tensor operation
with its original arguments. That is how a parameter is known to be *used*: it
reached an operator, whether its module was called or a parent passed it to
``F.linear`` itself. A :class:`~torch.utils._python_dispatch.TorchDispatchMode`
sees the aten operators below autograd, fused paths included, and adds their
multiply-accumulates (:mod:`modelsummary._catalogue`) to the innermost module call
running. Standard ``torch.nn`` leaves are counted from their shapes instead of
their operators (see :meth:`~modelsummary._catalogue.Catalogue.leaf_formula`).
``__exit__`` removes everything.

Example:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 2))
    >>> with torch.no_grad(), Tracer(model) as tracer:
    ...     _ = model(torch.zeros(1, 4))
    >>> trace = tracer.finish()
    >>> [(c.path, c.output.shape) for c in trace.calls]
    [('', (1, 2)), ('0', (1, 2))]
    >>> [p.name for p in trace.params if p.key in {k for k, _ in trace.param_uses}]
    ['0.weight', '0.bias']
    >>> [(c.path, c.mult_adds) for c in trace.calls]
    [('', 0), ('0', 8)]
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
import threading
import weakref
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, ExitStack
from types import TracebackType
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as module_hooks
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.hooks import RemovableHandle

from ._catalogue import DISPATCH, Catalogue, current_catalogue, op_name
from ._engines import param_facts, replicas, resting_params
from ._flops import Formula, LeafFormula
from ._records import (
    BufferInfo,
    CallRecord,
    MapSpec,
    ModuleInfo,
    OtherSpec,
    ParamInfo,
    SeqSpec,
    TensorSpec,
    Trace,
    ValueSpec,
)

# Operators that only read a tensor's metadata. A parameter that reaches one of
# these (``self.weight.dtype``, ``p.shape``) has not taken part in the compute.
_METADATA_OPS = frozenset(
    {
        "__get__",
        "__len__",
        "__repr__",
        "__format__",
        "__hash__",
        "size",
        "dim",
        "ndimension",
        "numel",
        "nelement",
        "stride",
        "storage_offset",
        "element_size",
        "is_contiguous",
        "is_floating_point",
        "is_complex",
        "get_device",
        "data_ptr",
        "untyped_storage",
        "_is_view",
    }
)


# What a torch-level call does to its first argument, besides reading it.
_READS, _WRITES, _ALIASES = 0, 1, 2
_IN_PLACE_DUNDERS = frozenset(
    {
        "__setitem__",
        "__iadd__",
        "__isub__",
        "__imul__",
        "__imatmul__",
        "__itruediv__",
        "__ifloordiv__",
        "__imod__",
        "__ipow__",
        "__iand__",
        "__ior__",
        "__ixor__",
        "__ilshift__",
        "__irshift__",
    }
)


def _effect(func: Any, name: str) -> int:
    """Whether ``func`` writes its first argument in place (``clamp_``, ``x[i] = v``,
    ``nn.init.normal_``, ``w.data = v``), returns an alias of it that no view records
    (``.data``, ``detach()``), or only reads it."""
    if name in _IN_PLACE_DUNDERS or (
        name.endswith("_") and not name.endswith("__") and name != "requires_grad_"
    ):
        return _WRITES
    if name == "detach":
        return _ALIASES
    # Of the properties, only .data hands out or replaces the values.
    prop = getattr(getattr(func, "__self__", None), "__name__", "")
    if prop == "data" and name in ("__get__", "__set__"):
        return _ALIASES if name == "__get__" else _WRITES
    return _READS


def dtype_name(dtype: torch.dtype) -> str:
    """Name a dtype without its ``torch.`` prefix.

    Example:
        >>> dtype_name(torch.bfloat16)
        'bfloat16'
    """
    name = _DTYPE_NAMES.get(dtype)
    if name is None:
        name = _DTYPE_NAMES[dtype] = str(dtype).removeprefix("torch.")
    return name


_DTYPE_NAMES: dict[torch.dtype, str] = {}


def tensor_nbytes(t: torch.Tensor) -> int:
    """Bytes of a tensor's elements, ``numel() * element_size()``.

    Example:
        >>> tensor_nbytes(torch.zeros(2, 3, dtype=torch.float16))
        12
    """
    return t.numel() * t.element_size()


def describe(value: Any, memo: dict[Any, TensorSpec] | None = None) -> ValueSpec:
    """Describe a value: tensors by shape, containers element-wise, others by type.

    Walks tuples, lists, namedtuples and dataclass instances (by field name), and
    mappings (Hugging Face ``ModelOutput`` is one). With a ``memo``, tensors of
    one shape and dtype share one (immutable) :class:`TensorSpec`.

    Example:
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
    if isinstance(value, Mapping):
        return MapSpec(tuple((str(k), describe(v, memo)) for k, v in value.items()))
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # a namedtuple: keep its names
        fields = zip(value._fields, value, strict=True)
        return MapSpec(tuple((name, describe(v, memo)) for name, v in fields))
    if isinstance(value, (tuple, list)):
        return SeqSpec(tuple(describe(v, memo) for v in value))
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return MapSpec(
            tuple(
                (f.name, describe(getattr(value, f.name), memo)) for f in dataclasses.fields(value)
            )
        )
    return OtherSpec(type(value).__name__)


def iter_tensors(value: Any) -> list[torch.Tensor]:
    """Every tensor inside a nested value, in the order :func:`describe` walks.

    Example:
        >>> [t.shape for t in iter_tensors({"a": [torch.zeros(1)], "b": 2})]
        [torch.Size([1])]
    """
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, Mapping):
        return [t for v in value.values() for t in iter_tensors(v)]
    if isinstance(value, (tuple, list)):
        return [t for v in value for t in iter_tensors(v)]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return [t for f in dataclasses.fields(value) for t in iter_tensors(getattr(value, f.name))]
    return []


def describe_call(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], memo: dict[Any, TensorSpec] | None = None
) -> SeqSpec:
    """Describe the arguments of one call: positional ones, then a map of keywords.

    Example:
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


def unique_modules(
    model: nn.Module,
) -> tuple[list[tuple[str, nn.Module]], dict[int, list[str]]]:
    """Each module once, at its first path in ``named_modules()`` order, and its other paths.

    The other paths (aliases) are the places that register the same module
    object again; a shared module's children are not repeated under each of
    them. ``named_modules(remove_duplicate=False)`` walks a shared subtree once
    per path, which is exponential in diamond-shaped sharing; this walk is
    linear in the number of registrations, and iterative, so nesting depth is
    not limited by Python's recursion limit.

    Returns:
        ``[(path, module)]`` in pre-order, and ``{id(module): alias paths}`` for
        the modules registered more than once.

    Example:
        >>> inner = nn.Linear(1, 1)
        >>> outer = nn.Sequential(nn.Sequential(inner), inner)
        >>> modules, aliases = unique_modules(outer)
        >>> [path for path, _ in modules], aliases[id(inner)], id(outer) in aliases
        (['', '0', '0.0'], ['1'], False)
    """
    modules: list[tuple[str, nn.Module]] = []
    seen: set[int] = set()
    aliases: dict[int, list[str]] = {}
    pending: list[tuple[str, nn.Module]] = [("", model)]
    while pending:
        path, module = pending.pop()
        if id(module) in seen:
            aliases.setdefault(id(module), []).append(path)
            continue
        seen.add(id(module))
        modules.append((path, module))
        children = module._modules
        if children:
            prefix = f"{path}." if path else ""
            for name, child in reversed(children.items()):
                if child is not None:
                    pending.append((prefix + name, child))
    return modules, aliases


Leaf = tuple[LeafFormula, tuple[tuple[int, str], ...]]
"""A standard leaf's MAC formula and the parameter uses of one of its calls."""
_RAISED: Any = object()
"""What the post-hook's missing ``output`` argument says: the forward raised."""


@dataclasses.dataclass(slots=True)
class _Frame:
    """A module call in progress (mutable while the call runs)."""

    module: nn.Module
    path: str
    args: tuple[Any, ...] | None
    """The positional arguments, held until the call's inputs are described."""
    inputs: SeqSpec | None = None
    output: ValueSpec | None = None
    mult_adds: int = 0
    comm_bytes: int = 0
    suspended: AbstractContextManager[Any] | None = None
    """Set while this call runs with the torch-level mode off: a module with a fused fast
    path (see _FAST_PATH_MODULES), or a standard leaf counted from its shapes."""
    leaf: Leaf | None = None
    """Set for a standard leaf whose operators are not watched (see Tracer._leaf)."""

    def described_inputs(self) -> SeqSpec:
        """The inputs: as the post-hook saw them, else the positional arguments (a call
        that raised never reaches its post-hook, which alone sees keyword arguments)."""
        if self.inputs is None:
            with _no_torch_function():
                self.inputs = describe_call(self.args or (), {})
            self.args = None
        return self.inputs


class _StorageCounter:
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
    The cost of this choice: a storage kept alive only by tensors never seen
    here, and returned by a module again after every seen one died, counts twice.

    Example:
        >>> counter = _StorageCounter()
        >>> x = torch.zeros(4)
        >>> for t in (x, x.view(2, 2), x.relu_(), torch.zeros(4)):
        ...     counter.add(t)
        >>> counter.total
        32
    """

    def __init__(self) -> None:
        self.total = 0
        self._seen: dict[int, list[weakref.ref[torch.Tensor]]] = {}

    def add(self, t: torch.Tensor) -> None:
        try:
            storage = t.untyped_storage()
            key: int = storage._cdata
            nbytes = storage.nbytes()
        except (RuntimeError, NotImplementedError):  # sparse and other storage-less tensors
            key, nbytes = id(t), tensor_nbytes(t)
        ref = weakref.ref(t)
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


def _unpack_saved(t: torch.Tensor) -> torch.Tensor:
    return t


def _forget(
    keys: dict[int, int], learned: dict[int, weakref.ref[torch.Tensor]], ident: int
) -> Callable[[Any], None]:
    """A weak reference's callback that drops a learned substitute when it dies (it holds
    the tables, not the tracer: no cycle)."""

    def forget(_: Any) -> None:
        keys.pop(ident, None)
        learned.pop(ident, None)

    return forget


_DIMENSIONS = {"1d": 1, "2d": 2, "3d": 3}
"""Dimensions of a ``torch.nn`` class by its name's suffix (``MaxPool2d``)."""
_no_torch_function = torch._C.DisableTorchFunction
_Parameter, _Tensor = nn.Parameter, torch.Tensor
_torch_function_modes = torch._C._len_torch_function_stack
# Process-wide forward hooks took ``with_kwargs`` and ``always_call`` in later torch 2.x.
_GLOBAL_HOOKS_TAKE_KWARGS = {"with_kwargs", "always_call"} <= set(
    inspect.signature(module_hooks.register_module_forward_hook).parameters
)
_get_ident = threading.get_ident

# Modules with a fused inference fast path that they skip whenever a torch-function
# mode is active. Inside their calls the tracer suspends its torch-level mode and
# lets the aten-level counter see (and note the parameters of) the fused operator,
# so the summary runs, and measures, the path the model itself runs.
# (nn.TransformerEncoderLayer also refuses its fast path under a torch-function mode.
# It is left to run its unfused path, as under any hook-based tool, so that its
# children are called and counted row by row; the MultiheadAttention inside it still
# takes its own fast path.)
_FAST_PATH_MODULES = (nn.MultiheadAttention,)


class _ParamWatcher(TorchFunctionMode):
    """Sees every torch-level call with its original arguments.

    It notes the parameters among the arguments, and counts the call's
    multiply-accumulates: by a formula for the common heavy calls, not at all for
    calls known to do none, and otherwise by running the call under the
    aten-level :class:`_OpCounter` (see
    :meth:`~modelsummary._catalogue.Catalogue.classify_function`).
    """

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()
        self._tracer = weakref.proxy(tracer)  # no cycle: a tracer dies with its last use
        self._kinds: dict[Any, tuple[Formula | bool | None, bool, int]] = {}
        self.counter_active = False
        """True while the aten-level counter sees every operator anyway."""

    def __torch_function__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        known = self._kinds.get(func)
        tracer = self._tracer
        if known is None:
            name = getattr(func, "__name__", "")
            kind = tracer._catalogue.classify_function(func)
            if kind is True and tracer._catalogue.communication(func) is not None:
                kind = DISPATCH  # a collective called as an operator: its bytes are counted there
            known = self._kinds[func] = (
                kind,
                name in _METADATA_OPS,
                _effect(func, name),
            )
        kind, metadata, effect = known
        if kwargs is None:
            kwargs = {}
        elif kwargs:
            if "out" in kwargs:
                tracer._before_write(kwargs["out"])
            # F.embedding and F.embedding_bag with max_norm rescale, in place, the rows
            # of the weight (their second argument) they look up.
            if kwargs.get("max_norm") is not None and len(args) > 1:
                tracer._before_write(args[1])
        if effect == _WRITES and args:
            tracer._before_write(args[0])
        if self.counter_active or kind is True:
            result = func(*args, **kwargs)
        elif kind is DISPATCH:
            with tracer._counter:
                result = func(*args, **kwargs)
        else:
            result = func(*args, **kwargs)
            if tracer._stack:
                try:
                    tracer._stack[-1].mult_adds += kind(args, kwargs, result)  # type: ignore[operator]
                except (AttributeError, IndexError, TypeError, RuntimeError, ValueError):
                    # unusual arguments: report rather than guess
                    tracer._uncounted[getattr(func, "__name__", str(func))] += 1
        # Noted after the call returned: a call that raised used nothing. A metadata
        # read (``w.shape``, ``w.dtype``) is no use, but a property that returns a
        # tensor (``w.T``, ``w.mT``, ``w.data``) hands the weight on to the compute.
        if not metadata or isinstance(result, torch.Tensor):
            tracer._note_operands(args, kwargs)
        if effect == _ALIASES and args:
            tracer._note_alias(args[0], result)
        return result


class _OpCounter(TorchDispatchMode):  # type: ignore[no-untyped-call]
    """Sees every aten operator below autograd and adds its MACs to the innermost call."""

    def __init__(self, tracer: Tracer) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self._tracer = weakref.proxy(tracer)  # no cycle: a tracer dies with its last use
        self._kinds: dict[Any, Formula | bool | _Moves] = {}

    def __torch_dispatch__(
        self,
        func: Any,
        types: Any,
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        kind = self._kinds.get(func)
        if kind is None:
            kind = self._kinds[func] = self._kind(func)
        if self._tracer._suspended:  # the torch-level mode is off: note parameters here
            self._tracer._note_operands(args, kwargs)
        if kind is True:
            return out
        stack = self._tracer._stack
        if kind is False or not stack:
            if kind is False:
                self._tracer._uncounted[op_name(func)] += 1
            return out
        if type(kind) is _Moves:  # a collective: no MACs, the bytes it moves
            stack[-1].comm_bytes += kind.nbytes(args, kwargs, out)
            return out
        try:
            stack[-1].mult_adds += kind(args, kwargs, out)  # type: ignore[operator]
        except (AttributeError, IndexError, TypeError, RuntimeError, ValueError):
            # nested or otherwise shapeless arguments: report rather than guess
            self._tracer._uncounted[op_name(func)] += 1
        return out

    def _kind(self, func: Any) -> Formula | bool | _Moves:
        """The catalogue's classification, a collective's bytes function apart: the
        catalogue counts a collective as free of MACs; here its bytes are counted."""
        catalogue: Catalogue = self._tracer._catalogue
        kind = catalogue.classify(func)
        if kind is True:
            nbytes = catalogue.communication(func)
            if nbytes is not None:
                return _Moves(nbytes)
        return kind


@dataclasses.dataclass(frozen=True, slots=True)
class _Moves:
    """What the aten-level counter keeps for a collective: the bytes one call moves."""

    nbytes: Formula


class Tracer:
    """Record module calls and parameter use during forward passes of ``model``.

    Use it as a context manager around the forward pass, then call
    :meth:`finish` for the :class:`~modelsummary._records.Trace`. If the pass
    raised, :attr:`failed_frame` names the innermost module that was running.
    With ``saved_tensors=True`` (and grad enabled) it also counts the bytes of
    the distinct tensors autograd saves for backward, parameters and buffers
    excluded. With ``every_op=True`` every aten operator goes through the
    aten-level counter instead of only the calls the torch level cannot count
    (slower; the same numbers; always so for TorchScript and compiled modules).
    ``catalogue`` says what each operator costs (default: :func:`current_catalogue`).

    Example:
        >>> model = nn.Linear(3, 1)
        >>> with Tracer(model) as t:
        ...     _ = model(torch.ones(2, 3))
        >>> t.finish().calls[0].inputs.items[0].shape
        (2, 3)
    """

    def __init__(
        self,
        model: nn.Module,
        *,
        saved_tensors: bool = False,
        every_op: bool = False,
        catalogue: Catalogue | None = None,
    ) -> None:
        self._model = model
        self._catalogue = current_catalogue() if catalogue is None else catalogue
        self._modules, self._aliases = unique_modules(model)
        self._handles: list[RemovableHandle] = []
        self._param_keys: dict[int, int] = {}
        """``{id(tensor): ParamInfo.key}``: each parameter tensor once, in first-seen order."""
        self._slots: dict[tuple[int, str], int] = {}
        """``{(id(module), name): ParamInfo.key}``: where each parameter is registered, so that
        a tensor an engine puts there during the pass is known as the parameter (see
        :meth:`_learn`)."""
        self._originals: list[torch.Tensor] = []
        """The registered parameters by key, as they rest between passes (a sharded
        ``DTensor``, an empty ZeRO-3 partition, an offloaded ``meta`` tensor)."""
        self._learned: dict[int, weakref.ref[torch.Tensor]] = {}
        """Substitutes learned during the pass; an entry goes when its tensor dies."""
        self._strangers: dict[int, torch.Tensor] = {}
        """Parameters seen in the pass that no slot holds (held so their ids stay theirs)."""
        # Paths a hook cannot see: TorchScript modules run no Python hooks inside
        # one another. Only the outermost of them, called from Python, is recorded.
        self._untraced: set[str] = set()
        self._scripts: dict[int, nn.Module] = {}
        self._watched: dict[int, tuple[str, Leaf | None]] = {}
        """``{id(module): (path, leaf)}`` of the recorded modules; ``leaf`` is set for a
        standard leaf, whose operators need not be watched (see :meth:`_leaf`)."""
        self._own_hooks: list[nn.Module] = []
        """Recorded modules with forward hooks of their own."""
        keys = self._param_keys
        slots, originals = self._slots, self._originals
        watched = self._watched
        formulas: dict[type, LeafFormula | None] = {}
        compiled = False
        for path, module in self._modules:  # one pass: this runs before every summary
            for name, p in module._parameters.items():
                if p is not None:
                    key = keys.get(id(p))
                    if key is None:
                        key = keys[id(p)] = len(originals)
                        originals.append(p)
                    slots[(id(module), name)] = key
            cls = type(module)
            if cls not in formulas:
                formulas[cls] = self._catalogue.leaf_formula(cls)
                compiled = compiled or cls.__name__ == "OptimizedModule"
            if isinstance(module, torch.jit.ScriptModule):
                if path.rpartition(".")[0] not in self._untraced or path == "":
                    self._scripts[id(module)] = module
                    watched[id(module)] = (path, None)
                    if module._forward_hooks:
                        self._own_hooks.append(module)
                self._untraced.add(path)
                continue
            if module._forward_pre_hooks or module._forward_hooks:
                watched[id(module)] = (path, None)
                if module._forward_hooks:
                    self._own_hooks.append(module)
                continue
            formula = formulas[cls]
            watched[id(module)] = (
                path,
                None if formula is None else self._leaf(formula, module, path),
            )
        self._late: set[int] = set()
        """Ids of the modules whose calls a hook after their own forward hooks closes."""
        self._thread = threading.get_ident()
        self._error: BaseException | None = None
        self._error_frame: _Frame | None = None
        """The exception being raised through the modules, and the first call it left."""
        self._specs: dict[Any, TensorSpec] = {}
        self._single_inputs: dict[Any, SeqSpec] = {}
        self._stack: list[_Frame] = []
        self._frames: list[_Frame] = []
        self._uses: dict[tuple[int, str], None] = {}
        self._activations = _StorageCounter()
        self._mode = _ParamWatcher(self)
        self._counter = _OpCounter(self)
        self._uncounted: Counter[str] = Counter()
        self._saved: _StorageCounter | None = None
        self._saved_hooks: Any = None
        self._state_ids: set[int] = set()
        if saved_tensors:
            self._saved = _StorageCounter()
            for t in [*model.parameters(), *model.buffers()]:
                self._state_ids.add(id(t))
                self._saved.add(t)  # seen already: parameters are not activations
            self._saved.total = 0
            self._saved_hooks = torch.autograd.graph.saved_tensors_hooks(
                self._pack_saved, _unpack_saved
            )
        self.before_write: Callable[[torch.Tensor], None] | None = None
        """Called with a parameter just before the pass first writes it in place (``clamp_``
        under ``no_grad``, ``weight.data.mul_``), so its values can be put back afterwards."""
        self._param_aliases: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        """``{id(alias): (alias, parameter)}``: ``.data`` and ``detach()`` of parameters
        seen during the pass, held so that their ids stay theirs until it ends."""
        self._entered = ExitStack()
        self._suspended = 0
        self._fast_paths = True
        """Whether fused fast paths run with the torch-level mode suspended."""
        self._every_op = every_op or compiled
        # torch.compile warns that process-wide hooks fire twice around its wrapper:
        # a compiled model gets a pair of hooks on each module instead, as does every
        # model on a torch whose process-wide hooks cannot take keyword arguments.
        self._per_module_hooks = compiled or not _GLOBAL_HOOKS_TAKE_KWARGS
        # TorchScript and compiled graphs run no torch-level calls the mode could see:
        # every aten operator is counted instead (slower, complete).
        self._mode.counter_active = bool(self._scripts) or self._every_op
        if self._mode.counter_active or self._per_module_hooks:
            self._watch_every_operator()
        self.failed_frame: _Frame | None = None
        """The innermost call still open when the pass raised, if it did."""

    @property
    def modules(self) -> list[nn.Module]:
        """Every module of the model once, in ``named_modules()`` order."""
        return [module for _, module in self._modules]

    # -- context manager ---------------------------------------------------------------
    def __enter__(self) -> Tracer:
        self._thread = threading.get_ident()
        if _torch_function_modes():
            # The user's own torch-function mode (a device context, an operator
            # logger) must see the model's operators as it would without a summary:
            # no call runs with torch functions off, and MultiheadAttention takes
            # the unfused path that any such mode makes it take.
            self._watch_every_operator()
            self._fast_paths = False
        with ExitStack() as undo:  # everything entered here is undone if a later step fails
            undo.callback(self._remove_hooks)
            # One pair of process-wide hooks rather than a pair on every module: it
            # costs nothing to install for 10,000 modules. The hooks ignore modules of
            # other models and calls from other threads, so summaries running in
            # two threads (of two models, or of one) cannot see each other. They run
            # before the module's own hooks, so a user's pre-hook that computes
            # ``weight`` from ``weight_orig`` (pruning, weight_norm) runs inside the call.
            if self._per_module_hooks:
                self._hook_each_module()
            else:
                self._handles.append(module_hooks.register_module_forward_pre_hook(self._pre_hook))
                # always_call: torch runs the post-hook also when forward raises, so a
                # call that raised is closed at once (and leaves no suspension behind),
                # even when a parent catches the exception.
                self._handles.append(
                    module_hooks.register_module_forward_hook(
                        self._post_hook, with_kwargs=True, always_call=True
                    )
                )
                # A module with forward hooks of its own gets one more, after them: the
                # output recorded is then the one they return, as the next layer sees it,
                # and what they compute belongs to the call.
                for module in self._own_hooks:
                    self._late.add(id(module))
                    self._handles.append(
                        module.register_forward_hook(self._close_call, with_kwargs=True)
                    )
            undo.enter_context(self._mode)
            if self._mode.counter_active:
                undo.enter_context(self._counter)
            if self._saved_hooks is not None:
                undo.enter_context(self._saved_hooks)
            self._entered = undo.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            for frame in reversed(self._stack):  # calls a raise left open, innermost first
                if frame.suspended is not None:
                    frame.suspended.__exit__(None, None, None)
            self._entered.__exit__(exc_type, exc, tb)  # modes out, then hooks removed
        finally:
            if exc is not None:
                if self._stack:  # not an Exception (KeyboardInterrupt): no hook closed them
                    self.failed_frame = self._stack[-1]
                elif exc is self._error:
                    self.failed_frame = self._error_frame
            self._stack.clear()
            self._param_aliases.clear()
            self._strangers.clear()
            self._error = self._error_frame = None  # the exception holds frames: no cycle
            self._saved_hooks = None  # it holds a bound method of this tracer: no cycle

    def _watch_every_operator(self) -> None:
        """No leaf counted from its shapes: every call's operators reach the modes."""
        watched = self._watched
        for key, (path, _) in watched.items():
            watched[key] = (path, None)

    def _leaf(self, formula: LeafFormula, module: nn.Module, path: str) -> Leaf | None:
        """A standard leaf: of an exact class that
        :meth:`~modelsummary._catalogue.Catalogue.leaf_formula` knows, with no hooks of
        its own (a hook may compute, or replace the weight), and plain tensors only: a
        tensor subclass (a quantized weight) may handle the operators itself through
        ``__torch_function__``, which a leaf's call skips.
        A call of one uses exactly the parameters it holds (meta stand-ins, which
        map to the same keys, included): ``(key, path)`` pairs, as noted uses are."""
        uses: list[tuple[int, str]] = []
        for p in module._parameters.values():
            if p is not None:
                if type(p) is not nn.Parameter and type(p) is not torch.Tensor:
                    return None
                uses.append((self._param_keys[id(p)], path))
        for b in module._buffers.values():
            if b is not None and type(b) is not torch.Tensor:
                return None
        return formula, tuple(uses)

    def _hook_each_module(self) -> None:
        for module in self.modules:
            if id(module) in self._watched:
                self._handles.append(module.register_forward_pre_hook(self._pre_hook, prepend=True))
                self._handles.append(
                    module.register_forward_hook(self._close_call, with_kwargs=True)
                )

    def _remove_hooks(self) -> None:
        # Removing a process-wide hook registered with_kwargs leaves its id in
        # torch's table of such hooks (torch 2.x), and torch.compile then warns
        # about global hooks forever after: take it out too.
        with_kwargs = getattr(module_hooks, "_global_forward_hooks_with_kwargs", {})
        for handle in self._handles:
            handle.remove()
            with_kwargs.pop(handle.id, None)
        self._handles.clear()

    # -- hooks -------------------------------------------------------------------------
    # The pre-hook only opens a frame; the post-hook, which also sees keyword
    # arguments, describes the call. Describing reads tensor metadata (shape,
    # dtype, storage): with torch functions disabled those reads do not pass
    # through the mode, which would otherwise run Python for each of them as if
    # the model had called an operator.
    def _pre_hook(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        watched = self._watched.get(id(module))
        if watched is None or _get_ident() != self._thread:
            return
        path, leaf = watched
        frame = _Frame(module, path, args)
        self._stack.append(frame)
        self._frames.append(frame)
        if self._suspended:  # inside a fused fast path: the aten-level counter sees all
            return
        if leaf is not None:
            # A standard leaf (see _leaf) called on one plain tensor: its
            # parameters and MACs are known from its shapes, so its operators need not
            # pass through the mode (the bulk of a CNN's calls).
            if len(args) == 1 and type(args[0]) is torch.Tensor:
                frame.leaf = leaf
                frame.suspended = suspension = _no_torch_function()
                suspension.__enter__()
        elif isinstance(module, _FAST_PATH_MODULES) and self._fast_paths:
            frame.suspended = self._suspend()

    def _suspend(self) -> ExitStack:
        """Turn the torch-level mode off and make sure the aten-level counter is on."""
        with ExitStack() as suspension:
            suspension.enter_context(_no_torch_function())
            if not self._mode.counter_active:
                suspension.enter_context(self._counter)
            self._suspended += 1
            suspension.callback(self._resume)
            return suspension.pop_all()

    def _resume(self) -> None:
        self._suspended -= 1

    def _post_hook(
        self,
        module: nn.Module,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        output: Any = _RAISED,
    ) -> None:
        """Close a call. Registered ``always_call``: torch passes ``(module, args,
        kwargs, output)`` after forward returned, and ``(module, args, output)`` from
        its ``except`` block after forward raised (this hook had not run then)."""
        if output is _RAISED:
            self._on_raise(module, args)
        elif id(module) not in self._late:  # else its own late hook closes it
            self._close_call(module, args, kwargs, output)

    def _close_call(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> None:
        if id(module) not in self._watched or _get_ident() != self._thread:
            return
        stack = self._stack
        if not stack or stack[-1].module is not module:  # a child that raised is still open
            self._pop_to(module, args, kwargs, output, raised=False)
            return
        frame = stack.pop()  # the usual case, kept lean: it runs once per module call
        suspension = frame.suspended
        if frame.leaf is not None:  # torch functions are off inside a leaf's call already
            self._record(frame, args, kwargs, output)
        else:
            with _no_torch_function():
                self._record(frame, args, kwargs, output)
        if suspension is not None:  # after the block above, which restores its own state
            suspension.__exit__(None, None, None)
            frame.suspended = None

    def _record(
        self, frame: _Frame, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> None:
        """Describe a call that returned (with torch functions off)."""
        frame.inputs = self._describe_inputs(args, kwargs)
        frame.output = describe(output, self._specs)
        frame.args = None
        if frame.leaf is not None:
            self._close_leaf(frame, args[0], output)
        if isinstance(output, torch.Tensor):
            self._activations.add(output)
        else:
            for t in iter_tensors(output):
                self._activations.add(t)

    def _describe_inputs(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> SeqSpec:
        """:func:`describe_call`, with one shared record per shape for one-tensor calls."""
        if len(args) == 1 and not kwargs and type(args[0]) is torch.Tensor:
            key = (args[0].shape, args[0].dtype)
            inputs = self._single_inputs.get(key)
            if inputs is None:
                inputs = self._single_inputs[key] = describe_call(args, {}, self._specs)
            return inputs
        return describe_call(args, kwargs, self._specs)

    def _on_raise(self, module: nn.Module, args: tuple[Any, ...]) -> None:
        """Close a call whose forward raised."""
        if id(module) not in self._watched or _get_ident() != self._thread:
            return
        if not any(frame.module is module for frame in self._stack):
            return
        frame = self._pop_to(module, args, {}, None, raised=True)
        # Torch runs this hook inside its ``except`` block: the exception at hand tells
        # the first (innermost) module it propagates out of from the ones above it.
        error = sys.exc_info()[1]
        if error is not None and error is not self._error:
            self._error, self._error_frame = error, frame

    def _pop_to(
        self,
        module: nn.Module,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        output: Any,
        *,
        raised: bool,
    ) -> _Frame | None:
        """Close the call of ``module`` (and any child a caught exception left open)."""
        closed = None
        stack = self._stack
        suspended: list[AbstractContextManager[Any]] = []
        with _no_torch_function():
            # Pop down to this module's own frame: a child that raised inside a
            # try/except of its parent and was not closed then is closed now.
            while stack:
                frame = stack.pop()
                if frame.suspended is not None:
                    suspended.append(frame.suspended)
                    frame.suspended = None
                if frame.module is not module:
                    frame.described_inputs()
                    continue
                closed = frame
                if raised:
                    frame.inputs = self._describe_inputs(args, kwargs)
                    frame.args = None
                else:
                    self._record(frame, args, kwargs, output)
                break
        # Outside the block above, which restores the torch-function state on exit.
        for suspension in suspended:
            suspension.__exit__(None, None, None)
        return closed

    def _close_leaf(self, frame: _Frame, x: torch.Tensor, output: Any) -> None:
        """What the mode would have seen inside a standard leaf: its own parameters
        in use, and the MACs its formula gives."""
        assert frame.leaf is not None
        formula, uses = frame.leaf
        try:
            frame.mult_adds += formula(frame.module, x, output)
        except (AttributeError, IndexError, TypeError, RuntimeError, ValueError):
            self._uncounted[type(frame.module).__name__] += 1
        for use in uses:
            self._uses[use] = None

    def add_stand_ins(self, originals: Mapping[int, torch.Tensor]) -> None:
        """Count operators on stand-in tensors as uses of the parameters they replace.

        Args:
            originals: ``{id(stand_in): original}``, as
                :func:`~modelsummary._meta.meta_stand_ins` yields it. The stand-ins
                must stay alive until the pass ends (their ids are the keys).

        Example:
            >>> from modelsummary._meta import meta_stand_ins
            >>> model = nn.Linear(3, 1)
            >>> tracer = Tracer(model)
            >>> with meta_stand_ins(model) as originals, torch.no_grad():
            ...     tracer.add_stand_ins(originals)
            ...     with tracer:
            ...         _ = model(torch.empty(2, 3, device="meta"))
            >>> trace = tracer.finish()
            >>> sorted(trace.params[k].name for k, _ in trace.param_uses)
            ['bias', 'weight']
        """
        for stand_in_id, original in originals.items():
            key = self._param_keys.get(id(original))
            if key is not None:
                self._param_keys[stand_in_id] = key
            if id(original) in self._state_ids:  # what autograd saves of it is no activation
                self._state_ids.add(stand_in_id)

    def _parameter(self, t: torch.Tensor) -> torch.Tensor | None:
        """The parameter ``t`` is, or is an alias of (``.data``, ``detach()``), or a view
        of either (``weight[0]``), if any."""
        for _ in range(2):  # t itself, then the tensor it is a view of
            if id(t) in self._param_keys:
                return t
            alias = self._param_aliases.get(id(t))
            if alias is not None:
                return alias[1]
            with _no_torch_function():
                base = t._base if t._is_view() else None
            if base is None:
                return None
            t = base
        return None  # a view's base is never a view itself

    def _before_write(self, t: Any) -> None:
        if self.before_write is None:
            return
        if isinstance(t, torch.Tensor):
            param = self._parameter(t)
            if param is not None:
                self.before_write(param)
        elif isinstance(t, (list, tuple)):  # torch._foreach_mul_(tensors, ...)
            for item in t:
                self._before_write(item)

    def _note_alias(self, t: Any, alias: Any) -> None:
        if isinstance(alias, torch.Tensor) and isinstance(t, torch.Tensor):
            param = self._parameter(t)
            if param is not None:
                self._param_aliases[id(alias)] = (alias, param)

    def not_activations(self, tensors: Iterable[torch.Tensor]) -> None:
        """Tensors autograd may save that the pass did not make (its inputs, which the
        summary reports on their own): seen already, so never counted as saved."""
        if self._saved is not None:
            total = self._saved.total
            for t in tensors:
                self._saved.add(t)
            self._saved.total = total

    def _pack_saved(self, t: torch.Tensor) -> torch.Tensor:
        assert self._saved is not None
        # A view of a parameter (``weight.t()`` saved by addmm) is the parameter; on the
        # meta device, where storages cannot tell, the view's base says so.
        base = t._base if t._is_view() else t
        # What autograd keeps is an alias without the tensor's grad_fn: an operator that
        # saves its own output (softmax, tanh) would otherwise hold the output in its own
        # node, a cycle that kept the graph and every saved activation alive until the
        # next garbage collection. The alias is counted: it lives as long as the graph.
        packed = t.detach()
        if id(base) not in self._state_ids:
            self._saved.add(packed)
        return packed

    def _note_operands(self, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None) -> None:
        """Note the parameters among the arguments (also inside lists and tuples) as used
        by the innermost call. Runs for nearly every operator: kept to plain loops."""
        stack = self._stack
        if not stack:
            return
        get = self._param_keys.get
        uses = self._uses
        path = stack[-1].path
        for item in (*args, *kwargs.values()) if kwargs else args:
            key = get(id(item))
            if key is not None:
                uses[(key, path)] = None  # an existing key keeps its first-seen place
            elif type(item) is _Parameter or (
                type(item) is not _Tensor and getattr(item, "_is_param", False)
            ):  # not isinstance: Parameter's metaclass makes that a Python call per operand
                key = self._learn(item)
                if key is not None:
                    uses[(key, path)] = None
            elif isinstance(item, (list, tuple)) and item:
                pending = list(item)
                while pending:
                    inner = pending.pop()
                    key = get(id(inner))
                    if key is not None:
                        uses[(key, path)] = None
                    elif isinstance(inner, (list, tuple)):
                        pending.extend(inner)

    def _learn(self, t: torch.Tensor) -> int | None:
        """The key of a parameter that an engine put in a registered slot during the pass
        (FSDP2's all-gathered parameter, accelerate's loaded weight), or ``None``.

        The slots of the modules now running are looked at first, then all of them;
        every new tensor found in a slot is learned as that slot's parameter, for as
        long as it lives.
        """
        if id(t) in self._strangers:
            return None
        keys, slots, learned = self._param_keys, self._slots, self._learned
        running = [frame.module for frame in reversed(self._stack)]
        for modules in (running, self.modules):
            for module in modules:
                for name, p in module._parameters.items():
                    if p is None or id(p) in keys:
                        continue
                    key = slots.get((id(module), name))
                    if key is None:
                        continue
                    keys[id(p)] = key
                    # No strong reference: a loaded weight is freed when the engine drops it.
                    learned[id(p)] = weakref.ref(p, _forget(keys, learned, id(p)))
            if id(t) in keys:
                return keys[id(t)]
        self._strangers[id(t)] = t
        return None

    # -- results -----------------------------------------------------------------------
    def finish(self) -> Trace:
        """Turn what was observed into a :class:`~modelsummary._records.Trace`.

        Call it after the pass: lazy parameters are only measurable then.

        Example:
            >>> model = nn.Sequential(nn.LazyLinear(2))
            >>> with torch.no_grad(), Tracer(model) as t:
            ...     _ = model(torch.ones(1, 5))
            >>> t.finish().params[0].numel
            10
        """
        # One pass over the modules for their facts, their parameters and buffers.
        slots, originals = self._slots, self._originals
        params: dict[int, ParamInfo] = {}
        buffers: dict[int, BufferInfo] = {}
        modules: list[ModuleInfo] = []
        copies = replicas(self.modules)
        resting = resting_params(self.modules)
        for path, module in self._modules:
            prefix = f"{path}." if path else ""
            own: list[tuple[str, int]] = []
            for name in module._parameters.keys():  # noqa: SIM118  (TorchScript's dict cannot iterate)
                key = slots.get((id(module), name))
                if key is None:
                    continue
                own.append((name, key))
                if key not in params:
                    # The parameter as registered before the pass: an engine may have
                    # left another tensor in its slot (accelerate's meta tensor).
                    p = resting.get((id(module), name)) if resting else None
                    if p is None:
                        p = originals[key]
                    if type(p) is nn.Parameter and not copies and not p.__dict__ and not p.is_meta:
                        numel = p.numel()
                        params[key] = ParamInfo(  # positional: key, name, numel, nbytes, ...
                            key,
                            prefix + name,
                            numel,
                            numel * p.element_size(),  # nbytes
                            p.requires_grad,  # trainable
                            dtype_name(p.dtype),
                        )
                        continue
                    facts = param_facts(p, module, name, copies)
                    params[key] = ParamInfo(
                        key,
                        prefix + name,
                        facts.numel,
                        facts.nbytes,
                        p.requires_grad,  # trainable
                        dtype_name(p.dtype),
                        facts.local_nbytes if facts.placement else None,
                        facts.placement,
                    )
            buffer_numel = 0
            if module._buffers:
                for name, b in module._buffers.items():
                    if b is None:
                        continue
                    numel = b.numel()
                    buffer_numel += numel
                    if id(b) not in buffers:
                        buffers[id(b)] = BufferInfo(prefix + name, numel, numel * b.element_size())
            modules.append(self._module_info(path, module, tuple(own), buffer_numel))
        none = OtherSpec("NoneType")
        calls = tuple(
            [
                CallRecord(  # positional: path, inputs, output, mult_adds, raised, comm_bytes
                    f.path,
                    f.described_inputs(),
                    none if f.output is None else f.output,
                    f.mult_adds,
                    f.output is None,
                    f.comm_bytes,
                )
                for f in self._frames
            ]
        )
        return Trace(
            modules=tuple(modules),
            params=tuple([params[k] for k in sorted(params)]),
            buffers=tuple(buffers.values()),
            calls=calls,
            param_uses=tuple({**self._uses, **self._script_uses()}),
            activation_bytes=self._activations.total,
            uncounted_ops=tuple(sorted(self._uncounted.items())),
            saved_bytes=None if self._saved is None else self._saved.total,
        )

    def _script_uses(self) -> dict[tuple[int, str], None]:
        """Uses assumed for TorchScript modules, which run no Python hooks or modes.

        A scripted module called from Python (seen by the global hooks) is taken
        to have used all its parameters, each noted at the module that registers
        it; its row says "not traced". One never called stays unused.
        """
        if not self._scripts:
            return {}
        called = {id(f.module) for f in self._frames}
        paths = {id(module): path for path, module in self._modules}
        uses: dict[tuple[int, str], None] = {}
        for module in self._scripts.values():
            if id(module) not in called:
                continue
            for sub in module.modules():
                for p in sub._parameters.values():
                    if p is not None and id(p) in self._param_keys:
                        uses[(self._param_keys[id(p)], paths[id(sub)])] = None
        return uses

    def _module_info(
        self, path: str, module: nn.Module, param_keys: tuple[tuple[str, int], ...], buffers: int
    ) -> ModuleInfo:
        kernel = module.__dict__.get("kernel_size")  # a plain attribute; no __getattr__ miss
        if kernel is not None:
            if isinstance(kernel, int):  # pooling keeps an int: one size for each dimension
                kernel = (kernel,) * _DIMENSIONS.get(type(module).__name__[-2:], 1)
            elif isinstance(kernel, tuple):
                for k in kernel:  # a loop, not all(): this runs for every convolution
                    if not isinstance(k, int):
                        kernel = None
                        break
            else:
                kernel = None
        aliases = self._aliases.get(id(module))
        groups = module.__dict__.get("groups")  # a convolution's groups: a plain attribute
        return ModuleInfo(  # positional, in field order
            path,
            type(module).__name__,  # type_name
            None if path == "" and module is self._model else path.rpartition(".")[0],  # parent
            param_keys,
            buffers,  # buffer_numel
            kernel,  # kernel_size
            tuple(aliases) if aliases else (),
            path not in self._untraced,  # traced
            groups if type(groups) is int else None,
        )
