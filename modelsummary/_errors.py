"""The package's error types.

Examples:
    >>> issubclass(ModelSummaryError, RuntimeError)
    True
    >>> issubclass(ArgumentError, ValueError), issubclass(ArgumentError, RuntimeError)
    (True, True)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._records import PassInfo, Trace
    from ._result import ModelSummary


class ModelSummaryError(RuntimeError):
    """The model's forward pass failed while it was being summarised.

    The message names the dotted path of the innermost module that was running,
    the shapes it received and, when it can tell, which module's call returned
    them; the original exception is chained as ``__cause__``. `summary` holds the
    summary of the pass as far as it got.

    Examples:
        >>> str(ModelSummaryError("forward failed in 'fc'"))
        "forward failed in 'fc'"
        >>> print(ModelSummaryError("forward failed in 'fc'").summary)
        None
    """

    summary: ModelSummary | None = None
    """The summary of the pass up to the failure: every module that ran, with its
    shapes and counts, the failing module's row marked ``[failed]``, the modules
    never reached listed as such, and totals marked partial (``tree.partial``).
    ``None`` when the pass failed before any module ran."""

    _partial: tuple[Trace, PassInfo] | None = None
    """What the tracer recorded until the failure, for `summary` to be built from."""


class ArgumentError(ValueError, RuntimeError):
    """A wrong combination of arguments where torchinfo raises ``RuntimeError``: both
    ``input_size`` and ``input_data``, or a device that is unknown or not available.

    It is a ``ValueError``, as every wrong argument value here is, and a
    ``RuntimeError``, so code written against torchinfo that catches
    ``RuntimeError`` catches it too. Raised before anything runs.

    Examples:
        >>> try:
        ...     raise ArgumentError("give input_size or input_data, not both")
        ... except RuntimeError as error:
        ...     isinstance(error, ValueError)
        True
    """


ModelSummaryError.__module__ = "modelsummary"  # tracebacks name it where users import it
ArgumentError.__module__ = "modelsummary"
