"""The operator catalogue: what the summary knows about each operator, keyed by the operator.

The tracer sees a call at up to three levels: a whole module call (a standard
``torch.nn`` leaf such as ``nn.Conv2d``), a torch-level call (``F.conv2d``,
``Tensor.add``: what a ``TorchFunctionMode`` sees) and the aten operators below
autograd (``aten.convolution``: what a ``TorchDispatchMode`` sees, fused kernels
included; composite calls such as ``torch.einsum`` have decomposed into
``mm``/``bmm`` there, so each multiply is seen, and counted, once). The
catalogue answers at each level, and the facts about one operator are written
together, once, below. Each operator is one of:

* **counted**: matrix products, convolutions, attention, recurrent layers,
  triangular solves, Fourier transforms, with a formula
  (`modelsummary._trace.formulas`).
* **free**: known to do no multiply-accumulates: views, copies, creation,
  indexing, elementwise maths, normalisation, softmax, pooling, reductions,
  losses, assertions, profiler markers. Their work is real but it is not MACs.
* **communication**: collectives (``c10d``, functional collectives, waits); no
  MACs, and `Catalogue.communication()` gives the bytes each call moves.
* **uncounted**: anything else. The summary lists these by name and count, so a
  total that may be partial says so.

Entries are keyed by the operator objects themselves (``torch.ops.aten.addmm``,
``torch.nn.functional.linear``, ``nn.Conv2d``), resolved when this module is
imported. An operator registered twice fails the import; a name the installed torch
does not define is set aside in `MISSING` (an older torch release may lack a
real operator, and must still import the library), which the test suite asserts
is empty on the torch it runs on, so a misspelt name fails there. Operators of optional
libraries are written as ``"namespace::name"`` (``"torchvision::deform_conv2d"``)
and resolve lazily: at once if the library is loaded, else the first time an
operator of that name runs.

Users extend it through `register_formula()` (process-wide) and
``summary(..., formulas={...})`` (one call), which build a `Catalogue`
with their entries on top of the built-in ones.

Examples:
    >>> aten = torch.ops.aten
    >>> catalogue = current_catalogue()
    >>> catalogue.classify(aten.addmm.default) is flops.addmm_op
    True
    >>> catalogue.classify(aten.relu_.default), catalogue.classify(aten._fft_r2c.default)
    (True, <function fft_r2c_op at ...>)
    >>> catalogue.classify(torch.ops.c10d.allreduce_.default)  # communication: no MACs
    True
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch import nn
from torch._ops import OpOverload, OpOverloadPacket
from torch.nn import functional as F

from . import formulas as flops
from .formulas import Formula, LeafFormula

DISPATCH = None
"""What `Catalogue.classify_function()` returns for a call to count at the aten level."""


@dataclasses.dataclass(frozen=True, slots=True)
class Communication:
    """The catalogue entry of a collective: no MACs; ``nbytes`` gives the bytes a call moves.

    Examples:
        >>> entry = Communication(flops.collective_bytes)
        >>> entry.nbytes((torch.zeros(4),), {}, None)
        16
    """

    nbytes: Formula
    """``(args, kwargs, output) -> bytes`` of one call."""


Entry = Formula | bool | Communication
"""An operator's entry: its formula, ``True`` for free, or a `Communication`."""


def op_name(func: Any) -> str:
    """The operator's packet name, such as ``"aten.addmm"``.

    Examples:
        >>> op_name(torch.ops.aten.addmm.default)
        'aten.addmm'
    """
    packet = getattr(func, "_overloadpacket", func)
    return str(getattr(packet, "_qualified_op_name", packet)).replace("::", ".")


# Not ``nondeterministic_seeded``: the attention kernels carry it (for their dropout).
_FREE_TAGS = (torch.Tag.pointwise, torch.Tag.view_copy)


