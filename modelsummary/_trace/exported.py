"""Stage 1 for an exported program: read its graph into the records the tracer makes.

A ``torch.export.ExportedProgram`` already holds what a traced pass records, so
nothing runs. Each operator node carries ``meta["nn_module_stack"]`` (the module
calls it ran inside, by their original paths and classes) and ``meta["val"]`` (a
fake tensor with its output's shape, symbolic where a dimension was exported as
dynamic); the graph signature says which inputs are parameters and buffers, and the
state dict holds them (a tied weight under each of its names, one tensor).

`read_program()` turns these into a `Trace`:

* **calls**: a module call is the run of consecutive nodes whose module stack
  holds it (a second call of a module has its own stack key, ``relu@1``). Its
  inputs are the values its nodes read from outside the run (parameters and
  buffers aside), its output the values the rest of the graph reads from it.
* **shapes**: a symbolic dimension is shown by its name (the one given in
  ``torch.export.Dim``, else the solver's ``s0``); a size that depends on one is
  measured at the example the program was exported with.
* **mult-adds**: each operator node through the catalogue's aten-level formulas,
  given meta tensors of the example's sizes; added to the innermost call.
* **parameters**: the signature's parameters, each tensor once; a name of the state
  dict that holds the same tensor (a tied head) registers it on its own module too.

A module that runs no operator (``nn.Identity``) leaves no node, so no row; a module
known only by a parameter's name (never called) has no recorded class, shown as
``?``. The nodes of a higher-order operator's subgraph (a region under
``torch.no_grad()`` or ``autocast``) are read in its place.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    >>> batch = torch.export.Dim("batch")
    >>> program = torch.export.export(model, (torch.zeros(5, 4),), dynamic_shapes=({0: batch},))
    >>> trace, _ = read_program(program)
    >>> [(c.path, c.output.shape, c.mult_adds) for c in trace.calls][1:]
    [('0', ('batch', 3), 60), ('1', ('batch', 3), 0), ('2', ('batch', 2), 30)]
    >>> [(p.name, p.numel) for p in trace.params]
    [('0.weight', 12), ('0.bias', 3), ('2.weight', 6), ('2.bias', 2)]
"""

from __future__ import annotations

import math
import operator
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import torch
from torch._ops import OpOverload
from torch.export import ExportedProgram
from torch.fx import Node

from .._records import (
    BufferInfo,
    CallRecord,
    ModuleInfo,
    OtherSpec,
    ParamInfo,
    PassInfo,
    SeqSpec,
    TensorSpec,
    Trace,
    ValueSpec,
)
from .catalogue import Catalogue, current_catalogue, op_name
from .macs import FORMULA_ERRORS
from .values import dtype_name, tensor_nbytes

_FREE_TARGETS = frozenset({operator.getitem})
"""Python-level node targets that only pick from a value (a split's parts)."""
_CONVOLUTIONS = frozenset(
    {"aten.conv1d", "aten.conv2d", "aten.conv3d", "aten.convolution", "aten._convolution"}
)


def read_program(
    program: ExportedProgram, catalogue: Catalogue | None = None
) -> tuple[Trace, PassInfo]:
    """The `Trace` of an exported program, and the facts about its example pass.

    Args:
        program: What ``torch.export.export()`` (or ``torch.export.load()``) returned.
        catalogue: What each operator costs (default: `current_catalogue()`).

    Returns:
        The records, as the tracer would make them for the same model, and a
        `PassInfo` with the bytes of the user inputs at the example's sizes.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> program = torch.export.export(nn.Linear(8, 4), (torch.zeros(2, 8),))
        >>> trace, run = read_program(program)
        >>> [(m.path, m.type_name) for m in trace.modules], trace.calls[0].mult_adds
        ([('', 'Linear')], 64)
        >>> run.input_bytes
        64
    """
    return _Reader(program, catalogue or current_catalogue()).read()


