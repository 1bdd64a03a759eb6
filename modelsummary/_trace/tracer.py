"""Stage 1: run one forward pass and record what happened, as plain records.

The `Tracer` is a thin context manager over small parts, each with one job:

* `CallStack`: the module calls, open and done, their
  inputs and outputs, and the innermost call a failing pass's exception left;
* `ParamResolver` and
  `ParamUses`: which registered parameter a tensor met
  during the pass stands for, and which call used it;
* `MacCounter`: the multiply-accumulates, from a
  torch-function mode that sees every tensor operation with its original
  arguments and an aten-level dispatch mode for what only the decomposition shows;
* `StorageCounter` and
  `SavedTensorMeter`: the bytes of the activations and
  of what autograd saves for backward.

``__enter__`` installs process-wide module forward hooks that record the calls
of the traced model's modules made from the tracer's own thread (others are
ignored, so two summaries in two threads cannot see each other), and enters the
modes; ``__exit__`` removes everything. A parameter is *used* when it reaches an
operator, whether its module was called or a parent passed it to ``F.linear``
itself. Standard ``torch.nn`` leaves are counted from their shapes instead of
their operators (see `leaf_formula()`).

Examples:
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

import inspect
import threading
from collections.abc import Callable
from contextlib import ExitStack
from types import TracebackType
from typing import Any

import torch
from torch import nn
from torch.nn.modules import module as module_hooks
from torch.utils.hooks import RemovableHandle

from .._records import BufferInfo, ModuleInfo, ParamInfo, Trace
from .calls import CallFrame, CallStack
from .catalogue import Catalogue
from .engines import is_fsdp_class, param_facts, replicas, resting_params
from .formulas import LeafFormula
from .macs import FORMULA_ERRORS, MacCounter
from .meters import SavedTensorMeter, StorageCounter
from .params import ParamResolver, ParamUses
from .values import DTYPE_NAMES, dtype_name, iter_tensors


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


def _mask_zeros(module: nn.Module, name: str) -> int | None:
    """The elements the pruning mask of ``module``'s parameter ``name`` zeroes, if it is
    one that ``torch.nn.utils.prune`` keeps (``NAME_orig`` beside a ``NAME_mask``
    buffer of its shape); ``None`` otherwise, and for a mask on meta (no values).

    Examples:
        >>> from torch.nn.utils import prune
        >>> fc = prune.l1_unstructured(nn.Linear(4, 2), "weight", amount=0.5)
        >>> _mask_zeros(fc, "weight_orig"), _mask_zeros(fc, "bias")
        (4, None)
    """
    if not name.endswith("_orig"):
        return None
    mask = module._buffers.get(name[: -len("_orig")] + "_mask")
    param = module._parameters[name]
    if mask is None or param is None or mask.is_meta or mask.shape != param.shape:
        return None
    return mask.numel() - int(mask.count_nonzero())


Leaf = tuple[LeafFormula, dict[tuple[int, str], None]]
"""A standard leaf's MAC formula and the parameter uses of one of its calls."""
_RAISED: Any = object()
"""What the post-hook's missing ``output`` argument says: the forward raised."""
_DIMENSIONS = {"1d": 1, "2d": 2, "3d": 3}
"""Dimensions of a ``torch.nn`` class by its name's suffix (``MaxPool2d``)."""
_Tensor = torch.Tensor
_no_torch_function = torch._C.DisableTorchFunction
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


def _closer(
    stack: list[CallFrame], uses: ParamUses, macs: MacCounter, activations: StorageCounter
) -> Callable[[CallFrame, tuple[Any, ...], Any], None]:
    """What the tracer adds when a call returns (run by the call stack with torch
    functions off): a standard leaf's MACs and parameters, the activation bytes of the
    output, and any parameter the output is. A closure over the parts, not a method
    of the tracer: the call stack holds it, and must not hold the tracer in a cycle."""
    noted = uses.uses
    add = activations.add
    returned = uses.note_returned
    keys = uses.resolver.keys
    uncounted = macs.uncounted
    errors = FORMULA_ERRORS

    def close(frame: CallFrame, args: tuple[Any, ...], output: Any) -> None:
        leaf = frame.leaf
        if leaf is not None:  # inline, not through MacCounter.count_leaf: once per call
            formula, leaf_uses = leaf
            try:
                frame.mult_adds += formula(frame.module, args[0], output)
            except errors:
                uncounted[type(frame.module).__name__] += 1
            noted.update(leaf_uses)  # as ParamUses.note(key, path) for each
        if type(output) is _Tensor:  # the common case: no parameter, no container
            add(output)
            if not stack or id(output) in keys:
                returned((output,), frame.path, not stack)
        else:
            tensors = [output] if isinstance(output, _Tensor) else iter_tensors(output)
            for t in tensors:
                add(t)
            returned(tensors, frame.path, not stack)

    return close


