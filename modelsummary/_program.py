"""The summary of a ``torch.export.ExportedProgram``: read, not run.

`summary()` hands an exported program here. No input is taken and nothing runs:
`read_program()` reads the records from the program's graph, and the tree and the
table are made from them exactly as for a traced pass.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> program = torch.export.export(nn.Sequential(nn.Linear(4, 2)), (torch.zeros(3, 4),))
    >>> s = summarize_program(program, verbose=0)
    >>> s.total_params, s.total_mult_adds
    (10, 24)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from torch.export import ExportedProgram

from ._present.options import check_options
from ._result import ModelSummary
from ._trace.catalogue import current_catalogue
from ._trace.engines import rank_and_world
from ._trace.exported import read_program
from ._tree.build import build_tree


def summarize_program(
    program: ExportedProgram,
    *,
    col_names: Iterable[str] | None = None,
    col_width: int | None = None,
    depth: int = 3,
    row_settings: Iterable[str] | None = None,
    verbose: int | None = None,
    formulas: Mapping[Any, Callable[..., int]] | None = None,
    refused: Mapping[str, Any] | None = None,
) -> ModelSummary:
    """Summarise an exported program from its graph (see `summary()` for the options).

    Args:
        program: What ``torch.export.export()`` or ``torch.export.load()`` returned.
        col_names: Columns, as for a module.
        col_width: Minimum width of each value column.
        depth: Deepest row to show.
        row_settings: Row settings, as for a module.
        verbose: 0 prints nothing, 1 the table, 2 every depth.
        formulas: Mult-add formulas of this call, on top of the catalogue's.
        refused: The arguments of `summary()` that need a forward pass, by name,
            with what was given: any that is not ``None`` is a ``ValueError``.

    Raises:
        ValueError: An input, device, dtype, mode or optimizer was given: the program
            holds its own example pass.

    Examples:
        >>> import torch
        >>> from torch import nn
        >>> program = torch.export.export(nn.Linear(4, 2), (torch.zeros(1, 4),))
        >>> summarize_program(program, verbose=0, refused={"input_size": (1, 4)})
        Traceback (most recent call last):
        ...
        ValueError: an exported program is summarised from its graph, without running it: ...
    """
    given = [name for name, value in (refused or {}).items() if value is not None]
    if given:
        raise ValueError(
            "an exported program is summarised from its graph, without running it:"
            f" {', '.join(given)} cannot be given (the shapes are those it was exported with)"
        )
    ranks = rank_and_world()
    quiet_rank = verbose is None and ranks is not None and ranks[0] != 0
    options, verbose = check_options(col_names, col_width, depth, row_settings, verbose)
    if quiet_rank:
        verbose = 0
    catalogue = current_catalogue()
    if formulas is not None:
        catalogue = catalogue.with_formulas(formulas)
    trace, run = read_program(program, catalogue)
    tree = build_tree(trace, run)
    inputs = [list(spec.shape) for spec in trace.calls[0].inputs.items if hasattr(spec, "shape")]
    result = ModelSummary(tree, options, input_size=inputs)
    if verbose:
        print(result)
    return result