class Catalogue:
    """Operators and their entries at the three levels; immutable once built.

    Build one with `current_catalogue()` (the built-in entries and the
    process-wide registrations) or `with_formulas()` (those and a call's own).
    A formula of your own for an aten operator turns off the built-in torch-level
    and whole-module shortcuts (every call is then counted at the aten level, where
    your formula sees it); one for a torch function turns off the built-in
    whole-module ones. Same numbers, only slower.

    Examples:
        >>> from torch import nn
        >>> catalogue = current_catalogue()
        >>> catalogue.leaf_formula(nn.Linear) is not None
        True
        >>> custom = catalogue.with_formulas({torch.ops.aten.addmm: lambda a, k, o: 1})
        >>> custom.leaf_formula(nn.Linear) is None, custom.classify_function(F.linear) is DISPATCH
        (True, True)
    """

    __slots__ = ("_aten", "_functions", "_lazy", "_leaves", "_own")

    def __init__(
        self,
        aten: dict[Any, Entry],
        functions: dict[Any, Formula | bool],
        leaves: dict[type, LeafFormula],
        lazy: dict[str, Entry],
        own: Mapping[Any, Any],
    ) -> None:
        self._aten = aten
        self._functions = functions
        self._leaves = leaves
        self._lazy = lazy
        self._own = own
        """The registrations on top of the built-in entries, ``{key: formula}``."""

    # -- the three questions the tracer asks -------------------------------------------
    def classify(self, func: Any) -> Formula | bool:
        """Sort an aten operator into counted, free (or communication) and uncounted.

        Args:
            func: An ``OpOverload`` such as ``torch.ops.aten.addmm.default``.

        Returns:
            Its MAC formula if it has one; ``True`` if it does no
            multiply-accumulates (collectives included); ``False`` if it is
            unknown (to report as uncounted).

        Examples:
            >>> aten = torch.ops.aten
            >>> c = current_catalogue()
            >>> c.classify(aten.nll_loss_forward.default), c.classify(aten._foobar.default)
            (True, False)
        """
        entry = self._entry(func)
        if entry is not None:
            return True if type(entry) is Communication else entry  # type: ignore[return-value]
        if getattr(func, "is_view", False):
            return True
        tags = getattr(func, "tags", ())
        return any(tag in tags for tag in _FREE_TAGS)

    def classify_function(self, func: Any) -> Formula | bool | None:
        """Sort a torch-level call (what a ``TorchFunctionMode`` sees).

        Args:
            func: A torch function, ``Tensor`` method or ``torch.nn.functional``
                function, or an operator called as ``torch.ops.ns.name(...)``.

        Returns:
            A MAC formula; ``True`` if it is known to do no multiply-accumulates; or
            `DISPATCH` (``None``) to count the aten operators it runs.

        Examples:
            >>> x, w = torch.zeros(8, 4), torch.zeros(3, 4)
            >>> c = current_catalogue()
            >>> c.classify_function(F.linear)((x, w), {}, None)
            96
            >>> c.classify_function(torch.Tensor.add), c.classify_function(torch.relu)
            (True, True)
            >>> c.classify_function(torch.einsum) is DISPATCH
            True
        """
        entry = self._functions.get(func)
        if entry is not None:
            return entry
        if isinstance(func, (OpOverload, OpOverloadPacket)):
            # Free below means free here; anything else is counted where it runs.
            return True if self.classify(func) is True else DISPATCH
        return DISPATCH

    def leaf_formula(self, cls: type) -> LeafFormula | None:
        """The MAC formula of a module class counted as a whole, from its shapes.

        Only the exact classes listed qualify (a subclass may override
        ``forward``). Their forward uses exactly their own parameters, and every
        operator it runs is either counted by the formula or known to do no
        MACs, so a call on one tensor can be summarised without seeing its
        operators: the same numbers for a fraction of the cost. Tested against
        operator-level counting for each class.

        Examples:
            >>> conv = nn.Conv2d(3, 8, 3)
            >>> x = torch.zeros(1, 3, 10, 10)
            >>> c = current_catalogue()
            >>> c.leaf_formula(nn.Conv2d)(conv, x, conv(x))
            13824
            >>> c.leaf_formula(nn.ReLU)(None, x, x), c.leaf_formula(nn.Sequential)
            (0, None)
        """
        return self._leaves.get(cls)

    # -- communication -----------------------------------------------------------------
    def communication(self, func: Any) -> Formula | None:
        """The bytes function of a collective operator, ``None`` for any other operator.

        Args:
            func: An ``OpOverload`` such as ``torch.ops.c10d.allreduce_.default``.

        Returns:
            ``(args, kwargs, output) -> bytes`` moved by one call (see
            `collective_bytes()`; waits and barriers
            move none), or ``None``.

        Examples:
            >>> c = current_catalogue()
            >>> nbytes = c.communication(torch.ops._c10d_functional.all_reduce.default)
            >>> nbytes((torch.zeros(4), "sum", "group"), {}, torch.zeros(4))
            16
            >>> c.communication(torch.ops.aten.add.Tensor) is None
            True
        """
        entry = self._entry(func)
        return entry.nbytes if isinstance(entry, Communication) else None

    def _entry(self, func: Any) -> Entry | None:
        aten = self._aten
        entry = aten.get(func)
        if entry is None:
            packet = getattr(func, "_overloadpacket", None)
            if packet is not None:
                entry = aten.get(packet)
            if entry is None and self._lazy:
                entry = self._lazy.get(op_name(func))
        return entry

    # -- layers ------------------------------------------------------------------------
    def with_formulas(self, formulas: Mapping[Any, Callable[..., int]]) -> Catalogue:
        """This catalogue with ``formulas`` added, replacing any entry they name.

        Args:
            formulas: ``{operator: formula}`` as `register_formula()` takes them.

        Raises:
            TypeError: A key that is no operator, or a formula that is not callable.
            ValueError: An operator name that the installed torch does not have.

        Examples:
            >>> trilinear = torch.ops.aten._trilinear
            >>> c = current_catalogue().with_formulas({trilinear: lambda a, k, o: 7})
            >>> c.classify(trilinear.default)((), {}, None)
            7
            >>> current_catalogue().classify(trilinear.default) is flops.trilinear_op
            True
        """
        if not isinstance(formulas, Mapping):
            raise TypeError(
                "formulas must be a mapping of operators to formulas,"
                f" got {type(formulas).__name__}"
            )
        if not formulas:
            return self
        own = dict(self._own)
        for op, formula in formulas.items():
            own[_key(op)] = _check_formula(op, formula)
        return _build(own)

    def entries(self) -> Iterator[tuple[Any, str]]:
        """Every operator with an entry and its kind (``counted``, ``free``,
        ``communication``, ``leaf``), lazily resolved names as ``"ns::name"``.

        Examples:
            >>> kinds = dict(current_catalogue().entries())
            >>> kinds[torch.ops.aten.mm], kinds[nn.Linear], kinds[torch.ops.c10d.allreduce_]
            ('counted', 'leaf', 'communication')
        """
        for table in (self._aten, self._functions, self._lazy):
            for key, entry in table.items():
                kind = (
                    "communication"
                    if type(entry) is Communication
                    else "free"
                    if entry is True
                    else "counted"
                )
                yield (key.replace(".", "::", 1) if isinstance(key, str) else key), kind
        for cls in self._leaves:
            yield cls, "leaf"


