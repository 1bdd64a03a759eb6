"""Summaries during training: `watch()` a model whose structure may change.

A `Watcher` holds the latest `ModelSummary` of a
model and a structural fingerprint of it. Each `Watcher.step()` reads the
fingerprint again (no forward pass); only when it differs does the watcher take
a new summary and report what changed, as `diff()` shows it,
with the parameters that moved between trainable and frozen. Every step adds a
row of totals to the history.

Examples:
    >>> from torch import nn
    >>> model = nn.Sequential(nn.Linear(10, 5), nn.ReLU(), nn.Linear(5, 2))
    >>> w = watch(model, input_size=(1, 10))
    >>> w.step(0)
    >>> model[2] = nn.Linear(5, 3)
    >>> w.step(1)
    step 1: the model changed
    ~ (root): output [1, 2] -> [1, 3]
    ~ 2: output [1, 2] -> [1, 3]; num_params 12 -> 18; mult_adds 10 -> 15
      total_params: 67 -> 73 (+6)
    ...
    >>> [(r.step, r.total_params, r.changed) for r in w.history]
    [(0, 67, False), (1, 73, True)]
"""

from __future__ import annotations

import csv
import io
import logging
import weakref
from array import array
from bisect import bisect_right
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import astuple, dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, overload

import torch
from torch import nn
from torch.nn.parameter import UninitializedParameter

from ._compare import SummaryDiff
from ._present.units import format_int
from ._result import ModelSummary
from ._summary import summary

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PrintFn = Callable[[str], object]
"""Where a watcher's reports go: ``print``, ``logger.info``, or any callable taking text."""


def fingerprint(model: nn.Module) -> list[object]:
    """What a summary of ``model`` depends on, short of running it: cheap to compare.

    Every registered module (its object, class and child names) and every
    parameter (its object, shape, dtype, device and ``requires_grad``), each
    module once however often it is registered. Object identities show a module
    or a parameter replaced by another of the same shape, and ties made or
    broken; nothing here is kept alive by the fingerprint.

    Examples:
        >>> model = nn.Linear(2, 2)
        >>> before = fingerprint(model)
        >>> before == fingerprint(model)
        True
        >>> _ = model.requires_grad_(False)
        >>> before == fingerprint(model)
        False
    """
    parts: list[object] = []
    add = parts.append
    stack = [model]
    seen = {id(model)}
    while stack:
        module = stack.pop()
        add(type(module))
        add(id(module))
        for name, p in module._parameters.items():
            add(name)
            if p is None:
                continue
            if type(p) is not nn.Parameter and isinstance(p, UninitializedParameter):
                add((id(p), type(p)))  # a lazy module's parameter has no shape yet
            else:
                add((id(p), p.shape, p.dtype, p.device, p.requires_grad))
        children = module._modules
        add(tuple(children))
        for child in children.values():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                stack.append(child)
    return parts


@dataclass(frozen=True, slots=True)
class WatchRecord:
    """The totals of one step: a row of `Watcher.history`.

    Without an input nothing runs, so the counts are the registered ones and
    ``unused_params`` and ``total_mult_adds`` are ``None``.

    Examples:
        >>> WatchRecord(3, False, 67, 12, 55, 0, 67, 60).non_trainable_params
        55
    """

    step: int
    """The step (or epoch) given to `Watcher.step()`."""
    changed: bool
    """Whether a new summary was taken at this step: the structure changed (or
    ``step(force=True)``)."""
    total_params: int
    """Parameters the forward pass used (every registered one without an input)."""
    trainable_params: int
    """The part of ``total_params`` with ``requires_grad``."""
    non_trainable_params: int
    """The part of ``total_params`` that is frozen."""
    unused_params: int | None
    """Parameters the forward pass never used; ``None`` without an input."""
    all_params: int
    """Every unique registered parameter, used or not."""
    total_mult_adds: int | None
    """Multiply-accumulates of the pass; ``None`` without an input."""


_FIELDS = tuple(f.name for f in fields(WatchRecord))