def input_shapes(program: ExportedProgram) -> list[list[int | str]]:
    """The shapes of the program's tensor inputs as its summary shows them (a dynamic
    dimension by its name): the summary's ``input_size``.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> batch = torch.export.Dim("batch")
        >>> program = torch.export.export(
        ...     nn.Linear(8, 4), (torch.zeros(2, 8),), dynamic_shapes=({0: batch},)
        ... )
        >>> input_shapes(program)
        [['batch', 8]]
    """
    reader = _Reader(program, current_catalogue())
    specs = [reader.spec(n.meta.get("val")) for n in reader.user_inputs()]
    return [list(spec.shape) for spec in specs if isinstance(spec, TensorSpec)]


@dataclass(slots=True)
class _Call:
    """A module call being read: where its nodes start and end in the graph."""

    key: str
    path: str
    index: int
    """Its place in the trace's calls (the order calls started)."""
    nodes: list[Node] = field(default_factory=list)
    """Every node run while it was open, nested calls' included."""
    mult_adds: int = 0


_Registered = dict[str, list[tuple[str, int]]]
"""``{module path: [(attribute, parameter key)]}``"""
_Uses = dict[tuple[int, str], None]
"""``{(parameter key, innermost module path): None}``, in the order first seen"""


class _Reader:
    def __init__(self, program: ExportedProgram, catalogue: Catalogue) -> None:
        self.program = program
        self.catalogue = catalogue
        self.graph = program.graph
        signature = program.graph_signature
        self.param_inputs: dict[str, str] = dict(signature.inputs_to_parameters)
        """``{placeholder name: parameter name}``"""
        self.buffer_inputs: dict[str, str] = dict(signature.inputs_to_buffers)
        self.state_inputs = {
            *self.param_inputs,
            *self.buffer_inputs,
            *signature.inputs_to_lifted_tensor_constants,
            *getattr(signature, "inputs_to_lifted_custom_objs", {}),
        }
        self.classes: dict[str, str] = {}
        """``{module path: class name}`` from the module stacks."""
        self.order: dict[str, None] = {"": None}
        """Module paths in the order first seen."""
        self.uncounted: Counter[str] = Counter()
        self.names = _dimension_names(program)
        self.kernels: dict[str, tuple[tuple[int, ...], int]] = {}
        """``{module path: (kernel size, groups)}`` read off its convolution node."""
        self.alias: dict[Node, Node] = {}
        """``{a subgraph's placeholder or a pick from its results: the node it stands for}``"""
        self.results: dict[Node, list[Any]] = {}
        """``{higher-order operator node: the nodes its subgraph returns}``"""
        self.picks: dict[Node, list[Node]] = {}
        """``{a node a subgraph returns: the picks of it from the operator's results}``"""
        self.entries: dict[tuple[Node, Node], Node] = {}
        """``{(higher-order operator node, operand): the subgraph's placeholder for it}``"""

    # -- values ------------------------------------------------------------------------
    def spec(self, value: Any) -> ValueSpec:
        if isinstance(value, torch.Tensor):
            shape = tuple(self.dimension(s) for s in value.shape)
            numel = math.prod(_hint(s) for s in value.shape)
            return TensorSpec(shape, dtype_name(value.dtype), numel * value.element_size())
        if isinstance(value, (tuple, list)):
            return SeqSpec(tuple(self.spec(v) for v in value))
        return OtherSpec(type(value).__name__)

    def dimension(self, size: Any) -> int | str:
        if isinstance(size, torch.SymInt):
            expr = size.node.expr
            if expr.is_number:
                return int(expr)
            return str(expr.xreplace(self.names)) if self.names else str(expr)
        return int(size)

    # -- the graph ---------------------------------------------------------------------
    def read(self) -> tuple[Trace, PassInfo]:
        nodes = self.flatten(self.program.graph_module)
        root = _Call("", "", 0, nodes)
        open_calls = [root]
        calls = [root]
        for node in nodes:
            stack = [
                (key, path, cls)
                for key, (path, cls) in (node.meta.get("nn_module_stack") or {}).items()
                if path != ""
            ]
            for _, path, cls in stack:
                self.classes.setdefault(path, _class_name(cls))
                self.order.setdefault(path, None)
            for root_path, cls in (node.meta.get("nn_module_stack") or {}).values():
                if root_path == "":
                    self.classes.setdefault("", _class_name(cls))
            depth = 0
            while (
                depth < len(stack)
                and depth + 1 < len(open_calls)
                and open_calls[depth + 1].key == stack[depth][0]
            ):
                depth += 1
            del open_calls[depth + 1 :]
            for key, path, _ in stack[depth:]:
                call = _Call(key, path, len(calls))
                calls.append(call)
                open_calls.append(call)
            for call in open_calls[1:]:
                call.nodes.append(node)
            open_calls[-1].mult_adds += self.mult_adds(node)
            self.note_kernel(node, open_calls[-1].path)
        params, modules_params, uses = self.parameters(calls)
        buffers, module_buffers = self.buffers()
        user_inputs = self.user_inputs()
        records = [self.root_record(root, user_inputs)]
        records += [self.call_record(call) for call in calls[1:]]
        # Distinct storages, as the tracer counts them: a view or an in-place result is
        # its source's storage.
        activations = {
            id(m): m for call in calls for n in self.outputs(call) for m in [_storage(n)]
        }
        activation_bytes = sum(_nbytes(self.spec(n.meta.get("val"))) for n in activations.values())
        trace = Trace(
            modules=self.modules(modules_params, module_buffers),
            params=params,
            buffers=buffers,
            calls=tuple(records),
            param_uses=tuple(uses),
            activation_bytes=activation_bytes,
            uncounted_ops=tuple(sorted(self.uncounted.items())),
        )
        input_bytes = sum(_nbytes(self.spec(n.meta.get("val"))) for n in user_inputs)
        return trace, PassInfo(input_bytes=input_bytes)

    def mult_adds(self, node: Node) -> int:
        target = node.target
        if target in _FREE_TARGETS:
            return 0
        if not isinstance(target, OpOverload):
            self.uncounted[getattr(target, "__name__", str(target))] += 1
            return 0
        kind = self.catalogue.classify(target)
        if kind is True:
            return 0
        if kind is False:
            self.uncounted[op_name(target)] += 1
            return 0
        args, kwargs = torch.fx.node.map_aggregate((node.args, node.kwargs), _example)
        try:
            return int(kind(args, kwargs, _example(node)))
        except FORMULA_ERRORS:
            self.uncounted[op_name(target)] += 1
            return 0

    def note_kernel(self, node: Node, path: str) -> None:
        """A convolution's kernel size and groups, for the module it ran in."""
        if path in self.kernels or not isinstance(node.target, OpOverload):
            return
        if op_name(node.target) not in _CONVOLUTIONS or len(node.args) < 2:
            return
        weight = node.args[1]
        value = self.resolve(weight).meta.get("val") if isinstance(weight, Node) else None
        if not isinstance(value, torch.Tensor):
            return
        at = 6 if op_name(node.target) in {"aten.conv1d", "aten.conv2d", "aten.conv3d"} else 8
        groups = node.args[at] if len(node.args) > at else node.kwargs.get("groups", 1)
        kernel = tuple(_hint(s) for s in value.shape[2:])
        self.kernels[path] = (kernel, groups if isinstance(groups, int) else 1)

    # -- subgraphs ---------------------------------------------------------------------
    def flatten(self, owner: torch.fx.GraphModule) -> list[Node]:
        """The operator nodes of ``owner``'s graph in order, with the nodes of each
        higher-order operator's subgraph in its place (a region under ``no_grad`` or
        ``autocast``: they carry their own module stacks); the operator's results are
        read through `resolve()` as the subgraph's outputs."""
        nodes: list[Node] = []
        for node in owner.graph.nodes:
            if node.op != "call_function":
                continue
            if node.target is operator.getitem and node.args[0] in self.results:
                picked = self.results[node.args[0]][node.args[1]]
                self.alias[node] = picked
                self.picks.setdefault(picked, []).append(node)
                continue
            inner = self.subgraph(node, owner)
            if inner is None:
                nodes.append(node)
                if _returns_its_input(node):  # later reads of it read the tensor it got
                    self.alias[node] = node.args[0]
            else:
                nodes += self.flatten(inner)
        return nodes

    def subgraph(self, node: Node, owner: torch.fx.GraphModule) -> torch.fx.GraphModule | None:
        """The subgraph a higher-order operator node runs on its operands (the arguments
        after it), its placeholders aliased to them; ``None`` for any other node."""
        if isinstance(node.target, OpOverload) or node.target in _FREE_TARGETS:
            return None
        attributes = [
            (at, getattr(owner, str(arg.target), None))
            for at, arg in enumerate(node.args)
            if isinstance(arg, Node) and arg.op == "get_attr"
        ]
        if len(attributes) != 1:
            return None
        at, inner = attributes[0]
        if not isinstance(inner, torch.fx.GraphModule):
            return None
        operands = node.args[at + 1 :]
        placeholders = [n for n in inner.graph.nodes if n.op == "placeholder"]
        if len(operands) != len(placeholders) or not all(isinstance(o, Node) for o in operands):
            return None
        for placeholder, operand in zip(placeholders, operands, strict=True):
            self.alias[placeholder] = operand  # type: ignore[assignment]
            self.entries[(node, operand)] = placeholder  # type: ignore[index]
        output = next(n for n in inner.graph.nodes if n.op == "output")
        returned = output.args[0]
        self.results[node] = list(returned) if isinstance(returned, (tuple, list)) else [returned]
        return inner

    def readers(self, node: Node) -> list[Node]:
        """The nodes that read ``node``'s value, across subgraph boundaries: into a
        subgraph through its placeholder, out of one through the picks of its results."""
        found: list[Node] = []
        for user in node.users:
            if user.op == "output" and user.graph is not self.graph:  # a subgraph's result
                for pick in self.picks.get(node, ()):
                    found += self.readers(pick)
            elif user in self.results:
                found += self.readers(self.entries[(user, node)])
            elif self.alias.get(user) is node:  # the same tensor, read on
                found += [user, *self.readers(user)]
            else:
                found.append(user)
        return found

    def resolve(self, node: Node) -> Node:
        """The node whose value ``node`` stands for, across subgraph boundaries."""
        while node in self.alias:
            node = self.alias[node]
        return node

    # -- calls -------------------------------------------------------------------------
    def outputs(self, call: _Call) -> list[Node]:
        inside = set(call.nodes)
        return [
            n
            for n in call.nodes
            if n not in self.alias and any(user not in inside for user in self.readers(n))
        ]

    def call_record(self, call: _Call) -> CallRecord:
        inside = set(call.nodes)
        inputs: dict[Node, None] = {}
        for n in call.nodes:
            for arg in map(self.resolve, n.all_input_nodes):
                if arg not in inside and arg.name not in self.state_inputs and arg.op != "get_attr":
                    inputs[arg] = None
        outputs = self.outputs(call)
        return CallRecord(
            call.path,
            SeqSpec(tuple(self.spec(n.meta.get("val")) for n in inputs)),
            self.output_spec(outputs),
            call.mult_adds,
        )

    def root_record(self, root: _Call, user_inputs: list[Node]) -> CallRecord:
        output = next(n for n in self.graph.nodes if n.op == "output")
        returned = [
            self.resolve(a) for a in output.all_input_nodes if a.name in self.user_outputs()
        ]
        return CallRecord(
            "",
            SeqSpec(tuple(self.spec(n.meta.get("val")) for n in user_inputs)),
            self.output_spec(returned),
            root.mult_adds,
        )

    def user_inputs(self) -> list[Node]:
        """The placeholders of the caller's inputs (not parameters, buffers, constants)."""
        return [
            n for n in self.graph.nodes if n.op == "placeholder" and n.name not in self.state_inputs
        ]

    def user_outputs(self) -> set[str]:
        return set(self.program.graph_signature.user_outputs)

    def output_spec(self, nodes: list[Node]) -> ValueSpec:
        specs = tuple(self.spec(n.meta.get("val")) for n in nodes)
        if len(specs) == 1:
            return specs[0]
        return SeqSpec(specs) if specs else OtherSpec("NoneType")

    # -- parameters, buffers, modules --------------------------------------------------
    def parameters(self, calls: list[_Call]) -> tuple[tuple[ParamInfo, ...], _Registered, _Uses]:
        """Unique parameter tensors, the ``(attribute, key)`` each module registers, and
        the ``(key, innermost module path)`` of each node that reads one."""
        state = self.program.state_dict
        declared = set(self.param_inputs.values())
        keys: dict[int, int] = {}  # id(tensor) -> key
        params: list[ParamInfo] = []
        by_module: dict[str, list[tuple[str, int]]] = {}
        names = [n for n in state if n in declared]
        names += [n for n in declared if n not in state]  # kept apart as constants
        tensors = {n: state.get(n, self.program.constants.get(n)) for n in names}
        for name in names:
            t = tensors[name]
            if not isinstance(t, torch.Tensor):
                continue
            if id(t) not in keys:
                keys[id(t)] = len(params)
                numel = t.numel()
                params.append(
                    ParamInfo(
                        len(params),
                        name,
                        numel,
                        numel * t.element_size(),
                        t.requires_grad,
                        dtype_name(t.dtype),
                    )
                )
        for name, t in state.items():  # every name of each parameter, tied ones included
            key = keys.get(id(t))
            if key is not None:
                path, _, attr = name.rpartition(".")
                by_module.setdefault(path, []).append((attr, key))
                self.note_path(path)
        innermost: dict[Node, str] = {}
        for call in calls:  # calls start in order; a nested one comes later and wins
            for n in call.nodes:
                innermost[n] = call.path
        placeholders = {n: name for n, name in self.param_inputs.items()}
        uses: dict[tuple[int, str], None] = {}
        for node in calls[0].nodes:  # in the order the operators ran
            for arg in map(self.resolve, node.all_input_nodes):
                name = placeholders.get(arg.name) if arg.op == "placeholder" else None
                key = None if name is None else keys.get(id(tensors.get(name)))
                if key is not None:
                    uses[(key, innermost.get(node, ""))] = None
        return tuple(params), by_module, uses

    def buffers(self) -> tuple[tuple[BufferInfo, ...], dict[str, int]]:
        seen: dict[int, BufferInfo] = {}
        per_module: dict[str, int] = {}
        for name in self.buffer_inputs.values():
            t = self.program.state_dict.get(name, self.program.constants.get(name))
            if not isinstance(t, torch.Tensor):
                continue
            path = name.rpartition(".")[0]
            self.note_path(path)
            per_module[path] = per_module.get(path, 0) + t.numel()
            if id(t) not in seen:
                seen[id(t)] = BufferInfo(name, t.numel(), tensor_nbytes(t))
        return tuple(seen.values()), per_module

    def note_path(self, path: str) -> None:
        parts = path.split(".") if path else []
        for i in range(1, len(parts) + 1):
            self.order.setdefault(".".join(parts[:i]), None)

    def modules(
        self, params: dict[str, list[tuple[str, int]]], buffers: dict[str, int]
    ) -> tuple[ModuleInfo, ...]:
        """Every module seen, root first, each parent before its children (pre-order,
        children in the order first seen)."""
        for path in list(self.order):
            self.note_path(path)
        children: dict[str, list[str]] = {}
        for path in self.order:
            if path:
                children.setdefault(path.rpartition(".")[0], []).append(path)
        infos: list[ModuleInfo] = []
        pending = [""]
        while pending:
            path = pending.pop()
            kernel, groups = self.kernels.get(path, (None, None))
            infos.append(
                ModuleInfo(
                    path,
                    self.classes.get(path, "?"),
                    None if path == "" else path.rpartition(".")[0],
                    tuple(params.get(path, ())),
                    buffers.get(path, 0),
                    kernel,
                    groups=groups,
                )
            )
            pending.extend(reversed(children.get(path, [])))
        return tuple(infos)


