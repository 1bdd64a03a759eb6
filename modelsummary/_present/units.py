"""Counts and byte sizes turned into short, readable text. Pure functions.

Examples:
    >>> format_count(25_557_032)
    '25.56M'
    >>> format_bytes(102_228_128)
    '102.23 MB'
"""

from __future__ import annotations

_COUNT_SUFFIXES = ("", "K", "M", "G", "T", "P")
_BYTE_UNITS = ("B", "kB", "MB", "GB", "TB", "PB")


def format_count(n: int) -> str:
    """Format a count with a decimal SI suffix and two decimals.

    Args:
        n: A non-negative count.

    Returns:
        The count itself below 1000, else a scaled value such as ``"21.84K"``.

    Examples:
        >>> format_count(999)
        '999'
        >>> format_count(21_840)
        '21.84K'
        >>> format_count(4_089_184_256)
        '4.09G'
    """
    value = float(n)
    for suffix in _COUNT_SUFFIXES:
        if abs(value) < 1000 or suffix == _COUNT_SUFFIXES[-1]:
            return str(n) if suffix == "" else f"{value:.2f}{suffix}"
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


def format_count_in(n: int, unit: str = "auto") -> str:
    """Format a count in one of torchinfo's units (``torchinfo.Units`` values).

    Args:
        n: A non-negative count.
        unit: ``"auto"`` (the exact count, and an SI short form from 1,000 up),
            ``""`` (the exact count only), or ``"M"``, ``"G"``, ``"T"`` (millions,
            billions, trillions with two decimals).

    Examples:
        >>> format_count_in(21_840), format_count_in(21_840, ""), format_count_in(21_840, "M")
        ('21,840 (21.84K)', '21,840', '0.02M')
        >>> format_count_in(999)
        '999'
    """
    if unit == "auto":
        return format_int(n) if n < 1000 else f"{format_int(n)} ({format_count(n)})"
    if unit == "":
        return format_int(n)
    if unit not in _UNIT_FACTORS:
        raise ValueError(f"unknown unit {unit!r}; choose from 'auto', '', 'M', 'G', 'T'")
    return f"{n / _UNIT_FACTORS[unit]:,.2f}{unit}"