@dataclass(frozen=True, slots=True)
class TrainableMove:
    """Parameters of one module that moved between trainable and frozen.

    Examples:
        >>> print(TrainableMove("body.0", 2, 55, True))
        ~ body.0: 55 params (2 tensors) frozen -> trainable
    """

    path: str
    """Dotted path of the module that registers the parameters (``""`` is the root)."""
    tensors: int
    """How many parameter tensors moved."""
    params: int
    """Their elements."""
    now_trainable: bool
    """True for frozen -> trainable, False for trainable -> frozen."""

    def __str__(self) -> str:
        way = "frozen -> trainable" if self.now_trainable else "trainable -> frozen"
        count = f"{self.tensors} tensor{'s' if self.tensors != 1 else ''}"
        return f"~ {self.path or '(root)'}: {format_int(self.params)} params ({count}) {way}"


@dataclass(frozen=True, slots=True)
class WatchChange:
    """A change of structure one `Watcher.step()` found, and its report.

    Examples:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
        >>> w = watch(model, print_fn=None)
        >>> _ = model[0].requires_grad_(False)
        >>> w.step(5)
        >>> change = w.changes[-1]
        >>> change.step, [str(m) for m in change.moves]
        (5, ['~ 0: 20 params (2 tensors) trainable -> frozen'])
    """

    step: int
    """The step at which the change was seen."""
    diff: SummaryDiff
    """What `diff()` shows between the previous summary and the new one."""
    moves: tuple[TrainableMove, ...]
    """Parameters that moved between trainable and frozen, by module."""
    replaced: tuple[str, ...]
    """Paths of modules replaced by a new object of the same path, and of the
    parameters replaced in place (a new tensor an optimizer made before does not hold)."""
    summary: ModelSummary
    """The new summary."""
    forced: bool = False
    """Taken with ``step(force=True)`` while the fingerprint was the same."""
    not_in_optimizer: tuple[str, ...] = ()
    """Trainable parameters in none of the optimizer's param groups (a new head the
    optimizer was not told of): they get gradients and are never updated. Known when
    the watcher was given the optimizer object (``optimizer=``)."""
    frozen_in_optimizer: tuple[str, ...] = ()
    """Frozen parameters still in one of its param groups."""

    def lines(self) -> Iterator[str]:
        """The report, one line per change: objects replaced, trainable <-> frozen
        moves, then what `SummaryDiff.lines()` lists (layers, then totals)."""
        if self.forced:
            yield f"step {self.step}: a new summary (force=True), the structure unchanged"
        else:
            yield f"step {self.step}: the model changed"
        for path in self.replaced:
            yield f"* {path or '(root)'}: a new object"
        for move in self.moves:
            yield str(move)
        if self.not_in_optimizer:
            names = ", ".join(self.not_in_optimizer)
            yield f"! trainable, in no param group of the optimizer (never updated): {names}"
        if self.frozen_in_optimizer:
            names = ", ".join(self.frozen_in_optimizer)
            yield f"! frozen, still in a param group of the optimizer: {names}"
        listed = False
        for line in self.diff.lines():
            listed = True
            yield line
        if not (listed or self.moves):
            yield "  (no count changed)"

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        d = self.diff
        return (
            f"WatchChange(step={self.step}, added={len(d.added)}, removed={len(d.removed)},"
            f" changed={len({c.path for c in d.changed})}, moves={len(self.moves)},"
            f" replaced={len(self.replaced)})"
        )


def _numel(p: torch.Tensor) -> int:
    return 0 if isinstance(p, UninitializedParameter) else p.numel()


