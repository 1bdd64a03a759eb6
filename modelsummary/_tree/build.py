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

Each rule is one pure step, a function of plain records with its own example:
`param_owners()` (who registers each tensor), `used_params()`,
`carriers()` (which row counts a tied tensor), `module_holders()` and
`active_modules()`, `display_order()` (children in the order they first
ran) and `unused_entries()`. `build_tree()` composes them; the training
estimate is computed beside them, in `modelsummary._tree.memory`.

Examples:
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
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import replace

from .._records import (
    CallRecord,
    ModuleInfo,
    ParamInfo,
    PassInfo,
    SeqSpec,
    Trace,
    ValueSpec,
    positional,
)
from .memory import TrainingEstimate, estimate_training
from .nodes import SharedParam, SummaryNode, SummaryTree, Totals, UnusedEntry
from .receptive import FirstFields
from .weights_as import weights_as

_A_PASS = PassInfo()
"""What `build_tree()` assumes when told nothing: a pass ran, nothing else is known."""


def build_tree(trace: Trace, run: PassInfo = _A_PASS) -> SummaryTree:
    """Apply the counting rules to a trace and build the summary tree.

    The rules are the steps below, each a pure function of the records:
    `param_owners()`, `used_params()`, `carriers()`,
    `module_holders()`, `active_modules()`, `display_order()` and
    `unused_entries()`; beside them, the training estimate of
    `estimate_training()` for the parameters used.

    Args:
        trace: What the tracer observed during the pass.
        run: Facts about the pass beside the trace: whether it ran, the input's
            bytes, the optimizer of the training estimate, the CUDA peak, times.
            By default: a pass ran, and nothing else is known of it.

    Returns:
        The tree of active modules, the unused section, and the totals.

    Examples:
        >>> from modelsummary._records import ModuleInfo, ParamInfo
        >>> trace = Trace(modules=(ModuleInfo("", "Net", None, (("w", 0),)),),
        ...               params=(ParamInfo(0, "w", 4, 16, True, "float32"),),
        ...               buffers=(), calls=(), param_uses=())
        >>> tree = build_tree(trace, PassInfo(forward_pass=False))
        >>> tree.totals.total_params, tree.forward_pass
        (4, False)
    """
    if run.weights_as is not None:  # sized as if stored in another format
        trace = replace(trace, params=weights_as(trace.params, run.weights_as))
    modules = trace.modules
    calls = calls_by_module(trace.calls)
    owners = param_owners(modules)
    used = used_params(trace, run.forward_pass)
    failed = trace.failed
    if failed is not None:  # the failing call ran with its module's parameters: counted
        used |= failed_params(modules, failed.path)
    holders = module_holders(modules)
    active = active_modules(modules, calls, used, holders, run.forward_pass)
    params = {p.key: p for p in trace.params}
    rows = _Rows(trace, params, calls, carriers(owners, trace.param_uses, used), run.times)
    rows.fields = FirstFields(trace.modules, trace.calls, trace.params)
    rows.failed = None if failed is None else failed.path
    root = rows.tree(modules[0], display_order(modules, active, calls, holders))
    unused = unused_entries(modules, trace.params, used, active, owners)
    training = (
        None
        if run.optimizer is None
        else estimate_training(
            run.optimizer,
            [p for p in trace.params if p.key in used],
            trace.saved_bytes or 0,
            run.optimizer_state,
            trace.params,
        )
    )
    return SummaryTree(
        root=root,
        unused=unused,
        unused_modules=tuple(m.path for m in modules if m.path not in active),
        totals=_totals(trace, run, used, unused, training),
        uncounted_ops=trace.uncounted_ops,
        forward_pass=run.forward_pass,
        masked=trace.masked,
        failure=failed,
        uninitialised=() if run.forward_pass else _uninitialised(trace),
    )


def _uninitialised(trace: Trace) -> tuple[str, ...]:
    """Names of the parameters and buffers a lazy module has not initialised yet.

    Examples:
        >>> from modelsummary._records import BufferInfo
        >>> trace = Trace(modules=(), calls=(), param_uses=(),
        ...               params=(ParamInfo(0, "fc.weight", 0, 0, True, "float32",
        ...                                 uninitialised=True),),
        ...               buffers=(BufferInfo("bn.running_mean", 0, 0, True),))
        >>> _uninitialised(trace)
        ('fc.weight', 'bn.running_mean')
    """
    names = [p.name for p in trace.params if p.uninitialised]
    return tuple(names + [b.name for b in trace.buffers if b.uninitialised])