# -- keys --------------------------------------------------------------------------------
def _key(op: Any, *, optional: bool = False) -> Any:
    """The catalogue key of an operator object or an ``"ns::name"`` string.

    A name that does not resolve is kept as a string, to resolve when its
    operator first runs, if its namespace has no operators yet (a library not
    loaded) or it is ``optional`` (an operator that a Python module of torch
    defines when it is imported, as ``torch.distributed.fsdp`` defines ``fsdp::``).

    Examples:
        >>> _key("aten::addmm") is torch.ops.aten.addmm, _key("nolib::op")
        (True, 'nolib.op')
        >>> _key("aten::no_such_op")
        Traceback (most recent call last):
        ...
        ValueError: no operator aten::no_such_op in the installed torch
    """
    if isinstance(op, str):
        namespace, sep, name = op.partition("::")
        if not sep or not namespace or not name:
            raise ValueError(f"an operator name is 'namespace::name', got {op!r}")
        packet_name, _, overload = name.partition(".")
        try:
            packet = getattr(getattr(torch.ops, namespace), packet_name)
            return getattr(packet, overload) if overload else packet
        except AttributeError:
            if overload or (_namespace_loaded(namespace) and not optional):
                raise ValueError(f"no operator {op} in the installed torch") from None
            return f"{namespace}.{name}"  # an optional library: resolved when it is loaded
    if isinstance(op, (OpOverload, OpOverloadPacket)):
        return op
    if isinstance(op, type):
        if issubclass(op, nn.Module):
            return op
        raise TypeError(f"a class in the catalogue must be an nn.Module class, got {op.__name__}")
    if callable(op):
        return op
    raise TypeError(
        "an operator is an aten operator (torch.ops.aten.addmm), a torch function or"
        f" Tensor method (torch.nn.functional.linear), or a module class, got {op!r}"
    )


def _namespace_loaded(namespace: str) -> bool:
    prefix = f"{namespace}::"
    return any(name.startswith(prefix) for name in torch._C._dispatch_get_all_op_names())


def _check_formula(op: Any, formula: Any) -> Any:
    if not callable(formula):
        raise TypeError(f"the formula for {op!r} must be callable, got {formula!r}")
    return formula


# -- the built-in entries ------------------------------------------------------------------
class _Builder:
    """Collects the built-in entries; raises on a duplicate. A name the installed torch
    does not define is set aside in `missing`: the library supports torch releases
    older than the one its tests run on, where an operator may not exist yet, and the
    test suite asserts that on its torch nothing is missing, so a typo still fails."""

    def __init__(self) -> None:
        self.aten: dict[Any, Entry] = {}
        self.functions: dict[Any, Formula | bool] = {}
        self.leaves: dict[type, LeafFormula] = {}
        self.lazy: dict[str, Entry] = {}
        self.missing: list[str] = []

    def ops(self, entry: Entry, *ops: Any, optional: bool = False) -> None:
        """Aten-level operators (``aten.mm``, ``"torchvision::nms"``) with ``entry``;
        ``optional`` ones may be defined only once a library or module is imported."""
        for op in ops:
            try:
                key = _key(op, optional=optional)
            except ValueError:
                self.missing.append(str(op))
                continue
            table = self.lazy if isinstance(key, str) else self.aten
            if key in table:
                raise ValueError(f"{op} is in the operator catalogue twice")
            table[key] = entry

    def words(
        self, entry: Entry, words: str, namespace: str = "aten", *, optional: bool = False
    ) -> None:
        """`ops()` for a list of names in one namespace (300 ``aten.x`` read badly)."""
        self.ops(entry, *[f"{namespace}::{word}" for word in words.split()], optional=optional)

    def functions_(self, entry: Formula | bool, *functions: Any) -> None:
        """Torch-level functions and methods with ``entry``."""
        for function in functions:
            if function in self.functions:
                raise ValueError(f"{function} is in the operator catalogue twice")
            self.functions[function] = entry

    def leaf(self, formula: LeafFormula, *classes: type) -> None:
        for cls in classes:
            if cls in self.leaves:
                raise ValueError(f"{cls.__name__} is in the operator catalogue twice")
            self.leaves[cls] = formula

    def tensor_methods(self, entry: Formula | bool, words: str, owner: Any = torch.Tensor) -> None:
        """Torch-level ``Tensor`` attributes (or ``owner``'s) by name; each must exist."""
        for word in words.split():
            method = getattr(owner, word, None)
            if method is None:
                self.missing.append(f"{owner.__name__}.{word}")
            else:
                self.functions_(entry, method)

    def derive_free(self) -> None:
        """An aten operator known to be free makes free its in-place form (``relu_``)
        and the torch-level functions of its name: ``torch.x``, ``Tensor.x``, ``F.x``,
        their in-place forms ``x_`` (``nn.init.x_`` too) and the operators ``__x__``,
        ``__rx__``, ``__ix__``."""
        for key, entry in list(self.aten.items()):
            if entry is not True or not isinstance(key, OpOverloadPacket):
                continue
            namespace_name, _, name = key._qualified_op_name.partition("::")
            namespace = getattr(torch.ops, namespace_name)
            if not name.endswith("_") and hasattr(namespace, f"{name}_"):
                self.aten.setdefault(getattr(namespace, f"{name}_"), True)
            if namespace_name != "aten":
                continue
            for owner, attr in (
                (torch, name),
                (torch, f"{name}_"),
                (F, f"{name}_"),
                (nn.init, f"{name}_"),
                (torch.Tensor, name),
                (torch.Tensor, f"{name}_"),
                (F, name),
                (torch.Tensor, f"__{name}__"),
                (torch.Tensor, f"__r{name}__"),
                (torch.Tensor, f"__i{name}__"),
            ):
                function = getattr(owner, attr, None)
                if callable(function) and not isinstance(function, type):
                    self.functions.setdefault(function, True)
        # Reading any Tensor property (.shape, .T, .data) or setting one is free.
        for attr in vars(torch._C.TensorBase).values():
            if hasattr(attr, "__get__") and type(attr).__name__ == "getset_descriptor":
                self.functions.setdefault(attr.__get__, True)
                self.functions.setdefault(attr.__set__, True)

    def build(self) -> _Builtin:
        return _Builtin(self.aten, self.functions, self.leaves, self.lazy, tuple(self.missing))


