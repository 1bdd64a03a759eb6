"""watch(): a summary per change of structure during training, none while nothing changes."""

from __future__ import annotations

import csv
import io
import logging
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

from modelsummary import TrainableMove, WatchChange, Watcher, watch

ROOT = Path(__file__).resolve().parents[1]


class SimpleModel(nn.Module):
    """The seed article's model, with a forward that counts its calls."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(10, 5)
        self.fc2 = nn.Linear(5, 2)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.fc2(torch.relu(self.fc1(x)))


def truth(model: nn.Module) -> tuple[int, int, int]:
    """(all, trainable, frozen) from model.parameters(), each tensor once."""
    params = list(model.parameters())
    trainable = sum(p.numel() for p in params if p.requires_grad)
    return sum(p.numel() for p in params), trainable, sum(p.numel() for p in params) - trainable


def stepped(w: Watcher, n: int | None = None) -> WatchChange | None:
    """Watcher.step(n), and the change it found (step() itself returns None)."""
    seen = len(w.changes)
    assert w.step(n) is None
    return w.changes[-1] if len(w.changes) > seen else None


def test_unchanged_steps_run_no_forward_pass_and_a_change_runs_one():
    model = SimpleModel()
    w = watch(model, input_size=(1, 10), print_fn=None)
    assert model.calls == 1  # the first summary
    for step in range(50):
        assert stepped(w, step) is None
    assert model.calls == 1
    model.fc2 = nn.Linear(5, 3)
    assert stepped(w, 50) is not None
    assert model.calls == 2
    for step in range(51, 60):
        w.step(step)
    assert model.calls == 2
    assert [r.changed for r in w.history].count(True) == 1


def test_seed_scenario_head_replaced_at_epoch_2(capsys):
    model = SimpleModel()
    w = watch(model, input_size=(1, 10))
    expected = []
    for epoch in range(5):
        if epoch == 2:
            model.fc2 = nn.Linear(5, 3)
        w.step(epoch)
        expected.append((epoch, *truth(model)))
    assert [
        (r.step, r.all_params, r.trainable_params, r.non_trainable_params) for r in w.history
    ] == expected
    assert [r.step for r in w.history if r.changed] == [2]
    (change,) = w.changes
    assert change.step == 2 and change.summary is w.summary
    fields = {(c.path, c.field): (c.before, c.after) for c in change.diff.changed}
    assert fields[("fc2", "num_params")] == (str(5 * 2 + 2), str(5 * 3 + 3))
    totals = {key: (a, b) for key, a, b in change.diff.totals}
    assert totals["total_params"] == (expected[1][1], expected[2][1])
    assert capsys.readouterr().out == str(change) + "\n"


def test_unfreezing_reports_the_moves_by_module():
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Sequential(nn.Linear(8, 8)))
    model[0].requires_grad_(False)
    model[2].requires_grad_(False)
    w = watch(model, input_size=(2, 4), print_fn=None)
    model[2][0].requires_grad_(True)
    model[0].bias.requires_grad_(True)
    change = stepped(w, 1)
    assert change is not None and not change.forced
    assert set(change.moves) == {
        TrainableMove("2.0", 2, sum(p.numel() for p in model[2].parameters()), True),
        TrainableMove("0", 1, model[0].bias.numel(), True),
    }
    row = w.history[-1]
    assert (row.all_params, row.trainable_params, row.non_trainable_params) == truth(model)
    assert "frozen -> trainable" in str(change)
    model.requires_grad_(False)
    back = stepped(w, 2)
    assert back is not None and all(not m.now_trainable for m in back.moves)
    assert w.history[-1].trainable_params == 0


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda m: setattr(m.fc1.weight, "data", torch.zeros(7, 10)), id="shape"),
        pytest.param(lambda m: m.to(torch.float64), id="dtype"),
        pytest.param(lambda m: setattr(m.fc2, "weight", nn.Parameter(m.fc2.weight)), id="param"),
        pytest.param(lambda m: setattr(m, "fc1", nn.Linear(10, 5)), id="module-same-shape"),
        pytest.param(lambda m: setattr(m, "extra", nn.Linear(2, 2)), id="module-added"),
        pytest.param(
            lambda m: delattr(m.fc2, "bias") or m.fc2.register_parameter("bias", None),
            id="param-removed",
        ),
    ],
)
def test_each_kind_of_structural_change_is_seen(change):
    model = SimpleModel()
    w = watch(model, print_fn=None)
    assert stepped(w, 0) is None
    change(model)
    found = stepped(w, 1)
    assert found is not None
    assert w.history[-1].all_params == truth(model)[0]
    assert stepped(w, 2) is None


def test_a_replaced_object_of_the_same_shape_is_named():
    model = SimpleModel()
    w = watch(model, input_size=(1, 10), print_fn=None)
    model.fc1 = nn.Linear(10, 5)
    model.fc2.weight = nn.Parameter(torch.zeros(2, 5))
    change = stepped(w, 1)
    assert change is not None and not change.diff
    assert change.replaced == ("fc1", "fc2.weight")


def test_tying_weights_is_seen_and_counted_once():
    emb, head = nn.Embedding(100, 16), nn.Linear(16, 100, bias=False)
    model = nn.Sequential(emb, head)
    w = watch(model, input_data=torch.tensor([[1, 2, 3]]), print_fn=None)
    head.weight = emb.weight
    assert stepped(w, 1) is not None
    assert w.history[-1].total_params == 100 * 16 == truth(model)[0]


def test_steps_leave_the_model_and_the_rng_as_they_were(audit):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 6), nn.BatchNorm1d(6), nn.Dropout(0.5), nn.Linear(6, 2))
    model.train()
    model[0].requires_grad_(False)
    audit(model)
    w = watch(model, input_size=(4, 6), mode="train", print_fn=None)
    for step in range(3):
        w.step(step)
    w.step(3, force=True)  # a pass in train mode, through the dropout
    (forced,) = w.changes
    assert forced.forced and not forced.diff and not forced.moves and not forced.replaced
    assert str(forced).startswith("step 3: a new summary (force=True)")


def test_a_step_that_reports_a_change_leaves_the_model_as_the_user_left_it(audit):
    model = nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5))
    model.train()
    w = watch(model, input_size=(2, 3), mode="train", print_fn=None)
    model.append(nn.Linear(3, 1))
    model[0].requires_grad_(False)
    audit(model)  # after the user's change, before the step that reports it
    assert stepped(w, 1) is not None


def test_without_an_input_counts_are_registered_ones_and_nothing_runs():
    model = SimpleModel()
    w = watch(model, print_fn=None)
    model.fc2 = nn.Linear(5, 4)
    w.step(0)
    assert model.calls == 0
    (row,) = w.history
    assert (row.all_params, row.trainable_params, row.non_trainable_params) == truth(model)
    assert row.total_params == row.all_params
    assert row.unused_params is None and row.total_mult_adds is None


def test_an_unused_module_shows_in_the_history():
    model = SimpleModel()
    w = watch(model, input_size=(1, 10), print_fn=None)
    model.spare = nn.Linear(3, 3)  # registered, never called
    w.step(0)
    (row,) = w.history
    assert row.unused_params == 12
    assert row.total_params + row.unused_params == row.all_params == truth(model)[0]
    assert w.changes[0].diff.unused_added == ("spare",)


def test_reports_go_to_a_logger(caplog):
    logger = logging.getLogger("training")
    model = SimpleModel()
    w = watch(model, print_fn=logger)
    model.fc1.requires_grad_(False)
    with caplog.at_level(logging.INFO, logger="training"):
        change = stepped(w, 4)
    assert [r.getMessage() for r in caplog.records] == [str(change)]


def test_show_summary_prints_the_new_table_after_the_report():
    lines: list[str] = []
    model = SimpleModel()
    w = watch(model, input_size=(1, 10), print_fn=lines.append, show_summary=True)
    assert lines == []
    model.fc2 = nn.Linear(5, 3)
    change = stepped(w, 2)
    assert lines == [str(change), str(w.summary)]


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        pytest.param({"print_fn": 3}, TypeError, id="print_fn"),
        pytest.param({"verbose": 1}, ValueError, id="verbose"),
        pytest.param({"show_summary": "yes"}, TypeError, id="show_summary"),
        pytest.param(
            {"input_size": (1, 10), "input_data": torch.zeros(1, 10)}, ValueError, id="both-inputs"
        ),
    ],
)
def test_bad_arguments_fail_before_any_pass(kwargs, error):
    model = SimpleModel()
    with pytest.raises(error):
        watch(model, **kwargs)
    assert model.calls == 0


def test_a_step_must_be_an_integer():
    w = watch(SimpleModel(), print_fn=None)
    with pytest.raises(TypeError, match="step"):
        w.step(1.5)  # type: ignore[arg-type]
    assert (
        stepped(w) is None and stepped(w) is None and stepped(w, 10) is None and stepped(w) is None
    )
    assert [r.step for r in w.history] == [0, 1, 10, 11]
    assert [r.step for r in w.history[1:3]] == [1, 10] and w.history[-1].step == 11
    with pytest.raises(IndexError):
        w.history[4]


def test_history_exports_agree(tmp_path):
    model = SimpleModel()
    w = watch(model, input_size=(1, 10), print_fn=None)
    for epoch in range(4):
        if epoch == 2:
            model.fc2 = nn.Linear(5, 3)
        w.step(epoch)
    rows = w.to_dicts()
    assert [r["step"] for r in rows] == [0, 1, 2, 3]
    text = w.to_csv(tmp_path / "history.csv")
    assert (tmp_path / "history.csv").read_text() == text
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert [int(r["all_params"]) for r in parsed] == [r["all_params"] for r in rows]
    frame = w.to_dataframe()
    assert frame.index.tolist() == [0, 1, 2, 3]
    assert frame["total_mult_adds"].tolist() == [r["total_mult_adds"] for r in rows]


def test_plot_draws_the_counts_over_steps(tmp_path):
    model = SimpleModel()
    w = watch(model, input_size=(1, 10), print_fn=None)
    for epoch in range(3):
        if epoch == 1:
            model.fc1.requires_grad_(False)
        w.step(epoch)
    fig = w.plot(log=True, path=tmp_path / "counts.png")
    assert (tmp_path / "counts.png").stat().st_size > 0
    ax = fig.axes[0]
    lines = {
        line.get_label(): list(line.get_ydata())
        for line in ax.get_lines()
        if line.get_label()[0] != "_"
    }
    assert lines["frozen"] == [r.non_trainable_params for r in w.history]
    assert lines["unused"] == [0, 0, 0]
    assert ax.get_yscale() == "log"


def test_optional_dependencies_stay_unimported():
    code = (
        "import sys, modelsummary, modelsummary.integrations;"
        "print(sorted(m for m in ('lightning', 'pytorch_lightning', 'transformers', 'peft',"
        " 'accelerate', 'pandas', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout.strip() == "[]"


def test_a_lazy_model_is_watched_before_and_after_it_materialises():
    model = nn.Sequential(nn.LazyLinear(3), nn.ReLU(), nn.Linear(3, 2))
    w = watch(model, input_size=(1, 4), print_fn=None)
    assert stepped(w, 0) is None
    model(torch.zeros(1, 4))  # the first real pass gives the lazy weight its shape
    assert stepped(w, 1) is not None
    assert stepped(w, 2) is None
    assert w.history[-1].all_params == truth(model)[0] == 4 * 3 + 3 + 3 * 2 + 2


def test_watch_names_parameters_the_optimizer_misses_in_a_training_loop():
    """A real loop replaces the head and unfreezes a layer without telling the optimizer:
    the report names both; once a param group holds them, the estimate is the state the
    optimizer then really keeps (issue 25 item 3)."""
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    model[0].requires_grad_(False)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=1e-2)
    reports: list[str] = []
    w = watch(model, input_size=(3, 4), optimizer=opt, print_fn=reports.append)
    x = torch.randn(16, 4)

    def train_step() -> None:
        opt.zero_grad()
        model(x).pow(2).mean().backward()
        opt.step()

    def outside_the_optimizer() -> tuple[list[str], list[str]]:
        grouped = {id(p) for g in opt.param_groups for p in g["params"]}
        named = list(model.named_parameters())
        missed = [n for n, p in named if p.requires_grad and id(p) not in grouped]
        frozen = [n for n, p in named if not p.requires_grad and id(p) in grouped]
        return missed, frozen

    train_step()
    w.step(0)
    model[4] = nn.Linear(8, 3)  # a new head the optimizer was not told of
    model[0].requires_grad_(True)  # unfrozen, and in no group
    model[2].requires_grad_(False)  # frozen, still in its group
    train_step()
    w.step(1)

    change = w.changes[-1]
    missed, frozen = outside_the_optimizer()
    assert missed == ["0.weight", "0.bias", "4.weight", "4.bias"]
    assert list(change.not_in_optimizer) == missed
    assert list(change.frozen_in_optimizer) == frozen == ["2.weight", "2.bias"]
    assert (
        "! trainable, in no param group of the optimizer (never updated):"
        " 0.weight, 0.bias, 4.weight, 4.bias"
    ) in reports[-1].splitlines()
    assert "! frozen, still in a param group of the optimizer: 2.weight, 2.bias" in reports[-1]

    # The loop tells the optimizer: a param group added is a change of its own.
    opt.add_param_group({"params": [*model[0].parameters(), *model[4].parameters()]})
    w.step(2)
    assert [c.step for c in w.changes] == [1, 2]
    assert w.changes[-1].not_in_optimizer == ()
    estimate = w.summary.tree.totals.optimizer_bytes  # foreseen for the new group
    train_step()
    mine = {id(p) for p in model.parameters()}
    real = sum(
        v.numel() * v.element_size()
        for p, state in opt.state.items()
        if id(p) in mine
        for v in state.values()
        if isinstance(v, torch.Tensor)
    )
    assert estimate == real
