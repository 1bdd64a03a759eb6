"""Stage 2: records -> a tree of summary nodes with counts that are right. Pure.

The counting rules live here and nowhere else:

* A parameter tensor counts once, by identity, however often and wherever it
  is used. It is carried by one row: the first module that registers it and
  used it in a call, else the first module that registers it. Other modules
  that register the same tensor list it as *shared*.
* A parameter no operator saw during the pass is *unused*: it is not in the
  total, and it appears in the unused section.
* A module is *active* if it was called, one of its parameters was used, or a
  descendant is active. Inactive modules are listed apart and never shown in
  the tree.

Example:
    >>> from modelsummary._records import (
    ...     CallRecord, ModuleInfo, ParamInfo, SeqSpec, OtherSpec, Trace)
    >>> out = OtherSpec("Tensor")
    >>> trace = Trace(
    ...     modules=(ModuleInfo("", "Net", None),
    ...              ModuleInfo("conv1", "Conv2d", "", (("weight", 0),)),
    ...              ModuleInfo("conv2", "Conv2d", "", (("weight", 1),))),
    ...     params=(ParamInfo(0, "conv1.weight", 9, 36, True, "float32"),
    ...             ParamInfo(1, "conv2.weight", 9, 36, True, "float32")),
    ...     buffers=(),
    ...     calls=(CallRecord("", SeqSpec(()), out), CallRecord("conv1", SeqSpec(()), out),
    ...            CallRecord("conv1", SeqSpec(()), out)),
    ...     param_uses=((0, "conv1"),))
    >>> tree = build_tree(trace)
    >>> tree.totals.total_params, tree.totals.unused_params, tree.totals.all_params
    (9, 9, 18)
    >>> [(n.path, n.calls, n.num_params) for n in tree.root.walk()]
    [('', 1, 0), ('conv1', 2, 9)]
    >>> tree.unused_modules
    ('conv2',)
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from ._memory import gradient_bytes, optimizer_state_bytes
from ._records import (
    CallRecord,
    MapSpec,
    ModuleInfo,
    ParamInfo,
    SeqSpec,
    TensorSpec,
    Trace,
    ValueSpec,
    direct_init,
)
from ._torchinfo import LayerInfoMethods


@direct_init
@dataclass(frozen=True, slots=True)
class SharedParam:
    """A parameter registered on a row but counted on another row.

    Example:
        >>> SharedParam("weight", "transformer.wte.weight", "transformer.wte").counted_at
        'transformer.wte'
    """

    name: str
    """Attribute name on this row's module."""
    param: str
    """Canonical dotted name of the tensor."""
    counted_at: str
    """Path of the row that carries the tensor's count."""


