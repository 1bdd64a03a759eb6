"""torchinfo's names, for code written against torchinfo: its enums, its unit helpers,
and the attributes its ``ModelStatistics`` and ``LayerInfo`` answer.

The enums are torchinfo's, member for member, and ``summary()`` takes them
wherever torchinfo does. `ModelSummaryMethods` and `LayerInfoMethods`
are mixins: ``ModelSummary`` and ``SummaryNode`` inherit them, so each keeps its
own module small. Nothing here imports torch.

Examples:
    >>> import torch
    >>> from modelsummary import ColumnSettings, Units, Verbosity, summary
    >>> s = summary(torch.nn.Linear(1000, 1000), (1, 1000), verbose=Verbosity.QUIET,
    ...             col_names=(ColumnSettings.NUM_PARAMS,))
    >>> s.formatting.params_units = Units.MEGABYTES
    >>> [line for line in str(s).splitlines() if line.startswith("Total params")]
    ['Total params: 1.00M']
"""

from __future__ import annotations

import dataclasses
from enum import Enum, IntEnum, unique
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._present.render import RenderOptions
    from ._tree.nodes import SummaryTree


@unique
class Mode(str, Enum):
    """torchinfo's ``mode`` values; ``SAME`` keeps each module's own train/eval flag.

    Examples:
        >>> Mode("train") is Mode.TRAIN
        True
    """

    TRAIN = "train"
    EVAL = "eval"
    SAME = "same"


@unique
class RowSettings(str, Enum):
    """torchinfo's ``row_settings`` values.

    Examples:
        >>> RowSettings.ASCII_ONLY.value
        'ascii_only'
    """

    DEPTH = "depth"
    VAR_NAMES = "var_names"
    ASCII_ONLY = "ascii_only"
    HIDE_RECURSIVE_LAYERS = "hide_recursive_layers"


@unique
class ColumnSettings(str, Enum):
    """torchinfo's ``col_names`` values (the ``calls`` and ``time`` columns are
    given as strings).

    Examples:
        >>> ColumnSettings("mult_adds").name
        'MULT_ADDS'
    """

    KERNEL_SIZE = "kernel_size"
    INPUT_SIZE = "input_size"
    OUTPUT_SIZE = "output_size"
    NUM_PARAMS = "num_params"
    PARAMS_PERCENT = "params_percent"
    MULT_ADDS = "mult_adds"
    TRAINABLE = "trainable"


@unique
class Units(str, Enum):
    """torchinfo's units of the footer's counts (it names them after bytes; they
    scale counts: ``MEGABYTES`` is millions). ``AUTO`` is this library's default
    form, the exact count with a short one beside it: ``21,840 (21.84K)``.

    Examples:
        >>> Units("M") is Units.MEGABYTES, Units.NONE.value
        (True, '')
    """

    AUTO = "auto"
    MEGABYTES = "M"
    GIGABYTES = "G"
    TERABYTES = "T"
    NONE = ""


@unique
class Verbosity(IntEnum):
    """torchinfo's ``verbose`` levels.

    Examples:
        >>> int(Verbosity.VERBOSE)
        2
    """

    QUIET = 0
    DEFAULT = 1
    VERBOSE = 2


_FACTORS = {Units.MEGABYTES: 1e6, Units.GIGABYTES: 1e9, Units.TERABYTES: 1e12, Units.NONE: 1.0}


def to_readable(num: float, units: Units | str = Units.AUTO) -> tuple[Units, float]:
    """A count in millions, billions or trillions, as torchinfo's ``to_readable``.

    ``AUTO`` picks trillions from 1e12, billions from 1e9, else millions.

    Examples:
        >>> to_readable(21_840)
        (<Units.MEGABYTES: 'M'>, 0.02184)
        >>> to_readable(4_089_184_256), to_readable(21_840, Units.NONE)
        ((<Units.GIGABYTES: 'G'>, 4.089184256), (<Units.NONE: ''>, 21840.0))
    """
    units = Units(units)
    if units is Units.AUTO:
        if num >= 1e12:
            return Units.TERABYTES, num / 1e12
        if num >= 1e9:
            return Units.GIGABYTES, num / 1e9
        return Units.MEGABYTES, num / 1e6
    return units, num / _FACTORS[units]


def to_megabytes(num: int) -> float:
    """Bytes in megabytes (1 MB = 1,000,000 bytes), as torchinfo's ``to_megabytes``.

    Examples:
        >>> to_megabytes(1_234_567)
        1.234567
    """
    return num / 1e6


def float_to_megabytes(num: int) -> float:
    """Megabytes of ``num`` float32 values (4 bytes each), as torchinfo's
    ``float_to_megabytes``.

    Examples:
        >>> float_to_megabytes(1000)
        0.004
    """
    return num * 4 / 1e6


def clear_cached_forward_pass() -> None:
    """Does nothing, harmlessly: no summary is cached between calls here.

    torchinfo keeps a process-global cache of passes keyed by the model's class
    name (for ``cache_forward_pass=True``) and this clears it; every
    `summary()` call here runs its own pass, and
    `with_options()` redraws one without a pass.

    Examples:
        >>> clear_cached_forward_pass()
    """


class _Summary(Protocol):
    @property
    def tree(self) -> SummaryTree: ...
    @property
    def options(self) -> RenderOptions: ...