_SAME_TENSOR = frozenset({"aten.to", "aten.type_as", "aten.contiguous"})
"""Operators that return their input itself when it already is what they ask for."""


def _returns_its_input(node: Node) -> bool:
    """Whether an operator node returned its input tensor itself (``x.to(torch.float32)``
    of a float32 ``x``): export then records the model's later
    uses of that tensor as uses of this node, wherever they are.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> class Cast(nn.Module):
        ...     def forward(self, x):
        ...         return x.to(torch.float32) + x.to(torch.float64)
        >>> program = torch.export.export(Cast(), (torch.zeros(2),))
        >>> [n.name for n in program.graph.nodes if _returns_its_input(n)]
        ['to']
    """
    if not isinstance(node.target, OpOverload):
        return False
    if op_name(node.target) not in _SAME_TENSOR:
        return False
    source = node.args[0] if node.args else None
    before = source.meta.get("val") if isinstance(source, Node) else None
    after = node.meta.get("val")
    if not isinstance(before, torch.Tensor) or not isinstance(after, torch.Tensor):
        return False
    return (before.dtype, before.device, before.shape, before.stride()) == (
        after.dtype,
        after.device,
        after.shape,
        after.stride(),
    )


def _storage(node: Node) -> Node:
    """The node whose output owns the storage of ``node``'s output: through the views
    and in-place operators (their result aliases their first argument) it came from.

    Examples:
        >>> import torch
        >>> class Net(torch.nn.Module):
        ...     def forward(self, x):
        ...         return (x * 2).relu_().view(-1)
        >>> program = torch.export.export(Net(), (torch.zeros(2, 2),))
        >>> view = [n for n in program.graph.nodes if n.name == "view"][0]
        >>> _storage(view).name
        'mul'
    """
    while isinstance(node.target, OpOverload) and node.args and isinstance(node.args[0], Node):
        returns = node.target._schema.returns
        same = returns and returns[0].alias_info is not None  # a view, an in-place result
        if not (same or _returns_its_input(node) or _idle_dropout(node)):
            break
        node = node.args[0]
    return node


