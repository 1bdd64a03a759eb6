"""Multiply-accumulate formulas: pure functions of shapes, and adapters from operator arguments.

One multiply-accumulate (MAC) is one ``a * b + c`` of a matrix product or a
convolution; FLOPs are ``2 * MACs``. Bias additions are not MACs and are not
counted. Which operator uses which formula, and which operators do none, is
the business of `modelsummary._trace.catalogue`; this module only computes.

Examples:
    >>> matmul_macs((8, 512), (512, 1000))
    4096000
    >>> conv_macs((1, 64, 112, 112), (64, 3, 7, 7), transposed=False, input_shape=(1, 3, 224, 224))
    118013952
    >>> attention_macs(batch_heads=4, q_len=10, kv_len=10, qk_dim=16, v_dim=16)
    12800
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

Formula = Callable[[tuple[Any, ...], dict[str, Any], Any], int]
"""``(args, kwargs, output) -> MACs`` of one operator call."""
LeafFormula = Callable[[Any, Any, Any], int]
"""``(module, input, output) -> MACs`` of one call of a module counted as a whole."""


# -- pure shape formulas ---------------------------------------------------------------
def matmul_macs(a: Sequence[int], b: Sequence[int]) -> int:
    """MACs of ``a @ b`` for shapes ``(..., n, k)`` and ``(..., k, m)`` (batch dims broadcast).

    Examples:
        >>> matmul_macs((12, 128, 64), (12, 64, 128))
        12582912
    """
    batch = _broadcast_numel(a[:-2], b[:-2])
    return batch * a[-2] * a[-1] * b[-1]


def conv_macs(
    output_shape: Sequence[int],
    weight_shape: Sequence[int],
    *,
    transposed: bool,
    input_shape: Sequence[int],
) -> int:
    """MACs of a (transposed) convolution of any dimensionality and grouping.

    A convolution computes each output element from ``C_in / groups * prod(kernel)``
    products; the weight's shape after its first dimension is exactly that. A
    transposed convolution scatters each input element into ``C_out / groups *
    prod(kernel)`` outputs, again the weight's shape after its first dimension.

    Examples:
        >>> conv_macs((1, 1, 512, 512), (1, 1, 3, 3), transposed=False,
        ...           input_shape=(1, 1, 512, 512))
        2359296
        >>> conv_macs((1, 4, 10, 10), (3, 4, 3, 3), transposed=True, input_shape=(1, 3, 8, 8))
        6912
    """
    per_element = math.prod(weight_shape[1:])
    return math.prod(input_shape if transposed else output_shape) * per_element


def attention_macs(*, batch_heads: int, q_len: int, kv_len: int, qk_dim: int, v_dim: int) -> int:
    """MACs of ``softmax(q @ k.T) @ v``: the score matmul plus the weighted sum.

    Examples:
        >>> attention_macs(batch_heads=12, q_len=128, kv_len=128, qk_dim=64, v_dim=64)
        25165824
    """
    return batch_heads * q_len * kv_len * (qk_dim + v_dim)


def mha_macs(*, batch: int, q_len: int, kv_len: int, embed: int) -> int:
    """MACs of multi-head attention with input and output projections (bias excluded).

    Examples:
        >>> mha_macs(batch=1, q_len=10, kv_len=10, embed=64)
        176640
    """
    projections = batch * (q_len * embed * embed + 2 * kv_len * embed * embed)
    out_projection = batch * q_len * embed * embed
    scores = attention_macs(
        batch_heads=batch, q_len=q_len, kv_len=kv_len, qk_dim=embed, v_dim=embed
    )
    return projections + out_projection + scores


def rnn_macs(steps_times_batch: int, weight_shapes: Sequence[Sequence[int]]) -> int:
    """MACs of a recurrent layer: every 2-D weight multiplies one vector per step and batch row.

    That covers LSTM (4 gates), GRU (3) and plain RNNs (1), stacked layers, both
    directions and LSTM projections; 1-D biases are skipped.

    Examples:
        >>> rnn_macs(15, [(80, 10), (80, 20), (80,), (80,)])  # one LSTM layer, H=20
        36000
    """
    return steps_times_batch * sum(math.prod(s) for s in weight_shapes if len(s) == 2)


def triangular_solve_macs(n: int, columns: int, *, unitriangular: bool = False) -> int:
    """MACs of solving a triangular ``n x n`` system for ``columns`` right-hand sides.

    Forward (or back) substitution finds ``x_i = (b_i - sum_{j<i} a_ij x_j) / a_ii``:
    row ``i`` takes ``i`` multiply-adds and one division by the diagonal, which
    counts as one multiplication (by ``1 / a_ii``, computed once per row), as in
    LAPACK's operation counts for ``xTRSM`` (LAWN 41): ``n(n-1)/2 + n = n(n+1)/2``
    per column, ``n(n-1)/2`` when the diagonal is known to be ones.

    Examples:
        >>> triangular_solve_macs(4, 1), triangular_solve_macs(4, 1, unitriangular=True)
        (10, 6)
    """
    per_column = n * (n - 1) // 2 if unitriangular else n * (n + 1) // 2
    return columns * per_column


def fft_macs(points: int, transforms: int, *, real: bool) -> int:
    """MACs of ``transforms`` discrete Fourier transforms of ``points`` points each.

    The convention is the one FFTW reports speed by: a complex transform of
    ``N`` points costs ``5 N log2(N)`` FLOPs (radix-2: ``N/2 log2(N)`` butterflies
    of one complex multiplication, 6 FLOPs, and two complex additions, 4 FLOPs),
    a real-input or real-output transform half that. MACs are half the FLOPs, as
    everywhere here, rounded to an integer: ``2.5 N log2(N)`` per complex transform
    and ``1.25 N log2(N)`` per real one. A multi-dimensional transform over
    ``N = n1 * n2 * ...`` points counts as one of ``N`` points.

    Examples:
        >>> fft_macs(8, 1, real=False), fft_macs(8, 3, real=True)
        (60, 90)
    """
    if points <= 1:
        return 0
    flops_per_point = 2.5 if real else 5.0
    return round(transforms * flops_per_point * points * math.log2(points) / 2)


def _broadcast_numel(a: Sequence[int], b: Sequence[int]) -> int:
    """Elements of the broadcast of two batch shapes (sizes of 1 stretch).

    Examples:
        >>> _broadcast_numel((2, 1), (6,))
        12
    """
    size = max(len(a), len(b))
    a, b = (1,) * (size - len(a)) + tuple(a), (1,) * (size - len(b)) + tuple(b)
    return math.prod(max(x, y) for x, y in zip(a, b, strict=True))


# -- adapters from operator arguments --------------------------------------------------
def _shape(t: Any) -> tuple[int, ...]:
    return tuple(t.shape)


def _mm(a: Any, b: Any) -> int:
    return matmul_macs(_shape(a), _shape(b))


def mm_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    return _mm(args[0], args[1])


def addmm_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    return _mm(args[1], args[2])


def matmul_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """``matmul(input, other)``, ``input @ other``: a 1-D ``input`` is a row ``(1, k)``, a 1-D
    ``other`` a column ``(k, 1)``, and batch dimensions broadcast, as the ``dot``, ``mv``,
    ``mm`` or ``bmm`` it runs below autograd counts them.

    Examples:
        >>> v, m, b = torch.zeros(3), torch.zeros(3, 4), torch.zeros(5, 1, 4, 3)
        >>> [matmul_op(ab, {}, None) for ab in ((v, v), (v, m), (m.T, v), (b, m))]
        [3, 12, 12, 240]
    """
    return _matmul(args[0], args[1])


def rmatmul_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """``Tensor.__rmatmul__(self, other)``: ``other @ self``."""
    return _matmul(args[1], args[0])


def _matmul(a: Any, b: Any) -> int:
    left, right = _shape(a), _shape(b)
    if len(left) == 1:
        left = (1, *left)
    if len(right) == 1:
        right = (*right, 1)
    return matmul_macs(left, right)


def mv_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    return math.prod(_shape(args[0]))


def addmv_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    return math.prod(_shape(args[1]))


def dot_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    return math.prod(_shape(args[0]))


def linear_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    x, weight = _shape(args[0]), _shape(args[1])
    return math.prod(x[:-1]) * math.prod(weight)


def conv_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # convolution/_convolution(input, weight, bias, stride, padding, dilation, transposed, ...)
    transposed = bool(args[6]) if len(args) > 6 else bool(kwargs.get("transposed", False))
    return conv_macs(
        _shape(out), _shape(args[1]), transposed=transposed, input_shape=_shape(args[0])
    )


def grouped_mm_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # _grouped_mm(mat_a, mat_b, offs, bias, out_dtype): a matrix product per group (the
    # experts of a mixture-of-experts layer). Every output element is a dot product over
    # mat_a's last dimension, except for 2-D x 2-D, where ``offs`` splits that dimension
    # among the groups and each output element sums over its group's part only.
    a, b, o = _shape(args[0]), _shape(args[1]), _shape(out)
    groups = o[0] if len(a) == 2 and len(b) == 2 else 1
    return math.prod(o) // groups * a[-1]


def by_name(formula: Formula, names: tuple[str, ...]) -> Formula:
    """``formula`` for a torch-level call whose operands may come as keywords.

    ``alibi.baddbmm(batch1=q, batch2=k)`` (BLOOM) or ``F.linear(x, weight=w)`` pass
    operands by name; aten operators never do, so only the torch-level table needs
    this. A missing operand reaches the formula as ``None`` and the call is reported
    as uncounted, as any call with unusual arguments is.

    Examples:
        >>> a, b, c = torch.zeros(2, 3, 4), torch.zeros(2, 4, 5), torch.zeros(2, 3, 5)
        >>> baddbmm = by_name(addmm_op, ("input", "batch1", "batch2"))
        >>> baddbmm((c,), {"batch1": a, "batch2": b}, c)  # c.baddbmm(batch1=a, batch2=b)
        120
    """

    def call(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
        if kwargs and len(args) < len(names):
            args = (*args, *[kwargs.get(n) for n in names[len(args) :]])
        return formula(args, kwargs, out)

    return call


def conv_fixed(transposed: bool) -> Formula:
    def formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
        output = out[0] if isinstance(out, (tuple, list)) else out
        return conv_macs(
            _shape(output), _shape(args[1]), transposed=transposed, input_shape=_shape(args[0])
        )

    return formula


def sdpa_bhle(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """Query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, Ev)``."""
    q, k, v = _shape(args[0]), _shape(args[1]), _shape(args[2])
    return attention_macs(
        batch_heads=math.prod(q[:-2]), q_len=q[-2], kv_len=k[-2], qk_dim=q[-1], v_dim=v[-1]
    )


def sdpa_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """``F.scaled_dot_product_attention(query, key, value, ...)``: one attention for each
    batch and head of the output, where those of query, key and value broadcast (and
    grouped-query heads of key and value repeat).

    Examples:
        >>> q, kv = torch.zeros(2, 4, 5, 8), torch.zeros(1, 2, 7, 8)
        >>> sdpa_op((q, kv, kv), {}, torch.zeros(2, 4, 5, 8))  # 2 x 4 x 5 x 7 x (8 + 8)
        4480
    """
    q, k, v = _shape(args[0]), _shape(args[1]), _shape(args[2])
    return attention_macs(
        batch_heads=math.prod(_shape(out)[:-2]),
        q_len=q[-2],
        kv_len=k[-2],
        qk_dim=q[-1],
        v_dim=v[-1],
    )


def sdpa_blhe(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """Query ``(B, L, H, E)``, key ``(B, S, H, E)``, value ``(B, S, H, Ev)``."""
    q, k, v = _shape(args[0]), _shape(args[1]), _shape(args[2])
    return attention_macs(batch_heads=q[0] * q[2], q_len=q[1], kv_len=k[1], qk_dim=q[3], v_dim=v[3])


def native_mha_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # _native_multi_head_attention(query, key, value, embed_dim, num_head, qkv_weight, ...)
    q, k = _shape(args[0]), _shape(args[1])
    embed = int(args[3])
    batch = math.prod(q[:-2]) if len(q) > 2 else 1
    return mha_macs(
        batch=batch,
        q_len=q[-2],
        kv_len=k[-2],
        embed=embed,
    )


def encoder_layer_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # _transformer_encoder_layer_fwd(src, embed_dim, num_heads, qkv_weight, qkv_bias,
    #   proj_weight, proj_bias, use_gelu, norm_first, eps, norm_weight_1, norm_bias_1,
    #   norm_weight_2, norm_bias_2, ffn_weight_1, ffn_bias_1, ffn_weight_2, ...)
    src = _shape(args[0])
    embed = int(args[1])
    rows = math.prod(src[:-1])
    batch = math.prod(src[:-2]) if len(src) > 2 else 1
    attention = mha_macs(batch=batch, q_len=src[-2], kv_len=src[-2], embed=embed)
    feed_forward = rows * (math.prod(_shape(args[14])) + math.prod(_shape(args[16])))
    return attention + feed_forward


def _rnn_steps(x: Any, batch_sizes: Any) -> int:
    """Steps x batch rows of a recurrent input (packed: the data's first dimension)."""
    shape = _shape(x)
    if batch_sizes is not None and _numel(batch_sizes) > 0:
        return shape[0]
    return math.prod(shape[:-1])


def _numel(value: Any) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel()
    return len(value)


def rnn_input_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # lstm.input(input, hx, params, ...), gru.input / rnn_tanh.input / rnn_relu.input(
    #   input, hx, params, ...)
    return rnn_macs(_rnn_steps(args[0], None), [_shape(w) for w in args[2]])


def rnn_data_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # lstm.data(data, batch_sizes, hx, params, ...), gru.data(data, batch_sizes, hx, params, ...)
    return rnn_macs(_shape(args[0])[0], [_shape(w) for w in args[3]])


def mkldnn_rnn_layer_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # mkldnn_rnn_layer(input, weight_ih, weight_hh, bias_ih, bias_hh, hx, cx, reverse,
    #   batch_sizes, ...): one layer in one direction.
    return rnn_macs(_rnn_steps(args[0], args[8]), [_shape(args[1]), _shape(args[2])])


def cudnn_rnn_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # _cudnn_rnn(input, weight[], weight_stride0, weight_buf, hx, cx, mode, hidden_size,
    #   proj_size, num_layers, batch_first, dropout, train, bidirectional, batch_sizes, ...)
    return rnn_macs(_rnn_steps(args[0], args[14]), [_shape(w) for w in args[1]])


def trilinear_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """``_trilinear(i1, i2, i3, expand1, expand2, expand3, sumdim)``: the sum over ``sumdim``
    of ``i1 * i2 * i3``, each input unsqueezed at its ``expand`` dims and broadcast.

    Every point of the broadcast space is one product added in (``F.bilinear``:
    batch x out x in1 x in2), so the MACs are the size of that space.

    Examples:
        >>> x1, w, x2 = torch.zeros(2, 5), torch.zeros(7, 5, 6), torch.zeros(2, 6)
        >>> trilinear_op((x1, w, x2, [1, 3], [0], [1, 2], [2, 3]), {}, None)
        420
    """
    shapes = []
    for t, expand in zip(args[:3], args[3:6], strict=True):
        shape = list(_shape(t))
        for dim in sorted(expand):
            shape.insert(dim, 1)
        shapes.append(shape)
    return math.prod(max(sizes) for sizes in zip(*shapes, strict=True))


def bilinear_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """``F.bilinear(input1, input2, weight)``: one product per row, output, and weight entry."""
    return math.prod(_shape(args[0])[:-1]) * math.prod(_shape(args[2]))


def solve_triangular_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """``linalg_solve_triangular(A, B, *, upper, left=True, unitriangular=False)``: ``A X = B``
    (or ``X A = B``), one substitution per column (row) of the broadcast ``X``."""
    n = _shape(args[0])[-1]
    x = _shape(out)
    columns = math.prod(x[:-2]) * (x[-1] if kwargs.get("left", True) else x[-2])
    return triangular_solve_macs(n, columns, unitriangular=bool(kwargs.get("unitriangular")))


def triangular_solve_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """``triangular_solve(B, A, upper, transpose, unitriangular)``: ``A X = B``."""
    n = _shape(args[1])[-1]
    x = _shape(out[0])
    unit = args[4] if len(args) > 4 else kwargs.get("unitriangular", False)
    return triangular_solve_macs(n, math.prod(x[:-2]) * x[-1], unitriangular=bool(unit))


def _fft(signal: Any, dims: Sequence[int], *, real: bool) -> int:
    shape = _shape(signal)
    points = math.prod(shape[d] for d in dims)
    return fft_macs(points, math.prod(shape) // max(points, 1), real=real)


def fft_r2c_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """``_fft_r2c(self, dim, normalization, onesided)``: a real-input transform of ``self``."""
    return _fft(args[0], args[1], real=True)


def fft_c2c_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """``_fft_c2c(self, dim, normalization, forward)``: a complex transform of ``self``."""
    return _fft(args[0], args[1], real=False)


def fft_c2r_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """``_fft_c2r(self, dim, normalization, last_dim_size)``: a real-output transform, its
    points counted on the real output."""
    return _fft(out, args[1], real=True)


# -- low-precision kernels: counted as the float operator of the same shapes ------------
def lowp_matmul_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """A matrix product of a quantized or low-precision kernel, whatever it packs the
    weight into: ``torch.ops.quantized.linear_dynamic(x, packed)``, bitsandbytes'
    ``gemm_4bit(A, B, shapeB, ...)``, ``aten._int_mm(a, b)``, optimum-quanto's
    ``qbytes_mm(A, B, scales)``, ... Each output element takes one multiply-accumulate
    per element of the first operand's last (inner) dimension: the MACs of
    ``F.linear`` or ``mm`` of the same shapes.

    Examples:
        >>> x, out = torch.zeros(2, 64), torch.zeros(2, 128)
        >>> lowp_matmul_op((x, None), {}, out), linear_op((x, torch.zeros(128, 64)), {}, None)
        (16384, 16384)
    """
    x = args[0] if args else next(iter(kwargs.values()))
    y = out[0] if isinstance(out, (tuple, list)) and out else out
    if not isinstance(y, torch.Tensor):  # an ``.out`` overload returns nothing
        y = kwargs["out"] if "out" in kwargs else args[-1]
    return math.prod(_shape(y)) * _shape(x)[-1]


def _packed_weight_shape(args: tuple[Any, ...]) -> tuple[int, ...]:
    """The weight shape of the first packed-parameters argument (a ``torch.ao`` script
    object with ``unpack()``)."""
    for arg in args:
        if not isinstance(arg, torch.Tensor) and hasattr(arg, "unpack"):
            return _shape(arg.unpack()[0])
    raise TypeError("no packed weight among the arguments")


def quantized_conv(transposed: bool) -> Formula:
    """``quantized::conv2d(qx, packed_weight, ...)`` and its relatives: the MACs of the
    float convolution of the packed weight's shape."""

    def formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
        return conv_macs(
            _shape(out),
            _packed_weight_shape(args),
            transposed=transposed,
            input_shape=_shape(args[0]),
        )

    return formula


def quantized_rnn(gates: int, *, packed: bool) -> Formula:
    """``aten.quantized_lstm`` / ``quantized_gru`` (``.input``: ``(input, hx, params,
    has_biases, num_layers, dropout, train, bidirectional, batch_first)``; ``.data``:
    ``(data, batch_sizes, hx, params, ...)``), whose weights are packed script objects:
    the float layer's MACs from the shapes, ``gates * H * (I_l + H)`` per step, batch
    row, layer and direction (``I_0`` the input's features, ``I_l = directions * H``).

    Examples:
        >>> x, h = torch.zeros(5, 3, 10), torch.zeros(2, 3, 20)  # 1 layer, 2 directions
        >>> quantized_rnn(4, packed=False)((x, [h, h], [], True, 1, 0.0, False, True, False),
        ...                                {}, None) == 2 * rnn_macs(15, [(80, 10), (80, 20)])
        True
    """

    def formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
        if packed:
            x, hx, rest = args[0], args[2], args[4:]
            rows = _shape(x)[0]
        else:
            x, hx, rest = args[0], args[1], args[3:]
            rows = math.prod(_shape(x)[:-1])
        h0 = hx[0] if isinstance(hx, (list, tuple)) else hx
        layers, bidirectional = int(rest[1]), bool(rest[4])
        directions = 2 if bidirectional else 1
        hidden, features = _shape(h0)[-1], _shape(x)[-1]
        per_row = 0
        for layer in range(layers):
            inputs = features if layer == 0 else directions * hidden
            per_row += directions * gates * hidden * (inputs + hidden)
        return rows * per_row

    return formula


def quantized_cell(gates: int) -> Formula:
    """A recurrent cell on packed or quantized weights (``quantized_lstm_cell_dynamic``,
    ``aten.quantized_gru_cell``, ...): ``gates * H * (I + H)`` per batch row, ``H`` the
    output's features."""

    def formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
        x = _shape(args[0])
        h = _shape(out[0] if isinstance(out, (tuple, list)) else out)
        return math.prod(x[:-1]) * gates * h[-1] * (x[-1] + h[-1])

    return formula


def _nbytes(value: Any) -> int:
    """Bytes of the tensors in a value, lists and tuples walked."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (list, tuple)):
        return sum(_nbytes(v) for v in value)
    return 0


def collective_bytes(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """Bytes a collective moves: its largest buffer, the "size" of nccl-tests.

    That is the tensor of an all-reduce, broadcast, send or receive, the gathered
    output of an all-gather and the unscattered input of a reduce-scatter: the
    largest of the tensors (summed over lists) in any one argument or the output.

    Examples:
        >>> shard, full = torch.zeros(4), torch.zeros(8)
        >>> collective_bytes((shard, 2, "group"), {}, full)  # all_gather_into_tensor
        32
        >>> collective_bytes(([shard, shard], "group"), {}, None)  # allreduce_ of two tensors
        32
    """
    return max([_nbytes(out), *[_nbytes(a) for a in args], *[_nbytes(v) for v in kwargs.values()]])


def no_bytes(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """A wait or a barrier: it moves no data of its own."""
    return 0


# -- standard leaf modules, counted from their shapes ------------------------------------


def _weight(module: Any) -> torch.Tensor:
    # A plain dict read: ``module.weight`` would first fail a normal attribute
    # lookup, then run ``Module.__getattr__``. A weight that is not a parameter
    # (replaced by a plain attribute) is read the usual way.
    weight: torch.Tensor | None = module._parameters.get("weight")
    return module.weight if weight is None else weight


def leaf_conv(module: Any, x: Any, out: Any) -> int:
    return conv_macs(out.shape, _weight(module).shape, transposed=False, input_shape=x.shape)


def leaf_conv_transpose(module: Any, x: Any, out: Any) -> int:
    return conv_macs(out.shape, _weight(module).shape, transposed=True, input_shape=x.shape)


def leaf_linear(module: Any, x: Any, out: Any) -> int:
    return int(x.shape[:-1].numel()) * _weight(module).numel()


def leaf_free(module: Any, x: Any, out: Any) -> int:
    return 0
