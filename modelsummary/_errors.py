"""The package's one error type.

Example:
    >>> issubclass(ModelSummaryError, RuntimeError)
    True
"""

from __future__ import annotations


class ModelSummaryError(RuntimeError):
    """The model's forward pass failed while it was being summarised.

    The message names the dotted path of the innermost module that was running
    and the shapes it received; the original exception is chained as
    ``__cause__``.

    Example:
        >>> str(ModelSummaryError("forward failed in 'fc'"))
        "forward failed in 'fc'"
    """


ModelSummaryError.__module__ = "modelsummary"  # tracebacks name it where users import it
