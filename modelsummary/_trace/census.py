"""The census of a model: what it registers, found in one walk, measured into records.

`take_census()` walks the registered model once, before any pass: every module once
(with the other paths that register it again), the parameter keys (a
`ParamResolver`), the pruning masks (read before the pass: on the meta device the
pass's stand-ins hold no values), the TorchScript modules that run no Python hooks
inside them, and the engine facts of the classes met (FSDP2, ``torch.compile``).
`Census.measure()` turns it into records, after the pass (lazy parameters are only
measurable then): the `ModuleInfo` of every module, the `ParamInfo` of every unique
parameter and the `BufferInfo` of every unique buffer.

A summary with a pass hands its census to the `Tracer`, which adds the hooks and the
call stack; a summary with no input needs the census alone (`Census.trace()`). What
one parameter or buffer comes to is decided in one place each: `param_info()` and
`buffer_info()`.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 2), nn.BatchNorm1d(2))
    >>> census = take_census(model)
    >>> [path for path, _ in census.modules]
    ['', '0', '1']
    >>> trace = census.trace()
    >>> [(p.name, p.numel) for p in trace.params]
    [('0.weight', 8), ('0.bias', 2), ('1.weight', 2), ('1.bias', 2)]
    >>> [(b.name, b.numel) for b in trace.buffers]
    [('1.running_mean', 2), ('1.running_var', 2), ('1.num_batches_tracked', 1)]
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.parameter import is_lazy

from .._records import BufferInfo, ModuleInfo, ParamInfo, Trace, positional
from .engines import (
    execution_device,
    is_fsdp_class,
    offload_ties,
    param_facts,
    replicas,
    resting_params,
)
from .params import ParamResolver
from .storage import (
    TensorStorage,
    packed_weights,
    packs_weights,
    quantized_storage,
    quantized_storages,
)
from .values import DTYPE_NAMES, dtype_name

_DIMENSIONS = {"1d": 1, "2d": 2, "3d": 3}
"""Dimensions of a ``torch.nn`` class by its name's suffix (``MaxPool2d``)."""
_CONTAINERS = nn.Sequential.__module__
"""Where torch.nn defines its containers (``Sequential``, ``ModuleList``, ``ModuleDict``,
``ParameterList``, ``ParameterDict``)."""


def _per_dimension(value: object, dimensions: int) -> tuple[int, ...] | None:
    """A stride or dilation as one int per dimension (pooling keeps one int for all).

    Examples:
        >>> _per_dimension(2, 2), _per_dimension((1, 2), 2), _per_dimension(None, 2)
        ((2, 2), (1, 2), None)
    """
    if isinstance(value, int):
        return (value,) * dimensions
    if not isinstance(value, tuple) or len(value) != dimensions:
        return None
    for v in value:  # a loop, not all(): this runs for every convolution
        if not isinstance(v, int):
            return None
    return value


_Parameter = nn.Parameter
_Tensor = torch.Tensor
_new_param, _new_buffer, _new_module = (
    positional(ParamInfo),
    positional(BufferInfo),
    positional(ModuleInfo),
)
"""The records of `Census.measure()`, built from every field by position (once per
module and tensor of every summary)."""


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

    Examples:
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


def mask_zeros(module: nn.Module, name: str) -> int | None:
    """The elements the pruning mask of ``module``'s parameter ``name`` zeroes, if it is
    one that ``torch.nn.utils.prune`` keeps (``NAME_orig`` beside a ``NAME_mask``
    buffer of its shape); ``None`` otherwise, and for a mask on meta (no values).

    Examples:
        >>> from torch.nn.utils import prune
        >>> fc = prune.l1_unstructured(nn.Linear(4, 2), "weight", amount=0.5)
        >>> mask_zeros(fc, "weight_orig"), mask_zeros(fc, "bias")
        (4, None)
    """
    if not name.endswith("_orig"):
        return None
    mask = module._buffers.get(name[: -len("_orig")] + "_mask")
    param = module._parameters[name]
    if mask is None or param is None or mask.is_meta or mask.shape != param.shape:
        return None
    return mask.numel() - int(mask.count_nonzero())


