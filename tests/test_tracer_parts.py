"""The tracer's parts, each on its own (no forward pass where none is needed), and the
fixes that came with the split: substitutes in parameter slots, parameters returned as
is, and dataclass inputs moved to the target device."""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, NamedTuple

import pytest
import torch
from torch import nn

from modelsummary import summary
from modelsummary._trace.calls import CallFrame, CallStack
from modelsummary._trace.macs import MacCounter
from modelsummary._trace.meters import SavedTensorMeter
from modelsummary._trace.params import ParamResolver, ParamUses
from modelsummary._trace.tracer import Tracer
from modelsummary._trace.values import branches, describe, iter_tensors, map_tensors, rebuild
from tests.conftest import backward_reached, check_invariants, used_names


class _Frame:
    def __init__(self, path: str) -> None:
        self.path = path


# -- ParamResolver ---------------------------------------------------------------------
def test_resolver_knows_identity_alias_view_and_stand_in():
    tied = nn.Sequential(nn.Linear(3, 3), nn.Linear(3, 3))
    tied[1].weight = tied[0].weight
    resolver = ParamResolver(tied.modules())
    weight, bias0, bias1 = tied[0].weight, tied[0].bias, tied[1].bias
    assert [resolver.key_of(p) for p in (weight, bias0, bias1)] == [0, 1, 2]
    assert resolver.key_of(weight.t()) == 0  # a view
    assert resolver.identify(weight.t()) is None  # identity only
    alias = weight.detach()
    assert resolver.key_of(alias) is None  # not told yet
    resolver.note_alias(weight, alias)
    assert resolver.key_of(alias[1:]) == 0
    resolver.end_pass()
    assert resolver.key_of(alias) is None
    stand_in = nn.Parameter(torch.empty(3, 3, device="meta"))
    resolver.add_stand_ins({id(stand_in): weight})
    assert resolver.key_of(stand_in) == 0
    assert resolver.key_of(torch.ones(3)) is None


def test_resolver_learns_a_parameter_swapped_into_its_slot():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    resolver = ParamResolver(model.modules())
    swapped = nn.Parameter(model[1].weight.detach().clone())
    model[1]._parameters["weight"] = swapped
    assert resolver.identify(swapped) == 2  # found in model[1]'s slot "weight"
    stranger = nn.Parameter(torch.ones(2))
    assert resolver.identify(stranger) is None  # in no slot
    assert resolver.rescan() == 0  # nothing new since
    # A learned substitute is held weakly: its id is forgotten when it dies.
    model[1]._parameters["weight"] = nn.Parameter(torch.ones(2, 2))
    ident = id(swapped)
    del swapped
    assert ident not in resolver.keys


def test_resolver_tells_state_from_activations():
    bn = nn.BatchNorm1d(2)
    resolver = ParamResolver([bn])
    assert resolver.is_state(bn.running_var) and resolver.is_state(bn.weight[:1])
    assert not resolver.is_state(torch.ones(2))