@dataclass(frozen=True, slots=True)
class _Snapshot:
    """Names and objects of the model's modules and parameters when a summary was taken."""

    modules: dict[str, weakref.ref[nn.Module]]
    params: dict[str, tuple[weakref.ref[torch.Tensor], bool, int]]

    @classmethod
    def of(cls, model: nn.Module) -> _Snapshot:
        return cls(
            {path: weakref.ref(m) for path, m in model.named_modules()},
            {
                name: (weakref.ref(p), p.requires_grad, _numel(p))
                for name, p in model.named_parameters()
            },
        )

    def moves(self, later: _Snapshot) -> tuple[TrainableMove, ...]:
        by_module: dict[tuple[str, bool], list[int]] = {}
        for name, (_, grad, numel) in later.params.items():
            before = self.params.get(name)
            if before is not None and before[1] != grad:
                path = name.rpartition(".")[0]
                by_module.setdefault((path, grad), []).append(numel)
        return tuple(
            TrainableMove(path, len(sizes), sum(sizes), grad)
            for (path, grad), sizes in by_module.items()
        )

    def replaced(self, later: _Snapshot, listed: set[str]) -> tuple[str, ...]:
        """Modules and parameters whose path survives with another object behind it:
        the outermost such module, and parameters replaced on a module that was not.
        Leaves out what the diff lists already (the paths in ``listed``)."""
        renewed = [
            path
            for path, ref in later.modules.items()
            if (old := self.modules.get(path)) is not None and old() is not ref()
        ]
        outer = [p for p in renewed if not any(p.startswith(f"{q}.") for q in renewed if q)]
        params = [
            name
            for name, (ref, _, _) in later.params.items()
            if (old_param := self.params.get(name)) is not None
            and old_param[0]() is not ref()
            and name.rpartition(".")[0] not in (*renewed, *listed)
        ]
        return (*(p for p in outer if p not in listed), *params)


CALLBACK_INTERVALS = ("epoch", "step")
"""How often the training callbacks check the structure."""

TRAINER_OPTIMIZER = "trainer"
"""``optimizer=`` of the training callbacks: read the Trainer's own optimizer."""


def check_callback_options(interval: str, kwargs: dict[str, Any]) -> None:
    """The argument checks the Lightning and Hugging Face callbacks share.

    Examples:
        >>> check_callback_options("epoch", {"depth": 2})
        >>> check_callback_options("batch", {})
        Traceback (most recent call last):
        ...
        ValueError: interval must be one of ('epoch', 'step'), got 'batch'
    """
    if interval not in CALLBACK_INTERVALS:
        raise ValueError(f"interval must be one of {CALLBACK_INTERVALS}, got {interval!r}")
    if "verbose" in kwargs:
        raise ValueError("verbose does not apply: give print_fn=None to print nothing")


def as_print_fn(print_fn: PrintFn | logging.Logger | None) -> PrintFn | None:
    """The callable a watcher prints through: a logger's ``info``, or the callable itself.

    Examples:
        >>> as_print_fn(logging.getLogger("train")).__name__
        'info'
    """
    if print_fn is None:
        return None
    if isinstance(print_fn, logging.Logger):
        return print_fn.info
    if not callable(print_fn):
        raise TypeError(
            f"print_fn must be a callable taking text, a logging.Logger or None, got {print_fn!r}"
        )
    return print_fn


def _record(s: ModelSummary, step: int, changed: bool) -> WatchRecord:
    data = s.to_dict()
    totals = data["totals"]
    ran = bool(data["forward_pass"])
    return WatchRecord(
        step,
        changed,
        total_params=totals["total_params"],
        trainable_params=totals["trainable_params"],
        non_trainable_params=totals["non_trainable_params"],
        unused_params=totals["unused_params"] if ran else None,
        all_params=totals["all_params"],
        total_mult_adds=totals["total_mult_adds"] if ran else None,
    )


