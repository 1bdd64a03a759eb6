"""The summary tree's types: rows (`SummaryNode`), the unused section, the totals.

Plain frozen records that `modelsummary._tree.build.build_tree()` fills. Pure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from .._records import FailedCall, ParamInfo, SeqSpec, ValueSpec, direct_init
from .._torchinfo import LayerInfoMethods
from .receptive import FirstFields


@direct_init
@dataclass(frozen=True, slots=True)
class SharedParam:
    """A parameter registered on a row but counted on another row.

    Examples:
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

    It answers torchinfo's row names too (``class_name``, ``var_name``, ``macs``,
    ``is_leaf_layer``, ``input_size``, ``output_size``, ``num_params_to_str()``),
    all from `modelsummary._torchinfo.LayerInfoMethods`.

    ``num_params`` counts only the parameters this row carries; ``subtree_params``
    adds the rows below, each tensor once.

    Examples:
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
    params: tuple[ParamInfo, ...] = ()
    """The records of those parameters, in the same order: each one's logical elements,
    stored bytes and stored format (``dtype``: ``"float32"``, ``"int8"``, ``"nf4"``)."""
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
    failed: bool = False
    """The pass failed in a call of this module (its last call raised)."""
    training: bool | None = None
    """The module's ``training`` flag during its first call (``None``: never called)."""
    own_ops: int = 0
    """Torch functions its calls ran themselves, without the children's (see
    `CallRecord.ops`)."""
    fields: FirstFields | None = field(default=None, compare=False, repr=False)
    """Where `receptive_field` and `rf_stride` are read from: the receptive fields of the
    pass, resolved for every row at once when one is first read (all rows of a tree
    share it); ``None``: not known."""
    container: bool = False
    """One of torch.nn's containers (`ModuleInfo.container`)."""
    wrappers: tuple[tuple[str, str], ...] = ()
    """``(path, class)`` of the wrappers merged into this row for drawing, outermost
    first (see `modelsummary._tree.wrappers.merge_wrappers()`); ``()`` for others."""
    folded: tuple[str, ...] = ()
    """Paths of the identical siblings after this one that a folded row stands for (see
    `modelsummary._tree.repeats.fold_repeats()`); its counts are then the run's sums and
    its children the first sibling's. ``()`` for an ordinary row."""

    @property
    def copies(self) -> int:
        """How many siblings the row stands for: 1, or the length of a folded run."""
        return 1 + len(self.folded)

    @property
    def receptive_field(self) -> tuple[int, ...] | None:
        """Per spatial dimension, how many input positions reach one element of its first
        call's output (see `modelsummary._tree.receptive`); ``None`` where that is not
        defined (after a global pool, a linear layer or attention) or not known."""
        found = None if self.fields is None else self.fields.of(self.path)
        return None if found is None else found[0]

    @property
    def rf_stride(self) -> tuple[int, ...] | None:
        """The cumulative stride at its output: input positions between neighbouring output
        elements; ``None`` with `receptive_field`."""
        found = None if self.fields is None else self.fields.of(self.path)
        return None if found is None else found[1]

    @property
    def mult_adds_per_call(self) -> int:
        """``mult_adds`` divided by the number of calls (0 if never called)."""
        return self.mult_adds // self.calls if self.calls else 0

    @property
    def formats(self) -> tuple[str, ...]:
        """The stored formats of the parameters this row carries, each once, in order.

        Examples:
            >>> w = ParamInfo(0, "fc.weight", 8, 4, False, "int4", dense_nbytes=32)
            >>> b = ParamInfo(1, "fc.bias", 2, 8, True, "float32")
            >>> SummaryNode("fc", "Linear", 1, 1, params=(w, b)).formats
            ('int4', 'float32')
        """
        return tuple(dict.fromkeys(p.dtype for p in self.params))

    @property
    def name(self) -> str:
        """The last component of the path (the root's is ``""``)."""
        return self.path.rpartition(".")[2]

    def walk(self) -> Iterator[SummaryNode]:
        """This node and every node below it, depth first, in display order."""
        stack = [self]
        while stack:
            node = stack.pop()
            yield node
            stack.extend(reversed(node.children))


@direct_init
@dataclass(frozen=True, slots=True)
class UnusedEntry:
    """A module never called whose parameters were never used, or a lone unused parameter.

    Examples:
        >>> UnusedEntry("conv2", "Conv2d", 9).params
        9
    """

    path: str
    """Dotted path of the module (or of the parameter)."""
    type_name: str
    """Class of the module, or ``"Parameter"``."""
    params: int
    """Elements of unused parameters counted under this entry."""
    container: bool = False
    """One of torch.nn's containers (`ModuleInfo.container`): never called itself, or
    only to call what it holds, so not worth a mention when it holds nothing."""


@dataclass(frozen=True, slots=True)
class Totals:
    """Model-wide counts and sizes.

    Examples:
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
    weights_as: str | None = None
    """The storage format the sizes assume for the weights (``summary(weights_as=...)``);
    ``None``: the weights as they are."""
    not_in_optimizer: tuple[str, ...] | None = None
    """Trainable parameters in none of the optimizer's param groups: they get gradients
    but are never updated. ``None`` unless an optimizer object was given."""
    frozen_in_optimizer: tuple[str, ...] | None = None
    """Frozen parameters still in one of its param groups. ``None`` unless an optimizer
    object was given."""
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
    quantized_params: int = 0
    """Elements of the parameters stored in a quantized format (``int8``, ``nf4``, ...),
    used or not; 0 when none is."""

    @property
    def bits_per_param(self) -> float:
        """Stored bits per parameter element, over all parameters, used or not.

        Examples:
            >>> Totals(total_params=9610, param_bytes=10714).bits_per_param
            8.919...
        """
        return 8 * self.param_bytes / self.all_params if self.all_params else 0.0

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

    Examples:
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
    ``torch.nn.utils.prune`` (see `modelsummary._tree.pruning`); ``()`` when none is."""
    uninitialised: tuple[str, ...] = ()
    """Names of the lazy modules' parameters and buffers not initialised yet (in a
    summary without a pass): listed, counted as 0, sizes unknown."""
    failure: FailedCall | None = None
    """The call the pass failed in, for the tree of a pass that raised: its rows are
    the modules that ran until then, ``unused`` the parameters not reached, and the
    totals cover that much (see `partial`)."""

    @property
    def partial(self) -> bool:
        """The pass failed: the tree and its totals stop at the failure.

        Examples:
            >>> from modelsummary._records import FailedCall, SeqSpec
            >>> SummaryTree(SummaryNode("", "Net", 0, 1)).partial
            False
            >>> SummaryTree(SummaryNode("", "Net", 0, 1),
            ...             failure=FailedCall("", "Net", SeqSpec(()))).partial
            True
        """
        return self.failure is not None
