"""Compare summaries: totals side by side, and what changed between two versions of a model.

Examples:
    >>> from torch import nn
    >>> from modelsummary import compare
    >>> small = nn.Sequential(nn.Linear(10, 2))
    >>> big = nn.Sequential(nn.Linear(10, 20), nn.Linear(20, 2))
    >>> table = compare(small, big, names=["small", "big"], input_size=(1, 10))
    >>> table.to_dict()["big"]["total_params"]
    262
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tabulate import tabulate
from torch import nn

from ._present.render import format_inputs, format_value
from ._present.units import format_bytes, format_int
from ._result import ModelSummary
from ._summary import summary
from ._tree.nodes import SummaryNode


def _as_summary(item: object, kwargs: Mapping[str, Any]) -> ModelSummary:
    if isinstance(item, ModelSummary):
        return item
    if isinstance(item, nn.Module):
        return summary(item, **{**kwargs, "verbose": 0})
    raise TypeError(f"expected a ModelSummary or a torch.nn.Module, got {type(item).__name__}")


def _summaries(items: Sequence[object], kwargs: Mapping[str, Any]) -> tuple[ModelSummary, ...]:
    if kwargs and not any(isinstance(i, nn.Module) for i in items):
        raise ValueError(
            f"keyword arguments {sorted(kwargs)} are passed to summary() and apply only to"
            " models; every item is already a ModelSummary"
        )
    if "verbose" in kwargs:
        raise ValueError("verbose does not apply here: nothing is printed")
    return tuple(_as_summary(item, kwargs) for item in items)


def _format_total(key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        return str(value)
    return format_bytes(value) if key.endswith("_bytes") else format_int(value)


def _are_ints(a: Any, b: Any) -> bool:
    return all(isinstance(v, int) and not isinstance(v, bool) for v in (a, b))


def _format_change(key: str, change: int) -> str:
    """A signed change in a total, in the total's own unit: ``+6``, ``-2.03 MB``."""
    sign = "-" if change < 0 else "+"
    return sign + _format_total(key, abs(change))


def _format_difference(key: str, before: Any, after: Any) -> str:
    """The change from ``before`` to ``after``, absolute and relative to ``before``.

    Examples:
        >>> _format_difference("total_params", 200, 250), _format_difference("param_bytes", 8, 4)
        ('+50 (+25.0%)', '-4 B (-50.0%)')
        >>> _format_difference("total_params", 0, 5), _format_difference("optimizer", None, "adam")
        ('+5', '--')
    """
    if not _are_ints(before, after):
        return "--"
    change = after - before
    if change == 0:
        return "0"
    relative = f" ({change / before:+.1%})" if before else ""
    return _format_change(key, change) + relative


@dataclass(frozen=True, slots=True)
class Comparison:
    """Totals of several summaries side by side: one row per total, one column per model.

    The rows are the ``totals`` of `ModelSummary.to_dict()`, so every total a
    summary reports appears here. Two summaries get a third column, ``difference``:
    the second's total less the first's, and that change relative to the first
    (`differences()` gives it as numbers).

    Examples:
        >>> from torch import nn
        >>> s = summary(nn.Linear(4, 2), (1, 4), verbose=0)
        >>> Comparison(("a",), (s,)).to_dict()["a"]["all_params"]
        10
    """

    names: tuple[str, ...]
    """A column name per summary."""
    summaries: tuple[ModelSummary, ...]
    """The summaries compared."""

    def to_dict(self) -> dict[str, dict[str, Any]]:
        """``{name: totals}``, the totals as `ModelSummary.to_dict()` gives them."""
        return {
            name: dict(s.to_dict()["totals"])
            for name, s in zip(self.names, self.summaries, strict=True)
        }

    def differences(self) -> dict[str, tuple[int, float | None]]:
        """``{total: (second - first, (second - first) / first)}`` for two summaries, over
        the totals both give as numbers; the relative change is ``None`` where the first
        is 0.

        Raises:
            ValueError: Not exactly two summaries.

        Examples:
            >>> from torch import nn
            >>> a = summary(nn.Linear(4, 2), (1, 4), verbose=0)
            >>> b = summary(nn.Linear(4, 3), (1, 4), verbose=0)
            >>> Comparison(("a", "b"), (a, b)).differences()["total_params"]
            (5, 0.5)
        """
        if len(self.summaries) != 2:
            raise ValueError(f"differences() needs two summaries, got {len(self.summaries)}")
        first, second = self.to_dict().values()
        changes: dict[str, tuple[int, float | None]] = {}
        for key, before in first.items():
            after = second.get(key)
            if _are_ints(before, after):
                change = after - before
                changes[key] = (change, change / before if before else None)
        return changes

    def __str__(self) -> str:
        totals = list(self.to_dict().values())
        # Totals no summary measured (``None`` everywhere, e.g. a CUDA peak on CPU) are left out.
        keys = [
            k
            for k in dict.fromkeys(k for t in totals for k in t)
            if any(t.get(k) is not None for t in totals)
        ]
        rows = [
            [key, *(_format_total(key, t[key]) if key in t else "--" for t in totals)]
            for key in keys
        ]
        headers = ["", *self.names]
        if len(totals) == 2:
            headers.append("difference")
            for row, key in zip(rows, keys, strict=True):
                row.append(_format_difference(key, totals[0].get(key), totals[1].get(key)))
        return tabulate(
            rows,
            headers=headers,
            tablefmt="simple",
            disable_numparse=True,
            colalign=("left",) + ("right",) * (len(headers) - 1),
            preserve_whitespace=True,
        )

    def __repr__(self) -> str:
        return str(self)


