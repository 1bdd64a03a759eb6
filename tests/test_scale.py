"""Scale: deep nesting, many modules, shared subtrees give right answers (timings: benchmarks/)."""

from __future__ import annotations

import gc
import sys
import weakref

import pytest
import torch
from torch import nn

from modelsummary import summary
from modelsummary._present.render import UNICODE_GUIDES, RenderOptions, render_table
from modelsummary._records import CallRecord, ModuleInfo, ParamInfo, SeqSpec, Trace
from modelsummary._trace.census import unique_modules
from modelsummary._tree.build import build_tree
from tests.conftest import check_invariants


def _nested(depth: int) -> nn.Module:
    model: nn.Module = nn.Linear(3, 3)
    for _ in range(depth):
        model = nn.Sequential(model)
    return model


def test_nesting_depth_100(audit):
    model = audit(_nested(100))
    s = summary(model, (2, 3), depth=1000, verbose=0)
    assert s.total_params == 3 * 3 + 3
    assert [layer.depth for layer in s.layers] == list(range(101))
    assert s.layers[-1].type_name == "Linear" and s.layers[-1].num_params == 12
    assert all(layer.subtree_params == 12 for layer in s.layers)
    lines = str(s).splitlines()
    leaf = next(line for line in lines if "(Linear)" in line)
    # drawn at its depth, as the last child of the last child...
    assert leaf.startswith(UNICODE_GUIDES.space * 99 + UNICODE_GUIDES.last + "0 (Linear)")
    check_invariants(s, model)


def test_ten_thousand_modules(audit):
    model = audit(nn.Sequential(*[nn.Linear(2, 2) for _ in range(10_000)]))
    s = summary(model, (1, 2), verbose=0)
    assert s.total_params == 10_000 * (2 * 2 + 2)
    assert len(s.layers) == 10_001
    assert [layer.calls for layer in s.layers] == [1] * 10_001
    assert [layer.path for layer in s.layers[1:]] == [str(i) for i in range(10_000)]
    assert len(str(s).splitlines()) > 10_000
    check_invariants(s, model)


class _Diamond(nn.Module):
    """Registers one inner module twice: the paths to the leaf double at each level.

    The forward calls it once, so the pass itself stays linear.
    """

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.left = inner
        self.right = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.left(x)


def test_diamond_sharing_is_walked_once(audit):
    """2**40 paths reach the leaf; the walk visits each registration once."""
    leaf = nn.Linear(2, 2)
    model: nn.Module = leaf
    for _ in range(40):
        model = _Diamond(model)
    modules, aliases = unique_modules(model)
    assert len(modules) == 41
    assert aliases[id(leaf)] == ["left." * 39 + "right"]
    s = summary(audit(model), (1, 2), verbose=0)
    assert s.total_params == s.all_params == 6
    assert [layer.calls for layer in s.layers] == [1] * 41
    check_invariants(s, model)


def test_tree_and_table_have_no_recursion_limit():
    """Hand-built records, deeper than Python's recursion limit, through tree and renderer."""
    depth = sys.getrecursionlimit() + 500
    paths = [""] + [".".join(["m"] * d) for d in range(1, depth + 1)]
    trace = Trace(
        modules=tuple(
            ModuleInfo(path, "Block", None if d == 0 else paths[d - 1], (("w", 0),) if d else ())
            for d, path in enumerate(paths)
        ),
        params=(ParamInfo(0, f"{paths[-1]}.w", 5, 20, True, "float32"),),
        buffers=(),
        calls=tuple(CallRecord(path, SeqSpec(()), None) for path in paths),
        param_uses=((0, paths[-1]),),
    )
    tree = build_tree(trace)
    nodes = list(tree.root.walk())
    assert [n.depth for n in nodes] == list(range(depth + 1))
    assert tree.totals.total_params == 5 and nodes[0].subtree_params == 5
    text = render_table(tree, RenderOptions(depth=depth))
    assert text.count("(Block)") == depth


def test_unique_modules_is_iterative():
    model = _nested(sys.getrecursionlimit() + 500)
    modules, _ = unique_modules(model)
    assert len(modules) == sys.getrecursionlimit() + 501


class _KeepsWeakrefs(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 64))
        self.seen: list[weakref.ref[torch.Tensor]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.body:
            x = layer(x)
            self.seen.append(weakref.ref(x))
        return x


@pytest.mark.parametrize("optimizer", [None, "adam"])
def test_summary_keeps_no_activation_alive(optimizer):
    """Not even until the next garbage collection: with an optimizer the pass builds an
    autograd graph, and counting what it saves must not tie the graph into a cycle."""
    model = _KeepsWeakrefs()
    gc.disable()
    try:
        summary(model, (8, 64), optimizer=optimizer, verbose=0)
        assert len(model.seen) == 3
        assert [ref() for ref in model.seen] == [None, None, None]
    finally:
        gc.enable()


@pytest.mark.parametrize("saved_tensors", [False, True])
def test_a_tracer_is_freed_by_reference_counting_alone(saved_tensors):
    """No reference cycle: a summary's tracer, with its frames, goes when its last use does,
    without waiting for the cyclic garbage collector."""
    from modelsummary._trace.tracer import Tracer

    # (Not nn.MultiheadAttention: torch itself keeps the frames of its last call alive.)
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Flatten(0), nn.Softmax(0))
    x = torch.ones(2, 4)
    gc.disable()
    try:
        for failing in (False, True):
            tracer = Tracer(model, saved_tensors=saved_tensors)
            try:
                with torch.set_grad_enabled(saved_tensors), tracer:
                    model(x if not failing else torch.ones(2, 5))
            except RuntimeError:
                assert failing
            tracer.finish()
            ref = weakref.ref(tracer)
            del tracer
            assert ref() is None
    finally:
        gc.enable()