class _History(Sequence[WatchRecord]):
    """The rows of `Watcher.history`, stored compactly: the step numbers in an
    array, and one record per structure (where a new one began). An unchanged step
    costs eight bytes, however long the run.

    Examples:
        >>> h = _History()
        >>> h.begin(WatchRecord(0, False, 8, 8, 0, None, 8, None))
        >>> h.add(1)
        >>> [(r.step, r.changed, r.all_params) for r in h]
        [(0, False, 8), (1, False, 8)]
    """

    def __init__(self) -> None:
        self._steps = array("q")
        self._starts: list[int] = []
        self._records: list[WatchRecord] = []

    def begin(self, record: WatchRecord) -> None:
        """Add a row whose totals differ from the row before (or the first row)."""
        self._starts.append(len(self._steps))
        self._records.append(record)
        self._steps.append(record.step)

    def add(self, step: int) -> None:
        """Add a row with the totals of the row before."""
        self._steps.append(step)

    def __len__(self) -> int:
        return len(self._steps)

    @overload
    def __getitem__(self, index: int) -> WatchRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[WatchRecord]: ...

    def __getitem__(self, index: int | slice) -> WatchRecord | list[WatchRecord]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self._steps)
        if not 0 <= index < len(self._steps):
            raise IndexError("history index out of range")
        k = bisect_right(self._starts, index) - 1
        record = self._records[k]
        if self._starts[k] == index:
            return record
        return replace(record, step=self._steps[index], changed=False)

    def __repr__(self) -> str:
        return repr(list(self))


