"""A Lightning callback: modelsummary's summary at fit start, and the structure watched.

Importing this module imports ``lightning``; ``import modelsummary`` does not.

Examples:
    >>> from modelsummary.integrations.lightning import SummaryCallback
    >>> SummaryCallback(input_size=(1, 4)).interval
    'epoch'
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import lightning.pytorch as pl
from lightning.pytorch.callbacks import ModelSummary

from .._watch import (
    TRAINER_OPTIMIZER,
    PrintFn,
    Watcher,
    as_print_fn,
    check_callback_options,
    watch,
)


class SummaryCallback(ModelSummary):
    """Print modelsummary's summary at fit start, watch the structure, log the totals.

    It takes the place of Lightning's own ``ModelSummary`` callback (it is one, so
    the Trainer adds no other). At fit start it summarises the LightningModule
    with ``input_size``/``input_data`` if given, else the module's
    ``example_input_array``, else the registered parameters alone. Then at the end
    of each training epoch (or batch, with ``interval="step"``) it calls
    `step()`: no forward pass unless the structure
    changed, and a change report when it did. The totals of each check go to every
    logger of the Trainer, under ``modelsummary/``, at the Trainer's global step.

    Args:
        input_size: As for `summary()`.
        input_data: As for `summary()`.
        interval: ``"epoch"`` (check at each training epoch's end, the history
            indexed by epoch) or ``"step"`` (after each training batch, by global
            step).
        print_fn: Where the summary and the reports go (on global rank zero only):
            ``print``, a `logging.Logger`, a callable taking text, or ``None``.
        log: Send the totals to the Trainer's loggers.
        **kwargs: Passed to `summary()` (``depth``,
            ``col_names``, ``dtypes`` ...). ``optimizer="trainer"`` reads the
            Trainer's optimizer (the first of ``trainer.optimizers``) at fit start:
            the training estimate follows it, and each change report names the
            trainable parameters in none of its param groups (a head replaced while
            the optimizer still holds the old one).

    Raises:
        ValueError: An unknown ``interval``.

    Examples:
        >>> callback = SummaryCallback(interval="step", print_fn=None)
        >>> callback.watcher is None
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
        super().__init__()
        check_callback_options(interval, kwargs)
        self.interval = interval
        """``"epoch"`` or ``"step"``."""
        self.watcher: Watcher | None = None
        """The `Watcher`, from fit start on."""
        self._input_size = input_size
        self._input_data = input_data
        self._print_fn = as_print_fn(print_fn)
        self._log = log
        self._kwargs = kwargs

    def on_fit_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        data = self._input_data
        if data is None and self._input_size is None:
            data = pl_module.example_input_array
        kwargs = dict(self._kwargs)
        if kwargs.get("optimizer") == TRAINER_OPTIMIZER:
            kwargs["optimizer"] = trainer.optimizers[0] if trainer.optimizers else None
        self.watcher = watch(
            pl_module,
            input_size=self._input_size,
            input_data=data,
            print_fn=self._print_fn if trainer.is_global_zero else None,
            **kwargs,
        )
        if trainer.is_global_zero and self._print_fn is not None:
            self._print_fn(str(self.watcher.summary))

    def _check(self, trainer: pl.Trainer, step: int) -> None:
        if self.watcher is None:  # fit start did not run (a resumed loop, a test call)
            return
        self.watcher.step(step)
        if self._log and trainer.loggers:
            metrics = self.watcher.metrics()
            for logger in trainer.loggers:
                logger.log_metrics(metrics, step=trainer.global_step)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self.interval == "epoch":
            self._check(trainer, trainer.current_epoch)

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        if self.interval == "step":
            self._check(trainer, trainer.global_step)