@direct_init
@dataclass(frozen=True, slots=True)
class SummaryNode(LayerInfoMethods):
    """One row of the summary: a module, with its counts and its children.

    ``num_params`` counts only the parameters this row carries; ``subtree_params``
    adds the rows below, each tensor once.

    Example:
        >>> leaf = SummaryNode(path="fc", type_name="Linear", depth=1, calls=1,
        ...                    num_params=6, subtree_params=6)
        >>> leaf.name
        'fc'
    """

    path: str
    """Dotted module path; ``""`` is the root."""
    type_name: str
    """Class name of the module."""
    depth: int
    """0 for the root, 1 for its children, and so on."""
    calls: int
    """How many times the module was called during the pass."""
    inputs: SeqSpec | None = None
    """Arguments of the first call (``None`` if never called)."""
    output: ValueSpec | None = None
    """Output of the first call (``None`` if never called)."""
    num_params: int = 0
    """Elements of the used parameters this row carries."""
    param_names: tuple[str, ...] = ()
    """Canonical dotted names of the parameters this row carries."""
    trainable_params: int = 0
    """The part of ``num_params`` with ``requires_grad``."""
    param_bytes: int = 0
    """Bytes of the parameters this row carries."""
    shared: tuple[SharedParam, ...] = ()
    """Parameters registered here but counted on another row."""
    used_by: tuple[str, ...] = ()
    """Paths of other modules whose operators used this module's parameters."""
    buffers: int = 0
    """Elements of the buffers registered directly on the module."""
    mult_adds: int = 0
    """Multiply-accumulates of all calls, without the children's."""
    kernel_size: tuple[int, ...] | None = None
    """Kernel shape of convolution-like modules."""
    traced: bool = True
    """False for modules that run no Python hooks (TorchScript)."""
    time_s: float | None = None
    """With the ``time`` column: seconds of all its calls in one pass, children included,
    median over the timed passes."""
    subtree_params: int = 0
    """Used parameters carried by this row and every row below it."""
    subtree_trainable: int = 0
    """The part of ``subtree_params`` with ``requires_grad``."""
    subtree_mult_adds: int = 0
    """``mult_adds`` of this row and every row below it."""
    children: tuple[SummaryNode, ...] = ()
    """Active child modules, in the order they first ran."""
    variants: tuple[tuple[SeqSpec, ValueSpec | None], ...] = ()
    """The distinct ``(inputs, output)`` of the calls, in the order first seen, when
    not every call looked like the first (a head shared across the levels of a
    feature pyramid); ``()`` when they all did, or there was one call."""
    groups: int | None = None
    """A convolution's ``groups`` (channel groups); ``None`` for other modules."""
    comm_bytes: int = 0
    """Bytes the collectives moved in all calls, without the children's."""
    subtree_comm_bytes: int = 0
    """``comm_bytes`` of this row and every row below it."""

    @property
    def mult_adds_per_call(self) -> int:
        """``mult_adds`` divided by the number of calls (0 if never called)."""
        return self.mult_adds // self.calls if self.calls else 0

    @property
    def name(self) -> str:
        """The last component of the path (the root's is ``""``)."""
        return self.path.rpartition(".")[2]

    # -- torchinfo's names (its LayerInfo), for code written against ``summary_list`` --
    # torchinfo has one LayerInfo per call; a row here covers every call of its module.

    @property
    def class_name(self) -> str:
        """torchinfo's name for :attr:`type_name`."""
        return self.type_name

    @property
    def var_name(self) -> str:
        """torchinfo's name for :attr:`name` (the root's is its class name, as there)."""
        return self.name or self.type_name

    @property
    def macs(self) -> int:
        """torchinfo's name for :attr:`mult_adds`."""
        return self.mult_adds

    @property
    def is_leaf_layer(self) -> bool:
        """No active child module."""
        return not self.children

    @property
    def input_size(self) -> list[Any]:
        """The first call's input shape as a list, torchinfo's form: ``[1, 3, 224, 224]``
        for one tensor, a list of such lists for several, ``[]`` for none.

        Example:
            >>> spec = SeqSpec((TensorSpec((2, 4), "float32", 32),))
            >>> SummaryNode("fc", "Linear", 1, 1, inputs=spec).input_size
            [2, 4]
        """
        return _shape_list(self.inputs)

    @property
    def output_size(self) -> list[Any]:
        """The first call's output shape in the form of :attr:`input_size`."""
        return _shape_list(self.output)

    def walk(self) -> Iterator[SummaryNode]:
        """This node and every node below it, depth first, in display order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


def _shape_list(spec: ValueSpec | None) -> list[Any]:
    """A value's tensor shapes as nested lists; a container of one value is that value's.

    Example:
        >>> from modelsummary._records import OtherSpec
        >>> t = TensorSpec((1, 3), "float32", 12)
        >>> _shape_list(SeqSpec((t, OtherSpec("NoneType"), t))), _shape_list(None)
        ([[1, 3], [1, 3]], [])
    """
    if isinstance(spec, TensorSpec):
        return list(spec.shape)
    if isinstance(spec, SeqSpec):
        values = list(spec.items)
    elif isinstance(spec, MapSpec):
        values = [v for _, v in spec.items]
    else:
        return []
    shapes = [shape for shape in map(_shape_list, values) if shape]
    return shapes[0] if len(shapes) == 1 else shapes


@direct_init
@dataclass(frozen=True, slots=True)
class UnusedEntry:
    """A module never called whose parameters were never used, or a lone unused parameter.

    Example:
        >>> UnusedEntry("conv2", "Conv2d", 9).params
        9
    """

    path: str
    """Dotted path of the module (or of the parameter)."""
    type_name: str
    """Class of the module, or ``"Parameter"``."""
    params: int
    """Elements of unused parameters counted under this entry."""


@dataclass(frozen=True, slots=True)
class Totals:
    """Model-wide counts and sizes.

    Example:
        >>> Totals(total_params=9, unused_params=9).all_params
        18
    """

    total_params: int = 0
    """Unique parameters the pass used."""
    trainable_params: int = 0
    """The part of ``total_params`` with ``requires_grad``."""
    unused_params: int = 0
    """Unique parameters the pass never used."""
    buffers: int = 0
    """Elements of the model's unique buffers."""
    param_bytes: int = 0
    """Bytes of all unique parameters, used or not (what the model holds)."""
    buffer_bytes: int = 0
    """Bytes of the model's unique buffers."""
    input_bytes: int = 0
    """Bytes of the input tensors."""
    activation_bytes: int = 0
    """Bytes of the distinct tensors the module calls returned."""
    mult_adds: int = 0
    """Multiply-accumulates of the whole pass."""
    optimizer: str | None = None
    """Optimizer of the training estimate; ``None`` when none was asked for."""
    grad_bytes: int = 0
    """Bytes of the gradients of the used trainable parameters (training estimate)."""
    optimizer_bytes: int = 0
    """Bytes of the optimizer's state for those parameters (training estimate)."""
    saved_bytes: int = 0
    """Bytes of the distinct tensors the pass made that autograd saved for backward
    (training estimate); inputs it saves are in ``input_bytes``."""
    peak_bytes: int | None = None
    """Peak bytes the CUDA allocator held during the pass; ``None`` off CUDA."""
    local_param_bytes: int | None = None
    """Bytes of the parameters this process holds on its device, where an engine shards,
    partitions or offloads them; ``None`` when it holds them all (``param_bytes``)."""
    placements: tuple[tuple[str, int], ...] = ()
    """``(placement, parameters)`` as the engines placed them, e.g.
    ``(("sharded over 2 ranks", 9610),)``; ``()`` for plain parameters."""
    comm_bytes: int = 0
    """Bytes the collectives of the pass moved."""
    rank: int | None = None
    """This process's rank under an initialised process group, else ``None``."""
    world_size: int | None = None
    """The number of ranks of that group, else ``None``."""

    @property
    def training_bytes(self) -> int:
        """Inputs, parameters, buffers, gradients, optimizer state and saved activations."""
        return (
            self.input_bytes
            + self.param_bytes
            + self.buffer_bytes
            + self.grad_bytes
            + self.optimizer_bytes
            + self.saved_bytes
        )

    @property
    def non_trainable_params(self) -> int:
        """Used parameters without ``requires_grad``."""
        return self.total_params - self.trainable_params

    @property
    def all_params(self) -> int:
        """Used and unused: the unique numel of ``model.parameters()``."""
        return self.total_params + self.unused_params

    @property
    def total_bytes(self) -> int:
        """Input, parameters, buffers and forward activations together."""
        return self.input_bytes + self.param_bytes + self.buffer_bytes + self.activation_bytes