class Watcher:
    """Watches one model's structure across training steps; made by `watch()`.

    Examples:
        >>> from torch import nn
        >>> w = watch(nn.Linear(3, 2), print_fn=None)
        >>> w.step(0)
        >>> w.summary.total_params, len(w.history)
        (8, 1)
    """

    def __init__(
        self,
        model: nn.Module,
        summary_kwargs: Mapping[str, Any],
        print_fn: PrintFn | None,
        show_summary: bool,
    ) -> None:
        self.model = model
        """The model watched."""
        self._kwargs = dict(summary_kwargs)
        self._print = print_fn
        self._show_summary = show_summary
        self._rows = _History()
        self._changes: list[WatchChange] = []
        self._summary = self._take()
        self._fingerprint = self._fingerprint_now()
        self._snapshot = _Snapshot.of(model)
        self._totals = _record(self._summary, 0, False)

    def _fingerprint_now(self) -> list[object]:
        """The model's fingerprint, and which tensors an optimizer object's groups hold
        (a param group added is a change too)."""
        parts = fingerprint(self.model)
        optimizer = self._kwargs.get("optimizer")
        if isinstance(optimizer, torch.optim.Optimizer):
            parts.append(tuple(id(p) for g in optimizer.param_groups for p in g["params"]))
        return parts

    def _take(self) -> ModelSummary:
        # summary() leaves the model, its modes and the RNG streams as they were
        return summary(self.model, **self._kwargs, verbose=0)

    @property
    def summary(self) -> ModelSummary:
        """The latest summary."""
        return self._summary

    @property
    def history(self) -> Sequence[WatchRecord]:
        """A row of totals per `step()`, oldest first (a read-only sequence)."""
        return self._rows

    @property
    def changes(self) -> tuple[WatchChange, ...]:
        """Every change of structure seen, oldest first."""
        return tuple(self._changes)

    def metrics(self, prefix: str = "modelsummary/") -> dict[str, float]:
        """The counts of the latest summary as metrics for a logger, the unmeasured left out.

        Examples:
            >>> from torch import nn
            >>> watch(nn.Linear(3, 2), print_fn=None).metrics()  # doctest: +NORMALIZE_WHITESPACE
            {'modelsummary/total_params': 8, 'modelsummary/trainable_params': 8,
             'modelsummary/non_trainable_params': 0, 'modelsummary/all_params': 8}
        """
        return {
            f"{prefix}{key}": value
            for key, value in zip(_FIELDS, astuple(self._totals), strict=True)
            if key not in ("step", "changed") and value is not None
        }

    def step(self, step: int | None = None, *, force: bool = False) -> None:
        """Check the structure and record this step's totals.

        Without a change this runs no forward pass: it only compares the
        fingerprint (see ``docs/training.md`` for what it costs). With one it
        takes a new summary, prints the change report through ``print_fn`` (and
        the new table with ``show_summary``), and adds the change to
        `changes`.

        Args:
            step: The step or epoch number; default: one after the last.
            force: Take a new summary even if the fingerprint is the same (for a
                model whose forward chooses other modules without any registered
                change, as in some architecture searches).

        Raises:
            TypeError: A step that is not an integer.
            ModelSummaryError: The new summary's forward pass failed.

        Examples:
            >>> from torch import nn
            >>> w = watch(nn.Linear(3, 2), input_size=(1, 3), print_fn=None)
            >>> w.step()
            >>> w.step()
            >>> steps = [r.step for r in w.history]
            >>> steps
            [0, 1]
        """
        if step is None:
            step = self._rows[-1].step + 1 if self._rows else 0
        elif isinstance(step, bool) or not isinstance(step, int):
            raise TypeError(f"step must be an integer, got {step!r}")
        now = self._fingerprint_now()
        same = now == self._fingerprint
        if same and not force:
            if self._rows:
                self._rows.add(step)
            else:
                self._rows.begin(replace(self._totals, step=step))
            return
        before, snapshot = self._summary, self._snapshot
        self._summary = self._take()
        self._fingerprint, self._snapshot = now, _Snapshot.of(self.model)
        self._totals = _record(self._summary, step, True)
        self._rows.begin(self._totals)
        diff = SummaryDiff.between(before, self._summary)
        totals = self._summary.tree.totals
        listed = {n.path for n in (*diff.added, *diff.removed)} | {c.path for c in diff.changed}
        change = WatchChange(
            step,
            diff,
            snapshot.moves(self._snapshot),
            snapshot.replaced(self._snapshot, listed),
            self._summary,
            forced=same,
            not_in_optimizer=totals.not_in_optimizer or (),
            frozen_in_optimizer=totals.frozen_in_optimizer or (),
        )
        self._changes.append(change)
        if self._print is not None:
            self._print(str(change))
            if self._show_summary:
                self._print(str(self._summary))

    def to_dicts(self) -> list[dict[str, Any]]:
        """The history as a list of dicts, one per step.

        Examples:
            >>> from torch import nn
            >>> w = watch(nn.Linear(3, 2), print_fn=None)
            >>> w.step(7)
            >>> row = w.to_dicts()[0]
            >>> row["step"], row["all_params"]
            (7, 8)
        """
        return [dict(zip(_FIELDS, astuple(r), strict=True)) for r in self._rows]

    def to_csv(self, path: str | Path | None = None) -> str:
        """The history as CSV text, one row per step; written to ``path`` if given.

        Examples:
            >>> from torch import nn
            >>> w = watch(nn.Linear(3, 2), input_size=(1, 3), print_fn=None)
            >>> w.step(0)
            >>> print(w.to_csv(), end="")
            step,changed,total_params,trainable_params,non_trainable_params,unused_params,all_params,total_mult_adds
            0,False,8,8,0,0,8,6
        """
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_FIELDS)
        writer.writerows(astuple(r) for r in self._rows)
        text = out.getvalue()
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def to_dataframe(self) -> Any:
        """The history as a ``pandas.DataFrame`` indexed by step (needs the ``pandas`` extra).

        Examples:
            >>> from torch import nn
            >>> w = watch(nn.Linear(3, 2), print_fn=None)
            >>> w.step(0)
            >>> w.to_dataframe()["all_params"].tolist()
            [8]
        """
        try:
            import pandas as pd  # type: ignore[import-untyped,unused-ignore]
        except ImportError as err:
            raise ImportError(
                "to_dataframe() needs pandas: pip install 'modelsummary[pandas]'"
            ) from err
        frame = pd.DataFrame(self.to_dicts(), columns=list(_FIELDS))
        return frame.set_index("step")

    def plot(self, *, log: bool = False, path: str | Path | None = None) -> Figure:
        """Parameter counts over the steps as lines: a ``matplotlib.figure.Figure``.

        One line each for used, trainable, frozen and all parameters (and unused
        ones when an input was given); changes of structure are marked. Needs
        the ``plot`` extra.

        Args:
            log: A logarithmic count axis.
            path: Save the figure there too (the format from the suffix).

        Examples:
            >>> from torch import nn
            >>> w = watch(nn.Linear(3, 2), print_fn=None)
            >>> w.step(0)
            >>> labels = [line.get_label() for line in w.plot().axes[0].get_lines()]
            >>> labels
            ['used', 'trainable', 'frozen', 'all']
        """
        try:
            from matplotlib.figure import Figure
        except ImportError as err:
            raise ImportError("plot() needs matplotlib: pip install 'modelsummary[plot]'") from err
        fig = Figure(figsize=(7, 3.5), layout="constrained")
        ax = fig.add_subplot()
        steps = [r.step for r in self._rows]
        series = [
            ("used", "total_params"),
            ("trainable", "trainable_params"),
            ("frozen", "non_trainable_params"),
            ("all", "all_params"),
        ]
        if self._rows and self._rows[-1].unused_params is not None:
            series.append(("unused", "unused_params"))
        for label, key in series:
            ax.plot(
                steps, [getattr(r, key) for r in self._rows], label=label, drawstyle="steps-post"
            )
        for r in self._rows:
            if r.changed:
                ax.axvline(r.step, color="#9E9E9E", linestyle=":", linewidth=1)
        if log:
            ax.set_yscale("log")
        ax.set_xlabel("step")
        ax.set_ylabel("parameters")
        ax.legend(loc="best", fontsize="small")
        if path is not None:
            fig.savefig(path)
        return fig

    def __repr__(self) -> str:
        return (
            f"Watcher({type(self.model).__name__}, {len(self._rows)} steps,"
            f" {len(self._changes)} changes)"
        )


