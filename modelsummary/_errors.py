"""The package's one error type.

Examples:
    >>> issubclass(ModelSummaryError, RuntimeError)
    True
"""

from __future__ import annotations


class ModelSummaryError(RuntimeError):
    """The model's forward pass failed while it was being summarised.

    The message names the dotted path of the innermost module that was running
    and the shapes it received; the original exception is chained as
    ``__cause__``.

    Examples:
        >>> str(ModelSummaryError("forward failed in 'fc'"))
        "forward failed in 'fc'"
    """


ModelSummaryError.__module__ = "modelsummary"  # tracebacks name it where users import it