def _totals(
    trace: Trace,
    run: PassInfo,
    used: Container[int],
    unused: Iterable[UnusedEntry],
    training: TrainingEstimate | None,
) -> Totals:
    """The model-wide numbers (``used``: the keys of the parameters the pass used); one
    loop, not ``sum()`` of generators, over every parameter."""
    total = trainable = param_bytes = quantized = 0
    placed = False  # an engine's placement on any parameter (the usual case: none)
    for p in trace.params:
        if p.key in used:
            total += p.numel
            if p.trainable:
                trainable += p.numel
        param_bytes += p.nbytes
        if p.local_nbytes is not None or p.placement:
            placed = True
        if p.dense_nbytes is not None:
            quantized += p.numel
    mult_adds = comm_bytes = 0
    for call in trace.calls:
        mult_adds += call.mult_adds
        comm_bytes += call.comm_bytes
    return Totals(
        total_params=total,
        trainable_params=trainable,
        unused_params=sum(e.params for e in unused),
        buffers=sum(b.numel for b in trace.buffers),
        param_bytes=param_bytes,
        buffer_bytes=sum(b.nbytes for b in trace.buffers),
        input_bytes=run.input_bytes,
        activation_bytes=trace.activation_bytes,
        mult_adds=mult_adds,
        optimizer=None if training is None else training.optimizer,
        grad_bytes=0 if training is None else training.grad_bytes,
        optimizer_bytes=0 if training is None else training.optimizer_bytes,
        weights_as=None if run.weights_as is None else run.weights_as.format,
        not_in_optimizer=None if training is None else training.not_in_optimizer,
        frozen_in_optimizer=None if training is None else training.frozen_in_optimizer,
        saved_bytes=0 if training is None else training.saved_bytes,
        peak_bytes=run.peak_bytes,
        local_param_bytes=_local_bytes(trace.params) if placed else None,
        placements=_placements(trace.params) if placed else (),
        comm_bytes=comm_bytes,
        rank=None if run.ranks is None else run.ranks[0],
        world_size=None if run.ranks is None else run.ranks[1],
        quantized_params=quantized,
    )


def _local_bytes(params: tuple[ParamInfo, ...]) -> int | None:
    """Bytes of the parameters this process holds, ``None`` when it holds them all.

    Examples:
        >>> _local_bytes((ParamInfo(0, "w", 8, 32, True, "float32", 16, "sharded over 2 ranks"),
        ...               ParamInfo(1, "b", 2, 8, True, "float32")))
        24
    """
    if all(p.local_nbytes is None for p in params):
        return None
    return sum(p.nbytes if p.local_nbytes is None else p.local_nbytes for p in params)