def param_info(
    key: int,
    name: str,
    t: torch.Tensor,
    module: nn.Module,
    attr: str,
    copies: int,
    stored: TensorStorage | None = None,
    packed: bool = False,
) -> ParamInfo:
    """What one parameter comes to: its elements, bytes, dtype and placement.

    The one place a parameter is measured. ``t`` is the parameter as registered
    before the pass (or as the engine keeps it between steps: FSDP2's shard), on
    ``module`` as ``attr``; ``copies`` is the number of ranks a data-parallel
    wrapper replicates it over (0: none). A plain parameter is measured directly;
    anything else (a meta tensor, a subclass, an attribute an engine hung on it) from
    the engine's own records (`param_facts()`), and a quantized one from how it is
    stored (``stored``, as read before the pass, else `quantized_storage()`): its
    logical elements, its stored bytes and its format. A ``packed`` weight (one a
    ``torch.ao`` module keeps outside any parameter) is never trainable.

    Examples:
        >>> fc = nn.Linear(3, 2)
        >>> param_info(0, "fc.weight", fc.weight, fc, "weight", 0)
        ParamInfo(key=0, name='fc.weight', numel=6, nbytes=24, trainable=True, dtype='float32', local_nbytes=None, placement='', uninitialised=False, dense_nbytes=None)

        A lazy module's parameter before its first pass has no size yet:

        >>> lazy = nn.LazyLinear(2)
        >>> param_info(0, "weight", lazy.weight, lazy, "weight", 0).uninitialised
        True
    """  # noqa: E501
    if type(t) is _Parameter and not t.__dict__ and not t.is_meta and not copies and not packed:
        numel = t.numel()  # a plain parameter: the fast path
        return ParamInfo(  # positional: key, name, numel, nbytes, trainable, dtype
            key,
            name,
            numel,
            numel * t.element_size(),
            t.requires_grad,
            DTYPE_NAMES.get(t.dtype) or dtype_name(t.dtype),
        )
    if is_lazy(t):  # a lazy module's, before its first pass: no size yet
        return ParamInfo(key, name, 0, 0, t.requires_grad, dtype_name(t.dtype), None, "", True)
    facts = param_facts(t, module, attr, copies)
    if stored is None:
        stored = quantized_storage(t)
    if stored is None:
        numel, nbytes, stored_as, dense = facts.numel, facts.nbytes, dtype_name(t.dtype), None
    else:  # numel: the weight it stands for; nbytes: what it keeps
        numel, nbytes, stored_as = stored.numel, stored.nbytes, stored.format
        dense = numel * (stored.dense_itemsize or t.element_size())
    return ParamInfo(
        key,
        name,
        numel,
        nbytes,
        t.requires_grad and not packed,  # trainable
        stored_as,
        facts.local_nbytes if facts.placement else None,
        facts.placement,
        dense_nbytes=dense,
    )


def buffer_info(name: str, b: torch.Tensor) -> BufferInfo:
    """What one buffer comes to: its elements and bytes. The one place a buffer is measured.

    Examples:
        >>> buffer_info("bn.running_mean", torch.zeros(4))
        BufferInfo(name='bn.running_mean', numel=4, nbytes=16, uninitialised=False)
    """
    if is_lazy(b):  # a lazy module's, before its first pass: no size yet
        return BufferInfo(name, 0, 0, True)
    stored = None if type(b) is torch.Tensor else quantized_storage(b)
    if stored is not None:
        return BufferInfo(name, stored.numel, stored.nbytes)
    numel = b.numel()
    return BufferInfo(name, numel, numel * b.element_size())


@dataclass(frozen=True, slots=True)
class Registered:
    """The records of what a model registers, measured by `Census.measure()`.

    Examples:
        >>> Registered(modules=(), params=(), buffers=(), masked=()).params
        ()
    """

    modules: tuple[ModuleInfo, ...]
    """Every module, root first, in ``named_modules()`` order."""
    params: tuple[ParamInfo, ...]
    """Unique parameter tensors, in key order."""
    buffers: tuple[BufferInfo, ...]
    """Unique buffer tensors."""
    masked: tuple[tuple[str, int], ...]
    """``(parameter name, elements its pruning mask zeroes)``."""


