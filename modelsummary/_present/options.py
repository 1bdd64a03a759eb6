"""The checks of the drawing options, beside the options: `summary()`'s and
`ModelSummary.with_options()`'s ``col_names``, ``col_width``, ``depth``,
``row_settings`` and ``verbose`` into a `RenderOptions`.

Every check runs before any pass: a wrong option is a clear ``TypeError`` or
``ValueError``.

Examples:
    >>> options, verbose = check_options(["num_params"], None, 1, ["ascii_only"], 0)
    >>> options.columns, options.depth, options.ascii_only, verbose
    (('num_params',), 1, True, 0)
"""

from __future__ import annotations

import sys
from collections.abc import Iterable

from .render import COLUMNS, ROW_SETTINGS, RenderOptions


def is_int(value: object) -> bool:
    """An ``int`` that is not a ``bool``.

    Examples:
        >>> is_int(3), is_int(True), is_int(3.0)
        (True, False, False)
    """
    return isinstance(value, int) and not isinstance(value, bool)


def check_options(
    col_names: Iterable[str] | None,
    col_width: int | None,
    depth: int,
    row_settings: Iterable[str] | None,
    verbose: int | None,
    width: int | None = None,
) -> tuple[RenderOptions, int]:
    """Check the drawing arguments of `summary()` and make its options.

    ``col_width=None`` sizes each column to its content; ``width`` is
    `RenderOptions.width` (``None``: the terminal's).

    Examples:
        >>> options, verbose = check_options(["flops"], None, 2, ["list_unused"], 0)
        >>> options.columns, options.list_unused, verbose
        (('flops',), True, 0)
        >>> check_options(["flop"], None, 2, None, 0)
        Traceback (most recent call last):
        ...
        ValueError: unknown col_names ['flop']; choose from calls, comm_bytes, ...
    """
    columns = ("output_size", "num_params") if col_names is None else names(col_names, "col_names")
    unknown = [c for c in columns if c not in COLUMNS]
    if unknown:
        raise ValueError(f"unknown col_names {unknown}; choose from {', '.join(sorted(COLUMNS))}")
    settings = () if row_settings is None else names(row_settings, "row_settings")
    unknown = [r for r in settings if r not in ROW_SETTINGS]
    if unknown:
        raise ValueError(f"unknown row_settings {unknown}; choose from {sorted(ROW_SETTINGS)}")
    if col_width is not None and (not is_int(col_width) or col_width <= 0):
        raise ValueError(f"col_width must be a positive integer or None, got {col_width!r}")
    if not is_int(depth) or depth < 0:
        raise ValueError(f"depth must be a non-negative integer, got {depth!r}")
    if width is not None and (not is_int(width) or width < 0):
        raise ValueError(f"width must be a non-negative integer or None, got {width!r}")
    if verbose is None:
        verbose = 0 if interactive() else 1
    verbose = getattr(verbose, "value", verbose)  # torchinfo's Verbosity enum
    if not isinstance(verbose, int):
        raise TypeError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    verbose = int(verbose)
    if verbose not in (0, 1, 2):
        raise ValueError(f"verbose must be 0, 1 or 2, got {verbose!r}")
    options = RenderOptions(
        columns=columns,
        depth=sys.maxsize if verbose == 2 else depth,
        ascii_only="ascii_only" in settings,
        show_depth_index="depth" in settings,
        col_width=col_width,
        width=width,
        list_unused="list_unused" in settings,
        fold_repeats="fold_repeats" in settings,
    )
    return options, verbose


def check_columns_without_input(columns: Iterable[str]) -> None:
    """Raise ``ValueError`` for columns a summary without an input cannot fill.

    Examples:
        >>> check_columns_without_input(("num_params", "kernel_size"))
        >>> check_columns_without_input(("output_size", "num_params"))
        Traceback (most recent call last):
        ...
        ValueError: col_names: output_size needs a forward pass, so an input: ...
    """
    needs = [c for c in columns if COLUMNS[c].needs_pass]
    if needs:
        one = len(needs) == 1
        raise ValueError(
            f"col_names: {', '.join(needs)} {'needs' if one else 'need'} a forward pass,"
            " so an input: give input_size or input_data"
            f" (or leave {'it' if one else 'them'} out)"
        )


def names(values: Iterable[str], what: str) -> tuple[str, ...]:
    if isinstance(values, str):
        values = (values,)
    if not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a list of strings, got {type(values).__name__}")
    names = tuple(getattr(v, "value", v) for v in values)  # torchinfo passes enums too
    if not all(isinstance(n, str) for n in names):
        raise TypeError(f"{what} must be strings, got {list(names)!r}")
    return tuple(n.lower() for n in names)


def interactive() -> bool:
    """True at a Python prompt or in an IPython/Jupyter shell, where a value displays itself.

    Examples:
        >>> interactive()  # doctests run neither at a prompt nor in a shell
        False
    """
    if hasattr(sys, "ps1"):
        return True
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython is not None and get_ipython() is not None