@dataclasses.dataclass(frozen=True, slots=True)
class _Builtin:
    aten: dict[Any, Entry]
    functions: dict[Any, Formula | bool]
    leaves: dict[type, LeafFormula]
    lazy: dict[str, Entry]
    missing: tuple[str, ...]


def _builtin() -> _Builtin:
    aten = torch.ops.aten
    b = _Builder()
    input_weight = ("input", "weight")

    # Matrix products. The torch-level entries read operands passed by name too
    # (BLOOM: ``alibi.baddbmm(batch1=q, batch2=k)``); ``einsum`` is counted at the aten
    # level, where it has become ``mm``/``bmm``.
    b.ops(flops.mm_op, aten.mm, aten.bmm, aten.matmul)
    matmul = flops.by_name(flops.matmul_op, ("input", "other"))
    b.functions_(matmul, torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__)
    b.functions_(flops.by_name(flops.rmatmul_op, ("self", "other")), torch.Tensor.__rmatmul__)
    b.functions_(flops.by_name(flops.mm_op, ("input", "mat2")), torch.mm, torch.Tensor.mm)
    b.functions_(flops.by_name(flops.mm_op, ("input", "mat2")), torch.bmm, torch.Tensor.bmm)
    b.ops(flops.addmm_op, aten.addmm, aten._addmm_activation, aten.baddbmm, aten.addbmm)
    addmm = flops.by_name(flops.addmm_op, ("input", "mat1", "mat2"))
    b.functions_(addmm, torch.addmm, torch.Tensor.addmm)
    baddbmm = flops.by_name(flops.addmm_op, ("input", "batch1", "batch2"))
    b.functions_(baddbmm, torch.baddbmm, torch.Tensor.baddbmm)
    b.ops(flops.mv_op, aten.mv)
    b.ops(flops.addmv_op, aten.addmv)
    b.ops(flops.dot_op, aten.dot, aten.vdot)
    # Mixture-of-experts: a matrix product per group of tokens.
    b.ops(flops.grouped_mm_op, aten._grouped_mm, aten._scaled_grouped_mm)
    b.tensor_methods(flops.by_name(flops.grouped_mm_op, ("mat_a", "mat_b")), "_grouped_mm", torch)

    # Linear layers: F.linear decomposes into t + addmm below autograd.
    b.ops(flops.linear_op, aten.linear)
    b.functions_(flops.by_name(flops.linear_op, input_weight), F.linear)
    b.leaf(flops.leaf_linear, nn.Linear)

    # Bilinear layers: F.bilinear runs _trilinear below autograd.
    b.ops(flops.trilinear_op, aten._trilinear)
    b.functions_(flops.by_name(flops.bilinear_op, ("input1", "input2", "weight")), F.bilinear)

    # Convolutions of every dimension and backend, transposed ones, torchvision's deformable.
    b.ops(flops.conv_op, aten.convolution, aten._convolution)
    b.words(
        flops.conv_fixed(transposed=False),
        """conv1d conv2d conv3d _conv_depthwise2d conv_depthwise3d cudnn_convolution
        miopen_convolution miopen_depthwise_convolution mkldnn_convolution _slow_conv2d_forward
        slow_conv3d_forward slow_conv_dilated2d slow_conv_dilated3d _nnpack_spatial_convolution
        cudnn_convolution_relu cudnn_convolution_add_relu""",
    )
    b.words(
        flops.conv_fixed(transposed=True),
        """conv_transpose1d conv_transpose2d conv_transpose3d cudnn_convolution_transpose
        miopen_convolution_transpose slow_conv_transpose2d slow_conv_transpose3d""",
    )
    b.ops(flops.conv_fixed(transposed=False), "torchvision::deform_conv2d", optional=True)
    for function, transposed in (
        (F.conv1d, False),
        (F.conv2d, False),
        (F.conv3d, False),
        (F.conv_transpose1d, True),
        (F.conv_transpose2d, True),
        (F.conv_transpose3d, True),
    ):
        b.functions_(flops.by_name(flops.conv_fixed(transposed), input_weight), function)
    b.leaf(flops.leaf_conv, nn.Conv1d, nn.Conv2d, nn.Conv3d)
    b.leaf(flops.leaf_conv_transpose, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)

    # Attention on every backend, and the fused fast paths of nn.MultiheadAttention
    # and nn.TransformerEncoderLayer.
    b.words(
        flops.sdpa_bhle,
        """scaled_dot_product_attention _scaled_dot_product_attention_math
        _scaled_dot_product_flash_attention _scaled_dot_product_flash_attention_for_cpu
        _scaled_dot_product_efficient_attention _scaled_dot_product_cudnn_attention
        _scaled_dot_product_fused_attention_overrideable""",
    )
    sdpa = flops.by_name(flops.sdpa_op, ("query", "key", "value"))
    b.functions_(sdpa, F.scaled_dot_product_attention)
    b.ops(flops.sdpa_blhe, aten._flash_attention_forward, aten._efficient_attention_forward)
    b.ops(flops.native_mha_op, aten._native_multi_head_attention)
    b.ops(flops.encoder_layer_op, aten._transformer_encoder_layer_fwd)

    # Recurrent layers, fused: per overload, the packed form's arguments differ.
    for rnn in (aten.lstm, aten.gru, aten.rnn_tanh, aten.rnn_relu):
        b.ops(flops.rnn_input_op, rnn.input)
        b.ops(flops.rnn_data_op, rnn.data)
    b.ops(flops.mkldnn_rnn_layer_op, aten.mkldnn_rnn_layer)
    b.ops(flops.cudnn_rnn_op, aten._cudnn_rnn)

    # Triangular solves (Gated-DeltaNet) and Fourier transforms (FNet).
    b.ops(flops.solve_triangular_op, aten.linalg_solve_triangular)
    b.functions_(flops.solve_triangular_op, torch.linalg.solve_triangular)
    b.ops(flops.triangular_solve_op, aten.triangular_solve)
    b.ops(flops.fft_r2c_op, aten._fft_r2c)
    b.ops(flops.fft_c2c_op, aten._fft_c2c)
    b.ops(flops.fft_c2r_op, aten._fft_c2r)

    # Quantized and low-precision kernels, counted as the float operator of the same
    # shapes: torch's own (packed weights of torch.ao.nn.quantized and .dynamic, fbgemm,
    # int8/int4 weight-only and scaled matrix products), bitsandbytes' 4-bit and 8-bit
    # matrix products, torchao's and optimum-quanto's CPU kernels. Quantizing,
    # dequantizing and packing do no multiply-accumulates.
    lowp = flops.lowp_matmul_op
    b.words(
        lowp,
        """_int_mm _weight_int8pack_mm _weight_int4pack_mm _weight_int4pack_mm_for_cpu
        _weight_int4pack_mm_with_scales_and_zeros _dyn_quant_matmul_4bit _scaled_mm
        fbgemm_linear_int8_weight fbgemm_linear_int8_weight_fp32_activation
        fbgemm_linear_fp16_weight fbgemm_linear_fp16_weight_fp32_activation""",
    )
    b.words(
        lowp,
        """linear linear_relu linear_dynamic linear_relu_dynamic linear_dynamic_fp16
        linear_relu_dynamic_fp16 linear_leaky_relu linear_tanh
        linear_dynamic_fp16_unpacked_weight linear_with_input_q_dq_qweight_dq_output_fp32
        linear_with_input_q_dq_qweight_dq_relu_output_fp32 matmul int4mm_packed_weight_cpu""",
        "quantized",
    )
    b.words(
        flops.quantized_conv(transposed=False),
        """conv1d conv2d conv3d conv2d_relu conv3d_relu conv1d_relu conv2d_add
        conv2d_add_relu conv1d_dynamic conv2d_dynamic conv3d_dynamic""",
        "quantized",
    )
    b.words(
        flops.quantized_conv(transposed=True),
        """conv_transpose1d conv_transpose2d conv_transpose3d conv_transpose1d_dynamic
        conv_transpose2d_dynamic conv_transpose3d_dynamic""",
        "quantized",
    )
    for rnn, gates in ((aten.quantized_lstm, 4), (aten.quantized_gru, 3)):
        b.ops(flops.quantized_rnn(gates, packed=False), rnn.input, rnn.input_legacy)
        b.ops(flops.quantized_rnn(gates, packed=True), rnn.data, rnn.data_legacy)
    b.ops(
        flops.quantized_cell(4), aten.quantized_lstm_cell, "quantized::quantized_lstm_cell_dynamic"
    )
    b.ops(flops.quantized_cell(3), aten.quantized_gru_cell, "quantized::quantized_gru_cell_dynamic")
    b.ops(
        flops.quantized_cell(1),
        aten.quantized_rnn_relu_cell,
        aten.quantized_rnn_tanh_cell,
        "quantized::quantized_rnn_relu_cell_dynamic",
        "quantized::quantized_rnn_tanh_cell_dynamic",
    )
    b.words(
        True,
        """quantize_per_tensor quantize_per_tensor_dynamic quantize_per_channel
        dequantize int_repr q_scale q_zero_point
        q_per_channel_scales q_per_channel_zero_points q_per_channel_axis qscheme
        _make_per_tensor_quantized_tensor _make_per_channel_quantized_tensor
        _empty_affine_quantized _empty_per_channel_affine_quantized
        _choose_qparams_per_tensor choose_qparams_optimized quantized_max_pool1d
        quantized_max_pool2d quantized_max_pool3d quantized_batch_norm
        fake_quantize_per_tensor_affine fake_quantize_per_channel_affine
        _fake_quantize_per_tensor_affine_cachemask_tensor_qparams
        fake_quantize_per_tensor_affine_cachemask fake_quantize_per_channel_affine_cachemask
        _convert_weight_to_int4pack _convert_weight_to_int4pack_for_cpu
        _dyn_quant_pack_4bit_weight fbgemm_pack_quantized_matrix fbgemm_linear_quantize_weight
        fbgemm_pack_gemm_matrix_fp16""",
    )
    b.words(
        True,
        """add add_relu add_scalar add_scalar_relu add_out add_relu_out add_scalar_out
        add_scalar_relu_out mul mul_relu mul_scalar mul_scalar_relu mul_out mul_relu_out
        mul_scalar_out mul_scalar_relu_out cat cat_relu cat_out cat_relu_out relu6
        hardswish sigmoid softmax leaky_relu celu elu threshold clamp dropout prelu
        batch_norm batch_norm1d batch_norm2d batch_norm3d batch_norm_relu
        batch_norm1d_relu batch_norm2d_relu batch_norm3d_relu layer_norm group_norm
        instance_norm max_pool1d max_pool2d embedding_byte embedding_4bit embedding_bag_byte
        embedding_bag_4bit embedding_bag_byte_rowwise_offsets embedding_bag_4bit_rowwise_offsets
        embedding_bag_2bit_rowwise_offsets linear_prepack linear_prepack_fp16
        linear_prepack_legacy linear_prepack_fp16_legacy linear_unpack linear_unpack_fp16
        conv_prepack conv_unpack conv1d_prepack conv2d_prepack conv3d_prepack conv1d_unpack
        conv2d_unpack conv3d_unpack conv_transpose1d_prepack conv_transpose2d_prepack
        conv_transpose3d_prepack conv_transpose1d_unpack conv_transpose2d_unpack
        conv_transpose3d_unpack embedding_bag_prepack embedding_bag_unpack
        embedding_bag_byte_prepack embedding_bag_byte_unpack embedding_bag_4bit_prepack
        embedding_bag_4bit_unpack embedding_bag_2bit_prepack embedding_bag_2bit_unpack
        make_quantized_cell_params make_quantized_cell_params_dynamic
        make_quantized_cell_params_fp16""",
        "quantized",
    )
    # Libraries that may not be loaded: resolved when their operators first run.
    b.words(
        lowp,
        """gemm_4bit gemv_4bit int8_linear_matmul int8_scaled_mm int8_mixed_scaled_mm""",
        "bitsandbytes",
        optional=True,
    )
    b.words(
        True,
        """dequantize_4bit quantize_4bit dequantize_blockwise quantize_blockwise
        int8_vectorwise_quant int8_vectorwise_dequant int8_mm_dequant int8_double_quant
        optimizer_update_32bit optimizer_update_8bit_blockwise""",
        "bitsandbytes",
        optional=True,
    )
    b.words(
        lowp,
        """da8w4_linear_cpu float8_linear_cpu int_matmul int_scaled_matmul mx_fp8_bf16
        swizzle_mm swizzle_scaled_mm""",
        "torchao",
        optional=True,
    )
    b.ops(flops.sdpa_bhle, "torchao::qscaled_dot_product", optional=True)
    b.words(
        True,
        """choose_qparams_affine quantize_affine dequantize_affine choose_scale_float8
        quantize_affine_float8_non_decomposed dequantize_affine_float8_non_decomposed
        da8w4_linear_prepack_cpu float8_linear_prepack_cpu _scaled_embedding_bag""",
        "torchao",
        optional=True,
    )
    b.ops(lowp, "quanto::qbytes_mm", optional=True)
    b.words(True, "quantize_symmetric quantize_affine unpack", "quanto", optional=True)

    # Known to do no multiply-accumulates.
    b.words(True, _FREE_ATEN)
    b.words(True, "nms roi_align roi_pool ps_roi_align ps_roi_pool", "torchvision", optional=True)
    b.words(True, "_record_function_enter _record_function_enter_new", "profiler")
    b.ops(True, "profiler::_record_function_exit")
    # FSDP2's local copies into and out of its all-gather buffers; DTensor's wrappers
    # (Python modules of torch.distributed define these when imported).
    b.words(True, "all_gather_copy_in chunk_cat copy_ split_with_sizes_copy", "fsdp", optional=True)
    b.ops(True, "_c10d_functional::_wrap_tensor_autograd", optional=True)
    b.ops(True, "_dtensor::mesh_get_process_group", optional=True)
    b.ops(True, "c10d::check_for_nan")

    # Collectives: communication, no MACs.
    b.words(
        Communication(flops.collective_bytes),
        """allreduce_ allreduce_coalesced_ allgather_ _allgather_base_ allgather_coalesced_
        allgather_into_tensor_coalesced_ reduce_scatter_ _reduce_scatter_base_
        reduce_scatter_tensor_coalesced_ broadcast_ reduce_ gather_ gather_into_tensor_
        scatter_ alltoall_ alltoall_base_ send recv_ recv_any_source_""",
        "c10d",
    )
    b.words(Communication(flops.no_bytes), "barrier monitored_barrier_", "c10d")
    b.words(
        Communication(flops.collective_bytes),
        """all_reduce all_reduce_ all_reduce_coalesced all_reduce_coalesced_
        all_gather_into_tensor all_gather_into_tensor_coalesced all_gather_into_tensor_out
        reduce_scatter_tensor reduce_scatter_tensor_coalesced reduce_scatter_tensor_out
        all_to_all_single broadcast broadcast_ isend irecv batch_p2p_ops""",
        "_c10d_functional",
    )
    b.ops(Communication(flops.no_bytes), "_c10d_functional::wait_tensor")
    b.words(
        Communication(flops.collective_bytes),
        "all_gather_into_tensor all_to_all_single reduce_scatter_tensor",
        "_c10d_functional_autograd",
        optional=True,
    )
    b.ops(Communication(flops.collective_bytes), "_dtensor::shard_dim_alltoall", optional=True)

    # Torch-level calls with no aten operator of the same name.
    b.functions_(True, F.batch_norm, F.interpolate, F.dropout1d, F.dropout2d, F.dropout3d)
    b.functions_(True, F.alpha_dropout, F.feature_alpha_dropout, F.relu6, F.cross_entropy)
    # Tensors made from data, and grad mode switched (``from_numpy`` no mode sees today).
    b.functions_(True, torch.tensor, torch.as_tensor, torch.from_numpy, torch._C._set_grad_enabled)
    b.tensor_methods(
        True,
        """__getitem__ __setitem__ float double half bfloat16 int long bool __radd__ __rmul__
        __rtruediv__ __truediv__ __floordiv__ __rfloordiv__ __mod__ __rpow__ __and__ __or__
        __xor__ __invert__ __len__ __repr__ __format__ __hash__ __iter__ __contains__ dim
        ndimension nelement element_size is_contiguous is_floating_point is_complex get_device
        data_ptr untyped_storage storage_offset requires_grad_ cpu cuda new_tensor tolist
        numpy type __bool__ __float__ __int__ __complex__""",
    )
    b.derive_free()

    # Standard leaves that do no MACs, counted (as 0) without watching their operators.
    b.leaf(
        flops.leaf_free,
        nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
        nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish,
        nn.Hardsigmoid, nn.LeakyReLU, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
        nn.Identity, nn.Flatten, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d,
        nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
        nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
    )  # fmt: skip
    return b.build()


