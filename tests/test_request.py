"""summary()'s steps on their own: the request checked without any pass, the pass
environment undoing what it did, and the pass or the census for a request."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from torch import nn

from modelsummary import ModelSummaryError
from modelsummary._pass import pass_environment, registered, take_trace, trace_pass
from modelsummary._request import SummaryRequest, check_request
from modelsummary._trace.tracer import Tracer


class _NeverRun(nn.Module):
    """A model whose forward must not run while a request is checked."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.fc(x)


# -- the request: every check before any pass -----------------------------------------
@pytest.mark.parametrize(
    "arguments, error, words",
    [
        ({"mode": "test"}, ValueError, "mode must be one of"),
        ({"col_names": ["flop"]}, ValueError, "unknown col_names ['flop']"),
        ({"depth": -1}, ValueError, "depth must be a non-negative integer"),
        ({"verbose": 3}, ValueError, "verbose must be 0, 1 or 2"),
        ({"optimizer": "lion"}, ValueError, "optimizer must be one of"),
        ({"batch_dim": -1}, ValueError, "batch_dim must be a non-negative integer"),
        ({"cache_forward_pass": "yes"}, TypeError, "cache_forward_pass must be a bool"),
        ({"input_data": torch.zeros(1, 3)}, ValueError, "give input_size or input_data"),
        (
            {"input_size": None, "input_data": (torch.zeros(1, 3), torch.zeros(1, 3))},
            TypeError,
            "do not fit",
        ),
        ({"input_size": None, "optimizer": "adam"}, ValueError, "needs a forward pass"),
    ],
    ids=[
        "mode",
        "col_names",
        "depth",
        "verbose",
        "optimizer",
        "batch_dim",
        "cache_forward_pass",
        "both-inputs",
        "extra-input",
        "optimizer-without-input",
    ],
)
def test_a_bad_argument_is_refused_before_any_pass(arguments, error, words):
    model = _NeverRun()
    call = {"input_size": (1, 3), "verbose": 0, **arguments}
    with pytest.raises(error) as caught:
        check_request(model, **call)
    assert words in str(caught.value)
    assert model.calls == 0