@dataclass(frozen=True, slots=True)
class SummaryTree:
    """The root node, the unused section and the totals.

    Example:
        >>> SummaryTree(SummaryNode("", "Net", 0, 1)).unused
        ()
    """

    root: SummaryNode
    """The model itself."""
    unused: tuple[UnusedEntry, ...] = ()
    """Roots of inactive subtrees and unused parameters of active modules."""
    unused_modules: tuple[str, ...] = ()
    """Every module that was never called and none of whose parameters was used."""
    totals: Totals = Totals()
    """Model-wide numbers."""
    uncounted_ops: tuple[tuple[str, int], ...] = ()
    """``(operator, times run)`` of operators with no MAC formula: the MAC total may be partial."""
    forward_pass: bool = True
    """False for a summary made without an input: no shapes, mult-adds or unused section."""
    masked: tuple[tuple[str, int], ...] = ()
    """``(parameter name, elements its mask zeroes)`` of parameters pruned with
    ``torch.nn.utils.prune`` (see :mod:`modelsummary._pruning`); ``()`` when none is."""


def build_tree(trace: Trace) -> SummaryTree:
    """Apply the counting rules to a trace and build the summary tree.

    Args:
        trace: What one traced forward pass recorded.

    Returns:
        The tree of active modules, the unused section, and the totals.
    """
    index = _Index(trace)
    unused = index.unused_section()
    used_params = [index.params[k] for k in sorted(index.used) if k in index.params]
    optimizer = trace.optimizer
    totals = Totals(
        total_params=sum(index.params[k].numel for k in index.used),
        trainable_params=sum(
            index.params[k].numel for k in index.used if index.params[k].trainable
        ),
        unused_params=sum(e.params for e in unused),
        buffers=sum(b.numel for b in trace.buffers),
        param_bytes=sum(p.nbytes for p in trace.params),
        buffer_bytes=sum(b.nbytes for b in trace.buffers),
        input_bytes=trace.input_bytes,
        activation_bytes=trace.activation_bytes,
        mult_adds=sum(call.mult_adds for call in trace.calls),
        optimizer=optimizer,
        grad_bytes=gradient_bytes(used_params) if optimizer else 0,
        optimizer_bytes=optimizer_state_bytes(optimizer, used_params) if optimizer else 0,
        saved_bytes=(trace.saved_bytes or 0) if optimizer else 0,
        peak_bytes=trace.peak_bytes,
        local_param_bytes=_local_bytes(trace.params),
        placements=_placements(trace.params),
        comm_bytes=sum(call.comm_bytes for call in trace.calls),
        rank=None if trace.ranks is None else trace.ranks[0],
        world_size=None if trace.ranks is None else trace.ranks[1],
    )
    return SummaryTree(
        root=index.tree(trace.modules[0].path),
        unused=unused,
        unused_modules=tuple(m.path for m in trace.modules if m.path not in index.active),
        totals=totals,
        uncounted_ops=trace.uncounted_ops,
        forward_pass=trace.forward_pass,
    )


