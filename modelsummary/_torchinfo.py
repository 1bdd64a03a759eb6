"""torchinfo's names, for code written against torchinfo: its enums, its unit helpers,
and the row attributes its ``LayerInfo`` answers. Imports nothing of this package.

The enums are torchinfo's, member for member, and ``summary()`` takes them
wherever torchinfo does. `LayerInfoMethods` holds every torchinfo name of a
row (``class_name``, ``var_name``, ``macs``, ``is_leaf_layer``, ``input_size``,
``output_size``, ``num_params_to_str()``); ``SummaryNode`` inherits it. The
result's torchinfo names (``formatting``, ``unmasked_params``, the unit helpers)
live beside the result type, in `modelsummary._result`. Nothing here imports
torch, and nothing here imports the rest of the package: a row is read through
the `_Row` protocol, so this module sits below every stage.

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

from collections.abc import Sequence
from enum import Enum, IntEnum, unique
from typing import Any, Protocol


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


class _Row(Protocol):
    """What the row names read of a row (``SummaryNode`` has it all)."""

    @property
    def type_name(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def mult_adds(self) -> int: ...
    @property
    def inputs(self) -> object: ...
    @property
    def output(self) -> object: ...
    @property
    def children(self) -> Sequence[object]: ...
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
    """torchinfo's ``LayerInfo`` names for the rows of ``summary_list``: all of them, here.

    torchinfo has one ``LayerInfo`` per call; a row here covers every call of its module.

    Examples:
        >>> from modelsummary._tree.nodes import SummaryNode
        >>> leaf = SummaryNode("fc", "Linear", 1, 1, num_params=1500, subtree_params=1500)
        >>> leaf.num_params_to_str(reached_max_depth=False), leaf.class_name, leaf.var_name
        ('(1,500)', 'Linear', 'fc')
    """

    __slots__ = ()

    @property
    def class_name(self: _Row) -> str:
        """torchinfo's name for ``type_name``."""
        return self.type_name

    @property
    def var_name(self: _Row) -> str:
        """torchinfo's name for ``name`` (the root's is its class name, as there)."""
        return self.name or self.type_name

    @property
    def macs(self: _Row) -> int:
        """torchinfo's name for ``mult_adds``."""
        return self.mult_adds

    @property
    def is_leaf_layer(self: _Row) -> bool:
        """No active child module."""
        return not self.children

    @property
    def input_size(self: _Row) -> list[Any]:
        """The first call's input shape as a list, torchinfo's form: ``[1, 3, 224, 224]``
        for one tensor, a list of such lists for several, ``[]`` for none.

        Examples:
            >>> from modelsummary._records import SeqSpec, TensorSpec
            >>> from modelsummary._tree.nodes import SummaryNode
            >>> spec = SeqSpec((TensorSpec((2, 4), "float32", 32),))
            >>> SummaryNode("fc", "Linear", 1, 1, inputs=spec).input_size
            [2, 4]
        """
        return shape_list(self.inputs)

    @property
    def output_size(self: _Row) -> list[Any]:
        """The first call's output shape in the form of ``input_size``."""
        return shape_list(self.output)

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


def shape_list(spec: object) -> list[Any]:
    """A recorded value's tensor shapes as nested lists; a container of one value is
    that value's; ``[]`` for no tensor.

    It reads the records of `modelsummary._records` by their fields, without
    importing them: a tensor's record has a ``shape``; a sequence's ``items`` are
    values and a mapping's are ``(key, value)`` pairs.

    Examples:
        >>> from modelsummary._records import OtherSpec, SeqSpec, TensorSpec
        >>> t = TensorSpec((1, 3), "float32", 12)
        >>> shape_list(SeqSpec((t, OtherSpec("NoneType"), t))), shape_list(None)
        ([[1, 3], [1, 3]], [])
    """
    shape = getattr(spec, "shape", None)
    if shape is not None:
        return list(shape)
    items = getattr(spec, "items", ())
    if not isinstance(items, tuple):
        return []
    values = [item[1] if isinstance(item, tuple) else item for item in items]
    shapes = [shape for shape in map(shape_list, values) if shape]
    return shapes[0] if len(shapes) == 1 else shapes
