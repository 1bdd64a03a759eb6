"""The Lightning callback, run in a real Trainer.fit on CPU."""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch
from lightning.pytorch.callbacks import ModelSummary as LightningModelSummary
from lightning.pytorch.loggers import Logger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from modelsummary import TrainableMove
from modelsummary.integrations.lightning import SummaryCallback


def truth(model: nn.Module) -> dict[str, int]:
    params = list(model.parameters())  # each tensor once
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return {
        "modelsummary/all_params": sum(p.numel() for p in params),
        "modelsummary/trainable_params": trainable,
    }


class Recorder(Logger):
    """A logger that keeps the metrics it gets, with the model's own counts at that moment."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model
        self.rows: list[tuple[int | None, dict[str, float], dict[str, int]]] = []

    @property
    def name(self) -> str:
        return "recorder"

    @property
    def version(self) -> int:
        return 0

    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        pass

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        if any(key.startswith("modelsummary/") for key in metrics):
            self.rows.append((step, dict(metrics), truth(self.model)))


class Net(L.LightningModule):
    """A frozen body and a head; the head is replaced at epoch 1, the body unfrozen at 2."""

    def __init__(self, with_example: bool = True) -> None:
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.head = nn.Linear(8, 2)
        self.body.requires_grad_(False)
        if with_example:
            self.example_input_array = torch.zeros(1, 4)
        self.forwards = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.forwards += 1
        return self.head(torch.relu(self.body(x)))

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        (x,) = batch
        return self(x).pow(2).mean()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.SGD(self.parameters(), lr=0.01)

    def on_train_epoch_start(self) -> None:
        if self.current_epoch == 1:
            self.head = nn.Linear(8, 3)
        if self.current_epoch == 2:
            self.body.requires_grad_(True)


def fit(model: Net, callback: SummaryCallback, tmp_path: Any, epochs: int) -> L.Trainer:
    data = DataLoader(TensorDataset(torch.randn(8, 4)), batch_size=4)
    trainer = L.Trainer(
        max_epochs=epochs,
        accelerator="cpu",
        devices=1,
        logger=Recorder(model),
        callbacks=[callback],
        enable_checkpointing=False,
        enable_progress_bar=False,
        default_root_dir=tmp_path,
        log_every_n_steps=1,
    )
    trainer.fit(model, data)
    return trainer


def test_fit_prints_our_summary_watches_each_epoch_and_logs_the_totals(tmp_path, caplog):
    model = Net()
    printed: list[str] = []
    callback = SummaryCallback(print_fn=printed.append)
    with caplog.at_level(logging.INFO):
        trainer = fit(model, callback, tmp_path, epochs=3)

    # ours in place of Lightning's summary, which printed nothing
    assert [c for c in trainer.callbacks if isinstance(c, LightningModelSummary)] == [callback]
    assert not any("| Name" in r.getMessage() for r in caplog.records)
    w = callback.watcher
    assert w is not None
    # the summary at fit start ran example_input_array: Linear mult-adds are in * out
    assert w.history[0].total_mult_adds == 4 * 8 + 8 * 2
    assert printed[0].startswith("=") and "Total mult-adds: 48" in printed[0]

    assert [r.step for r in w.history] == [0, 1, 2]
    head, body = w.changes
    assert head.step == 1
    changed = {(c.path, c.field): (c.before, c.after) for c in head.diff.changed}
    assert changed[("head", "num_params")] == ("18", "27")
    assert body.step == 2
    assert body.moves == (TrainableMove("body", 2, 4 * 8 + 8, True),)
    assert printed[1:] == [str(head), str(body)]

    recorder = trainer.logger
    assert isinstance(recorder, Recorder)
    steps_per_epoch = 2
    assert [step for step, _, _ in recorder.rows] == [steps_per_epoch * e for e in (1, 2, 3)]
    for _, metrics, counts in recorder.rows:
        assert {k: metrics[k] for k in counts} == counts
    assert [m["modelsummary/total_mult_adds"] for _, m, _ in recorder.rows] == [48, 56, 56]


def test_without_an_example_input_the_counts_are_registered_and_checked_per_step(tmp_path):
    model = Net(with_example=False)
    callback = SummaryCallback(interval="step", print_fn=None)
    trainer = fit(model, callback, tmp_path, epochs=2)
    w = callback.watcher
    assert w is not None
    batches = 2 * 2
    assert model.forwards == batches  # the training steps' own, no summary pass
    assert [r.step for r in w.history] == list(range(1, batches + 1))
    assert [r.step for r in w.history if r.changed] == [3]  # the head replaced at epoch 1
    assert w.history[-1].total_mult_adds is None
    recorder = trainer.logger
    assert isinstance(recorder, Recorder)
    for _, metrics, counts in recorder.rows:
        assert {k: metrics[k] for k in counts} == counts
        assert "modelsummary/total_mult_adds" not in metrics


class AdamNet(Net):
    """Net trained with Adam over the parameters that are trainable at fit start."""

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam([p for p in self.parameters() if p.requires_grad], lr=0.01)


def test_trainer_optimizer_read_for_the_estimate_and_the_report(tmp_path):
    """``optimizer="trainer"``: the head replaced at epoch 1 and the body unfrozen at 2
    are in none of the Trainer's optimizer's groups, and the reports say so."""
    model = AdamNet()
    printed: list[str] = []
    callback = SummaryCallback(print_fn=printed.append, optimizer="trainer")
    trainer = fit(model, callback, tmp_path, epochs=3)
    w = callback.watcher
    assert w is not None
    (optimizer,) = trainer.optimizers
    assert w.summary.tree.totals.optimizer == "Adam"
    grouped = {id(p) for g in optimizer.param_groups for p in g["params"]}
    missed = [n for n, p in model.named_parameters() if p.requires_grad and id(p) not in grouped]
    head, body = w.changes
    assert list(head.not_in_optimizer) == ["head.weight", "head.bias"]
    assert (
        list(body.not_in_optimizer)
        == missed
        == [
            "body.weight",
            "body.bias",
            "head.weight",
            "head.bias",
        ]
    )
    assert any("in no param group of the optimizer" in line for line in printed[1].splitlines())
    # the state it holds is the old head's: none of it is the model's now
    assert body.summary.tree.totals.optimizer_bytes == 0
    assert any(optimizer.state[p] for p in optimizer.param_groups[0]["params"])