# Aten operators known to do no multiply-accumulates (their in-place forms too).
_FREE_ATEN = """
    abs acos acosh add addcdiv addcmul alias all amax amin aminmax any arange argmax argmin
    argsort as_strided asin asinh atan atan2 atanh avg_pool1d avg_pool2d avg_pool3d
    adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d _adaptive_avg_pool2d
    _adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d adaptive_max_pool3d
    batch_norm bernoulli bitwise_and bitwise_not bitwise_or bitwise_xor broadcast_to bucketize
    cat ceil celu chunk clamp clamp_max clamp_min clip clone constant_pad_nd contiguous copy
    cos cosh count_nonzero cummax cummin cumprod cumsum deg2rad detach diag_embed diagonal
    diff div dropout elu embedding embedding_bag _embedding_bag empty empty_like empty_strided
    eq erf erfc erfinv exp exp2 expand expand_as expm1 eye feature_dropout fill flatten flip
    floor floor_divide fmod frac full full_like gather ge gelu glu group_norm gt hardshrink
    hardsigmoid hardswish hardtanh index index_add index_copy index_fill index_put
    index_select instance_norm isfinite isinf isnan isneginf isposinf layer_norm le leaky_relu
    lerp lift_fresh lift_fresh_copy linspace log log10 log1p log2 _log_softmax log_softmax
    log_sigmoid log_sigmoid_forward logaddexp logical_and logical_not logical_or logical_xor
    logsumexp lt masked_fill masked_scatter masked_select max max_pool1d max_pool2d
    max_pool2d_with_indices max_pool3d max_pool3d_with_indices maximum mean median min
    minimum mish movedim mul nan_to_num narrow native_batch_norm native_dropout
    native_group_norm native_layer_norm _native_batch_norm_legit
    _native_batch_norm_legit_no_training _native_batch_norm_legit_functional ne neg new_empty
    new_empty_strided new_full new_ones new_zeros nonzero norm normal ones ones_like pad
    permute pixel_shuffle pixel_unshuffle pow prelu _prelu_kernel prod rad2deg rand rand_like
    randint randn randn_like random randperm reciprocal reflection_pad1d reflection_pad2d
    reflection_pad3d relu relu6 remainder repeat repeat_interleave replication_pad1d
    replication_pad2d replication_pad3d reshape resize roll rot90 round rrelu rsqrt rsub
    scalar_tensor scatter scatter_add scatter_reduce select select_scatter selu
    set sgn sigmoid sign signbit silu sin sinc sinh slice slice_scatter _softmax softmax
    softplus softshrink sort split split_with_sizes sqrt square squeeze stack std std_mean
    sub sum t take tan tanh tensor_split threshold tile to _to_copy topk transpose tril
    triu true_divide trunc type_as unbind unflatten unfold uniform unique_consecutive
    _unique2 unsafe_chunk unsafe_split unsafe_split_with_sizes unsqueeze upsample_bicubic2d
    upsample_bilinear2d upsample_linear1d upsample_nearest1d upsample_nearest2d
    upsample_nearest3d upsample_trilinear3d _upsample_bilinear2d_aa
    _upsample_nearest_exact1d _upsample_nearest_exact2d _upsample_nearest_exact3d _unsafe_view
    var var_mean view view_as view_as_complex view_as_real where xlogy zero zeros zeros_like
    _local_scalar_dense item equal allclose isclose is_nonzero is_same_size
    _assert_tensor_metadata sym_size sym_stride sym_numel sym_storage_offset _reshape_alias
    _unsafe_index _unsafe_index_put _index_put_impl index_reduce hstack vstack dstack
    _safe_softmax _pin_memory pin_memory _foreach_add _foreach_mul stride size numel
    block_diag _nested_tensor_from_mask _nested_tensor_from_mask_left_aligned
    _masked_softmax im2col col2im _fused_dropout grid_sampler_2d grid_sampler
    one_hot bincount histc searchsorted cumulative_trapezoid heaviside hypot i0 igamma
    igammac nextafter polar complex real imag conj _conj resolve_conj resolve_neg
    _neg_view _conj_physical conj_physical angle copysign float_power fmax fmin
    linalg_vector_norm _weight_norm _weight_norm_interface norm_except_dim
    _assert_async _assert_scalar _functional_assert_async _functional_assert_scalar
    _is_all_true _is_any_true isin
    nll_loss nll_loss_forward nll_loss2d_forward cross_entropy_loss mse_loss l1_loss
    smooth_l1_loss huber_loss binary_cross_entropy binary_cross_entropy_with_logits kl_div
    soft_margin_loss
    __and__ __or__ __xor__
"""


