"""What if the weights were stored in another format: the per-format rule. Pure.

``summary(..., weights_as="nf4")`` sizes a float model as if its weights were stored
the way the common quantization libraries store them, without the library: on the meta
device, a 70B model's answer to "does it fit in 4-bit?" costs nothing. Each format is
one rule, a row of `WEIGHT_FORMATS`: the bits of each element, the scales stored beside
them (per output row, or per block of elements) and what a tensor stores once.

=================  ======  ==========================================  ==================
format             bits    stored beside the data                      matches
=================  ======  ==========================================  ==================
``int8``           8       one float32 scale per output row            bitsandbytes
                                                                       ``Linear8bitLt``,
                                                                       torchao
                                                                       ``Int8WeightOnly``,
                                                                       quanto ``qint8``
``int4``           4       a scale and a zero point per group of 128,  torchao
                           each in the weight's own dtype              ``Int4WeightOnly``,
                                                                       quanto ``qint4``
``nf4``, ``fp4``   4       one float32 absmax per block of 64, and a   bitsandbytes
                           16-entry float32 code table per tensor      ``Linear4bit``
``float8_e4m3fn``  8       one float32 scale per output row            torchao
                                                                       ``Float8WeightOnly``,
                                                                       quanto ``qfloat8``
``bfloat16``,      16      nothing                                     ``model.to(dtype)``
``float16``
=================  ======  ==========================================  ==================

Which weights: for the quantized formats, the weights of the linear layers (their
biases stay as they are), except the output head and a weight tied to another module's,
as transformers' quantizers leave them by default; embeddings, norms and every other
parameter keep their own dtype. ``nf4`` and ``fp4`` are bitsandbytes without double
quantization (transformers' default, ``bnb_4bit_use_double_quant=False``: with it the
absmax is one byte a block, about 0.37 bits a parameter less). For ``bfloat16`` and
``float16``, every floating-point parameter is cast, as ``model.to(dtype)`` does.

Examples:
    >>> nf4 = WEIGHT_FORMATS["nf4"]
    >>> nf4.stored_bytes(numel=128 * 256, rows=128, element_size=4)  # data, absmax, code
    18496
    >>> 128 * 256 // 2 + 128 * 256 // 64 * 4 + 16 * 4
    18496
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

from .._records import ParamInfo, WeightsAs


@dataclass(frozen=True, slots=True)
class WeightFormat:
    """How one storage format stores a weight: a row of `WEIGHT_FORMATS`.

    Examples:
        >>> WEIGHT_FORMATS["int8"].stored_bytes(numel=6, rows=2, element_size=4)
        14
    """

    name: str
    """The format's name, as ``weights_as=`` takes it."""
    bits: int
    """Bits of each stored element."""
    group: int = 0
    """Elements that share one set of scales; ``0``: one set per output row."""
    scales: int = 0
    """Scale values per group (a scale, and a zero point or shift)."""
    scale_size: int = 4
    """Bytes of each scale value; ``0``: the weight's own element size."""
    per_tensor: int = 0
    """Bytes stored once per tensor (a code table)."""
    every_float: bool = False
    """It casts every floating-point parameter (a dtype), not the linear weights alone."""

    def stored_bytes(self, numel: int, rows: int, element_size: int) -> int:
        """The bytes of a weight of ``numel`` elements and ``rows`` output rows stored in
        this format; ``element_size``: the bytes of one of its elements now.

        Examples:
            >>> WEIGHT_FORMATS["int4"].stored_bytes(numel=256, rows=2, element_size=2)
            136
        """
        data = -(-numel * self.bits // 8)  # whole bytes
        if not self.scales:
            return data + self.per_tensor
        groups = rows if self.group == 0 else -(-numel // self.group)
        size = self.scale_size or element_size
        return data + groups * self.scales * size + self.per_tensor


WEIGHT_FORMATS: dict[str, WeightFormat] = {
    "int8": WeightFormat("int8", 8, group=0, scales=1),
    "int4": WeightFormat("int4", 4, group=128, scales=2, scale_size=0),
    "nf4": WeightFormat("nf4", 4, group=64, scales=1, per_tensor=16 * 4),
    "fp4": WeightFormat("fp4", 4, group=64, scales=1, per_tensor=16 * 4),
    "float8_e4m3fn": WeightFormat("float8_e4m3fn", 8, group=0, scales=1),
    "bfloat16": WeightFormat("bfloat16", 16, every_float=True),
    "float16": WeightFormat("float16", 16, every_float=True),
}
"""The formats ``weights_as=`` knows, by name (see the table above)."""


def check_weights_as(name: object) -> str | None:
    """Validate a ``weights_as`` name; ``None`` means the weights as they are.

    Raises:
        TypeError: Not a string.
        ValueError: Not a format of `WEIGHT_FORMATS`.

    Examples:
        >>> check_weights_as("nf4")
        'nf4'
        >>> check_weights_as("int3")
        Traceback (most recent call last):
        ...
        ValueError: weights_as must be one of ['bfloat16', 'float16', 'float8_e4m3fn', 'fp4', 'int4', 'int8', 'nf4'] or None, got 'int3'
    """  # noqa: E501
    if name is None:
        return None
    if not isinstance(name, str):
        raise TypeError(f"weights_as must be a format name such as 'nf4', got {name!r}")
    if name not in WEIGHT_FORMATS:
        raise ValueError(
            f"weights_as must be one of {sorted(WEIGHT_FORMATS)} or None, got {name!r}"
        )
    return name


def weights_as(params: tuple[ParamInfo, ...], plan: WeightsAs) -> tuple[ParamInfo, ...]:
    """The parameters with the weights of ``plan`` sized in its format, the rest as they are.

    A weight's stored bytes follow `WeightFormat.stored_bytes()`, its dtype becomes the
    format's name; what an engine holds of it on this device shrinks in proportion.

    Examples:
        >>> w = ParamInfo(0, "fc.weight", 128 * 64, 128 * 64 * 4, True, "float32")
        >>> b = ParamInfo(1, "fc.bias", 128, 512, True, "float32")
        >>> [(p.nbytes, p.dtype) for p in weights_as((w, b), WeightsAs("int8", (("fc.weight", 128),)))]
        [(8704, 'int8'), (512, 'float32')]
    """  # noqa: E501
    fmt = WEIGHT_FORMATS[plan.format]
    rows: Mapping[str, int] = dict(plan.weights)
    out = []
    for p in params:
        n = rows.get(p.name)
        if n is None or p.numel == 0:
            out.append(p)
            continue
        dense = p.nbytes if p.dense_nbytes is None else p.dense_nbytes  # a quantized one's
        size = dense // p.numel
        stored = fmt.stored_bytes(p.numel, n, size)
        local = p.local_nbytes
        if local is not None and p.nbytes:
            local = local * stored // p.nbytes
        out.append(replace(p, nbytes=stored, dtype=fmt.name, local_nbytes=local))
    return tuple(out)