def _idle_dropout(node: Node) -> bool:
    """A dropout not training, which returns its input itself."""
    return (
        isinstance(node.target, OpOverload)
        and op_name(node.target) == "aten.dropout"
        and len(node.args) > 2
        and node.args[2] is False
    )


def _class_name(cls: Any) -> str:
    if isinstance(cls, type):
        return cls.__name__
    return str(cls).rpartition(".")[2]


def _hint(size: Any) -> int:
    """A size at the example the program was exported with."""
    if isinstance(size, torch.SymInt):
        hint = size.node.hint
        if hint is None:
            raise ValueError(f"no example size for the symbolic dimension {size}")
        return int(hint)
    return int(size)


def _example(value: Any) -> Any:
    """A node's recorded value as the formulas read it: a meta tensor of the example's
    sizes (a formula multiplies sizes; symbolic ones would stay symbolic)."""
    if isinstance(value, Node):
        value = value.meta.get("val")
    if isinstance(value, torch.Tensor):
        return torch.empty([_hint(s) for s in value.shape], dtype=value.dtype, device="meta")
    if isinstance(value, torch.SymInt):
        return _hint(value)
    if isinstance(value, (tuple, list)):
        return type(value)(_example(v) for v in value)
    return value


def _nbytes(spec: ValueSpec) -> int:
    if isinstance(spec, TensorSpec):
        return spec.nbytes
    if isinstance(spec, SeqSpec):
        return sum(_nbytes(s) for s in spec.items)
    return 0


def _dimension_names(program: ExportedProgram) -> dict[Any, Any]:
    """``{symbol: a symbol named as in torch.export.Dim}`` for the dynamic dimensions
    that were given a name; empty when none was (or a loaded program forgot them)."""
    import sympy  # type: ignore[import-untyped]

    env = None
    for node in program.graph.nodes:
        value = node.meta.get("val")
        if isinstance(value, torch.Tensor):
            sizes: list[Any] = list(value.shape)
            for size in sizes:
                if isinstance(size, torch.SymInt):
                    env = size.node.shape_env
                    break
        if env is not None:
            break
    if env is None:
        return {}
    debug = getattr(env, "source_name_to_debug_name", {}) or {}
    names: dict[Any, Any] = {}
    for symbol, sources in getattr(env, "var_to_sources", {}).items():
        for source in sources:
            name = debug.get(source.name() if callable(source.name) else source.name)
            if name:
                names[symbol] = sympy.Symbol(name)
                break
    return names