def _placements(params: tuple[ParamInfo, ...]) -> tuple[tuple[str, int], ...]:
    """Parameters by placement, in first-seen order; ``()`` when none is placed.

    Examples:
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


# -- the counting rules, one step each ----------------------------------------------------
# Few passes, plain loops and local names: these run once per summary over every module
# and call, where a generator or an attribute look-up per module shows.


def calls_by_module(calls: Iterable[CallRecord]) -> dict[str, list[CallRecord]]:
    """Each called module's calls, in order; the keys in the order of each module's first call.

    Examples:
        >>> from modelsummary._records import OtherSpec
        >>> def call(path):
        ...     return CallRecord(path, SeqSpec(()), OtherSpec("Tensor"))
        >>> calls = calls_by_module([call(""), call("b"), call("a"), call("b")])
        >>> [(path, len(c)) for path, c in calls.items()]
        [('', 1), ('b', 2), ('a', 1)]
    """
    by_module: dict[str, list[CallRecord]] = {}
    for call in calls:
        if call.path in by_module:
            by_module[call.path].append(call)
        else:
            by_module[call.path] = [call]
    return by_module


def param_owners(modules: Iterable[ModuleInfo]) -> dict[int, list[str]]:
    """Owners: which modules register each parameter, in ``named_modules()`` order.

    Examples:
        >>> modules = [ModuleInfo("", "LM", None),
        ...            ModuleInfo("embed", "Embedding", "", (("weight", 0),)),
        ...            ModuleInfo("head", "Linear", "", (("weight", 0), ("bias", 1)))]
        >>> param_owners(modules)
        {0: ['embed', 'head'], 1: ['head']}
    """
    owners: dict[int, list[str]] = {}
    for m in modules:
        for _, key in m.param_keys:
            if key in owners:
                owners[key].append(m.path)
            else:
                owners[key] = [m.path]
    return owners


def used_params(trace: Trace, forward_pass: bool = True) -> set[int]:
    """The keys of the parameters the pass used: those an operator saw.

    Without a pass nothing tells used from unused, and every parameter counts.

    Examples:
        >>> trace = Trace(modules=(), buffers=(), calls=(),
        ...               params=(ParamInfo(0, "a", 1, 4, True, "float32"),
        ...                       ParamInfo(1, "b", 1, 4, True, "float32")),
        ...               param_uses=((1, "fc"), (1, "")))
        >>> used_params(trace), used_params(trace, forward_pass=False)
        ({1}, {0, 1})
    """
    if not forward_pass:
        return {p.key for p in trace.params}
    return {key for key, _ in trace.param_uses}


def failed_params(modules: Iterable[ModuleInfo], path: str) -> set[int]:
    """The keys of the parameters registered on the module at ``path``: a pass that
    failed in its call ran it with them, though no operator of it may have completed.

    Examples:
        >>> modules = [ModuleInfo("", "Net", None),
        ...            ModuleInfo("fc", "Linear", "", (("weight", 0), ("bias", 1)))]
        >>> failed_params(modules, "fc"), failed_params(modules, "")
        ({0, 1}, set())
    """
    for m in modules:
        if m.path == path:
            return {key for _, key in m.param_keys}
    return set()


def carriers(
    owners: Mapping[int, Sequence[str]],
    param_uses: Iterable[tuple[int, str]],
    used: Iterable[int],
) -> dict[int, str]:
    """Carriers: the one row that counts each used tensor.

    The first module that registers it and used it in a call, else the first module
    that registers it (a weight a parent passes to an operator itself).

    Examples:
        >>> owners = {0: ["head", "embed"], 1: ["proj"]}
        >>> uses = [(0, "embed"), (0, "head"), (1, "")]
        >>> carriers(owners, uses, used={0, 1})
        {0: 'embed', 1: 'proj'}
    """
    carrier: dict[int, str] = {}
    for key, path in param_uses:
        if key not in carrier and path in owners.get(key, ()):
            carrier[key] = path
    for key in used:
        if key in owners and key not in carrier:
            carrier[key] = owners[key][0]
    return carrier


def module_holders(modules: Iterable[ModuleInfo]) -> dict[str, list[str]]:
    """The modules that hold each module: its parent and, for a module registered at
    several paths, the parent of each other path, all by their own (first) paths.

    Examples:
        >>> modules = [ModuleInfo("", "Net", None),
        ...            ModuleInfo("a", "Block", ""),
        ...            ModuleInfo("a.shared", "Linear", "a", aliases=("b.shared",)),
        ...            ModuleInfo("b", "Block", "")]
        >>> module_holders(modules)
        {'': [], 'a': [''], 'a.shared': ['a', 'b'], 'b': ['']}
    """
    canonical: dict[str, str] = {}  # alias path -> the module's own path
    for m in modules:
        for alias in m.aliases:
            canonical[alias] = m.path
    holders: dict[str, list[str]] = {}
    for m in modules:
        if m.parent is None:
            holders[m.path] = []
        elif not m.aliases:  # the usual case: held by its parent alone
            holders[m.path] = [canonical.get(m.parent, m.parent)]
        else:
            where = [p.rpartition(".")[0] for p in (m.path, *m.aliases)]
            holders[m.path] = [canonical.get(p, p) for p in where]
    return holders


def active_modules(
    modules: Sequence[ModuleInfo],
    called: Container[str],
    used: Container[int],
    holders: Mapping[str, Sequence[str]],
    forward_pass: bool = True,
) -> set[str]:
    """Active modules: the root, those that ran or whose parameters were used, and
    every module that holds an active one (under its own path or an alias: a module
    shared by a parent that never ran is still held by that parent).

    A TorchScript module runs no hooks: one inside a scripted module that ran counts
    as run. Without a pass every module is shown, as registered.

    Examples:
        >>> modules = [ModuleInfo("", "Net", None),
        ...            ModuleInfo("block", "Block", ""),
        ...            ModuleInfo("block.proj", "Linear", "block", (("weight", 0),)),
        ...            ModuleInfo("spare", "Linear", "", (("weight", 1),))]
        >>> sorted(active_modules(modules, {""}, {0}, module_holders(modules)))
        ['', 'block', 'block.proj']
    """
    if not forward_pass:
        return {m.path for m in modules}
    pending = [modules[0].path]
    infos: dict[str, ModuleInfo] | None = None
    for m in modules:
        path = m.path
        if path in called:
            pending.append(path)
        elif not m.traced:
            infos = infos or {info.path: info for info in modules}
            if _script_ran(path, infos, called):
                pending.append(path)
        else:
            for _, key in m.param_keys:
                if key in used:
                    pending.append(path)
                    break
    active: set[str] = set()
    while pending:
        path = pending.pop()
        if path not in active:
            active.add(path)
            pending.extend(holders[path])
    return active


def _script_ran(path: str, infos: Mapping[str, ModuleInfo], called: Container[str]) -> bool:
    """Inside TorchScript no hooks run: a scripted module counts as run when the
    scripted module holding it ran (or counts as run)."""
    info = infos[path]
    if info.traced or info.parent is None or infos[info.parent].traced:
        return False
    return info.parent in called or _script_ran(info.parent, infos, called)


def display_order(
    modules: Sequence[ModuleInfo],
    active: Container[str],
    first_calls: Iterable[str],
    holders: Mapping[str, Sequence[str]],
) -> dict[str, tuple[str, ...]]:
    """Display order: each active module's active children, in the order they first ran.

    A child that never ran itself (its parameter used by another module, or a
    container whose children ran) takes its place from the first activity of
    anything it holds; one with none goes last, in ``named_modules()`` order.

    Args:
        modules: Every module, in ``named_modules()`` order.
        active: The paths `active_modules()` gives.
        first_calls: Module paths in the order of each one's first call.
        holders: What `module_holders()` gives.

    Examples:
        >>> modules = [ModuleInfo("", "Net", None),
        ...            ModuleInfo("head", "Linear", ""),
        ...            ModuleInfo("body", "Sequential", ""),
        ...            ModuleInfo("body.0", "Linear", "body")]
        >>> order = display_order(modules, {"", "head", "body", "body.0"},
        ...                       ["", "body.0", "head"], module_holders(modules))
        >>> order[""], order["body"]
        (('body', 'head'), ('body.0',))
    """
    rank = {path: i for i, path in enumerate(first_calls)}
    root = modules[0].path
    first_activity: dict[str, float] = {root: 0.0}
    from_held: dict[str, float] = {}  # the earliest activity of what each module holds
    children: dict[str, list[str]] = {}  # in reverse, reversed back below
    for m in reversed(modules):  # what a module holds follows it in this order
        path = m.path
        if path not in active or m.parent is None:
            continue
        first: float = rank.get(path, math.inf)
        if path in from_held and from_held[path] < first:
            first = from_held[path]
        first_activity[path] = first
        for holder in holders[path]:
            if holder not in first_activity and from_held.get(holder, math.inf) > first:
                from_held[holder] = first
        if m.parent in children:
            children[m.parent].append(path)
        else:
            children[m.parent] = [path]
    order: dict[str, tuple[str, ...]] = {}
    for path, kids in children.items():
        kids.reverse()
        order[path] = tuple(sorted(kids, key=first_activity.__getitem__))
    return order


def unused_entries(
    modules: Sequence[ModuleInfo],
    params: Iterable[ParamInfo],
    used: Container[int],
    active: Container[str],
    owners: Mapping[int, Sequence[str]],
) -> tuple[UnusedEntry, ...]:
    """The unused entries: each root of an inactive subtree (an inactive module whose
    parent is active), with the unused parameters below it, and each unused parameter
    of an active module alone; every unused tensor once, under its first owner.

    Examples:
        >>> modules = [ModuleInfo("", "Net", None),
        ...            ModuleInfo("fc", "Linear", "", (("weight", 0), ("bias", 1))),
        ...            ModuleInfo("spare", "Sequential", ""),
        ...            ModuleInfo("spare.0", "Linear", "spare", (("weight", 2),))]
        >>> params = [ParamInfo(0, "fc.weight", 6, 24, True, "float32"),
        ...           ParamInfo(1, "fc.bias", 2, 8, True, "float32"),
        ...           ParamInfo(2, "spare.0.weight", 4, 16, True, "float32")]
        >>> entries = unused_entries(modules, params, used={0}, active={"", "fc"},
        ...                          owners=param_owners(modules))
        >>> [(e.path, e.type_name, e.params) for e in entries]
        [('spare', 'Sequential', 4), ('fc.bias', 'Parameter', 2)]
    """
    entries: dict[str, int] = {}
    types: dict[str, str] = {}
    for m in modules:
        if m.path not in active and m.parent is not None and m.parent in active:
            entries[m.path], types[m.path] = 0, m.type_name
    roots = set(entries)
    parents: dict[str, str | None] | None = None
    root_of: dict[str, str | None] = {}  # memo: module -> root of the inactive subtree
    for p in params:
        if p.key in used:
            continue
        if parents is None:
            parents = {m.path: m.parent for m in modules}
        owner = owners[p.key][0] if p.key in owners else ""
        root = _inactive_root(owner, parents, roots, root_of)
        if root is None:
            entries[p.name], types[p.name] = p.numel, "Parameter"
        else:
            entries[root] += p.numel
    containers = {m.path for m in modules if m.container}
    return tuple(
        [UnusedEntry(path, types[path], n, path in containers) for path, n in entries.items()]
    )


def _inactive_root(
    path: str,
    parents: Mapping[str, str | None],
    roots: Container[str],
    root_of: dict[str, str | None],
) -> str | None:
    """The root of the inactive subtree holding ``path``, ``None`` if it is active;
    ``root_of`` remembers the answer along the way, linear over all parameters."""
    node: str | None = path
    walked: list[str] = []
    found: str | None = None
    while node is not None and node in parents:
        if node in root_of:
            found = root_of[node]
            break
        walked.append(node)
        if node in roots:
            found = node
            break
        node = parents[node]
    for step in walked:
        root_of[step] = found
    return found


# -- the rows ------------------------------------------------------------------------------


_new_row = positional(SummaryNode)
"""`SummaryNode` from every field by position: the row builder's, once per row."""


