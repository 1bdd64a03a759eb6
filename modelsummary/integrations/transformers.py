"""A Hugging Face ``TrainerCallback``: the summary at train begin, and the structure watched.

Importing this module imports ``transformers``; ``import modelsummary`` does not.

Examples:
    >>> from modelsummary.integrations.transformers import SummaryCallback
    >>> SummaryCallback(interval="step").interval
    'step'
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from typing import Any

from torch import nn
from transformers import TrainerCallback, TrainerControl, TrainerState, TrainingArguments

from .._watch import (
    TRAINER_OPTIMIZER,
    PrintFn,
    Watcher,
    as_print_fn,
    check_callback_options,
    watch,
)


class SummaryCallback(TrainerCallback):  # type: ignore[misc,unused-ignore]
    """Print modelsummary's summary at train begin, watch the structure, log the totals.

    At train begin it summarises the model the Trainer trains (a PEFT model
    included: its frozen base and trainable adapters are counted apart) with
    ``input_size``/``input_data`` if given, else the registered parameters
    alone. Then at the end of each epoch (or step, with ``interval="step"``) it
    calls `step()`: no forward pass unless the
    structure changed, and a change report when it did. Each time the Trainer
    logs, the latest totals join the logged values under ``modelsummary/`` (in
    ``trainer.state.log_history`` and for the callbacks after this one).

    Args:
        input_size: As for `summary()`.
        input_data: As for `summary()`; token ids for a language
            model, e.g. ``{"input_ids": torch.tensor([[1, 2, 3]])}``.
        interval: ``"epoch"`` (check at each epoch's end, the history indexed by
            epoch from 0) or ``"step"`` (after each optimizer step, by global step).
        print_fn: Where the summary and the reports go (on the main process only):
            ``print``, a `logging.Logger`, a callable taking text, or ``None``.
        log: Add the totals to what the Trainer logs.
        **kwargs: Passed to `summary()` (``depth``,
            ``col_names`` ...). ``optimizer="trainer"`` reads the Trainer's optimizer
            at train begin: the training estimate follows it, and each change report
            names the trainable parameters in none of its param groups.

    Raises:
        ValueError: An unknown ``interval``.

    Examples:
        >>> SummaryCallback(print_fn=None).watcher is None
        True
    """

    def __init__(
        self,
        input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
        input_data: Any = None,
        *,
        interval: str = "epoch",
        print_fn: PrintFn | logging.Logger | None = print,
        log: bool = True,
        **kwargs: Any,
    ) -> None:
        check_callback_options(interval, kwargs)
        self.interval = interval
        """``"epoch"`` or ``"step"``."""
        self.watcher: Watcher | None = None
        """The `Watcher`, from train begin on."""
        self._input_size = input_size
        self._input_data = input_data
        self._print_fn = as_print_fn(print_fn)
        self._log = log
        self._kwargs = kwargs

    def on_train_begin(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        model: nn.Module | None = None,
        **kwargs: Any,
    ) -> None:
        if model is None:
            return
        main = state.is_world_process_zero
        options = dict(self._kwargs)
        if options.get("optimizer") == TRAINER_OPTIMIZER:
            options["optimizer"] = kwargs.get("optimizer")
        self.watcher = watch(
            model,
            input_size=self._input_size,
            input_data=self._input_data,
            print_fn=self._print_fn if main else None,
            **options,
        )
        if main and self._print_fn is not None:
            self._print_fn(str(self.watcher.summary))

    def on_epoch_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.watcher is not None and self.interval == "epoch":
            # state.epoch is 1.0 at the end of the first epoch
            self.watcher.step(max(math.ceil(state.epoch or 0) - 1, 0))

    def on_step_end(
        self, args: TrainingArguments, state: TrainerState, control: TrainerControl, **kwargs: Any
    ) -> None:
        if self.watcher is not None and self.interval == "step":
            self.watcher.step(state.global_step)

    def on_log(
        self,
        args: TrainingArguments,
        state: TrainerState,
        control: TrainerControl,
        logs: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if self.watcher is None or not self._log or logs is None:
            return
        metrics = self.watcher.metrics()
        logs.update(metrics)
        # the Trainer put a copy of logs in the history just before calling the callbacks
        if state.log_history and state.log_history[-1].get("step") == state.global_step:
            state.log_history[-1].update(metrics)