def compare(
    *items: ModelSummary | nn.Module | Mapping[str, ModelSummary | nn.Module],
    names: Sequence[str] | None = None,
    **kwargs: Any,
) -> Comparison:
    """Put the totals of several models or summaries side by side.

    Args:
        *items: Summaries, or models to summarise with ``kwargs``; or one mapping
            of column names to them (``compare({"small": s1, "large": s2})``).
        names: A column name per item (default: the mapping's keys, else the root
            module's class name, numbered when repeated).
        **kwargs: Passed to `summary()` for the models
            (``input_size``, ``input_data``, ``dtypes``, ``device`` ...).

    Returns:
        The `Comparison`; print it for the table.

    Raises:
        TypeError: An item that is neither a summary nor a module.
        ValueError: No items, or ``names`` of the wrong length or repeated.

    Examples:
        >>> from torch import nn
        >>> print(compare(nn.Linear(10, 2), nn.Linear(10, 4), names=["two", "four"],
        ...               input_size=(1, 10)))  # doctest: +ELLIPSIS
                                two    four       difference
        --------------------  -----  ------  ---------------
        total_params             22      44    +22 (+100.0%)
        trainable_params         22      44    +22 (+100.0%)
        non_trainable_params      0       0                0
        ...
        param_bytes            88 B   176 B  +88 B (+100.0%)
        ...
    """
    if len(items) == 1 and isinstance(items[0], Mapping):
        if names is not None:
            raise ValueError("give the names as the mapping's keys or as names=, not both")
        names = list(items[0].keys())
        items = tuple(items[0].values())
    if not items:
        raise ValueError("compare() needs at least one summary or model")
    if names is None:
        counts: dict[str, int] = {}
        labels = []
        for item in items:
            base = (
                item.tree.root.type_name if isinstance(item, ModelSummary) else type(item).__name__
            )
            counts[base] = counts.get(base, 0) + 1
            labels.append(base if counts[base] == 1 else f"{base} #{counts[base]}")
        names = labels
    names = tuple(names) if not isinstance(names, str) else (names,)
    if len(names) != len(items):
        raise ValueError(f"got {len(names)} names for {len(items)} items")
    if not all(isinstance(n, str) for n in names) or len(set(names)) != len(names):
        raise ValueError(f"names must be distinct strings, got {list(names)!r}")
    return Comparison(names, _summaries(items, kwargs))


@dataclass(frozen=True, slots=True)
class LayerChange:
    """One field of one layer that differs between two summaries.

    Examples:
        >>> LayerChange("fc", "num_params", "55", "33").field
        'num_params'
    """

    path: str
    """Dotted path of the layer."""
    field: str
    """``type``, ``input``, ``output``, ``num_params``, ``calls`` or ``mult_adds``."""
    before: str
    """The value in the first summary, as text."""
    after: str
    """The value in the second summary, as text."""


_FIELDS: dict[str, Callable[[SummaryNode], str]] = {
    "type": lambda n: n.type_name,
    "input": lambda n: format_inputs(n.inputs),
    "output": lambda n: format_value(n.output),
    "num_params": lambda n: format_int(n.num_params),
    "calls": lambda n: str(n.calls),
    "mult_adds": lambda n: format_int(n.mult_adds),
}


def _label(node: SummaryNode) -> str:
    return f"{node.path or '(root)'} ({node.type_name})"