# -- process-wide and per-call registrations ----------------------------------------------
_BUILTIN = _builtin()
MISSING = _BUILTIN.missing
"""Built-in entries that name an operator the installed torch does not define (an older
release); empty on the torch the tests run on, which they assert."""
_lock = threading.Lock()
_registered: dict[Any, Any] = {}
"""The process-wide registrations, ``{key: formula}``."""


def _build(own: Mapping[Any, Any]) -> Catalogue:
    """The built-in entries with ``own`` on top (keys as `_key()` makes them)."""
    builtin = _BUILTIN
    aten = dict(builtin.aten)
    functions = dict(builtin.functions)
    leaves = dict(builtin.leaves)
    lazy = dict(builtin.lazy)
    own_aten = own_function = False
    for key, formula in own.items():
        if isinstance(key, str):
            lazy[key] = formula
            own_aten = True
        elif isinstance(key, (OpOverload, OpOverloadPacket)):
            aten[key] = formula
            own_aten = True
        elif isinstance(key, type):
            leaves[key] = formula
        else:
            functions[key] = formula
            own_function = True
    # A formula of one's own must see every call of its operator: the built-in
    # shortcuts above its level would count some of them without it.
    if own_aten:
        functions = {k: v for k, v in functions.items() if k in own}
    if own_aten or own_function:
        leaves = {k: v for k, v in leaves.items() if k in own}
    return Catalogue(aten, functions, leaves, lazy, dict(own))


