"""The tree builder alone: hand-built records in, counts out. No forward pass."""

from __future__ import annotations

import ast
import dataclasses
import inspect
import textwrap

from modelsummary._records import (
    CallRecord,
    ModuleInfo,
    OtherSpec,
    ParamInfo,
    PassInfo,
    SeqSpec,
    TensorSpec,
    Trace,
)
from modelsummary._tree import build as _tree
from modelsummary._tree.build import build_tree
from modelsummary._tree.memory import estimate_training
from modelsummary._tree.nodes import SharedParam, SummaryNode

OUT = TensorSpec((1, 2), "float32", 8)


def call(path: str, raised: bool = False, macs: int = 0) -> CallRecord:
    return CallRecord(path, SeqSpec(()), OUT, mult_adds=macs, raised=raised)


def param(key: int, name: str, numel: int, trainable: bool = True) -> ParamInfo:
    return ParamInfo(key, name, numel, numel * 4, trainable, "float32")


def trace(modules, params, calls, uses) -> Trace:
    return Trace(tuple(modules), tuple(params), (), tuple(calls), tuple(uses))


def test_tied_weight_carried_by_first_owner_that_used_it():
    t = trace(
        [
            ModuleInfo("", "LM", None),
            ModuleInfo("head", "Linear", "", (("weight", 0),)),  # registered first ...
            ModuleInfo("embed", "Embedding", "", (("weight", 0),)),
        ],
        [param(0, "head.weight", 100)],
        [call(""), call("embed"), call("head")],
        [(0, "embed"), (0, "head")],  # ... but embed used it first
    )
    tree = build_tree(t)
    rows = {n.path: n for n in tree.root.walk()}
    assert rows["embed"].num_params == 100 and rows["head"].num_params == 0
    assert [(s.name, s.counted_at) for s in rows["head"].shared] == [("weight", "embed")]
    assert [n.path for n in tree.root.children] == ["embed", "head"]  # order of first call
    assert tree.totals.total_params == 100


def test_weight_used_only_by_a_non_owner_is_carried_by_its_first_owner():
    t = trace(
        [
            ModuleInfo("", "Net", None),
            ModuleInfo("proj", "Linear", "", (("weight", 0), ("bias", 1))),
        ],
        [param(0, "proj.weight", 12), param(1, "proj.bias", 3)],
        [call("")],
        [(0, "")],
    )
    tree = build_tree(t)
    proj = tree.root.children[0]
    assert (proj.path, proj.calls, proj.num_params, proj.used_by) == ("proj", 0, 12, ("",))
    assert [(e.path, e.type_name, e.params) for e in tree.unused] == [("proj.bias", "Parameter", 3)]
    assert tree.unused_modules == ()


def test_inactive_subtree_listed_once_at_its_root_with_all_its_params():
    t = trace(
        [
            ModuleInfo("", "Net", None),
            ModuleInfo("used", "Linear", "", (("weight", 0),)),
            ModuleInfo("spare", "Sequential", ""),
            ModuleInfo("spare.0", "Linear", "spare", (("weight", 1),)),
            ModuleInfo("spare.1", "ReLU", "spare"),
        ],
        [param(0, "used.weight", 4), param(1, "spare.0.weight", 6)],
        [call(""), call("used")],
        [(0, "used")],
    )
    tree = build_tree(t)
    assert [(e.path, e.params) for e in tree.unused] == [("spare", 6)]
    assert tree.unused_modules == ("spare", "spare.0", "spare.1")
    assert (tree.totals.total_params, tree.totals.unused_params, tree.totals.all_params) == (
        4,
        6,
        10,
    )


def test_trainable_split_and_subtree_rollups():
    t = trace(
        [
            ModuleInfo("", "Net", None),
            ModuleInfo("a", "Block", ""),
            ModuleInfo("a.x", "Linear", "a", (("weight", 0),)),
            ModuleInfo("a.y", "Linear", "a", (("weight", 1),)),
        ],
        [param(0, "a.x.weight", 10, trainable=False), param(1, "a.y.weight", 5)],
        [call(""), call("a"), call("a.x", macs=7), call("a.y", macs=3), call("a.y", macs=3)],
        [(0, "a.x"), (1, "a.y")],
    )
    tree = build_tree(t)
    a = tree.root.children[0]
    assert (a.subtree_params, a.subtree_trainable, a.subtree_mult_adds) == (15, 5, 13)
    assert [c.calls for c in a.children] == [1, 2]
    assert tree.totals.trainable_params == 5 and tree.totals.non_trainable_params == 10
    assert tree.totals.mult_adds == 13