def _local_bytes(params: tuple[ParamInfo, ...]) -> int | None:
    """Bytes of the parameters this process holds, ``None`` when it holds them all.

    Example:
        >>> _local_bytes((ParamInfo(0, "w", 8, 32, True, "float32", 16, "sharded over 2 ranks"),
        ...               ParamInfo(1, "b", 2, 8, True, "float32")))
        24
    """
    if all(p.local_nbytes is None for p in params):
        return None
    return sum(p.nbytes if p.local_nbytes is None else p.local_nbytes for p in params)


def _placements(params: tuple[ParamInfo, ...]) -> tuple[tuple[str, int], ...]:
    """Parameters by placement, in first-seen order; ``()`` when none is placed.

    Example:
        >>> _placements((ParamInfo(0, "w", 8, 32, True, "float32", 0, "offloaded to disk"),
        ...              ParamInfo(1, "b", 2, 8, True, "float32")))
        (('offloaded to disk', 8), ('on this device', 2))
    """
    if all(not p.placement for p in params):
        return ()
    counts: dict[str, int] = {}
    for p in params:
        where = p.placement or "on this device"
        counts[where] = counts.get(where, 0) + p.numel
    return tuple(counts.items())


class _Index:
    """Look-up tables derived once from a trace; the tree is read off them."""

    def __init__(self, trace: Trace) -> None:
        # Few passes, plain loops and local names: this runs once per summary, over
        # every module (a generator or an attribute look-up per module shows).
        self.modules = trace.modules
        self.params = {p.key: p for p in trace.params}
        self.infos: dict[str, ModuleInfo] = {m.path: m for m in trace.modules}
        self.children: dict[str, list[str]] = {path: [] for path in self.infos}
        self.owners: dict[int, list[str]] = {}
        infos, children, owners = self.infos, self.children, self.owners
        canonical: dict[str, str] = {}  # alias path -> the module's own path
        for m in trace.modules:
            path = m.path
            for _, key in m.param_keys:
                if key in owners:
                    owners[key].append(path)
                else:
                    owners[key] = [path]
            if m.aliases:
                for alias in m.aliases:
                    canonical[alias] = path
            if m.parent is not None:
                children[m.parent].append(path)

        self.calls: dict[str, list[CallRecord]] = {}
        self.first_call: dict[str, int] = {}
        calls, first_call = self.calls, self.first_call
        for i, call in enumerate(trace.calls):
            if call.path in calls:
                calls[call.path].append(call)
            else:
                calls[call.path] = [call]
                first_call[call.path] = i

        self.times = dict(trace.times)
        # Without a pass nothing tells used from unused: every parameter is counted.
        self.used = used = (
            {key for key, _ in trace.param_uses} if trace.forward_pass else set(self.params)
        )
        self.carrier: dict[int, str] = {}
        self.users: dict[int, list[str]] = {}
        carrier, users = self.carrier, self.users
        for key, path in trace.param_uses:
            if key in users:
                users[key].append(path)
            else:
                users[key] = [path]
            if key not in carrier and path in owners.get(key, ()):
                carrier[key] = path
        for key in used:
            if key in owners and key not in carrier:
                carrier[key] = owners[key][0]

        # A module is active if it ran, one of its parameters was used, or a module
        # it holds is active, under its canonical path or an alias (a module shared
        # by a parent that never ran is still held by that parent).
        root = trace.modules[0].path
        held: dict[str, list[str]] = {path: [] for path in infos}
        holders: dict[str, list[str]] = {path: [] for path in infos}
        pending = [root]
        for m in trace.modules:
            path = m.path
            if (
                path in calls
                or not trace.forward_pass  # shown as registered
                or (not m.traced and self._script_ran(path))
            ):
                pending.append(path)
            else:
                for _, key in m.param_keys:
                    if key in used:
                        pending.append(path)
                        break
            if m.parent is None:
                continue
            if not m.aliases:  # the usual case: held by its parent alone
                holder = canonical.get(m.parent, m.parent)
                held[holder].append(path)
                holders[path].append(holder)
                continue
            for where in (path, *m.aliases):
                holder = where.rpartition(".")[0]
                holder = canonical.get(holder, holder)
                held[holder].append(path)
                holders[path].append(holder)
        self.active: set[str] = set()
        active = self.active
        while pending:
            path = pending.pop()
            if path not in active:
                active.add(path)
                pending.extend(holders[path])
        self.first_activity: dict[str, float] = {root: 0.0}
        first_activity = self.first_activity
        for m in reversed(trace.modules):  # what a module holds follows it in this order
            path = m.path
            if path in active and path != root:
                first: float = first_call.get(path, math.inf)
                for c in held[path]:
                    if c in first_activity and first_activity[c] < first:
                        first = first_activity[c]
                first_activity[path] = first
        self._root_of: dict[str, str | None] = {}  # memo of _inactive_root

    def _script_ran(self, path: str) -> bool:
        """Inside TorchScript no hooks run: a scripted module counts as run when
        the scripted module holding it ran (or counts as run)."""
        info = self.infos[path]
        if info.traced or info.parent is None or self.infos[info.parent].traced:
            return False
        return info.parent in self.calls or self._script_ran(info.parent)

    def tree(self, root: str) -> SummaryNode:
        """The node of ``root`` with every active module below it.

        Iterative: nesting depth is not limited by Python's recursion limit.
        """
        order: list[tuple[str, int, list[str]]] = []  # pre-order: reversed, children first
        pending = [(root, 0)]
        active, first_activity, all_children = self.active, self.first_activity, self.children
        while pending:
            path, depth = pending.pop()
            kids = all_children[path]
            if kids:
                kids = sorted([c for c in kids if c in active], key=first_activity.__getitem__)
                for c in reversed(kids):
                    pending.append((c, depth + 1))
            order.append((path, depth, kids))
        built: dict[str, SummaryNode] = {}
        pop = built.pop
        for path, depth, kids in reversed(order):
            built[path] = self.node(path, depth, tuple([pop(c) for c in kids]) if kids else ())
        return built[root]

    def node(self, path: str, depth: int, child_nodes: tuple[SummaryNode, ...]) -> SummaryNode:
        info = self.infos[path]
        calls = self.calls.get(path, ())
        own_macs = own_comm = 0
        for call in calls:
            own_macs += call.mult_adds
            own_comm += call.comm_bytes
        carried: list[ParamInfo] = []
        shared: list[SharedParam] = []
        for name, key in info.param_keys:
            carrier = self.carrier.get(key)
            if carrier == path:
                # One tensor may be registered twice on one module (``bn.bias = bn.weight``): once.
                for p in carried:
                    if p.key == key:
                        break
                else:
                    carried.append(self.params[key])
            elif carrier is not None:
                shared.append(SharedParam(name, self.params[key].name, carrier))
        num = trainable = nbytes = 0
        for p in carried:
            num += p.numel
            nbytes += p.nbytes
            if p.trainable:
                trainable += p.numel
        subtree_params, subtree_trainable, subtree_macs = num, trainable, own_macs
        subtree_comm = own_comm
        for child in child_nodes:
            subtree_params += child.subtree_params
            subtree_trainable += child.subtree_trainable
            subtree_macs += child.subtree_mult_adds
            subtree_comm += child.subtree_comm_bytes
        used_by: tuple[str, ...] = ()
        if carried and not calls:
            used_by = tuple(
                dict.fromkeys(u for p in carried for u in self.users.get(p.key, ()) if u != path)
            )
        first = calls[0] if calls else None
        variants: tuple[tuple[SeqSpec, ValueSpec | None], ...] = ()
        if len(calls) > 1:  # a dict, not a list: linear in calls however many shapes differ
            seen = dict.fromkeys((c.inputs, None if c.raised else c.output) for c in calls)
            if len(seen) > 1:
                variants = tuple(seen)
        # Positional, in field order: a keyword call of a 23-field frozen dataclass
        # costs twice as much, and this runs once per module.
        return SummaryNode(
            path,
            info.type_name,
            depth,
            len(calls),
            first.inputs if first is not None else None,  # inputs
            first.output if first is not None and not first.raised else None,  # output
            num,  # num_params
            tuple([p.name for p in carried]) if carried else (),  # param_names
            trainable,  # trainable_params
            nbytes,  # param_bytes
            tuple(shared) if shared else (),  # shared
            used_by,
            info.buffer_numel,  # buffers
            own_macs,  # mult_adds
            info.kernel_size,
            info.traced,
            self.times.get(path),  # time_s
            subtree_params,
            subtree_trainable,
            subtree_macs,  # subtree_mult_adds
            child_nodes,  # children
            variants,
            info.groups,
            own_comm,  # comm_bytes
            subtree_comm,  # subtree_comm_bytes
        )

    def unused_section(self) -> tuple[UnusedEntry, ...]:
        """Each unused tensor once: under the root of the inactive subtree holding its
        first owner, or as a lone parameter when that owner is active."""
        entries: dict[str, int] = {}
        types: dict[str, str] = {}
        roots = {
            m.path
            for m in self.modules
            if m.path not in self.active and m.parent is not None and m.parent in self.active
        }
        for m in self.modules:
            if m.path in roots:
                entries[m.path], types[m.path] = 0, m.type_name
        for key, p in self.params.items():
            if key in self.used:
                continue
            owner = self.owners[key][0] if key in self.owners else ""
            root = self._inactive_root(owner, roots)
            if root is None:
                entries[p.name], types[p.name] = p.numel, "Parameter"
            else:
                entries[root] += p.numel
        return tuple(UnusedEntry(path, types[path], n) for path, n in entries.items())

    def _inactive_root(self, path: str, roots: set[str]) -> str | None:
        node: str | None = path
        walked: list[str] = []
        found: str | None = None
        while node is not None and node in self.infos:
            if node in self._root_of:
                found = self._root_of[node]
                break
            walked.append(node)
            if node in roots:
                found = node
                break
            node = self.infos[node].parent
        for step in walked:  # remember the answer along the way: linear over all params
            self._root_of[step] = found
        return found