_current = _build({})


def current_catalogue() -> Catalogue:
    """The built-in entries and the process-wide registrations, as they are now.

    Examples:
        >>> current_catalogue().classify(torch.ops.aten.mm.default) is flops.mm_op
        True
    """
    return _current


def _builtin_entry(key: Any) -> Any:
    b = _BUILTIN
    if isinstance(key, str):
        return b.lazy.get(key)
    if isinstance(key, (OpOverload, OpOverloadPacket)):
        return b.aten.get(key)
    if isinstance(key, type):
        return b.leaves.get(key)
    return b.functions.get(key)


def register_formula(
    op: Any, formula: Callable[..., int] | None = None, *, override: bool = False
) -> Any:
    """Add, for the whole process, the mult-add formula of an operator; or replace one.

    ``op`` is what the summary sees run: an aten operator (its packet,
    ``torch.ops.aten._trilinear``, or one overload, ``torch.ops.aten.lstm.input``),
    a torch function or ``Tensor`` method (``torch.nn.functional.bilinear``,
    ``torch.Tensor.add``), a module class (``nn.Bilinear``), or an operator's name
    ``"namespace::name"`` of a library that may not be loaded yet. A formula for an
    operator takes ``(args, kwargs, output)`` of one call and returns its
    multiply-accumulates; one for a module class takes ``(module, input, output)``
    and is used for its calls on one tensor, which must use exactly the module's
    own parameters. A formula returning 0 marks an operator as doing none.

    Args:
        op: The operator.
        formula: Its formula; leave it out to use ``register_formula`` as a decorator.
        override: Replace an entry the operator has already (built-in or registered).

    Returns:
        ``formula`` (or, as a decorator, a function that registers and returns it).

    Raises:
        TypeError: ``op`` is no operator, or ``formula`` is not callable.
        ValueError: ``op`` has an entry already and ``override`` is false, or no
            operator of that name exists in the installed torch.

    Examples:
        >>> from modelsummary import register_formula, summary, unregister_formula
        >>> @register_formula("mylib::fused_tanh_mm")
        ... def fused_tanh_mm(args, kwargs, out):
        ...     a, b = args
        ...     return a.shape[0] * a.shape[1] * b.shape[1]
        >>> unregister_formula("mylib::fused_tanh_mm")
    """
    if formula is None:

        def decorator(f: Callable[..., int]) -> Callable[..., int]:
            register_formula(op, f, override=override)
            return f

        return decorator
    global _current
    key = _key(op)
    _check_formula(op, formula)
    with _lock:
        if not override and (key in _registered or _builtin_entry(key) is not None):
            raise ValueError(f"{op!r} has a formula already; pass override=True to replace it")
        own = {**_registered, key: formula}
        _current = _build(own)
        _registered[key] = formula
    return formula


def unregister_formula(op: Any) -> None:
    """Remove a formula added with `register_formula()`; a built-in one applies again.

    Raises:
        ValueError: ``op`` has no registered formula.

    Examples:
        >>> from modelsummary import register_formula, unregister_formula
        >>> _ = register_formula(torch.ops.aten.mm, lambda a, k, o: 0, override=True)
        >>> unregister_formula(torch.ops.aten.mm)
        >>> current_catalogue().classify(torch.ops.aten.mm.default) is flops.mm_op
        True
    """
    global _current
    key = _key(op)
    with _lock:
        if key not in _registered:
            raise ValueError(f"{op!r} has no formula registered with register_formula()")
        own = {k: v for k, v in _registered.items() if k != key}
        _current = _build(own)
        del _registered[key]