def test_call_that_raised_counts_as_a_call_without_an_output():
    t = trace(
        [ModuleInfo("", "Net", None), ModuleInfo("bad", "Linear", "")],
        [],
        [call(""), call("bad", raised=True)],
        [],
    )
    bad = build_tree(t).root.children[0]
    assert (bad.calls, bad.output) == (1, None)


def test_first_call_inputs_and_output_are_kept():
    inputs = SeqSpec((TensorSpec((1, 3), "float32", 12),))
    t = Trace(
        (ModuleInfo("", "Net", None),),
        (),
        (),
        (CallRecord("", inputs, OtherSpec("int")), CallRecord("", SeqSpec(()), OUT)),
        (),
    )
    root = build_tree(t).root
    assert (root.calls, root.inputs, root.output) == (2, inputs, OtherSpec("int"))


def test_a_tensor_registered_twice_on_one_module_is_carried_once():
    t = trace(
        [
            ModuleInfo("", "Net", None),
            ModuleInfo("bn", "BatchNorm1d", "", (("weight", 0), ("bias", 0))),
        ],
        [param(0, "bn.weight", 2)],
        [call(""), call("bn")],
        [(0, "bn")],
    )
    tree = build_tree(t)
    bn = tree.root.children[0]
    assert (bn.num_params, bn.param_names, bn.subtree_params) == (2, ("bn.weight",), 2)
    assert tree.totals.total_params == 2


def test_pass_facts_travel_beside_the_trace_not_in_it():
    """The trace holds what the tracer observed; the pass's own facts come in a PassInfo."""
    observed = {f.name for f in dataclasses.fields(Trace)}
    beside = {f.name for f in dataclasses.fields(PassInfo)}
    assert observed.isdisjoint(beside)
    assert beside == {
        "forward_pass",
        "input_bytes",
        "optimizer",
        "optimizer_state",
        "weights_as",
        "peak_bytes",
        "times",
        "ranks",
    }
    t = trace(
        [ModuleInfo("", "Net", None), ModuleInfo("fc", "Linear", "", (("weight", 0),))],
        [param(0, "fc.weight", 6)],
        [call(""), call("fc")],
        [(0, "fc")],
    )
    run = PassInfo(input_bytes=40, peak_bytes=1_000, times=(("fc", 0.5),))
    tree = build_tree(t, run)
    assert (tree.totals.input_bytes, tree.totals.peak_bytes) == (40, 1_000)
    assert [n.time_s for n in tree.root.walk()] == [None, 0.5]
    assert tree.totals.optimizer is None and tree.totals.grad_bytes == 0
    assert build_tree(t).totals == dataclasses.replace(tree.totals, input_bytes=0, peak_bytes=None)


def test_training_estimate_beside_the_tree_covers_the_used_parameters_only():
    t = trace(
        [
            ModuleInfo("", "Net", None),
            ModuleInfo("fc", "Linear", "", (("weight", 0), ("bias", 1))),
            ModuleInfo("spare", "Linear", "", (("weight", 2),)),
        ],
        [param(0, "fc.weight", 6), param(1, "fc.bias", 2, trainable=False), param(2, "w", 9)],
        [call(""), call("fc")],
        [(0, "fc"), (1, "fc")],
    )
    t = dataclasses.replace(t, saved_bytes=96)
    totals = build_tree(t, PassInfo(optimizer="adam")).totals
    used = [p for p in t.params if p.key in (0, 1)]
    expected = estimate_training("adam", used, saved_bytes=96)
    assert (totals.optimizer, totals.grad_bytes, totals.optimizer_bytes, totals.saved_bytes) == (
        expected.optimizer,
        expected.grad_bytes,
        expected.optimizer_bytes,
        expected.saved_bytes,
    )
    # closed form: Adam keeps two float32 copies and a float32 step per trainable tensor
    assert (totals.grad_bytes, totals.optimizer_bytes) == (6 * 4, 2 * 6 * 4 + 4)