@dataclass(frozen=True, slots=True)
class SummaryDiff:
    """What changed from one summary of a model to another, layer by layer (by path).

    False when nothing changed. Print it for a ``+``/``-``/``~`` listing.

    Examples:
        >>> from torch import nn
        >>> a = summary(nn.Sequential(nn.Linear(4, 4)), (1, 4), verbose=0)
        >>> bool(SummaryDiff.between(a, a))
        False
    """

    added: tuple[SummaryNode, ...]
    """Layers only the second summary has (the layers inside an added one included)."""
    removed: tuple[SummaryNode, ...]
    """Layers only the first summary has (the layers inside a removed one included)."""
    changed: tuple[LayerChange, ...]
    """Fields that differ in layers both have."""
    totals: tuple[tuple[str, Any, Any], ...]
    """``(key, before, after)`` of every total that differs."""
    unused_added: tuple[str, ...] = ()
    """Modules unused in the second summary only."""
    unused_removed: tuple[str, ...] = ()
    """Modules unused in the first summary only."""

    @classmethod
    def between(cls, before: ModelSummary, after: ModelSummary) -> SummaryDiff:
        """Diff two summaries.

        Examples:
            >>> from torch import nn
            >>> a = summary(nn.Sequential(nn.Linear(4, 4)), (1, 4), verbose=0)
            >>> b = summary(nn.Sequential(nn.Linear(4, 2)), (1, 4), verbose=0)
            >>> [(c.path, c.field) for c in SummaryDiff.between(a, b).changed]
            [('', 'output'), ('0', 'output'), ('0', 'num_params'), ('0', 'mult_adds')]
        """
        old = {n.path: n for n in before.layers}
        new = {n.path: n for n in after.layers}
        changed = [
            LayerChange(path, field, get(old[path]), get(node))
            for path, node in new.items()
            if path in old
            for field, get in _FIELDS.items()
            if get(old[path]) != get(node)
        ]
        t0, t1 = before.to_dict()["totals"], after.to_dict()["totals"]
        totals = tuple(
            (k, t0.get(k), t1.get(k)) for k in dict.fromkeys([*t0, *t1]) if t0.get(k) != t1.get(k)
        )
        u0, u1 = before.unused_modules, after.unused_modules
        return cls(
            added=tuple(n for p, n in new.items() if p not in old),
            removed=tuple(n for p, n in old.items() if p not in new),
            changed=tuple(changed),
            totals=totals,
            unused_added=tuple(p for p in u1 if p not in u0),
            unused_removed=tuple(p for p in u0 if p not in u1),
        )

    def __bool__(self) -> bool:
        return bool(
            self.added or self.removed or self.changed or self.unused_added or self.unused_removed
        )

    def lines(self) -> Iterator[str]:
        """The listing, one line per change. An added or removed layer shows the
        parameters of its whole subtree, and the layers inside it are not listed again."""
        for sign, nodes in (("-", self.removed), ("+", self.added)):
            paths = {n.path for n in nodes}
            for node in nodes:
                if node.path and node.path.rpartition(".")[0] in paths:
                    continue  # inside a container listed already
                yield f"{sign} {_label(node)}: {format_int(node.subtree_params)} params"
        by_path: dict[str, list[LayerChange]] = {}
        for change in self.changed:
            by_path.setdefault(change.path, []).append(change)
        for path, changes in by_path.items():
            text = "; ".join(f"{c.field} {c.before} -> {c.after}" for c in changes)
            yield f"~ {path or '(root)'}: {text}"
        for path in self.unused_added:
            yield f"+ unused: {path}"
        for path in self.unused_removed:
            yield f"- unused: {path}"
        for key, a, b in self.totals:
            delta = f" ({_format_change(key, b - a)})" if _are_ints(a, b) else ""
            yield f"  {key}: {_format_total(key, a)} -> {_format_total(key, b)}{delta}"

    def __str__(self) -> str:
        return "\n".join(self.lines()) if self else "no changes"

    def __repr__(self) -> str:
        return str(self)


def diff(
    before: ModelSummary | nn.Module, after: ModelSummary | nn.Module, **kwargs: Any
) -> SummaryDiff:
    """What changed between two summaries (or models) of the same model family.

    Layers are matched by dotted path. A layer only in ``after`` is added, one
    only in ``before`` removed (listed with the parameters of its whole subtree:
    ``+ layer1.2 (BasicBlock): 73,984 params``); for layers in both, a different
    type, input or output shape, parameter count, call count or mult-adds is a
    change.

    Args:
        before: The earlier summary or model.
        after: The later summary or model.
        **kwargs: Passed to `summary()` for models.

    Returns:
        The `SummaryDiff`; print it for the listing.

    Examples:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 2))
        >>> before = summary(model, (1, 10), verbose=0)
        >>> model[2] = nn.Linear(5, 3)
        >>> print(diff(before, model, input_size=(1, 10)))
        ~ (root): output [1, 2] -> [1, 3]
        ~ 2: output [1, 2] -> [1, 3]; num_params 12 -> 18; mult_adds 10 -> 15
          total_params: 67 -> 73 (+6)
          trainable_params: 67 -> 73 (+6)
          all_params: 67 -> 73 (+6)
          total_mult_adds: 60 -> 65 (+5)
          param_bytes: 268 B -> 292 B (+24 B)
          activation_bytes: 48 B -> 52 B (+4 B)
          total_bytes: 356 B -> 384 B (+28 B)
    """
    first, second = _summaries((before, after), kwargs)
    return SummaryDiff.between(first, second)