class _Rows:
    """Builds the rows of the active modules from what the counting steps give."""

    def __init__(
        self,
        trace: Trace,
        params: Mapping[int, ParamInfo],
        calls: Mapping[str, Sequence[CallRecord]],
        carrier: Mapping[int, str],
        times: Iterable[tuple[str, float]],
    ) -> None:
        self.infos = {m.path: m for m in trace.modules}
        self.params = params
        self.calls = calls
        self.carrier = carrier
        self.times = dict(times)
        self.param_uses = trace.param_uses
        self._users: dict[int, list[str]] | None = None
        self.failed: str | None = None
        """Path of the module whose call the pass failed in."""
        self.fields: FirstFields | None = None
        """The receptive fields of the pass, which every row shares."""

    def tree(self, root: ModuleInfo, children: Mapping[str, tuple[str, ...]]) -> SummaryNode:
        """The node of ``root`` with every active module below it, in display order.

        Iterative: nesting depth is not limited by Python's recursion limit.
        """
        order: list[tuple[str, int, tuple[str, ...]]] = []  # pre-order, built in reverse
        pending = [(root.path, 0)]
        no_children: tuple[str, ...] = ()
        while pending:
            path, depth = pending.pop()
            kids = children.get(path, no_children)
            for c in reversed(kids):
                pending.append((c, depth + 1))
            order.append((path, depth, kids))
        built: dict[str, SummaryNode] = {}
        pop, infos, node = built.pop, self.infos, self.node
        for path, depth, kids in reversed(order):
            built[path] = node(infos[path], depth, tuple([pop(c) for c in kids]) if kids else ())
        return built[root.path]

    def node(self, info: ModuleInfo, depth: int, children: tuple[SummaryNode, ...]) -> SummaryNode:
        """The row of one module, its children's rows given."""
        path = info.path
        records = self.calls.get(path, ())
        mult_adds = comm_bytes = own_ops = 0
        for record in records:
            mult_adds += record.mult_adds
            comm_bytes += record.comm_bytes
            own_ops += record.ops
        num_params = trainable_params = param_bytes = 0
        carried: list[ParamInfo] = []
        names: list[str] = []
        shared: tuple[SharedParam, ...] = ()
        if info.param_keys:
            carried, shared = self.row_params(info)
            for p in carried:
                names.append(p.name)
                num_params += p.numel
                param_bytes += p.nbytes
                if p.trainable:
                    trainable_params += p.numel
        subtree_params, subtree_trainable = num_params, trainable_params
        subtree_mult_adds, subtree_comm_bytes = mult_adds, comm_bytes
        for child in children:
            subtree_params += child.subtree_params
            subtree_trainable += child.subtree_trainable
            subtree_mult_adds += child.subtree_mult_adds
            subtree_comm_bytes += child.subtree_comm_bytes
        first = records[0] if records else None
        # Every field by position, in order, each named in its comment: a keyword call
        # of 33 fields costs about four times the instructions (tests/test_tree.py
        # checks the order).
        return _new_row(
            path,  # path
            info.type_name,  # type_name
            depth,  # depth
            len(records),  # calls
            None if first is None else first.inputs,  # inputs
            None if first is None or first.raised else first.output,  # output
            num_params,  # num_params
            tuple(names) if names else (),  # param_names
            tuple(carried),  # params
            trainable_params,  # trainable_params
            param_bytes,  # param_bytes
            shared,  # shared
            self.used_by(path, carried) if carried and not records else (),  # used_by
            info.buffer_numel,  # buffers
            mult_adds,  # mult_adds
            info.kernel_size,  # kernel_size
            info.traced,  # traced
            self.times.get(path) if self.times else None,  # time_s
            subtree_params,  # subtree_params
            subtree_trainable,  # subtree_trainable
            subtree_mult_adds,  # subtree_mult_adds
            children,  # children
            _variants(records) if len(records) > 1 else (),  # variants
            info.groups,  # groups
            comm_bytes,  # comm_bytes
            subtree_comm_bytes,  # subtree_comm_bytes
            path == self.failed,  # failed
            None if first is None else first.training,  # training
            own_ops,  # own_ops
            self.fields,  # fields
            info.container,  # container
            (),  # wrappers: merged for drawing only (_tree.wrappers)
            (),  # folded: folding is a way of drawing the tree (_tree.repeats), not a count
        )

    def row_params(self, info: ModuleInfo) -> tuple[list[ParamInfo], tuple[SharedParam, ...]]:
        """The parameters a row carries, and those registered on it that another row carries."""
        path, carrier, params = info.path, self.carrier, self.params
        carried: list[ParamInfo] = []
        shared: list[SharedParam] = []
        for name, key in info.param_keys:
            at = carrier.get(key)
            if at == path:
                # One tensor may be registered twice on one module (``bn.bias = bn.weight``): once.
                p = params[key]
                for q in carried:
                    if q is p:
                        break
                else:
                    carried.append(p)
            elif at is not None:
                shared.append(SharedParam(name, params[key].name, at))
        return carried, tuple(shared) if shared else ()

    def used_by(self, path: str, carried: Iterable[ParamInfo]) -> tuple[str, ...]:
        """Other modules whose operators used the parameters ``path`` carries."""
        if self._users is None:
            self._users = {}
            for key, user in self.param_uses:
                if key in self._users:
                    self._users[key].append(user)
                else:
                    self._users[key] = [user]
        users = self._users
        return tuple(dict.fromkeys(u for p in carried for u in users.get(p.key, ()) if u != path))


def _variants(calls: Sequence[CallRecord]) -> tuple[tuple[SeqSpec, ValueSpec | None], ...]:
    """The distinct ``(inputs, output)`` of several calls, when not all alike; else ``()``.

    A dict, not a list: linear in calls however many shapes differ.
    """
    seen = dict.fromkeys((c.inputs, None if c.raised else c.output) for c in calls)
    return tuple(seen) if len(seen) > 1 else ()