def test_without_a_pass_every_module_is_shown_and_every_parameter_counted():
    t = trace(
        [
            ModuleInfo("", "Net", None),
            ModuleInfo("a", "Linear", "", (("weight", 0),)),
            ModuleInfo("b", "Linear", "", (("weight", 0), ("bias", 1))),
        ],
        [param(0, "a.weight", 6), param(1, "b.bias", 2)],
        [],
        [],
    )
    tree = build_tree(t, PassInfo(forward_pass=False))
    assert tree.forward_pass is False and tree.unused == () and tree.unused_modules == ()
    assert [(n.path, n.num_params) for n in tree.root.walk()] == [("", 0), ("a", 6), ("b", 2)]
    assert tree.totals.total_params == tree.totals.all_params == 8
    # the same records with a pass: nothing was used, nothing ran
    ran = build_tree(t)
    assert (ran.totals.total_params, ran.totals.unused_params, ran.unused_modules) == (
        0,
        8,
        ("a", "b"),
    )


def test_a_child_that_never_ran_takes_its_place_from_what_it_holds():
    """Display order: a container is placed by its first child's first call."""
    t = trace(
        [
            ModuleInfo("", "Net", None),
            ModuleInfo("head", "Linear", ""),
            ModuleInfo("body", "ModuleList", ""),
            ModuleInfo("body.0", "Linear", "body"),
            ModuleInfo("body.1", "Linear", "body"),
        ],
        [],
        [call(""), call("body.1"), call("head"), call("body.0")],
        [],
    )
    root = build_tree(t).root
    assert [c.path for c in root.children] == ["body", "head"]
    assert [c.path for c in root.children[0].children] == ["body.1", "body.0"]
    assert root.children[0].calls == 0


def test_rows_pass_every_field_in_order():
    """The row builder passes every one of SummaryNode's fields, in order, each named in
    the comment on its line: none left to its default (a field added later must be
    filled in, not silently defaulted), none in another's place. Positional, because a
    keyword call of this many fields costs three times the instructions of the row."""
    source = textwrap.dedent(inspect.getsource(_tree._Rows.node))
    (build,) = [
        n
        for n in ast.walk(ast.parse(source))
        if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "_new_row"
    ]
    assert not build.keywords
    lines = source.splitlines()
    named = [lines[arg.end_lineno - 1].partition("  # ")[2].partition(":")[0] for arg in build.args]
    assert named == [f.name for f in dataclasses.fields(SummaryNode)]
    assert type(_tree._new_row(*named)) is SummaryNode


def test_every_field_of_a_row_lands_in_its_place():
    inputs = SeqSpec((TensorSpec((1, 3), "float32", 12),))
    t = trace(
        [
            ModuleInfo("", "Net", None),
            ModuleInfo("conv", "Conv1d", "", (("weight", 0), ("bias", 1), ("tied", 2)), 5, (3,)),
            ModuleInfo("conv.act", "ReLU", "conv"),
            ModuleInfo("other", "Linear", "", (("weight", 2),)),
        ],
        [param(0, "conv.weight", 9), param(1, "conv.bias", 3, trainable=False), param(2, "o.w", 7)],
        [
            call(""),
            CallRecord("conv", inputs, OUT, mult_adds=11),
            call("conv.act", macs=2),
            CallRecord("conv", SeqSpec(()), OUT, mult_adds=11),
            call("other"),
        ],
        [(0, "conv"), (1, "conv"), (2, "other")],
    )
    conv = build_tree(t, PassInfo(times=(("conv", 0.25),))).root.children[0]
    act = conv.children[0]
    # The receptive fields come through one holder all rows share, resolved when first
    # read; this convolution's stride is not in its record, so it has none.
    assert conv.fields is act.fields is not None
    assert (conv.receptive_field, conv.rf_stride) == (None, None)
    assert dataclasses.asdict(dataclasses.replace(conv, fields=None)) == dataclasses.asdict(
        SummaryNode(
            path="conv",
            type_name="Conv1d",
            depth=1,
            calls=2,
            inputs=inputs,
            output=OUT,
            num_params=12,
            param_names=("conv.weight", "conv.bias"),
            params=t.params[:2],
            trainable_params=9,
            param_bytes=48,
            shared=(SharedParam("tied", "o.w", "other"),),
            used_by=(),
            buffers=5,
            mult_adds=22,
            kernel_size=(3,),
            traced=True,
            time_s=0.25,
            subtree_params=12,
            subtree_trainable=9,
            subtree_mult_adds=24,
            children=(act,),
            variants=((inputs, OUT), (SeqSpec(()), OUT)),
            training=False,  # the first call's flag, as recorded
        )
    )
