"""The census of a model on its own: one walk, no hook, no pass; the records it measures
against what torch itself says of the model; the one place each tensor is measured."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from torch.nn.modules import module as module_hooks
from torch.nn.utils import prune

from modelsummary._records import BufferInfo
from modelsummary._trace.census import buffer_info, param_info, take_census
from modelsummary._trace.tracer import Tracer


class _NeverRun(nn.Module):
    """A model whose forward must not run: the census reads, it does not call."""

    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Linear(4, 2))
        self.head = nn.Linear(2, 2)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        raise AssertionError("the census ran the model")


def _hook_tables() -> tuple[int, ...]:
    return (
        len(module_hooks._global_forward_pre_hooks),
        len(module_hooks._global_forward_hooks),
    )


def test_census_installs_no_hook_and_runs_nothing():
    model = _NeverRun()
    before = _hook_tables()
    own = [(len(m._forward_pre_hooks), len(m._forward_hooks)) for m in model.modules()]
    trace = take_census(model).trace()
    assert model.calls == 0
    assert _hook_tables() == before
    assert [(len(m._forward_pre_hooks), len(m._forward_hooks)) for m in model.modules()] == own
    assert trace.calls == () and trace.param_uses == ()


def test_census_records_match_torch():
    model = _NeverRun()
    trace = take_census(model).trace()
    assert [m.path for m in trace.modules] == [name for name, _ in model.named_modules()]
    named = dict(model.named_parameters())
    assert [p.name for p in trace.params] == list(named)
    assert [p.numel for p in trace.params] == [p.numel() for p in named.values()]
    assert [p.nbytes for p in trace.params] == [
        p.numel() * p.element_size() for p in named.values()
    ]
    buffers = dict(model.named_buffers())
    assert [b.name for b in trace.buffers] == list(buffers)
    assert sum(m.buffer_numel for m in trace.modules) == sum(b.numel() for b in buffers.values())


def test_tied_weight_counted_once_under_its_first_name():
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 10, bias=False))
    model[1].weight = model[0].weight
    trace = take_census(model).trace()
    assert [p.name for p in trace.params] == ["0.weight"]
    assert sum(p.numel for p in trace.params) == sum(p.numel() for p in model.parameters())
    assert trace.modules[1].param_keys == trace.modules[2].param_keys == (("weight", 0),)


def test_census_and_tracer_measure_the_same_records():
    """The traced pass adds calls and uses; the records of what is registered are the
    census's own."""
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.Flatten(), nn.LazyLinear(3))
    model(torch.zeros(1, 1, 5, 5))  # materialise the lazy layer first
    census = take_census(model)
    tracer = Tracer(model, census=census)
    with torch.no_grad(), tracer:
        model(torch.zeros(1, 1, 5, 5))
    traced = tracer.finish()
    alone = take_census(model).trace()
    assert tracer.census is census
    assert (traced.modules, traced.params, traced.buffers) == (
        alone.modules,
        alone.params,
        alone.buffers,
    )
    assert len(traced.calls) == 5


def test_pruning_mask_read_in_the_walk():
    fc = prune.random_unstructured(nn.Linear(6, 4), "weight", amount=0.25)
    zeros = int((fc.weight_mask == 0).sum())
    assert take_census(nn.Sequential(fc)).trace().masked == (("0.weight_orig", zeros),)


def test_lazy_modules_are_found():
    assert take_census(nn.Sequential(nn.Linear(2, 2), nn.LazyLinear(3))).has_lazy()
    assert not take_census(nn.Sequential(nn.Linear(2, 2))).has_lazy()


def test_only_the_outermost_script_is_watched():
    inner = nn.Sequential(nn.Linear(2, 2), nn.ReLU())
    scripted = torch.jit.script(inner)
    census = take_census(nn.Sequential(scripted, nn.Linear(2, 2)))
    assert [path for path, _ in census.scripts.values()] == ["0"]
    assert [path for path, _ in census.hookable] == ["", "1"]
    traced = {m.path: m.traced for m in census.trace().modules}
    assert traced == {"": True, "0": False, "0.0": False, "0.1": False, "1": True}


@pytest.mark.parametrize(
    "dtype", [torch.float32, torch.float16, torch.int8], ids=["float32", "float16", "int8"]
)
def test_param_info_measures_one_parameter(dtype):
    module = nn.Module()
    module.w = nn.Parameter(torch.zeros(3, 5, dtype=dtype), requires_grad=dtype.is_floating_point)
    info = param_info(7, "m.w", module.w, module, "w", 0)
    assert (info.key, info.name, info.numel) == (7, "m.w", module.w.numel())
    assert info.nbytes == module.w.numel() * module.w.element_size()
    assert info.trainable is module.w.requires_grad
    assert info.dtype == str(dtype).removeprefix("torch.")
    assert (info.local_nbytes, info.placement) == (None, "")


def test_param_info_of_a_meta_parameter_and_a_replicated_one():
    module = nn.Module()
    module.w = nn.Parameter(torch.empty(4, 4, device="meta"))
    meta = param_info(0, "w", module.w, module, "w", 0)
    assert (meta.numel, meta.nbytes) == (16, 16 * 4)
    replicated = param_info(0, "w", nn.Parameter(torch.zeros(4)), module, "w", 2)
    assert replicated.placement == "replicated over 2 ranks"
    assert replicated.local_nbytes == 4 * 4


def test_buffer_info_measures_one_buffer():
    b = torch.zeros(2, 3, dtype=torch.float64)
    assert buffer_info("b", b) == BufferInfo("b", b.numel(), b.numel() * b.element_size())
