"""The Hugging Face TrainerCallback, run in a real Trainer on a tiny GPT-2 built from its config."""

from __future__ import annotations

from typing import Any

import torch
from peft import LoraConfig, get_peft_model
from torch import nn
from transformers import (
    GPT2Config,
    GPT2LMHeadModel,
    Trainer,
    TrainerCallback,
    TrainingArguments,
)

from modelsummary import TrainableMove
from modelsummary.integrations.transformers import SummaryCallback

VOCAB, WIDTH = 64, 32


def tiny_gpt2() -> GPT2LMHeadModel:
    config = GPT2Config(n_layer=2, n_embd=WIDTH, n_head=2, vocab_size=VOCAB, n_positions=16)
    return GPT2LMHeadModel(config)


def dataset(rows: int = 8) -> list[dict[str, torch.Tensor]]:
    ids = torch.randint(0, VOCAB, (rows, 8), generator=torch.Generator().manual_seed(0))
    return [{"input_ids": row, "labels": row} for row in ids]


def truth(model: nn.Module) -> dict[str, int]:
    params = list(model.parameters())  # each tensor once: GPT-2's tied lm_head too
    return {
        "modelsummary/all_params": sum(p.numel() for p in params),
        "modelsummary/trainable_params": sum(p.numel() for p in params if p.requires_grad),
    }


def train(
    model: nn.Module,
    tmp_path: Any,
    callbacks: list[TrainerCallback],
    first: TrainerCallback | None = None,
    **kw: Any,
) -> Trainer:
    args = TrainingArguments(
        output_dir=str(tmp_path),
        per_device_train_batch_size=2,
        report_to=[],
        use_cpu=True,
        logging_steps=1,
        save_strategy="no",
        disable_tqdm=True,
        **kw,
    )
    trainer = Trainer(model=model, args=args, train_dataset=dataset(), callbacks=callbacks)
    if first is not None:
        trainer.callback_handler.callbacks.insert(0, first)
    trainer.train()
    return trainer


class FreezeEmbeddings(TrainerCallback):  # type: ignore[misc]
    """Freezes the (tied) token embedding as the third step begins."""

    def on_step_begin(self, args: Any, state: Any, control: Any, model: Any = None, **kw: Any):
        if state.global_step == 2:
            model.transformer.wte.requires_grad_(False)


class CountsAtLog(TrainerCallback):  # type: ignore[misc]
    """Runs after SummaryCallback: keeps each logged dict with the model's own counts."""

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.rows: list[tuple[dict[str, Any], dict[str, int]]] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **kw: Any):
        self.rows.append((dict(logs), truth(self.model)))


def test_trainer_prints_the_summary_watches_each_step_and_logs_the_totals(tmp_path):
    model = tiny_gpt2()
    printed: list[str] = []
    tokens = torch.tensor([[1, 2, 3, 4]])
    callback = SummaryCallback(
        input_data={"input_ids": tokens}, interval="step", print_fn=printed.append
    )
    counts = CountsAtLog(model)
    # first, as docs/training.md says, so that every other callback sees the totals
    trainer = train(model, tmp_path, [FreezeEmbeddings(), counts], max_steps=4, first=callback)

    w = callback.watcher
    assert w is not None
    first = w.history[0]
    assert first.all_params == first.total_params == truth(model)["modelsummary/all_params"]
    assert first.total_mult_adds and first.total_mult_adds > 0
    assert printed[0].startswith("=") and "GPT2LMHeadModel" in printed[0]

    assert [r.step for r in w.history] == [1, 2, 3, 4]
    (change,) = w.changes
    assert change.step == 3
    assert change.moves == (TrainableMove("transformer.wte", 1, VOCAB * WIDTH, False),)
    assert printed[1:] == [str(change)]

    assert len(counts.rows) == 4 + 1  # a log per step, and the end-of-training one
    for logs, now in counts.rows:
        assert {k: logs[k] for k in now} == now
    history = [h for h in trainer.state.log_history if "loss" in h]
    assert [h["modelsummary/trainable_params"] for h in history] == [
        logs["modelsummary/trainable_params"] for logs, _ in counts.rows[:4]
    ]


def test_peft_lora_counts_agree_with_peft(tmp_path, capsys):
    config = LoraConfig(r=4, target_modules=["c_attn"], fan_in_fan_out=True, task_type="CAUSAL_LM")
    model = get_peft_model(tiny_gpt2(), config)
    trainable, total = model.get_nb_trainable_parameters()
    callback = SummaryCallback(print_fn=None)  # no input: the registered counts
    train(model, tmp_path, [callback], max_steps=2)
    w = callback.watcher
    assert w is not None
    assert not w.changes
    assert [r.step for r in w.history] == [0]  # max_steps ends the first epoch
    row = w.history[-1]
    assert (row.trainable_params, row.all_params) == (trainable, total)
    assert row.non_trainable_params == total - trainable
    model.print_trainable_parameters()
    printed = capsys.readouterr().out
    assert f"trainable params: {row.trainable_params:,}" in printed
    assert f"all params: {row.all_params:,}" in printed


def real_state_bytes(optimizer: Any, model: nn.Module) -> int:
    mine = {id(p) for p in model.parameters()}
    return sum(
        v.numel() * v.element_size()
        for p, state in optimizer.state.items()
        if id(p) in mine
        for v in state.values()
        if isinstance(v, torch.Tensor)
    )


def test_trainer_optimizer_read_for_the_estimate_and_the_report(tmp_path):
    """``optimizer="trainer"``: the estimate follows the Trainer's own optimizer, and the
    report names the embedding frozen while still in one of its param groups."""
    model = tiny_gpt2()
    callback = SummaryCallback(
        input_data={"input_ids": torch.tensor([[1, 2, 3, 4]])},
        interval="step",
        print_fn=None,
        optimizer="trainer",
    )
    foreseen: list[int] = []

    class AtTrainBegin(TrainerCallback):  # type: ignore[misc]
        """After SummaryCallback: the estimate made before the optimizer's first step."""

        def on_train_begin(self, args: Any, state: Any, control: Any, **kw: Any) -> None:
            assert callback.watcher is not None and not kw["optimizer"].state
            foreseen.append(callback.watcher.summary.tree.totals.optimizer_bytes)

    trainer = train(
        model, tmp_path, [AtTrainBegin(), FreezeEmbeddings()], max_steps=4, first=callback
    )
    w = callback.watcher
    assert w is not None
    (change,) = w.changes
    assert change.step == 3
    grouped = {id(p) for g in trainer.optimizer.param_groups for p in g["params"]}
    frozen = [n for n, p in model.named_parameters() if not p.requires_grad and id(p) in grouped]
    assert list(change.frozen_in_optimizer) == frozen == ["transformer.wte.weight"]
    assert change.not_in_optimizer == ()
    real = real_state_bytes(trainer.optimizer, model)
    assert real > 0
    assert foreseen == [real]  # foreseen before the first step (every weight trainable then)
    assert w.summary.tree.totals.optimizer_bytes == real  # read from the state it holds
    assert w.summary.tree.totals.optimizer == type(trainer.optimizer.optimizer).__name__
    training = w.summary.to_dict()["training"]
    assert training["frozen_in_optimizer"] == ["transformer.wte.weight"]
