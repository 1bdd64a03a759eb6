"""Multiply-accumulate formulas for aten operators, and which operators carry none.

The tracer sees every aten operator that runs below autograd (composite ops such
as ``F.linear``, ``torch.matmul`` and ``torch.einsum`` have already decomposed
into ``addmm``/``mm``/``bmm`` there, so each multiply is seen, and counted, once).
Each operator falls in one of three classes:

* **counted**: matrix products, convolutions, attention and recurrent layers,
  with a formula below. One multiply-accumulate (MAC) is one ``a * b + c``;
  FLOPs are ``2 * MACs``. Bias additions are not MACs and are not counted.
* **free**: operators known to do no multiply-accumulates: views, copies,
  creation, indexing, elementwise maths, normalisation, softmax, pooling and
  reductions. Their work is real but it is not MACs, and it is never mixed in.
* **uncounted**: anything else. The summary lists these by name and count, so a
  total that may be partial says so.

Most operators never need the aten level: the tracer first sees each call at the
``torch`` level (``F.conv2d``, ``F.linear``, ``Tensor.add``), and
:func:`classify_function` answers there for the common ones: a formula for
linear layers, convolutions and plain matrix products, or "free". Only calls it
does not know (``einsum``, attention, recurrent layers, anything unfamiliar) are
run under the aten-level counter, which sees what they decompose into. The
result is the same as counting every aten operator, at a fraction of the cost.

The shape formulas are pure functions of sizes:

Example:
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


# -- pure shape formulas ---------------------------------------------------------------
def matmul_macs(a: Sequence[int], b: Sequence[int]) -> int:
    """MACs of ``a @ b`` for shapes ``(..., n, k)`` and ``(..., k, m)`` (batch dims broadcast).

    Example:
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

    Example:
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

    Example:
        >>> attention_macs(batch_heads=12, q_len=128, kv_len=128, qk_dim=64, v_dim=64)
        25165824
    """
    return batch_heads * q_len * kv_len * (qk_dim + v_dim)


def mha_macs(*, batch: int, q_len: int, kv_len: int, embed: int) -> int:
    """MACs of multi-head attention with input and output projections (bias excluded).

    Example:
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

    Example:
        >>> rnn_macs(15, [(80, 10), (80, 20), (80,), (80,)])  # one LSTM layer, H=20
        36000
    """
    return steps_times_batch * sum(math.prod(s) for s in weight_shapes if len(s) == 2)


def _broadcast_numel(a: Sequence[int], b: Sequence[int]) -> int:
    """Elements of the broadcast of two batch shapes (sizes of 1 stretch).

    Example:
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


def _mm_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    return _mm(args[0], args[1])


def _addmm_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    return _mm(args[1], args[2])


def _mv_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    return math.prod(_shape(args[0]))


def _addmv_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    return math.prod(_shape(args[1]))


def _dot_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    return math.prod(_shape(args[0]))


def _linear_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    x, weight = _shape(args[0]), _shape(args[1])
    return math.prod(x[:-1]) * math.prod(weight)


def _conv_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # convolution/_convolution(input, weight, bias, stride, padding, dilation, transposed, ...)
    transposed = bool(args[6]) if len(args) > 6 else bool(kwargs.get("transposed", False))
    return conv_macs(
        _shape(out), _shape(args[1]), transposed=transposed, input_shape=_shape(args[0])
    )


def _grouped_mm_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # _grouped_mm(mat_a, mat_b, offs, bias, out_dtype): a matrix product per group (the
    # experts of a mixture-of-experts layer). Every output element is a dot product over
    # mat_a's last dimension, except for 2-D x 2-D, where ``offs`` splits that dimension
    # among the groups and each output element sums over its group's part only.
    a, b, o = _shape(args[0]), _shape(args[1]), _shape(out)
    groups = o[0] if len(a) == 2 and len(b) == 2 else 1
    return math.prod(o) // groups * a[-1]