def test_the_request_holds_the_checked_arguments():
    model = _NeverRun()
    request = check_request(
        model,
        input_size=[(2, 3)],
        col_names=["num_params", "mult_adds", "time"],
        depth=1,
        row_settings=["ascii_only"],
        verbose=2,
        mode="train",
        optimizer="AdamW",
        kwargs={},
    )
    assert model.calls == 0
    assert isinstance(request, SummaryRequest)
    assert [tuple(a.shape) for a in request.args] == [(2, 3)]
    assert request.args[0].dtype == model.fc.weight.dtype  # made in the model's dtype
    assert request.made_inputs and request.forward_pass and request.timed
    assert request.options.columns == ("num_params", "mult_adds", "time")
    assert request.options.ascii_only and request.verbose == 2
    assert (request.mode, request.optimizer, request.device) == (
        "train",
        "adamw",
        torch.device("cpu"),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.mode = "eval"  # type: ignore[misc]


def test_no_input_asks_for_no_pass_and_drops_the_shape_columns():
    request = check_request(_NeverRun(), verbose=0)
    assert not request.forward_pass
    assert request.options.columns == ("num_params",)
    assert request.args == [] and request.kwargs == {}


def test_forward_keyword_arguments_ask_for_a_pass():
    request = check_request(_NeverRun(), kwargs={"x": torch.zeros(1, 3)}, verbose=0)
    assert request.forward_pass and set(request.kwargs) == {"x"}


# -- the pass environment --------------------------------------------------------------
def _state(model: nn.Module) -> list[object]:
    return [
        [m.training for m in model.modules()],
        [(n, b.clone()) for n, b in model.named_buffers()],
        [(n, p.requires_grad, p.detach().clone()) for n, p in model.named_parameters()],
        torch.random.get_rng_state(),
    ]


def _same(a: list[object], b: list[object]) -> bool:
    return repr(a) == repr(b)


@pytest.mark.parametrize("mode", ["eval", "train"], ids=["eval", "train"])
def test_the_environment_sets_the_mode_and_restores_the_state(mode):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    model[2].train()
    model[1].eval()  # modes that differ, to be put back one by one
    before = _state(model)
    request = check_request(model, (5, 3), mode=mode, verbose=0)
    with pass_environment(request, model, Tracer(model)) as run:
        assert all(m.training is (mode == "train") for m in model.modules())
        run.model(*run.args)  # BatchNorm in train mode updates its statistics
        torch.rand(3)  # the global random stream moves
    assert [m.training for m in model.modules()] == before[0]
    assert _same(_state(model)[1], before[1])  # BatchNorm's statistics put back
    assert _same(_state(model)[3], before[3])  # the random stream put back


def test_the_environment_tells_a_failure_and_still_restores():
    model = nn.Sequential(nn.BatchNorm1d(4), nn.Linear(3, 2))
    model.train()
    before = _state(model)
    request = check_request(model, (5, 4), verbose=0)
    tracer = Tracer(model)
    with (
        pytest.raises(ModelSummaryError) as caught,
        pass_environment(request, model, tracer) as run,
        tracer,
    ):
        model(*run.args)
    assert "module '1' (Linear)" in str(caught.value)
    assert isinstance(caught.value.__cause__, RuntimeError)
    assert [m.training for m in model.modules()] == before[0]
    assert _same(_state(model)[1], before[1])


def test_the_environment_swaps_meta_stand_ins_in_and_out():
    model = nn.Linear(3, 2)
    weight = model.weight
    request = check_request(model, (1, 3), device="meta", verbose=0)
    with pass_environment(request, model, Tracer(model)) as run:
        assert model.weight.is_meta and model.weight is not weight
        assert run.args[0].is_meta and run.peak_bytes() is None
    assert model.weight is weight and not weight.is_meta


# -- the pass or the census ------------------------------------------------------------
def test_trace_pass_counts_what_ran():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    trace, run = trace_pass(check_request(model, (2, 3), verbose=0))
    assert [c.path for c in trace.calls] == ["", "0", "1"]
    assert sum(c.mult_adds for c in trace.calls) == 2 * 3 * 4  # batch x in x out
    assert run.input_bytes == 2 * 3 * 4  # six float32 elements
    assert run.forward_pass and run.times == ()


def test_registered_runs_nothing():
    model = _NeverRun()
    trace, run = registered(check_request(model, verbose=0))
    assert model.calls == 0 and not run.forward_pass
    assert [p.name for p in trace.params] == [n for n, _ in model.named_parameters()]


# -- an exported program: read, never run ------------------------------------------------
def _program(model: nn.Module | None = None) -> torch.export.ExportedProgram:
    batch = torch.export.Dim("batch")
    model = model or nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    return torch.export.export(model, (torch.zeros(2, 3),), dynamic_shapes=({0: batch},))


@pytest.mark.parametrize(
    "given",
    [{"input_size": (2, 3)}, {"batch_dim": 0}, {"dtypes": [torch.float16]}, {"x": 1}],
    ids=["input_size", "batch_dim", "dtypes", "forward-keyword"],
)
def test_a_program_request_refuses_what_needs_a_pass(given):
    keyword = given if "x" not in given else {"kwargs": given}
    with pytest.raises(ValueError, match=f"{next(iter(given))} cannot be given"):
        check_request(_program(), verbose=0, **keyword)


def test_take_trace_reads_a_program_as_a_pass_would_trace_it():
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU())
    request = check_request(_program(model), verbose=0)
    assert request.input_size == [["batch", 3]]  # the dynamic dimension by its name
    with pytest.raises(TypeError, match="read from its graph"):
        request.module  # noqa: B018  (no module to run)
    read, _ = take_trace(request)
    traced, _ = take_trace(check_request(model, (2, 3), verbose=0))
    assert [(c.path, c.mult_adds) for c in read.calls] == [
        (c.path, c.mult_adds) for c in traced.calls
    ]
    assert sum(c.mult_adds for c in read.calls) == 2 * 3 * 4  # batch x in x out