class _SwapsInForward(nn.Module):
    """What FSDP2 and accelerate do: a forward pre-hook sets a *new* Parameter (an
    all-gathered or loaded copy, made from other tensors than the registered parameter,
    which no operator sees) into each parameter slot, the call uses it, and a
    post-hook puts the registered one back."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.head = nn.Linear(3, 2)
        self.registered: dict[str, nn.Parameter] = {}
        # The engine's own copies of the values (FSDP2: the shards; accelerate: the
        # weights map), outside the parameter slots.
        self.copies = {
            f"{id(m)}.{n}": p.detach().clone() for m in (self.fc, self.head)
            for n, p in m.named_parameters()
        }  # fmt: skip
        for module in (self.fc, self.head):
            module.register_forward_pre_hook(self._gather)
            module.register_forward_hook(self._release)

    def _gather(self, module: nn.Module, args: Any) -> None:
        for name, p in list(module._parameters.items()):
            self.registered[f"{id(module)}.{name}"] = p
            module._parameters[name] = nn.Parameter(self.copies[f"{id(module)}.{name}"])

    def _release(self, module: nn.Module, args: Any, out: Any) -> None:
        for name in list(module._parameters):
            module._parameters[name] = self.registered.pop(f"{id(module)}.{name}")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.fc(x).relu())


def test_parameters_swapped_in_during_forward_count_as_the_registered_ones():
    model = _SwapsInForward()
    s = summary(model, (5, 4), verbose=0)
    truth = sum(p.numel() for p in model.parameters())
    assert (s.total_params, s.unused_params) == (truth, 0)  # was 0 and 23 before
    assert s.total_mult_adds == 5 * 4 * 3 + 5 * 3 * 2
    assert {layer.path: layer.num_params for layer in s.layers} == {"": 0, "fc": 15, "head": 8}
    check_invariants(s, model)


# -- ParamUses -------------------------------------------------------------------------
def test_uses_note_operands_of_the_innermost_call_only():
    lin = nn.Linear(2, 2)
    stack: list[Any] = []
    uses = ParamUses(ParamResolver([lin]), stack)
    uses.note_operands((lin.weight,), None)
    assert uses.uses == {}
    stack += [_Frame(""), _Frame("fc")]
    uses.note_operands((torch.ones(2), [[lin.bias]], 3), {"w": lin.weight})
    assert list(uses.uses) == [(1, "fc"), (0, "fc")]


def test_uses_guard_writes_through_aliases_and_views():
    lin = nn.Linear(2, 2)
    written: list[torch.Tensor] = []
    uses = ParamUses(ParamResolver([lin]), [])
    uses.before_write(lin.weight)  # no guard: nothing
    uses.guard_writes(written.append)
    alias = lin.weight.data
    uses.resolver.note_alias(lin.weight, alias)
    uses.before_write([alias[0], torch.ones(1), lin.bias])
    assert [t is p for t, p in zip(written, (lin.weight, lin.bias), strict=True)] == [True, True]


def test_uses_note_returned_only_what_reaches_the_output():
    lin = nn.Linear(2, 2)
    uses = ParamUses(ParamResolver([lin]), [])
    uses.note_returned([lin.weight], "a", outermost=False)  # returned by a child...
    uses.note_returned([lin.bias], "b", outermost=False)
    uses.note_returned([torch.ones(1), lin.bias], "", outermost=True)  # ...bias handed up
    assert list(uses.uses) == [(1, "b")]


# -- CallStack -------------------------------------------------------------------------
def test_call_stack_records_nested_calls_in_start_order():
    outer, inner = nn.Identity(), nn.Identity()
    closed: list[str] = []
    calls = CallStack(lambda frame, args, out: closed.append(frame.path))
    x = torch.zeros(2, 3)
    calls.open(outer, "", (x,))
    calls.open(inner, "a", (x,))
    assert calls.close(inner, (x,), {}, x).path == "a"
    assert calls.close(outer, (x,), {"k": 1}, (x, None)).path == ""
    assert closed == ["a", ""] and calls.stack == []
    records = calls.records()
    assert [r.path for r in records] == ["", "a"]
    assert records[0].inputs.items[1].items == (("k", describe(1)),)
    assert not any(r.raised for r in records)
    assert calls.close(outer, (x,), {}, x) is None  # not open


def test_call_stack_names_the_innermost_call_an_exception_left():
    outer, middle, inner = nn.Identity(), nn.Identity(), nn.ReLU()
    calls, x = CallStack(), torch.zeros(4)
    for module, path in ((outer, ""), (middle, "m"), (inner, "m.r")):
        calls.open(module, path, (x,))
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        calls.raised(inner, (x,))
        calls.raised(middle, (x,))
        calls.raised(outer, (x,))
        calls.end(sys.exc_info()[1])
    assert calls.failed is not None
    assert (calls.failed.path, calls.failed.type_name) == ("m.r", "ReLU")
    assert calls.failed.inputs.items[0].shape == (4,)


def test_call_stack_closes_a_child_a_parent_caught():
    parent, child = nn.Identity(), nn.Identity()
    calls, x = CallStack(), torch.zeros(1)
    calls.open(parent, "", (x,))
    calls.open(child, "c", (x,))  # raised, caught in the parent, never closed
    calls.close(parent, (x,), {}, x)
    assert calls.stack == []
    assert [(r.path, r.raised) for r in calls.records()] == [("", False), ("c", True)]
    calls.end(None)
    assert calls.failed is None


# -- MacCounter ------------------------------------------------------------------------
class _NoBatchedProducts:
    """The process-wide catalogue, except that it knows no formula for ``aten.bmm``."""

    def __init__(self) -> None:
        from modelsummary._trace.catalogue import current_catalogue

        self._default = current_catalogue()

    def classify(self, func: Any) -> Any:
        return False if "bmm" in str(func) else self._default.classify(func)

    def classify_function(self, func: Any) -> Any:
        return self._default.classify_function(func)

    def leaf_formula(self, cls: type) -> Any:
        return self._default.leaf_formula(cls)

    def communication(self, func: Any) -> Any:
        return self._default.communication(func)


def test_mac_counter_counts_torch_level_and_aten_level_calls():
    stack = [CallFrame(nn.Identity(), "", None)]
    uses = ParamUses(ParamResolver([]), stack)
    macs = MacCounter(stack, uses)
    a, b = torch.ones(2, 3), torch.ones(3, 4)
    with macs.watcher:
        torch.mm(a, b)  # a formula at the torch level
        torch.einsum("ij,jk->ik", a, b)  # counted at the aten level (a bmm)
    assert stack[0].mult_adds == 2 * 2 * 3 * 4
    assert macs.uncounted_ops() == ()
    unknown = MacCounter(stack, uses, _NoBatchedProducts())
    with unknown.watcher:
        torch.einsum("ij,jk->ik", a, b)  # no formula for what it runs: reported
    assert dict(unknown.uncounted_ops()) == {"aten.bmm": 1}
    assert stack[0].mult_adds == 2 * 2 * 3 * 4


class _Catalogue:
    """A catalogue of its own: every torch-level matmul costs 1,000."""

    def __init__(self) -> None:
        from modelsummary._trace.catalogue import current_catalogue

        self._default = current_catalogue()

    def classify(self, func: Any) -> Any:
        return self._default.classify(func)

    def classify_function(self, func: Any) -> Any:
        if getattr(func, "__name__", "") == "matmul":
            return lambda args, kwargs, out: 1_000
        return self._default.classify_function(func)

    def leaf_formula(self, cls: type) -> Any:
        return None  # no leaf counted from its shapes

    def communication(self, func: Any) -> Any:
        return self._default.communication(func)


def test_a_tracer_takes_its_operator_catalogue():
    class MatMul(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(3, 3))
            self.fc = nn.Linear(3, 3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.fc(torch.matmul(x, self.w))

    model = MatMul()
    tracer = Tracer(model, catalogue=_Catalogue())
    with torch.no_grad(), tracer:
        model(torch.ones(2, 3))
    trace = tracer.finish()
    assert [(c.path, c.mult_adds) for c in trace.calls] == [("", 1_000), ("fc", 2 * 3 * 3)]


# -- meters ----------------------------------------------------------------------------
def test_saved_tensor_meter_skips_state_and_excluded_tensors():
    w = nn.Parameter(torch.ones(3, 3))
    meter = SavedTensorMeter(lambda t: t is w, [w])
    x = torch.ones(2, 3)
    meter.exclude([x])
    with meter:
        (x @ w.t()).tanh().sum()
    assert meter.total == 2 * 3 * 4  # tanh's output only


# -- the walker of nested values -------------------------------------------------------
@dataclasses.dataclass
class Batch:
    x: torch.Tensor
    mask: torch.Tensor | None = None
    note: str = "n"


@dataclasses.dataclass(frozen=True)
class Frozen:
    x: torch.Tensor


class Pair(NamedTuple):
    a: torch.Tensor
    b: Any


@pytest.mark.parametrize(
    "value",
    [
        Batch(torch.ones(2), torch.zeros(1)),
        Frozen(torch.ones(2)),
        Pair(torch.ones(1), [torch.ones(2), {"c": torch.ones(3)}]),
        {"a": (torch.ones(1), Batch(torch.ones(2)))},
    ],
    ids=["dataclass", "frozen", "namedtuple", "nested"],
)
def test_walker_moves_describes_and_iterates_alike(value):
    moved = map_tensors(value, lambda t: t.to("meta"))
    assert type(moved) is type(value)
    tensors = iter_tensors(moved)
    assert tensors and all(t.is_meta for t in tensors)
    assert [t.shape for t in tensors] == [t.shape for t in iter_tensors(value)]
    assert describe(moved) == describe(value)
    assert all(not t.is_meta for t in iter_tensors(value))  # the original is untouched


def test_walker_branches_and_rebuild_round_trip():
    batch = Batch(torch.ones(1), note="kept")
    named, children = branches(batch)  # type: ignore[misc]
    assert named and [k for k, _ in children] == ["x", "mask", "note"]
    assert rebuild(batch, [c for _, c in children]) == batch
    assert branches(torch.ones(1)) is None and branches(3) is None


class _TakesBatch(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, batch: Batch) -> torch.Tensor:
        return self.fc(batch.x)


def test_a_dataclass_input_moves_to_the_target_device():
    s = summary(_TakesBatch(), input_data=[Batch(torch.ones(4, 3))], device="meta", verbose=0)
    assert s.total_params == 8  # failed before: the tensor inside stayed on the CPU
    assert s.total_mult_adds == 4 * 3 * 2


# -- issue 14, defect 1: a parameter forward returns as is -----------------------------
class _ReturnsWeight(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(4, 8))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.weight


class _ReturnsTuple(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 2)
        self.scale = nn.Parameter(torch.ones(3))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.fc(x), self.scale


class _Child(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.table = nn.Parameter(torch.ones(5, 2))
        self.spare = nn.Parameter(torch.ones(7))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.table, self.spare


class _HandsUp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.child = _Child()

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        table, _spare = self.child(x)  # spare: returned by the child, dropped here
        return {"table": table, "x": x * 2}


@pytest.mark.parametrize(
    "build", [_ReturnsWeight, _ReturnsTuple, _HandsUp], ids=["as_is", "tuple", "child"]
)
def test_a_parameter_returned_as_is_is_used(build, audit):
    model = audit(build())
    x = torch.ones(2, 8)
    s = summary(model, input_data=x, verbose=0)
    assert used_names(s) == backward_reached(model, x)  # autograd reaches what is returned
    assert s.total_params == sum(
        p.numel() for n, p in model.named_parameters() if n in used_names(s)
    )
    check_invariants(s, model)


def test_a_child_returning_its_parameter_up_to_the_output_is_the_user():
    s = summary(_HandsUp(), (2, 8), verbose=0)
    child = next(layer for layer in s.layers if layer.path == "child")
    assert (child.num_params, s.unused_params) == (10, 7)