class Formatting:
    """torchinfo's ``results.formatting``: the footer's units, which can be set, and
    the table's settings, read-only (use `with_options()`
    for another depth or other columns).

    Setting a unit changes how the summary it came from is drawn (its
    `options`); no count changes.

    Examples:
        >>> import torch
        >>> from modelsummary import summary
        >>> s = summary(torch.nn.Linear(4, 2), (1, 4), verbose=0)
        >>> s.formatting.params_units, s.formatting.max_depth
        (<Units.AUTO: 'auto'>, 3)
        >>> s.formatting.macs_units = Units.NONE
        >>> s.options.macs_units
        ''
    """

    __slots__ = ("_summary",)

    def __init__(self, summary: _Summary) -> None:
        self._summary = summary

    @property
    def params_units(self) -> Units:
        """Unit of the footer's parameter counts."""
        return Units(self._summary.options.params_units)

    @params_units.setter
    def params_units(self, value: Units | str) -> None:
        self._set(dataclasses.replace(self._summary.options, params_units=_unit(value)))

    @property
    def macs_units(self) -> Units:
        """Unit of the footer's mult-adds."""
        return Units(self._summary.options.macs_units)

    @macs_units.setter
    def macs_units(self, value: Units | str) -> None:
        self._set(dataclasses.replace(self._summary.options, macs_units=_unit(value)))

    @property
    def max_depth(self) -> int:
        """The deepest row shown (``depth``)."""
        return self._summary.options.depth

    @property
    def col_names(self) -> tuple[str, ...]:
        """The columns after the layer name."""
        return self._summary.options.columns

    @property
    def col_width(self) -> int | None:
        """The minimum width of each value column; ``None`` when each column is as wide
        as its content (the default here; torchinfo's is 25)."""
        return self._summary.options.col_width

    @property
    def ascii_only(self) -> bool:
        """Whether the tree is drawn in ASCII."""
        return self._summary.options.ascii_only

    @property
    def show_depth(self) -> bool:
        """Whether names carry ``depth-index``."""
        return self._summary.options.show_depth_index

    def _set(self, options: RenderOptions) -> None:
        # ModelSummary is frozen; torchinfo's API sets units on the result itself.
        # Only the drawing options change, never the counts.
        object.__setattr__(self._summary, "options", options)


def _unit(value: object) -> str:
    try:
        return Units(value).value
    except ValueError:
        raise ValueError(
            f"unknown unit {value!r}; choose from {[u.name for u in Units]} (modelsummary.Units)"
        ) from None


class ModelSummaryMethods:
    """torchinfo's ``ModelStatistics`` attributes that ``ModelSummary`` lacks otherwise,
    and the count torchinfo gives for a pruned model.

    Examples:
        >>> import torch
        >>> from modelsummary import summary
        >>> s = summary(torch.nn.Linear(4, 2), (1, 4), verbose=0)
        >>> s.to_megabytes(s.total_param_bytes), s.unmasked_params
        (4e-05, 10)
    """

    __slots__ = ()

    to_readable = staticmethod(to_readable)
    to_megabytes = staticmethod(to_megabytes)
    float_to_megabytes = staticmethod(float_to_megabytes)

    @property
    def formatting(self: _Summary) -> Formatting:
        """torchinfo's formatting options: set ``params_units`` / ``macs_units`` to a
        `Units` to change how the footer's counts are written."""
        return Formatting(self)

    @property
    def unmasked_params(self: _Summary) -> int:
        """`total_params` less the elements that
        ``torch.nn.utils.prune`` masks zero: what torchinfo reports as ``total_params``
        of a pruned model. Equal to ``total_params`` when nothing is pruned."""
        from ._tree.pruning import unmasked_total

        return unmasked_total(self.tree)


class _Row(Protocol):
    @property
    def num_params(self) -> int: ...
    @property
    def trainable_params(self) -> int: ...
    @property
    def subtree_params(self) -> int: ...
    @property
    def subtree_trainable(self) -> int: ...
    @property
    def is_leaf_layer(self) -> bool: ...


class LayerInfoMethods:
    """torchinfo's ``LayerInfo`` methods for the rows of ``summary_list``.

    Examples:
        >>> from modelsummary._tree.nodes import SummaryNode
        >>> leaf = SummaryNode("fc", "Linear", 1, 1, num_params=1500, subtree_params=1500)
        >>> leaf.num_params_to_str(reached_max_depth=False)
        '(1,500)'
    """

    __slots__ = ()

    def num_params_to_str(self: _Row, reached_max_depth: bool = False) -> str:
        """The row's parameter count as torchinfo's table cell writes it.

        A leaf, or a row at the deepest depth shown, gives its whole subtree;
        another row gives the parameters it carries itself. ``"--"`` for none; in
        parentheses when none of them is trainable.

        Examples:
            >>> from modelsummary._tree.nodes import SummaryNode
            >>> leaf = SummaryNode("0", "Linear", 1, 1, num_params=6, trainable_params=6,
            ...                    subtree_params=6, subtree_trainable=6)
            >>> root = SummaryNode("", "Sequential", 0, 1, subtree_params=6,
            ...                    subtree_trainable=6, children=(leaf,))
            >>> root.num_params_to_str(reached_max_depth=True), root.num_params_to_str(False)
            ('6', '--')
        """
        if reached_max_depth or self.is_leaf_layer:
            count, trainable = self.subtree_params, self.subtree_trainable
        else:
            count, trainable = self.num_params, self.trainable_params
        if not count:
            return "--"
        return f"{count:,}" if trainable else f"({count:,})"