class Tracer:
    """Record module calls and parameter use during forward passes of ``model``.

    Use it as a context manager around the forward pass, then call
    `finish()` for the `Trace`. If the pass
    raised, ``calls.failed`` names the innermost module call that was running.

    Args:
        model: The model whose modules to record.
        saved_tensors: Also count the bytes of the distinct tensors autograd saves
            for backward (with grad enabled), parameters and buffers excluded.
        every_op: Send every aten operator through the aten-level counter instead of
            only the calls the torch level cannot count (slower; the same numbers;
            always so for TorchScript and compiled modules).
        catalogue: What each operator costs (default: the process-wide
            `current_catalogue()`).
        before_write: Called with a parameter just before the pass first writes it
            in place (see `guard_writes()`).

    Attributes:
        calls: The `CallStack`.
        params: The `ParamResolver`; give it meta
            stand-ins with ``params.add_stand_ins(...)``.
        uses: The `ParamUses`.
        macs: The `MacCounter`.
        activations: The `StorageCounter` of the outputs.
        saved: The `SavedTensorMeter`, with ``saved_tensors``.

    Examples:
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
        before_write: Callable[[torch.Tensor], None] | None = None,
    ) -> None:
        self._model = model
        self._modules, self._aliases = unique_modules(model)
        self.params = ParamResolver([module for _, module in self._modules])
        self.activations = StorageCounter()
        stack: list[CallFrame] = []
        self.uses = ParamUses(self.params, stack)
        self.uses.guard_writes(before_write)
        self.macs = MacCounter(stack, self.uses, catalogue, every_op=every_op)
        self.calls = CallStack(_closer(stack, self.uses, self.macs, self.activations), stack)
        self.saved: SavedTensorMeter | None = None
        if saved_tensors:
            self.saved = SavedTensorMeter(
                self.params.is_state, [*model.parameters(), *model.buffers()]
            )
        # Paths a hook cannot see: TorchScript modules run no Python hooks inside
        # one another. Only the outermost of them, called from Python, is recorded.
        self._untraced: set[str] = set()
        self._scripts: dict[int, nn.Module] = {}
        self._watched: dict[int, tuple[str, Leaf | None]] = {}
        """``{id(module): (path, leaf)}`` of the recorded modules; ``leaf`` is set for a
        standard leaf, whose operators need not be watched (see `_leaf()`)."""
        self._own_hooks: list[nn.Module] = []
        """Recorded modules with forward hooks of their own."""
        watched = self._watched
        classes: dict[type, tuple[LeafFormula | None, bool]] = {}
        """``{class: (its leaf formula, whether it is TorchScript)}``"""
        compiled = False
        self._fsdp = False
        """Whether FSDP2 manages a module (which may keep parameters apart)."""
        self._masked: dict[int, tuple[str, int]] = {}
        """``{id(parameter): (name, elements its pruning mask zeroes)}``, read before the pass:
        on the meta device the pass's stand-ins hold no values."""
        for path, module in self._modules:  # one pass: this runs before every summary
            cls = type(module)
            facts = classes.get(cls)
            if facts is None:  # what a class tells, once per class
                scripted = issubclass(cls, torch.jit.ScriptModule)
                facts = classes[cls] = (self.macs.leaf_formula(cls), scripted)
                compiled = compiled or cls.__name__ == "OptimizedModule"
                self._fsdp = self._fsdp or is_fsdp_class(cls)
            formula, scripted = facts
            if scripted:
                if module._buffers:
                    self._read_masks(path, module)
                if path.rpartition(".")[0] not in self._untraced or path == "":
                    self._scripts[id(module)] = module
                    watched[id(module)] = (path, None)
                    if module._forward_hooks:
                        self._own_hooks.append(module)
                self._untraced.add(path)
                continue
            # The module's own slots, from one look-up: each attribute read of a module
            # passes through the class's __getattr__ hook first.
            state = module.__dict__
            if state["_buffers"]:  # pruning keeps its masks as buffers
                self._read_masks(path, module)
            if state["_forward_pre_hooks"] or state["_forward_hooks"]:
                watched[id(module)] = (path, None)
                if state["_forward_hooks"]:
                    self._own_hooks.append(module)
                continue
            watched[id(module)] = (
                path,
                None if formula is None else self._leaf(formula, module, path),
            )
        self._open = self.calls.open
        self._close = self.calls.close
        self._aten = self.macs.aten
        self._late: set[int] = set()
        """Ids of the modules whose calls a hook after their own forward hooks closes."""
        self._thread = threading.get_ident()
        self._handles: list[RemovableHandle] = []
        self._entered = ExitStack()
        self._fast_paths = True
        """Whether fused fast paths run with the torch-level mode suspended."""
        # torch.compile warns that process-wide hooks fire twice around its wrapper:
        # a compiled model gets a pair of hooks on each module instead, as does every
        # model on a torch whose process-wide hooks cannot take keyword arguments.
        self._per_module_hooks = compiled or not _GLOBAL_HOOKS_TAKE_KWARGS
        # TorchScript and compiled graphs run no torch-level calls the mode could see:
        # every aten operator is counted instead (slower, complete).
        if self._scripts or compiled:
            self.macs.count_every_op()
        if self.macs.every_op or self._per_module_hooks:
            self._watch_every_operator()

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
            undo.enter_context(self.macs.watcher)
            if self.macs.every_op:
                undo.enter_context(self.macs.aten)
            if self.saved is not None:
                undo.enter_context(self.saved)
            self._entered = undo.pop_all()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.calls.end(exc)  # exits what calls a raise left open entered, innermost first
        finally:
            try:
                self._entered.__exit__(exc_type, exc, tb)  # modes out, then hooks removed
            finally:
                self.params.end_pass()

    def _watch_every_operator(self) -> None:
        """No leaf counted from its shapes: every call's operators reach the modes."""
        watched = self._watched
        for key, (path, _) in watched.items():
            watched[key] = (path, None)

    def _leaf(self, formula: LeafFormula, module: nn.Module, path: str) -> Leaf | None:
        """A standard leaf: of an exact class that
        `leaf_formula()` knows, with no hooks
        of its own (a hook may compute, or replace the weight),
        and plain tensors only: a tensor subclass (a quantized weight) may handle the
        operators itself through ``__torch_function__``, which a leaf's call skips.
        A call of one uses exactly the parameters it holds (meta stand-ins, which
        map to the same keys, included): ``(key, path)`` pairs, as noted uses are."""
        uses: dict[tuple[int, str], None] = {}
        keys = self.params.keys
        for p in module._parameters.values():
            if p is not None:
                if type(p) is not nn.Parameter and type(p) is not torch.Tensor:
                    return None
                uses[(keys[id(p)], path)] = None
        for b in module._buffers.values():
            if b is not None and type(b) is not torch.Tensor:
                return None
        return formula, uses

    def _read_masks(self, path: str, module: nn.Module) -> None:
        for name, p in module._parameters.items():
            zeros = _mask_zeros(module, name)
            if zeros is not None:  # a tied parameter: under the first name it has
                self._masked.setdefault(id(p), (f"{path}.{name}" if path else name, zeros))

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
        frame = self._open(module, path, args)
        if self._aten.noting:  # inside a fused fast path: the aten-level counter sees all
            return
        if leaf is not None:
            # A standard leaf (see _leaf) called on one plain tensor: its
            # parameters and MACs are known from its shapes, so its operators need not
            # pass through the mode (the bulk of a CNN's calls).
            if len(args) == 1 and type(args[0]) is _Tensor:
                frame.leaf = leaf
                frame.suspended = suspension = _no_torch_function()
                suspension.__enter__()
        elif isinstance(module, _FAST_PATH_MODULES) and self._fast_paths:
            frame.suspended = self.macs.suspend()

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
        if id(module) not in self._watched or _get_ident() != self._thread:
            return
        if output is _RAISED:
            self.calls.raised(module, args)
        elif id(module) not in self._late:  # else its own late hook closes it
            self._close(module, args, kwargs, output)  # not through _close_call: hot

    def _close_call(
        self, module: nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], output: Any
    ) -> None:
        if id(module) not in self._watched or _get_ident() != self._thread:
            return
        self.calls.close(module, args, kwargs, output)

    # -- results -----------------------------------------------------------------------
    def finish(self) -> Trace:
        """Turn what was observed into a `Trace`.

        Call it after the pass: lazy parameters are only measurable then.

        Examples:
            >>> model = nn.Sequential(nn.LazyLinear(2))
            >>> with torch.no_grad(), Tracer(model) as t:
            ...     _ = model(torch.ones(1, 5))
            >>> t.finish().params[0].numel
            10
        """
        # One pass over the modules for their facts, their parameters and buffers.
        # Each parameter is measured as registered before the pass: an engine may have
        # left another tensor in its slot (accelerate's meta tensor, FSDP2's gathered
        # one), and only the engine's records say what this rank holds (_engines).
        keys, registered = self.params.keys, self.params.registered
        dtype_names = DTYPE_NAMES  # dtype_name()'s own table, without a call per parameter
        params: dict[int, ParamInfo] = {}
        buffers: dict[int, BufferInfo] = {}
        modules: list[ModuleInfo] = []
        copies = replicas(module for _, module in self._modules)  # read under a process group
        resting = resting_params(module for _, module in self._modules) if self._fsdp else {}
        for path, module in self._modules:
            prefix = f"{path}." if path else ""
            own: list[tuple[str, int]] = []
            for name, p in module._parameters.items():
                if p is None:
                    continue
                key = keys.get(id(p))
                if key is None:
                    key = self.params.identify(p)  # a substitute still in its slot
                if key is None:
                    continue
                own.append((name, key))
                if key in params:
                    continue
                t = registered[key]
                if resting:
                    t = resting.get((id(module), name), t)
                if type(t) is nn.Parameter and not t.__dict__ and not t.is_meta and not copies:
                    numel = t.numel()  # a plain parameter: the fast path
                    params[key] = ParamInfo(  # positional: key, name, numel, nbytes, ...
                        key,
                        prefix + name,
                        numel,
                        numel * t.element_size(),  # nbytes
                        t.requires_grad,  # trainable
                        dtype_names.get(t.dtype) or dtype_name(t.dtype),
                    )
                    continue
                facts = param_facts(t, module, name, copies)
                params[key] = ParamInfo(
                    key,
                    prefix + name,
                    facts.numel,
                    facts.nbytes,
                    t.requires_grad,  # trainable
                    dtype_name(t.dtype),
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
        return Trace(
            modules=tuple(modules),
            params=tuple([params[k] for k in sorted(params)]),
            buffers=tuple(buffers.values()),
            calls=self.calls.records(),
            param_uses=tuple({**self.uses.uses, **self._script_uses()}),
            activation_bytes=self.activations.total,
            uncounted_ops=self.macs.uncounted_ops(),
            saved_bytes=None if self.saved is None else self.saved.total,
            masked=tuple(self._masked.values()),
        )

    def _script_uses(self) -> dict[tuple[int, str], None]:
        """Uses assumed for TorchScript modules, which run no Python hooks or modes.

        A scripted module called from Python (seen by the global hooks) is taken
        to have used all its parameters, each noted at the module that registers
        it; its row says "not traced". One never called stays unused.
        """
        if not self._scripts:
            return {}
        called = {id(f.module) for f in self.calls.frames}
        paths = {id(module): path for path, module in self._modules}
        uses: dict[tuple[int, str], None] = {}
        for module in self._scripts.values():
            if id(module) not in called:
                continue
            for sub in module.modules():
                for p in sub._parameters.values():
                    key = None if p is None else self.params.keys.get(id(p))
                    if key is not None:
                        uses[(key, paths[id(sub)])] = None
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
