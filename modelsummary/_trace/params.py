"""Parameter use: which registered parameter a runtime tensor stands for, and what used it.

`ParamResolver` is the one place where a tensor met during a pass is
resolved to the key of the registered parameter it is or stands for; everything
that recognises a parameter (the operands an operator receives, a standard leaf's
parameters, a write about to happen, a tensor autograd saves, a parameter a module
returns) asks it. `ParamUses` records which module call used which parameter.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Linear(2, 1)
    >>> resolver = ParamResolver([model])
    >>> key_of = resolver.key_of
    >>> key_of(model.weight), key_of(model.bias[0]), key_of(torch.ones(1))
    (0, 1, None)
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Protocol

import torch
from torch import nn

_Tensor = torch.Tensor
_Parameter = nn.Parameter
_no_torch_function = torch._C.DisableTorchFunction

# Operators that only read a tensor's metadata. A parameter that reaches one of
# these (``self.weight.dtype``, ``p.shape``) has not taken part in the compute.
METADATA_OPS = frozenset(
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
READS, WRITES, ALIASES = 0, 1, 2
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


def effect(func: Any, name: str) -> int:
    """What a torch-level call does to its first argument: `WRITES` it in place
    (``clamp_``, ``x[i] = v``, ``nn.init.normal_``, ``w.data = v``), returns an
    `ALIASES` of it that no view records (``.data``, ``detach()``), or only
    `READS` it.

    Examples:
        >>> effect(torch.Tensor.clamp_, "clamp_") == WRITES
        True
        >>> effect(torch.Tensor.detach, "detach") == ALIASES, effect(torch.add, "add") == READS
        (True, True)
    """
    if name in _IN_PLACE_DUNDERS or (
        name.endswith("_") and not name.endswith("__") and name != "requires_grad_"
    ):
        return WRITES
    if name == "detach":
        return ALIASES
    # Of the properties, only .data hands out or replaces the values.
    prop = getattr(getattr(func, "__self__", None), "__name__", "")
    if prop == "data" and name in ("__get__", "__set__"):
        return ALIASES if name == "__get__" else WRITES
    return READS


class ParamResolver:
    """Resolve the tensors met during a pass to the registered parameters they stand for.

    Each parameter tensor registered on ``modules`` gets a key, an index in first-seen
    order (tied weights, one object in several slots, get one). A tensor resolves to a
    key when it is

    * a registered parameter itself (the fast path: ``keys.get(id(t))``);
    * a meta stand-in for one (`add_stand_ins()`);
    * a substitute an engine put in a parameter's slot during the pass: learned at
      once with `learn()`, or found by `key_of()` itself, which, meeting an
      ``nn.Parameter`` it does not know, looks once more into every slot
      ``(module, name)`` a parameter was registered in (`rescan()`) and takes
      each new tensor found there for that slot's parameter. That covers FSDP2
      (all-gathered unsharded parameters set into ``module._parameters``) and
      accelerate's ``AlignDevicesHook`` (a new ``Parameter`` on the execution device
      in the slot); DeepSpeed ZeRO-3 keeps the registered object;
    * an alias of one that no view records (``.data``, ``detach()``: `note_alias()`),
      or a view of any of the above (``weight[0]``, ``weight.t()``) -- for writes and
      saved tensors; an operator's operands are looked up by identity.

    The registered parameters and buffers are held for the resolver's lifetime, so no
    other tensor can take over their ``id()`` (an engine may drop one from its slot).
    A learned substitute is held by a weak reference: its key is forgotten when it
    dies, so its ``id()`` cannot be mistaken for a later tensor's, and it is not kept
    alive (an offloading engine frees each weight after its call).

    Args:
        modules: Every module of the model once, in ``named_modules()`` order.
        ties: Groups of registered parameters that are one tensor although they are
            distinct objects: an engine replaced a tied weight by a placeholder in each
            of its slots (accelerate's offloading, see
            `offload_ties()`). Each group gets one key,
            as a tied weight does.

    Attributes:
        keys: ``{id(tensor): key}`` of the parameters and of the stand-ins and
            substitutes learned so far; the fast path for hot loops, which fall back
            to `key_of()` for a tensor not in it.

    Examples:
        >>> lin = nn.Linear(2, 2)
        >>> resolver = ParamResolver([lin])
        >>> gathered = nn.Parameter(lin.weight.detach().clone())  # what an engine swaps in
        >>> lin._parameters["weight"] = gathered
        >>> resolver.key_of(gathered), resolver.parameter_of(gathered.t()) is gathered
        (0, True)
    """

    def __init__(
        self, modules: Iterable[nn.Module], ties: Iterable[Sequence[torch.Tensor]] = ()
    ) -> None:
        self.keys: dict[int, int] = {}
        self._slots: list[tuple[dict[str, Any], dict[str, Any]]] = []
        """``(module._parameters, a copy as registered)`` of every module with
        parameters: which slot held which registered parameter."""
        self._buffers: dict[int, torch.Tensor] = {}
        """The registered buffers by id (and their meta stand-ins' ids), held so that
        their ids stay theirs even when an engine drops one from its slot during the
        pass (``registered`` holds the parameters)."""
        self.registered: list[torch.Tensor] = []
        """The registered parameter tensors, indexed by key (as they rest between passes:
        a sharded ``DTensor``, an empty ZeRO-3 partition, an offloaded ``meta`` tensor)."""
        self._aliases: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        """``{id(alias): (alias, parameter)}``, held so their ids stay theirs."""
        self._learned: list[weakref.ref[torch.Tensor]] = []
        self._strangers: dict[int, weakref.ref[torch.Tensor]] = {}
        """Parameters a rescan did not find in any slot, not to rescan for again."""
        self._registrations: dict[int, dict[str, Any]] = {}
        """``{id(module._parameters): its registration}``, to look into one module's slots."""
        self._tied: dict[int, list[torch.Tensor]] = {}
        """``{id(parameter): its tie group}`` of the ``ties`` (which it holds)."""
        for group in ties:
            for tensor in group:
                self._tied[id(tensor)] = list(group)
        keys, slots, buffers = self.keys, self._slots, self._buffers
        registered, tied = self.registered, self._tied
        for module in modules:  # plain loops: this runs before every summary
            params = module._parameters
            if params:
                registration = dict(params)
                slots.append((params, registration))
                self._registrations[id(params)] = registration
                for p in registration.values():
                    if p is not None and id(p) not in keys:
                        keys[id(p)] = len(registered)
                        registered.append(p)
                        if tied:
                            for other in tied.get(id(p), ()):
                                keys[id(other)] = keys[id(p)]
            if module._buffers:
                for b in module._buffers.values():
                    if b is not None:
                        buffers[id(b)] = b

    def register(self, t: torch.Tensor) -> int:
        """Give ``t``, a weight no slot registers (one a module keeps packed), a key of
        its own, held for the resolver's lifetime.

        Examples:
            >>> resolver = ParamResolver([nn.Linear(2, 2)])
            >>> resolver.register(torch.ones(3))
            2
        """
        key = self.keys.get(id(t))
        if key is None:
            key = self.keys[id(t)] = len(self.registered)
            self.registered.append(t)
        return key

    def key_of(self, t: torch.Tensor) -> int | None:
        """The key of the parameter ``t`` is or stands for, else ``None``.

        Examples:
            >>> lin = nn.Linear(2, 2)
            >>> resolver = ParamResolver([lin])
            >>> resolver.key_of(lin.bias.detach()), resolver.key_of(lin.weight.t())
            (None, 0)
        """
        param = self.parameter_of(t)
        return None if param is None else self.keys[id(param)]

    def parameter_of(self, t: torch.Tensor) -> torch.Tensor | None:
        """The tensor known as a parameter that ``t`` is (the registered one, its stand-in
        or substitute), or is an alias or a view of, else ``None``.

        Examples:
            >>> lin = nn.Linear(2, 2)
            >>> resolver = ParamResolver([lin])
            >>> alias = lin.weight.data
            >>> resolver.note_alias(lin.weight, alias)
            >>> resolver.parameter_of(alias[0]) is lin.weight
            True
        """
        for _ in range(2):  # t itself, then the tensor it is a view of
            if id(t) in self.keys:
                return t
            alias = self._aliases.get(id(t))
            if alias is not None:
                return alias[1]
            if isinstance(t, _Parameter) and self._in_slot(t):
                return t
            with _no_torch_function():
                base = t._base if t._is_view() else None
            if base is None:
                return None
            t = base
        return None  # a view's base is never a view itself

    def identify(self, t: Any) -> int | None:
        """The key of ``t`` itself: a registered parameter, a stand-in, or a substitute
        (learned, or an ``nn.Parameter`` found in a slot now); not an alias or a view.

        Examples:
            >>> lin = nn.Linear(2, 2)
            >>> resolver = ParamResolver([lin])
            >>> resolver.identify(lin.bias), resolver.identify(lin.bias[0]), resolver.identify(3)
            (1, None, None)
        """
        key = self.keys.get(id(t))
        if (
            key is None
            and isinstance(t, _Tensor)
            and isinstance(t, _Parameter)
            and self._in_slot(t)
        ):
            key = self.keys[id(t)]
        return key

    def in_slot_of(self, module: nn.Module, t: torch.Tensor) -> int | None:
        """The key of ``t`` when it now sits in one of ``module``'s own parameter slots
        (learned as that slot's parameter from then on), else ``None``.

        A quick look for the parameter a module's forward is about to use: an engine that
        loads a module's weights as it starts (accelerate's ``AlignDevicesHook``) makes the
        new tensor before it puts it in the slot, so a look at every slot just then found
        it in none (see `identify()`).

        Examples:
            >>> lin = nn.Linear(2, 2)
            >>> resolver = ParamResolver([lin])
            >>> loaded = nn.Parameter(torch.zeros(2))
            >>> resolver.identify(loaded) is None  # not in a slot yet: a stranger
            True
            >>> lin._parameters["bias"] = loaded
            >>> resolver.in_slot_of(lin, loaded), resolver.identify(loaded)
            (1, 1)
        """
        registration = self._registrations.get(id(module._parameters))
        if registration is None:
            return None
        for name, p in module._parameters.items():
            if p is t:
                original = registration.get(name)
                if original is None:
                    return None
                key = self.keys[id(original)]
                self.learn(t, key)
                self._strangers.pop(id(t), None)
                return key
        return None

    def _in_slot(self, t: torch.Tensor) -> bool:
        """Whether an unknown parameter ``t`` is (now) in a parameter's slot."""
        stranger = self._strangers.get(id(t))
        if stranger is not None and stranger() is t:
            return False  # in no slot at the last look (see in_slot_of())
        if self.rescan() and id(t) in self.keys:
            return True
        self._strangers[id(t)] = weakref.ref(t)
        return False

    def rescan(self) -> int:
        """Learn every tensor now in a parameter's slot that is not known yet as a
        substitute for that slot's parameter; return how many were learned.

        Examples:
            >>> lin = nn.Linear(2, 2)
            >>> resolver = ParamResolver([lin])
            >>> lin.bias = nn.Parameter(torch.zeros(2))
            >>> resolver.rescan(), resolver.key_of(lin.bias)
            (1, 1)
        """
        learned = 0
        keys = self.keys
        for slots, registration in self._slots:
            for name, original in registration.items():
                if original is None:
                    continue
                try:  # a dict, or TorchScript's slot wrapper (no .get())
                    t = slots[name]
                except (KeyError, RuntimeError):  # deleted from its module since
                    continue
                if t is not None and id(t) not in keys:
                    self.learn(t, keys[id(original)])
                    learned += 1
        if learned:
            self._strangers.clear()  # one of them may be in a slot now
        return learned

    def learn(self, t: torch.Tensor, key: int) -> None:
        """Take ``t`` for the parameter ``key`` from now on (an engine's substitute),
        for as long as ``t`` lives.

        Examples:
            >>> lin = nn.Linear(2, 2)
            >>> resolver = ParamResolver([lin])
            >>> shard = torch.zeros(1, 2)
            >>> resolver.learn(shard, 0)
            >>> resolver.key_of(shard)
            0
            >>> del shard  # forgotten with it
            >>> len(resolver.keys)
            2
        """
        ident = id(t)
        keys = self.keys

        def forget(_: object) -> None:  # holds the dict only: no cycle through self
            keys.pop(ident, None)

        keys[ident] = key
        self._learned.append(weakref.ref(t, forget))

    def add_stand_ins(self, originals: Mapping[int, torch.Tensor]) -> None:
        """Resolve stand-in tensors as the parameters (and buffers) they replace.

        Args:
            originals: ``{id(stand_in): original}``, as
                `meta_stand_ins()` yields it. The stand-ins
                must stay alive until the pass ends (their ids are the keys).

        Examples:
            >>> from modelsummary._trace.meta import meta_stand_ins
            >>> lin = nn.Linear(2, 2)
            >>> resolver = ParamResolver([lin])
            >>> with meta_stand_ins(lin) as originals:
            ...     resolver.add_stand_ins(originals)
            ...     resolver.key_of(lin.weight), lin.weight.is_meta
            (0, True)
        """
        for stand_in_id, original in originals.items():
            key = self.keys.get(id(original))
            if key is not None:
                self.keys[stand_in_id] = key
            elif id(original) in self._buffers:
                self._buffers[stand_in_id] = original

    def note_alias(self, t: Any, alias: Any) -> None:
        """Remember that ``alias`` (``t.data``, ``t.detach()``) shares a parameter's
        values, if ``t`` resolves to one; held until `end_pass()`."""
        if isinstance(alias, _Tensor) and isinstance(t, _Tensor):
            param = self.parameter_of(t)
            if param is not None:
                self._aliases[id(alias)] = (alias, param)

    def is_state(self, t: torch.Tensor) -> bool:
        """Whether ``t`` is a parameter or buffer of the model, or stands for one.

        Examples:
            >>> bn = nn.BatchNorm1d(2)
            >>> resolver = ParamResolver([bn])
            >>> resolver.is_state(bn.running_mean), resolver.is_state(torch.ones(2))
            (True, False)
        """
        return id(t) in self._buffers or self.parameter_of(t) is not None

    def end_pass(self) -> None:
        """Drop what only one pass needs: the aliases (and the tensors they hold)."""
        self._aliases.clear()
        self._strangers.clear()


class _Frames(Protocol):
    """What `ParamUses` reads of the call stack: the innermost call's path."""

    path: str


class ParamUses:
    """Which parameter was used by which module call: ``(key, path)`` pairs, first seen first.

    A parameter is used when it reaches an operator (`note_operands()`), when a
    standard leaf holding it runs (`note()`), or when the model returns it as is
    (`note_returned()`). The innermost open call (the last of ``stack``) is the user.
    Before the pass writes a parameter in place, ``before_write`` is called with it
    (`guard_writes()`), so that its values can be put back afterwards.

    Args:
        resolver: Tells which tensors are parameters.
        stack: The open module calls, innermost last (each with a ``path``), as
            `CallStack` keeps them.

    Examples:
        >>> lin = nn.Linear(2, 1)
        >>> stack = []
        >>> uses = ParamUses(ParamResolver([lin]), stack)
        >>> uses.note_operands((torch.ones(2), lin.weight), None)  # no call open: nothing
        >>> stack.append(type("Frame", (), {"path": "fc"})())
        >>> uses.note_operands(([lin.bias, 3],), {"weight": lin.weight})
        >>> list(uses.uses)
        [(1, 'fc'), (0, 'fc')]
    """

    def __init__(self, resolver: ParamResolver, stack: Sequence[_Frames]) -> None:
        self.resolver = resolver
        self.uses: dict[tuple[int, str], None] = {}
        """``{(key, path): None}`` in first-seen order."""
        self._stack = stack
        self._before_write: Callable[[torch.Tensor], None] | None = None
        self._returned: dict[int, str] = {}

    def guard_writes(self, before_write: Callable[[torch.Tensor], None] | None) -> None:
        """Call ``before_write`` with a parameter just before the pass first writes it in
        place (``clamp_`` under ``no_grad``, ``weight.data.mul_``, ``out=``).

        Examples:
            >>> lin = nn.Linear(2, 1)
            >>> uses, written = ParamUses(ParamResolver([lin]), []), []
            >>> uses.guard_writes(written.append)
            >>> uses.before_write(lin.weight[0])
            >>> written[0] is lin.weight
            True
        """
        self._before_write = before_write

    def before_write(self, t: Any) -> None:
        """``t`` (a tensor, or a list of them) is about to be written in place."""
        if self._before_write is None:
            return
        if isinstance(t, _Tensor):
            param = self.resolver.parameter_of(t)
            if param is not None:
                self._before_write(param)
        elif isinstance(t, (list, tuple)):  # torch._foreach_mul_(tensors, ...)
            for item in t:
                self.before_write(item)

    def note(self, key: int, path: str) -> None:
        """Note that the call at ``path`` used the parameter ``key``."""
        self.uses[(key, path)] = None  # an existing key keeps its first-seen place

    def note_operands(self, args: tuple[Any, ...], kwargs: Mapping[str, Any] | None) -> None:
        """Note the parameters among an operator's arguments (also inside lists and
        tuples) as used by the innermost call. Runs for nearly every operator: kept to
        plain loops, with one dictionary look-up for a tensor that is no parameter."""
        stack = self._stack
        if not stack:
            return
        get = self.resolver.keys.get
        uses = self.uses
        path = stack[-1].path
        for item in (*args, *kwargs.values()) if kwargs else args:
            key = get(id(item))
            if key is not None:
                uses[(key, path)] = None
            elif type(item) is _Tensor:  # an activation: the common case
                continue
            elif isinstance(item, _Tensor):  # an nn.Parameter not known by identity?
                key = self._identify(item)
                if key is not None:
                    uses[(key, path)] = None
            elif isinstance(item, (list, tuple)) and item:
                pending = list(item)
                while pending:
                    inner = pending.pop()
                    key = get(id(inner))
                    if key is None:
                        if isinstance(inner, (list, tuple)):
                            pending.extend(inner)
                            continue
                        if type(inner) is _Tensor or not isinstance(inner, _Tensor):
                            continue
                        key = self._identify(inner)
                    if key is not None:
                        uses[(key, path)] = None

    def _identify(self, t: torch.Tensor) -> int | None:
        """The key of an operand that is not known by identity: a substitute in any slot,
        or one just put into a slot of the module that runs (see `in_slot_of()`)."""
        key = self.resolver.identify(t)
        if key is None and isinstance(t, _Parameter) and self._stack:
            module = getattr(self._stack[-1], "module", None)
            if isinstance(module, nn.Module):
                key = self.resolver.in_slot_of(module, t)
        return key

    def note_returned(self, tensors: Iterable[torch.Tensor], path: str, outermost: bool) -> None:
        """A call at ``path`` returned ``tensors``. A parameter the model itself returns
        (``return self.weight``, a child's parameter handed up to the output) is used:
        autograd reaches it. It is noted at the innermost call that returned it, once
        the outermost call returns it too.

        Examples:
            >>> lin = nn.Linear(2, 1)
            >>> uses = ParamUses(ParamResolver([lin]), [])
            >>> uses.note_returned([lin.bias], "head", outermost=False)
            >>> uses.note_returned([torch.ones(1), lin.bias], "", outermost=True)
            >>> list(uses.uses)
            [(1, 'head')]
        """
        get = self.resolver.keys.get
        for t in tensors:
            key = get(id(t))
            if key is None and type(t) is not _Tensor:
                key = self.resolver.identify(t)
            if key is None:
                continue
            first = self._returned.setdefault(key, path)
            if outermost:
                self.uses[(key, first)] = None
        if outermost:
            self._returned.clear()
