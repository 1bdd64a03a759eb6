"""A pass that failed: what the tracer recorded until then, as a summary marked partial.

`partial_trace()` takes the tracer's records after the failure; `show_partial()`
builds the `ModelSummary` from them onto the `ModelSummaryError` (its ``summary``),
and prints it when ``verbose`` says so. The tree stage marks the failed row and the
modules never reached; the presentation stage the partial totals.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> from modelsummary import ModelSummaryError, summary
    >>> model = nn.Sequential(nn.Linear(4, 3), nn.Linear(5, 2), nn.Linear(2, 1))
    >>> try:
    ...     summary(model, (1, 4), verbose=0)
    ... except ModelSummaryError as error:
    ...     partial = error.summary
    >>> [(layer.path, layer.failed) for layer in partial.layers]
    [('', False), ('0', False), ('1', True)]
    >>> partial.tree.partial, partial.total_params, partial.unused_modules
    (True, 27, ('2',))
"""

from __future__ import annotations

from ._errors import ModelSummaryError
from ._records import PassInfo, Trace
from ._request import SummaryRequest
from ._result import ModelSummary
from ._trace.tracer import Tracer
from ._tree.build import build_tree


def partial_trace(tracer: Tracer, run: PassInfo) -> tuple[Trace, PassInfo] | None:
    """The tracer's records of a pass that failed in a module call, with the facts
    about the pass beside them; ``None`` when it failed before any module ran, or
    the records cannot be read (a model left half-built by its failure)."""
    if tracer.calls.failed is None:
        return None
    try:
        return tracer.finish(), run
    except Exception:  # the error at hand matters more than its partial table
        return None


def show_partial(error: ModelSummaryError, request: SummaryRequest) -> None:
    """Build ``error.summary`` from what the failing pass of ``request`` recorded; print
    it if the request is verbose, before the error is raised on."""
    if error._partial is None:
        return
    trace, run = error._partial
    error._partial = None
    error.summary = ModelSummary(build_tree(trace, run), request.options, request.input_size)
    if request.verbose:
        print(error.summary)