class Census:
    """What a model registers, from one walk (see `take_census()`).

    Attributes:
        model: The model walked.
        modules: ``[(path, module)]``, every module once, in ``named_modules()`` order.
        aliases: ``{id(module): other paths}`` of the modules registered more than once.
        params: The `ParamResolver` of the registered parameters: their keys, and,
            during a pass, the stand-ins and substitutes that count as them.
        hookable: ``[(path, module)]`` of the modules that run Python hooks (all but
            those inside TorchScript).
        scripts: ``{id(module): (path, module)}`` of the outermost TorchScript modules,
            the only ones of theirs whose calls Python sees.
        compiled: Whether a ``torch.compile`` wrapper is among the modules.
        fsdp: Whether FSDP2 manages a module (which may keep parameters apart).

    Examples:
        >>> census = take_census(nn.Sequential(nn.Linear(2, 2)))
        >>> len(census.hookable), census.scripts, census.compiled, census.params.keys != {}
        (2, {}, False, True)
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.modules, self.aliases = unique_modules(model)
        # accelerate's offloading leaves a placeholder of its own in each slot of a tied
        # weight: its records say which are one tensor (looked at only under its hooks).
        ties = offload_ties(self.modules) if execution_device(model) is not None else ()
        self.params = ParamResolver([module for _, module in self.modules], ties)
        self.stored = quantized_storages(self.params.registered)
        """How the parameters not stored plainly are stored, as the user holds them (a
        kernel may repack a weight in the pass: bitsandbytes' CPU path)."""
        self._holders: tuple[str, ...] = ()
        """Path prefixes of the modules that only hold packed weights: no rows of theirs."""
        self.packed: dict[int, tuple[str, dict[str, torch.Tensor]]] = {}
        """``{id(module): (path, {name: weight})}`` of the modules that keep their weights
        packed (``torch.ao`` quantized modules): shown as their own parameters."""
        self.hookable: list[tuple[str, nn.Module]] = []
        self.scripts: dict[int, tuple[str, nn.Module]] = {}
        self.compiled = False
        self.fsdp = False
        self.kernels = False
        """Whether a module has a ``kernel_size`` (a convolution or a pooling layer): a
        model without one has no receptive fields, nor a data flow worth recording."""
        self._untraced: set[str] = set()
        """Paths a hook cannot see: TorchScript modules run no Python hooks inside one
        another (only the outermost of them, called from Python, is recorded)."""
        self._masked: dict[int, tuple[str, int]] = {}
        """``{id(parameter): (name, elements its pruning mask zeroes)}``."""
        self._lazy: list[nn.Module] = []
        """The modules of a lazy class, as walked."""
        self._walk()

    def _walk(self) -> None:
        scripted_classes: dict[type, bool] = {}
        """Whether a class is TorchScript, decided once per class with the engine facts."""
        packing: set[type] = set()
        """The classes that keep their weights packed (see `packs_weights()`)."""
        lazy: set[type] = set()
        """The lazy classes (``nn.LazyLinear``), whose modules may hold no sizes yet."""
        untraced = self._untraced
        for path, module in self.modules:  # one pass: this runs before every summary
            cls = type(module)
            scripted = scripted_classes.get(cls)
            if scripted is None:  # what a class tells, once per class
                scripted = scripted_classes[cls] = issubclass(cls, torch.jit.ScriptModule)
                self.compiled = self.compiled or cls.__name__ == "OptimizedModule"
                self.fsdp = self.fsdp or is_fsdp_class(cls)
                if packs_weights(cls):
                    packing.add(cls)
                if issubclass(cls, LazyModuleMixin):
                    lazy.add(cls)
            if lazy and cls in lazy:
                self._lazy.append(module)
            if packing and cls in packing:
                self.packed[id(module)] = (path, packed_weights(module))
            if not scripted:
                # The module's own slots from one look-up: each attribute read of a module
                # passes through the class's __getattr__ hook first.
                state = module.__dict__
                if state["_buffers"]:  # pruning keeps its masks as buffers
                    self._read_masks(path, module)
                if "kernel_size" in state:
                    self.kernels = True
                continue
            if module._buffers:  # TorchScript keeps its slots in wrappers
                self._read_masks(path, module)
            if path == "" or path.rpartition(".")[0] not in untraced:
                self.scripts[id(module)] = (path, module)
            untraced.add(path)
        # Without TorchScript every module runs hooks: the same list, no second one built.
        if untraced:
            self.hookable = [(path, m) for path, m in self.modules if path not in untraced]
        else:
            self.hookable = self.modules
        if self.packed:
            self._own_packed_weights()

    def _own_packed_weights(self) -> None:
        """Give each packed weight a parameter key, and leave out the modules that only
        hold them (``LinearPackedParams``): the module that packs them shows them."""
        holders = self._holders = tuple(f"{path}." for path, _ in self.packed.values())
        self.hookable = [(p, m) for p, m in self.hookable if not p.startswith(holders)]
        for _, weights in self.packed.values():
            for t in weights.values():
                self.params.register(t)

    def packed_uses(self, called: Iterable[nn.Module]) -> dict[tuple[int, str], None]:
        """A module among ``called`` that keeps its weights packed used them all: its
        operator (``quantized::linear_dynamic``) receives the packed object, not a tensor.

        Examples:
            >>> lin = torch.ao.nn.quantized.dynamic.Linear(2, 2)
            >>> census = take_census(nn.Sequential(lin))
            >>> census.packed_uses([lin]), census.packed_uses([])
            ({(0, '0'): None, (1, '0'): None}, {})
        """
        if not self.packed:
            return {}
        ids = {id(m) for m in called}
        keys = self.params.keys
        return {
            (keys[id(t)], path): None
            for module_id, (path, weights) in self.packed.items()
            if module_id in ids
            for t in weights.values()
        }

    def _read_masks(self, path: str, module: nn.Module) -> None:
        for name, p in module._parameters.items():
            # mask_zeros()'s first test inline: this runs for every module with buffers
            zeros = mask_zeros(module, name) if name.endswith("_orig") else None
            if zeros is not None:  # a tied parameter: under the first name it has
                self._masked.setdefault(id(p), (f"{path}.{name}" if path else name, zeros))

    def has_lazy(self) -> bool:
        """Whether a module holds uninitialised (lazy) parameters or buffers.

        Examples:
            >>> take_census(nn.Sequential(nn.LazyLinear(2))).has_lazy()
            True
        """
        return any(  # a materialised module has left its lazy class: isinstance again
            isinstance(m, LazyModuleMixin) and m.has_uninitialized_params() for m in self._lazy
        )

    def measure(self) -> Registered:
        """The records of every module, unique parameter and unique buffer.

        Each parameter is measured as registered before the pass: an engine may have
        left another tensor in its slot (accelerate's meta tensor, FSDP2's gathered
        one), and only the engine's records say what this rank holds.

        Examples:
            >>> fc = nn.Linear(3, 2)
            >>> registered = take_census(fc).measure()
            >>> registered.modules[0].param_keys, [p.nbytes for p in registered.params]
            ((('weight', 0), ('bias', 1)), [24, 8])
        """
        resolver = self.params
        keys, registered = resolver.keys, resolver.registered
        params: dict[int, ParamInfo] = {}
        buffers: dict[int, BufferInfo] = {}
        modules: list[ModuleInfo] = []
        copies = replicas(module for _, module in self.modules)  # under a process group
        resting = resting_params(module for _, module in self.modules) if self.fsdp else {}
        plain, dtype_names = _Parameter, DTYPE_NAMES  # locals for the loop
        holders = self._holders
        for path, module in self.modules:
            if holders and path.startswith(holders):
                continue
            prefix = f"{path}." if path else ""
            own: list[tuple[str, int]] = []
            packed = self.packed.get(id(module)) if self.packed else None
            unpacked = packed is None
            fast = unpacked and not copies  # a plain parameter is measured inline
            slots = module._parameters.items() if packed is None else packed[1].items()
            for name, p in slots:
                if p is None:
                    continue
                key = keys.get(id(p))
                if key is None:
                    key = resolver.identify(p)  # a substitute still in its slot
                    if key is None:
                        continue
                own.append((name, key))
                if key in params:
                    continue
                t = registered[key]
                if resting:
                    t = resting.get((id(module), name), t)
                if fast and type(t) is plain and not t.__dict__ and not t.is_meta:
                    # param_info()'s first case, inline: it runs for every parameter
                    numel = t.numel()
                    params[key] = _new_param(  # every field by position
                        key,
                        prefix + name,
                        numel,
                        numel * t.element_size(),  # nbytes
                        t.requires_grad,  # trainable
                        dtype_names.get(t.dtype) or dtype_name(t.dtype),
                        None,  # local_nbytes: all of it is here
                        "",  # placement
                        False,  # uninitialised
                        None,  # dense_nbytes: not quantized
                    )
                    continue
                stored = self.stored.get(id(t)) if self.stored else None
                params[key] = param_info(
                    key, prefix + name, t, module, name, copies, stored, not unpacked
                )
            buffer_numel = 0
            if module._buffers:
                for name, b in module._buffers.items():
                    if b is not None:
                        info = buffers.get(id(b))
                        if info is None and type(b) is _Tensor:  # buffer_info()'s usual case
                            numel = b.numel()
                            info = buffers[id(b)] = _new_buffer(
                                prefix + name, numel, numel * b.element_size(), False
                            )
                        elif info is None:
                            info = buffers[id(b)] = buffer_info(prefix + name, b)
                        buffer_numel += info.numel
            modules.append(self._module_info(path, module, tuple(own), buffer_numel))
        return Registered(
            modules=tuple(modules),
            params=tuple([params[k] for k in sorted(params)]),
            buffers=tuple(buffers.values()),
            masked=tuple(self._masked.values()),
        )

    def trace(self) -> Trace:
        """The `Trace` of a summary with no pass: the records alone, no call.

        Examples:
            >>> trace = take_census(nn.Linear(3, 2)).trace()
            >>> len(trace.params), trace.calls, trace.param_uses
            (2, (), ())
        """
        registered = self.measure()
        return Trace(
            modules=registered.modules,
            params=registered.params,
            buffers=registered.buffers,
            calls=(),
            param_uses=(),
            masked=registered.masked,
        )

    def script_uses(self, called: Iterable[nn.Module]) -> dict[tuple[int, str], None]:
        """Uses assumed for the TorchScript modules among ``called``, which run no Python
        hooks or modes: each of their parameters, noted at the module that registers it.

        A scripted module called from Python is taken to have used all its parameters;
        its row says "not traced". One never called stays unused.

        Examples:
            >>> scripted = torch.jit.script(nn.Linear(2, 2))
            >>> census = take_census(nn.Sequential(scripted))
            >>> census.script_uses([scripted]), census.script_uses([])
            ({(0, '0'): None, (1, '0'): None}, {})
        """
        if not self.scripts:
            return {}
        ids = {id(m) for m in called}
        paths = {id(module): path for path, module in self.modules}
        keys = self.params.keys
        uses: dict[tuple[int, str], None] = {}
        for key, (_, module) in self.scripts.items():
            if key not in ids:
                continue
            for sub in module.modules():
                for p in sub._parameters.values():
                    found = None if p is None else keys.get(id(p))
                    if found is not None:
                        uses[(found, paths[id(sub)])] = None
        return uses

    def _module_info(
        self, path: str, module: nn.Module, param_keys: tuple[tuple[str, int], ...], buffers: int
    ) -> ModuleInfo:
        state = module.__dict__  # plain attributes; no __getattr__ miss
        kernel = state.get("kernel_size")
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
        stride = dilation = None
        if kernel is not None and not state.get("transposed", False):
            stride = _per_dimension(state.get("stride"), len(kernel))
            dilation = _per_dimension(state.get("dilation", 1), len(kernel))
        aliases = self.aliases.get(id(module))
        groups = state.get("groups")  # a convolution's groups
        return _new_module(  # every field by position
            path,
            type(module).__name__,  # type_name
            None if path == "" and module is self.model else path.rpartition(".")[0],  # parent
            param_keys,
            buffers,  # buffer_numel
            kernel,  # kernel_size
            tuple(aliases) if aliases else (),
            path not in self._untraced,  # traced
            groups if type(groups) is int else None,
            stride,
            dilation if stride is not None else None,
            type(module).__module__ == _CONTAINERS,  # container
        )


def take_census(model: nn.Module) -> Census:
    """Walk ``model`` once for what it registers (see `Census`).

    Examples:
        >>> take_census(nn.Linear(2, 1)).measure().params[0].name
        'weight'
    """
    return Census(model)
