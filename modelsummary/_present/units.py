"""Counts and byte sizes turned into short, readable text. Pure functions.

Counts of things (parameters, buffers) read in ``K``, ``M``, ``B`` (billions) and
``T``, as Hugging Face, Lightning and Keras write them (``6.74B``); operations
(mult-adds, FLOPs) keep torchinfo's ``G`` for giga-operations (``4.09G``); bytes
read in ``kB``, ``MB``, ``GB`` (decimal).

Examples:
    >>> format_count(25_557_032), format_count(6_738_415_616)
    ('25.56M', '6.74B')
    >>> format_count(4_089_184_256, ops=True)
    '4.09G'
    >>> format_bytes(102_228_128)
    '102.23 MB'
"""

from __future__ import annotations

_COUNT_SUFFIXES = ("", "K", "M", "B", "T")
_OPS_SUFFIXES = ("", "K", "M", "G", "T", "P")
_BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def format_count(n: int, *, ops: bool = False) -> str:
    """Format a count with a decimal suffix and two decimals.

    Args:
        n: A non-negative count.
        ops: A count of operations (mult-adds, FLOPs): ``G`` for billions, as
            torchinfo and FLOP counters write them; otherwise ``B``.

    Returns:
        The count itself below 1000, else a scaled value such as ``"21.84K"``.

    Examples:
        >>> format_count(999)
        '999'
        >>> format_count(21_840)
        '21.84K'
        >>> format_count(6_738_415_616), format_count(4_089_184_256, ops=True)
        ('6.74B', '4.09G')
    """
    suffixes = _OPS_SUFFIXES if ops else _COUNT_SUFFIXES
    value = float(n)
    for suffix in suffixes:
        if abs(value) < 1000 or suffix == suffixes[-1]:
            return str(n) if suffix == "" else f"{value:.2f}{suffix}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_short(n: int, *, ops: bool = False) -> str:
    """A count in at most six characters, for a table's column: three significant
    digits or one decimal (``118.0M``), suffixes as in `format_count()`. The exact
    figure stays in the footer and in the exports.

    Examples:
        >>> format_short(118_013_952), format_short(9_408), format_short(128)
        ('118.0M', '9.4K', '128')
        >>> format_short(999_960), format_short(6_738_415_616)
        ('1.0M', '6.7B')
        >>> format_short(4_089_184_256, ops=True)
        '4.1G'
    """
    suffixes = _OPS_SUFFIXES if ops else _COUNT_SUFFIXES
    value = float(n)
    for suffix in suffixes:
        if suffix == "" and abs(value) < 1000:
            return str(n)
        if round(abs(value), 1) < 1000 or suffix == suffixes[-1]:
            return f"{value:.1f}{suffix}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_bytes(n: int) -> str:
    """Format a byte count with decimal units (1 MB = 1,000,000 bytes).

    Args:
        n: A non-negative number of bytes.

    Returns:
        Text such as ``"72 B"`` or ``"1.05 MB"``.

    Examples:
        >>> format_bytes(72)
        '72 B'
        >>> format_bytes(1_048_576)
        '1.05 MB'
    """
    value = float(n)
    for unit in _BYTE_UNITS:
        if abs(value) < 1000 or unit == _BYTE_UNITS[-1]:
            return f"{n} B" if unit == "B" else f"{value:.2f} {unit}"
        value /= 1000
    raise AssertionError("unreachable")  # pragma: no cover


def format_bytes_in(n: int, unit: str = "auto") -> str:
    """Format a byte count in one of torchinfo's units (``torchinfo.Units`` values).

    Args:
        n: A non-negative number of bytes.
        unit: ``"auto"`` (`format_bytes()`), ``""`` (bytes, exact), or ``"M"``,
            ``"G"``, ``"T"`` (megabytes, gigabytes, terabytes with two decimals).

    Examples:
        >>> format_bytes_in(4_004_000), format_bytes_in(4_004_000, "M")
        ('4.00 MB', '4.00 MB')
        >>> format_bytes_in(4_004_000, ""), format_bytes_in(4_004_000, "G")
        ('4,004,000 B', '0.00 GB')
    """
    if unit == "auto":
        return format_bytes(n)
    if unit == "":
        return f"{format_int(n)} B"
    if unit not in _UNIT_FACTORS:
        raise ValueError(f"unknown unit {unit!r}; choose from 'auto', '', 'M', 'G', 'T'")
    return f"{n / _UNIT_FACTORS[unit]:,.2f} {unit}B"


def format_int(n: int) -> str:
    """Format an integer with thousands separators.

    Examples:
        >>> format_int(124439808)
        '124,439,808'
    """
    return f"{n:,}"


def format_seconds(seconds: float) -> str:
    """Format a duration with the largest of s, ms and µs that keeps it at least 1.

    Examples:
        >>> format_seconds(0.00123)
        '1.23 ms'
        >>> format_seconds(2.5), format_seconds(4e-6)
        ('2.50 s', '4.00 µs')
    """
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds * 1e6:.2f} µs"


_UNIT_FACTORS = {"M": 1e6, "G": 1e9, "T": 1e12}


def format_count_in(n: int, unit: str = "auto", *, ops: bool = False) -> str:
    """Format a count in one of torchinfo's units (``torchinfo.Units`` values).

    Args:
        n: A non-negative count.
        unit: ``"auto"`` (the exact count, and a short form from 1,000 up, see
            `format_count()`), ``""`` (the exact count only), or ``"M"``, ``"G"``,
            ``"T"`` (millions, billions, trillions with two decimals, written with
            the letter asked for, as torchinfo does).
        ops: A count of operations: its ``"auto"`` short form writes billions ``G``.

    Examples:
        >>> format_count_in(21_840), format_count_in(21_840, ""), format_count_in(21_840, "M")
        ('21,840 (21.84K)', '21,840', '0.02M')
        >>> format_count_in(999)
        '999'
        >>> format_count_in(6_738_415_616), format_count_in(4_089_184_256, ops=True)
        ('6,738,415,616 (6.74B)', '4,089,184,256 (4.09G)')
    """
    if unit == "auto":
        return format_int(n) if n < 1000 else f"{format_int(n)} ({format_count(n, ops=ops)})"
    if unit == "":
        return format_int(n)
    if unit not in _UNIT_FACTORS:
        raise ValueError(f"unknown unit {unit!r}; choose from 'auto', '', 'M', 'G', 'T'")
    return f"{n / _UNIT_FACTORS[unit]:,.2f}{unit}"