def watch(
    model: nn.Module,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    input_data: Any = None,
    *,
    print_fn: PrintFn | logging.Logger | None = print,
    show_summary: bool = False,
    **kwargs: Any,
) -> Watcher:
    """Watch a model during training: a new summary and a report whenever its structure changes.

    Takes the first summary now; then call `Watcher.step()` once per step or
    epoch. A step where no module, parameter, shape, dtype, device or
    ``requires_grad`` changed runs no forward pass; one where something did
    takes a new summary and prints what changed. The model, its modes and the
    random number generators are left as they were.

    Args:
        model: The module to watch.
        input_size: As for `summary()`.
        input_data: As for `summary()`. With neither, nothing
            runs: the counts are the registered parameters.
        print_fn: Where the reports go: ``print`` (default), a
            `logging.Logger` (its ``info``), any callable taking text, or
            ``None`` for none.
        show_summary: Print the new table after each change report too.
        **kwargs: Passed to `summary()` (``dtypes``,
            ``device``, ``mode``, ``col_names``, ``depth`` ...). With the
            ``optimizer=`` object that trains the model, each change report names
            the trainable parameters in none of its param groups and the frozen ones
            still in one (`WatchChange.not_in_optimizer`), and a param group added
            to it is a change.

    Returns:
        The `Watcher`.

    Raises:
        TypeError: A ``print_fn`` that cannot be called, or an argument
            `summary()` refuses.
        ValueError: ``verbose`` (the reports go through ``print_fn``), or an
            argument `summary()` refuses.

    Examples:
        >>> from torch import nn
        >>> model = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
        >>> w = watch(model)
        >>> _ = model[0].requires_grad_(False)
        >>> w.step(1)
        step 1: the model changed
        ~ 0: 20 params (2 tensors) trainable -> frozen
          trainable_params: 30 -> 10 (-20)
          non_trainable_params: 0 -> 20 (+20)
    """
    if "verbose" in kwargs:
        raise ValueError("verbose does not apply to watch(): give print_fn=None to print nothing")
    if not isinstance(show_summary, bool):
        raise TypeError(f"show_summary must be a bool, got {show_summary!r}")
    emit = as_print_fn(print_fn)
    return Watcher(
        model, {"input_size": input_size, "input_data": input_data, **kwargs}, emit, show_summary
    )