def _by_name(formula: Formula, names: tuple[str, ...]) -> Formula:
    """``formula`` for a torch-level call whose operands may come as keywords.

    ``alibi.baddbmm(batch1=q, batch2=k)`` (BLOOM) or ``F.linear(x, weight=w)`` pass
    operands by name; aten operators never do, so only the torch-level table needs
    this. A missing operand reaches the formula as ``None`` and the call is reported
    as uncounted, as any call with unusual arguments is.

    Example:
        >>> a, b, c = torch.zeros(2, 3, 4), torch.zeros(2, 4, 5), torch.zeros(2, 3, 5)
        >>> baddbmm = _by_name(_addmm_op, ("input", "batch1", "batch2"))
        >>> baddbmm((c,), {"batch1": a, "batch2": b}, c)  # c.baddbmm(batch1=a, batch2=b)
        120
    """

    def call(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
        if kwargs and len(args) < len(names):
            args = (*args, *[kwargs.get(n) for n in names[len(args) :]])
        return formula(args, kwargs, out)

    return call


def _conv_fixed(transposed: bool) -> Formula:
    def formula(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
        output = out[0] if isinstance(out, (tuple, list)) else out
        return conv_macs(
            _shape(output), _shape(args[1]), transposed=transposed, input_shape=_shape(args[0])
        )

    return formula


def _sdpa_bhle(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """Query ``(..., L, E)``, key ``(..., S, E)``, value ``(..., S, Ev)``."""
    q, k, v = _shape(args[0]), _shape(args[1]), _shape(args[2])
    return attention_macs(
        batch_heads=math.prod(q[:-2]), q_len=q[-2], kv_len=k[-2], qk_dim=q[-1], v_dim=v[-1]
    )


def _sdpa_blhe(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    """Query ``(B, L, H, E)``, key ``(B, S, H, E)``, value ``(B, S, H, Ev)``."""
    q, k, v = _shape(args[0]), _shape(args[1]), _shape(args[2])
    return attention_macs(batch_heads=q[0] * q[2], q_len=q[1], kv_len=k[1], qk_dim=q[3], v_dim=v[3])


def _native_mha_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
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


def _encoder_layer_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
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


def _rnn_input_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # lstm.input(input, hx, params, ...), gru.input / rnn_tanh.input / rnn_relu.input(
    #   input, hx, params, ...)
    return rnn_macs(_rnn_steps(args[0], None), [_shape(w) for w in args[2]])


def _rnn_data_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # lstm.data(data, batch_sizes, hx, params, ...), gru.data(data, batch_sizes, hx, params, ...)
    return rnn_macs(_shape(args[0])[0], [_shape(w) for w in args[3]])


def _mkldnn_rnn_layer_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # mkldnn_rnn_layer(input, weight_ih, weight_hh, bias_ih, bias_hh, hx, cx, reverse,
    #   batch_sizes, ...): one layer in one direction.
    return rnn_macs(_rnn_steps(args[0], args[8]), [_shape(args[1]), _shape(args[2])])


def _cudnn_rnn_op(args: tuple[Any, ...], kwargs: dict[str, Any], out: Any) -> int:
    # _cudnn_rnn(input, weight[], weight_stride0, weight_buf, hx, cx, mode, hidden_size,
    #   proj_size, num_layers, batch_first, dropout, train, bidirectional, batch_sizes, ...)
    return rnn_macs(_rnn_steps(args[0], args[14]), [_shape(w) for w in args[1]])


_COUNTED: dict[str, Formula] = {
    "mm": _mm_op,
    "bmm": _mm_op,
    "matmul": _mm_op,
    "addmm": _addmm_op,
    "_addmm_activation": _addmm_op,
    "baddbmm": _addmm_op,
    "addbmm": _addmm_op,
    "mv": _mv_op,
    "addmv": _addmv_op,
    "dot": _dot_op,
    "vdot": _dot_op,
    "linear": _linear_op,
    "convolution": _conv_op,
    "_convolution": _conv_op,
    "conv1d": _conv_fixed(False),
    "conv2d": _conv_fixed(False),
    "conv3d": _conv_fixed(False),
    "_conv_depthwise2d": _conv_fixed(False),
    "conv_depthwise3d": _conv_fixed(False),
    "cudnn_convolution": _conv_fixed(False),
    "miopen_convolution": _conv_fixed(False),
    "miopen_depthwise_convolution": _conv_fixed(False),
    "mkldnn_convolution": _conv_fixed(False),
    "_slow_conv2d_forward": _conv_fixed(False),
    "slow_conv3d_forward": _conv_fixed(False),
    "slow_conv_dilated2d": _conv_fixed(False),
    "slow_conv_dilated3d": _conv_fixed(False),
    "_nnpack_spatial_convolution": _conv_fixed(False),
    "cudnn_convolution_relu": _conv_fixed(False),
    "cudnn_convolution_add_relu": _conv_fixed(False),
    "conv_transpose1d": _conv_fixed(True),
    "conv_transpose2d": _conv_fixed(True),
    "conv_transpose3d": _conv_fixed(True),
    "cudnn_convolution_transpose": _conv_fixed(True),
    "miopen_convolution_transpose": _conv_fixed(True),
    "slow_conv_transpose2d": _conv_fixed(True),
    "slow_conv_transpose3d": _conv_fixed(True),
    "scaled_dot_product_attention": _sdpa_bhle,
    "_scaled_dot_product_attention_math": _sdpa_bhle,
    "_scaled_dot_product_flash_attention": _sdpa_bhle,
    "_scaled_dot_product_flash_attention_for_cpu": _sdpa_bhle,
    "_scaled_dot_product_efficient_attention": _sdpa_bhle,
    "_scaled_dot_product_cudnn_attention": _sdpa_bhle,
    "_scaled_dot_product_fused_attention_overrideable": _sdpa_bhle,
    "_flash_attention_forward": _sdpa_blhe,
    "_efficient_attention_forward": _sdpa_blhe,
    "_native_multi_head_attention": _native_mha_op,
    "_transformer_encoder_layer_fwd": _encoder_layer_op,
    "mkldnn_rnn_layer": _mkldnn_rnn_layer_op,
    "_cudnn_rnn": _cudnn_rnn_op,
    "_grouped_mm": _grouped_mm_op,
    "_scaled_grouped_mm": _grouped_mm_op,
    # torchvision's deformable convolution: a convolution's products at sampled points
    "torchvision.deform_conv2d": _conv_fixed(False),
}

_RNN_OPS = ("lstm", "gru", "rnn_tanh", "rnn_relu")

# Operators known to do no multiply-accumulates (in-place variants, ``name_``, too).
_FREE = frozenset(
    """
    abs acos acosh add addcdiv addcmul alias all amax amin aminmax any arange argmax argmin
    argsort as_strided asin asinh atan atan2 atanh avg_pool1d avg_pool2d avg_pool3d
    adaptive_avg_pool1d adaptive_avg_pool2d adaptive_avg_pool3d _adaptive_avg_pool2d
    _adaptive_avg_pool3d adaptive_max_pool1d adaptive_max_pool2d adaptive_max_pool3d
    bernoulli bitwise_and bitwise_not bitwise_or bitwise_xor broadcast_to bucketize
    cat ceil celu chunk clamp clamp_max clamp_min clip clone constant_pad_nd contiguous copy
    cos cosh count_nonzero cummax cummin cumprod cumsum deg2rad detach diag_embed diagonal
    div dropout elu embedding embedding_bag _embedding_bag empty empty_like empty_strided
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
    _local_scalar_dense item equal allclose isclose is_nonzero is_same_size _assert_async
    _assert_tensor_metadata sym_size sym_stride sym_numel sym_storage_offset _reshape_alias
    _unsafe_index _unsafe_index_put _index_put_impl index_reduce hstack vstack dstack
    _safe_softmax _pin_memory pin_memory _foreach_add _foreach_mul stride size numel
    block_diag _nested_tensor_from_mask _nested_tensor_from_mask_left_aligned
    _masked_softmax im2col col2im _fused_dropout grid_sampler_2d grid_sampler
    one_hot bincount histc searchsorted cumulative_trapezoid heaviside hypot i0 igamma
    igammac nextafter polar complex real imag conj _conj resolve_conj resolve_neg
    _neg_view _conj_physical conj_physical angle copysign float_power fmax fmin
    linalg_vector_norm _weight_norm _weight_norm_interface norm_except_dim
    torchvision.nms torchvision.roi_align torchvision.roi_pool torchvision.ps_roi_align
    torchvision.ps_roi_pool
    """.split()  # noqa: SIM905 (a word list reads better than 300 quoted strings)
)


def classify(func: Any) -> Formula | bool:
    """Sort an aten operator into counted, free or uncounted.

    Args:
        func: An ``OpOverload`` such as ``torch.ops.aten.addmm.default``.

    Returns:
        Its MAC formula if it has one; ``True`` if it is known to do no
        multiply-accumulates; ``False`` if it is unknown (to report as uncounted).

    Example:
        >>> aten = torch.ops.aten
        >>> classify(aten.addmm.default) is _addmm_op
        True
        >>> classify(aten.relu_.default), classify(aten.view.default)
        (True, True)
        >>> classify(aten._fft_r2c.default)
        False
    """
    name = op_name(func).removeprefix("aten.")
    if name in _RNN_OPS:
        overload = getattr(func, "_overloadname", "input")
        return _rnn_data_op if overload == "data" else _rnn_input_op
    formula = _COUNTED.get(name)
    if formula is not None:
        return formula
    base = name[:-1] if name.endswith("_") and not name.startswith("_") else name
    if base in _FREE or name in _FREE:
        return True
    if getattr(func, "is_view", False):
        return True
    tags = getattr(func, "tags", ())
    return any(tag in tags for tag in _FREE_TAGS)


# Not ``nondeterministic_seeded``: the attention kernels carry it (for their dropout).
_FREE_TAGS = (torch.Tag.pointwise, torch.Tag.view_copy)


def op_name(func: Any) -> str:
    """The operator's packet name, such as ``"aten.addmm"``.

    Example:
        >>> op_name(torch.ops.aten.addmm.default)
        'aten.addmm'
    """
    packet = getattr(func, "_overloadpacket", func)
    return str(getattr(packet, "_qualified_op_name", packet)).replace("::", ".")


DISPATCH = None
"""What :func:`classify_function` returns for a call to count at the aten level."""

# torch-level calls with a formula: the common, unambiguous heavy hitters. Anything with
# broadcasting or 1-D special cases (``matmul``, ``@``, ``einsum``) goes to the aten level.
_INPUT_WEIGHT = ("input", "weight")
_FUNCTION_COUNTED: dict[str, Formula] = {
    "linear": _by_name(_linear_op, _INPUT_WEIGHT),
    "conv1d": _by_name(_conv_fixed(False), _INPUT_WEIGHT),
    "conv2d": _by_name(_conv_fixed(False), _INPUT_WEIGHT),
    "conv3d": _by_name(_conv_fixed(False), _INPUT_WEIGHT),
    "conv_transpose1d": _by_name(_conv_fixed(True), _INPUT_WEIGHT),
    "conv_transpose2d": _by_name(_conv_fixed(True), _INPUT_WEIGHT),
    "conv_transpose3d": _by_name(_conv_fixed(True), _INPUT_WEIGHT),
    "addmm": _by_name(_addmm_op, ("input", "mat1", "mat2")),
    "baddbmm": _by_name(_addmm_op, ("input", "batch1", "batch2")),
    "mm": _by_name(_mm_op, ("input", "mat2")),
    "bmm": _by_name(_mm_op, ("input", "mat2")),
}

# torch-level names (beyond the aten ones in _FREE) of calls known to do no MACs.
_FUNCTION_FREE = frozenset(
    """
    batch_norm getitem setitem get float double half bfloat16 int long bool
    dropout1d dropout2d dropout3d alpha_dropout feature_alpha_dropout relu6 interpolate
    radd rmul rtruediv truediv floordiv rfloordiv mod rpow and or xor invert
    len repr format hash iter contains dim ndimension nelement element_size is_contiguous
    is_floating_point is_complex get_device data_ptr untyped_storage storage_offset
    requires_grad_ cpu cuda masked_fill_ new_tensor tolist numpy
    """.split()  # noqa: SIM905
)


def classify_function(func: Any) -> Formula | bool | None:
    """Sort a torch-level call (what a ``TorchFunctionMode`` sees) by its name.

    Args:
        func: A torch function, ``Tensor`` method or ``torch.nn.functional`` function.

    Returns:
        A MAC formula; ``True`` if it is known to do no multiply-accumulates; or
        :data:`DISPATCH` (``None``) to count the aten operators it runs.

    Example:
        >>> x, w = torch.zeros(8, 4), torch.zeros(3, 4)
        >>> classify_function(torch.nn.functional.linear)((x, w), {}, None)
        96
        >>> classify_function(torch.Tensor.__add__), classify_function(torch.relu)
        (True, True)
        >>> classify_function(torch.einsum) is DISPATCH
        True
    """
    name = getattr(func, "__name__", "")
    if name.startswith("__") and name.endswith("__") and len(name) > 4:
        name = name[2:-2]
        if name[:1] in "ri" and name[1:] in _FREE:  # __radd__, __iadd__ ...
            name = name[1:]
    formula = _FUNCTION_COUNTED.get(name)
    if formula is not None:
        return formula
    base = name[:-1] if name.endswith("_") and not name.startswith("_") else name
    if base in _FREE or name in _FREE or base in _FUNCTION_FREE:
        return True
    return DISPATCH


# -- standard leaf modules, counted from their shapes ------------------------------------
LeafFormula = Callable[[Any, Any, Any], int]
"""``(module, input, output) -> MACs`` of one call of a standard leaf module."""


def _weight(module: Any) -> torch.Tensor:
    # A plain dict read: ``module.weight`` would first fail a normal attribute
    # lookup, then run ``Module.__getattr__``. A weight that is not a parameter
    # (replaced by a plain attribute) is read the usual way.
    weight: torch.Tensor | None = module._parameters.get("weight")
    return module.weight if weight is None else weight


def _leaf_conv(module: Any, x: Any, out: Any) -> int:
    return conv_macs(out.shape, _weight(module).shape, transposed=False, input_shape=x.shape)


def _leaf_conv_transpose(module: Any, x: Any, out: Any) -> int:
    return conv_macs(out.shape, _weight(module).shape, transposed=True, input_shape=x.shape)


def _leaf_linear(module: Any, x: Any, out: Any) -> int:
    return int(x.shape[:-1].numel()) * _weight(module).numel()


def _leaf_free(module: Any, x: Any, out: Any) -> int:
    return 0


def _leaf_formulas() -> dict[type, LeafFormula]:
    from torch import nn

    table: dict[type, LeafFormula] = {
        nn.Conv1d: _leaf_conv,
        nn.Conv2d: _leaf_conv,
        nn.Conv3d: _leaf_conv,
        nn.ConvTranspose1d: _leaf_conv_transpose,
        nn.ConvTranspose2d: _leaf_conv_transpose,
        nn.ConvTranspose3d: _leaf_conv_transpose,
        nn.Linear: _leaf_linear,
    }
    free = (
        nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.LayerNorm, nn.GroupNorm,
        nn.ReLU, nn.ReLU6, nn.GELU, nn.SiLU, nn.Sigmoid, nn.Tanh, nn.Hardswish,
        nn.Hardsigmoid, nn.LeakyReLU, nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d,
        nn.Identity, nn.Flatten, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d,
        nn.AvgPool2d, nn.AvgPool3d, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d,
        nn.AdaptiveAvgPool3d, nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d,
    )  # fmt: skip
    table.update(dict.fromkeys(free, _leaf_free))
    return table


_LEAVES: dict[type, LeafFormula] | None = None


def leaf_formula(cls: type) -> LeafFormula | None:
    """The MAC formula of a standard leaf module class, counted from its shapes.

    Only the exact classes of ``torch.nn`` listed here qualify (a subclass may
    override ``forward``). Their forward uses exactly their own parameters, and
    every operator it runs is either counted by the formula or known to do no
    MACs, so a call can be summarised without seeing its operators: the same
    numbers for a fraction of the cost. Tested against operator-level counting
    for each class.

    Example:
        >>> from torch import nn
        >>> conv = nn.Conv2d(3, 8, 3)
        >>> x = torch.zeros(1, 3, 10, 10)
        >>> leaf_formula(nn.Conv2d)(conv, x, conv(x))
        13824
        >>> leaf_formula(nn.ReLU)(None, x, x), leaf_formula(nn.Sequential)
        (0, None)
    """
    global _LEAVES
    if _LEAVES is None:
        _LEAVES = _leaf_formulas()
    return _LEAVES.get(cls)
