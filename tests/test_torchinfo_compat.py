"""Code written against torchinfo's ``summary_list`` reads the same values here.

torchinfo itself is the oracle: the same model summarised by both, row by row.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchinfo
import torchvision
from torch import nn
from torch.nn.parameter import is_lazy
from torch.nn.utils import prune

from modelsummary import ArgumentError, Units, summary
from modelsummary._present.render import UNINITIALISED_LABEL, footer_groups, table_cells
from modelsummary._present.units import format_bytes, format_count_in
from modelsummary._records import TensorSpec


@pytest.fixture(scope="module")
def both():
    model = torchvision.models.resnet18()
    theirs = torchinfo.summary(model, (1, 3, 32, 32), verbose=0)
    ours = summary(model, (1, 3, 32, 32), verbose=0)
    return model, theirs, ours


def test_totals_have_torchinfos_names(both):
    _, theirs, ours = both
    for name in ("total_params", "trainable_params", "total_param_bytes"):
        assert getattr(ours, name) == getattr(theirs, name), name
    # torchinfo's total_input is sys.getsizeof of the tensor, Python's object header
    # included; here it is the tensor's bytes
    assert ours.total_input == 3 * 32 * 32 * 4 < theirs.total_input
    # torchinfo adds BatchNorm's per-channel scale and shift and the bias of a linear layer
    # to its mult-adds; bias additions are not multiply-accumulates here
    model = both[0]
    bn = sum(2 * m.num_features for m in model.modules() if isinstance(m, torch.nn.BatchNorm2d))
    assert ours.total_mult_adds == theirs.total_mult_adds - bn - model.fc.out_features


def test_summary_list_rows_read_like_torchinfos(both):
    model, theirs, ours = both
    # torchinfo has a row per call (each BasicBlock calls its relu twice): keep the first
    first_calls = {}
    for info in theirs.summary_list:
        first_calls.setdefault(id(info.module), info)
    assert len(ours.summary_list) == len(first_calls) == len(list(model.modules()))
    for row, info in zip(ours.summary_list, first_calls.values(), strict=True):
        assert (row.class_name, row.var_name, row.depth) == (
            info.class_name,
            info.var_name,
            info.depth,
        )
        assert (row.input_size, row.output_size) == (info.input_size, info.output_size)
        assert row.is_leaf_layer == info.is_leaf_layer
        # torchinfo's num_params of a container covers its children: our subtree_params
        assert (row.subtree_params, row.subtree_trainable) == (
            info.num_params,
            info.trainable_params,
        )
        if row.class_name == "Conv2d":  # without bias, as all of resnet's
            assert row.macs == info.macs
            assert list(row.kernel_size) == info.kernel_size
        if row.class_name == "Linear":  # torchinfo counts the bias as products too
            assert row.macs == info.macs - model.fc.out_features


# -- issue 14: torchinfo call sites and attributes that work after the import change --


class _SingleInputNet(nn.Module):
    """torchinfo's pruning example model (its tests' ``SingleInputNet``)."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(0.3)
        self.fc1 = nn.Linear(320, 50)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(F.max_pool2d(self.conv1(x), 2))
        x = F.relu(F.max_pool2d(self.conv2_drop(self.conv2(x)), 2))
        x = F.relu(self.fc1(x.view(-1, 320)))
        return F.log_softmax(self.fc2(x), dim=1)


def _pruned(model: nn.Module) -> nn.Module:
    for module in model.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            prune.l1_unstructured(module, "weight", amount=0.5)
    return model


def test_pruned_model_counts_dense_and_unmasked_params():
    torch.manual_seed(0)
    dense = _SingleInputNet()
    model = _pruned(copy.deepcopy(dense))
    theirs = torchinfo.summary(model, input_size=(16, 1, 28, 28), verbose=0)
    ours = summary(model, input_size=(16, 1, 28, 28), verbose=0)
    masks = {n: b for n, b in model.named_buffers() if n.endswith("_mask")}
    # the truth from the masks themselves: each weight keeps mask.sum() elements
    zeroed = sum(m.numel() - int(m.sum()) for m in masks.values())
    assert ours.total_params == sum(p.numel() for p in model.parameters()) == 21_840
    assert ours.unmasked_params == ours.total_params - zeroed == theirs.total_params == 10_965
    # pruning runs the same dense operators: the mult-adds are those of the unpruned model
    assert ours.total_mult_adds == summary(dense, (16, 1, 28, 28), verbose=0).total_mult_adds
    # both counts in the rows and the footer
    cells = table_cells(ours.tree, ours.options)
    param_cells = dict(zip((n.path for n in cells.nodes), (r[-1] for r in cells.rows), strict=True))
    kept = int(masks["conv1.weight_mask"].sum()) + model.conv1.bias.numel()
    assert param_cells["conv1"] == f"{model.conv1.weight_orig.numel() + 10:,} ({kept:,} unmasked)"
    assert param_cells["conv2_drop"] == "--"
    counts = [line.text for line in footer_groups(ours.tree)[0].lines]
    assert [c for c in counts if c.startswith("Unmasked")] == [
        f"Unmasked params (pruning): {format_count_in(ours.unmasked_params)}"
    ]
    # a model that is not pruned says nothing of masks
    plain = summary(dense, (16, 1, 28, 28), verbose=0)
    assert plain.unmasked_params == plain.total_params
    assert not any("Unmasked" in line.text for line in footer_groups(plain.tree)[0].lines)


def test_pruned_model_on_meta_and_without_input_reads_the_real_masks():
    # masks are read before the pass: on meta the pass's stand-ins hold no values
    model = _pruned(_SingleInputNet())
    truth = {
        f"{name[: -len('_mask')]}_orig": b.numel() - int(b.count_nonzero())
        for name, b in model.named_buffers()
        if name.endswith("_mask")
    }
    on_cpu = summary(model, (2, 1, 28, 28), verbose=0).tree.masked
    on_meta = summary(model, (2, 1, 28, 28), device="meta", verbose=0).tree.masked
    no_input = summary(model, verbose=0).tree.masked
    assert dict(on_cpu) == dict(on_meta) == dict(no_input) == truth
    assert model.conv1.weight_mask.device.type == "cpu"  # the model is as it was


def test_a_pruned_parameter_registered_twice_is_masked_once_under_its_first_name():
    fc = prune.l1_unstructured(nn.Linear(4, 4), "weight", amount=0.5)
    model = nn.Sequential(fc, nn.ReLU())
    model.add_module("again", fc)
    s = summary(model, (1, 4), verbose=0)
    assert s.tree.masked == (("0.weight_orig", 8),)
    assert s.unmasked_params == s.total_params - 8


def test_pruned_rows_folded_by_depth_count_their_subtree():
    model = _pruned(nn.Sequential(nn.Sequential(nn.Linear(8, 4), nn.Linear(4, 2))))
    s = summary(model, (1, 8), depth=1, verbose=0)
    inner = model[0]
    kept = sum(int(m.weight_mask.sum()) + m.bias.numel() for m in inner)
    cells = table_cells(s.tree, s.options)
    assert cells.rows[1][-1] == f"{s.total_params} ({kept} unmasked)"
    assert s.unmasked_params == kept


@pytest.mark.parametrize(
    "model, kwargs",
    [
        (nn.Linear(3, 2), {"input_size": (1, 3)}),
        (nn.Linear(3, 2), {"input_size": [1, 3]}),
        (nn.Linear(3, 2), {"input_size": torch.Size([1, 3])}),
        (nn.Bilinear(3, 3, 2), {"input_size": [(1, 3), (1, 3)]}),
        (nn.Bilinear(3, 3, 2), {"input_size": ((1, 3), (1, 3))}),
        (nn.Linear(3, 2), {"input_data": torch.zeros(1, 3)}),
        (nn.Bilinear(3, 5, 2), {"input_data": [torch.zeros(1, 3), torch.zeros(1, 5)]}),
        (
            nn.Bilinear(3, 3, 2),
            {"input_data": {"input1": torch.zeros(1, 3), "input2": torch.zeros(1, 3)}},
        ),
        (nn.Linear(3, 2), {}),
    ],
    ids=["tuple", "list", "size", "shapes", "tuple-of-shapes", "tensor", "tensors", "dict", "none"],
)
def test_input_size_is_torchinfos(model, kwargs):
    theirs = torchinfo.summary(model, verbose=0, **kwargs)
    ours = summary(model, verbose=0, **kwargs)
    assert repr(ours.input_size) == repr(theirs.input_size)  # torch.Size where it has one


def test_a_numpy_array_as_input_data():
    array = np.random.default_rng(0).random((2, 3), dtype=np.float32)
    model = nn.Linear(3, 4)
    s = summary(model, input_data=array, verbose=0)
    assert s.summary_list[0].output_size == list(model(torch.from_numpy(array)).shape)
    assert s.input_size == torch.Size([2, 3])
    assert s.total_input == array.nbytes


class _Scaled(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
        return self.fc(x) * scale


def test_an_empty_shape_is_a_0d_input():
    s = summary(_Scaled(), [(2, 3), []], verbose=0)
    assert s.summary_list[0].input_size == [2, 3]  # a 0-d tensor has no dimensions to list
    assert [t.shape for t in iter_specs(s.tree.root.inputs)] == [(2, 3), ()]
    assert s.input_size == [(2, 3), []]
    assert s.total_input == (6 + 1) * 4


def iter_specs(spec):
    for item in spec.items:
        if isinstance(item, TensorSpec):
            yield item


class _TokensAndFeatures(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(10, 4)
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return self.fc(x) + self.embed(ids)


def test_legacy_tensor_types_as_dtypes():
    model = _TokensAndFeatures()
    sizes = [(2, 5, 4), (2, 5)]
    theirs = torchinfo.summary(
        model, sizes, dtypes=[torch.FloatTensor, torch.LongTensor], verbose=0
    )
    ours = summary(model, sizes, dtypes=[torch.FloatTensor, torch.LongTensor], verbose=0)
    assert [t.dtype for t in iter_specs(ours.tree.root.inputs)] == ["float32", "int64"]
    assert ours.total_params == theirs.total_params == sum(p.numel() for p in model.parameters())
    with pytest.raises(TypeError, match=r"torch\.dtype"):
        summary(model, sizes, dtypes=[torch.Tensor, torch.LongTensor], verbose=0)


class _OneParameter(nn.Module):
    """A module that only holds a parameter: no forward."""

    def __init__(self) -> None:
        super().__init__()
        self.w = nn.Parameter(torch.zeros(1024))


@pytest.mark.parametrize(
    "make",
    [
        nn.ModuleList,
        _OneParameter,
        lambda: nn.ParameterList([nn.Parameter(torch.zeros(1024)), nn.Parameter(torch.zeros(168))]),
        lambda: nn.ModuleDict({"p": _OneParameter(), "fc": nn.Linear(20, 8)}),
    ],
    ids=["ModuleList", "parameter-only", "ParameterList", "ModuleDict"],
)
def test_modules_without_forward_are_listed_as_registered(make):
    model = make()
    theirs = torchinfo.summary(model, verbose=0)
    ours = summary(model, verbose=0)
    assert ours.total_params == theirs.total_params == sum(p.numel() for p in model.parameters())
    assert [(r.var_name, r.depth, r.subtree_params) for r in ours.summary_list] == [
        (info.var_name, info.depth, info.num_params) for info in theirs.summary_list
    ]
    assert ours.input_size == theirs.input_size == []
    with pytest.raises(TypeError, match="defines no forward"):
        summary(model, input_size=(1, 2), verbose=0)


def test_torchinfos_names_import_and_are_accepted():
    from modelsummary import (
        ColumnSettings,
        Mode,
        ModelStatistics,
        RowSettings,
        Units,
        Verbosity,
        clear_cached_forward_pass,
    )

    for ours, theirs in [
        (ColumnSettings, torchinfo.ColumnSettings),
        (Mode, torchinfo.Mode),
        (RowSettings, torchinfo.RowSettings),
        (Units, torchinfo.Units),
        (Verbosity, torchinfo.Verbosity),
    ]:
        assert {m.name: m.value for m in theirs}.items() <= {m.name: m.value for m in ours}.items()
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU())
    kwargs = {
        "input_size": (1, 1, 5, 5),
        "col_names": list(torchinfo.ColumnSettings),
        "row_settings": list(torchinfo.RowSettings),
        "verbose": torchinfo.Verbosity.QUIET,
    }
    for mode in torchinfo.Mode:
        theirs = torchinfo.summary(model, mode=mode, **kwargs)
        ours = summary(model, mode=Mode(mode.value), **kwargs)
        assert isinstance(ours, ModelStatistics)
        assert ours.total_params == theirs.total_params
    assert clear_cached_forward_pass() is None
    assert summary(model, **kwargs).total_params == 20  # and a summary still runs its pass


@pytest.mark.parametrize("num", [0, 999, 21_840, 3_957_600, 4_089_184_256, 2_500_000_000_000])
def test_unit_helpers_are_torchinfos(num):
    ours = summary(nn.Linear(2, 2), (1, 2), verbose=0)
    stats = torchinfo.ModelStatistics
    assert ours.to_megabytes(num) == stats.to_megabytes(num)
    assert ours.float_to_megabytes(num) == stats.float_to_megabytes(num)
    for units in torchinfo.Units:
        mine_units, mine = ours.to_readable(num, units.value)
        their_units, theirs = stats.to_readable(num, units)
        assert (mine_units.value, mine) == (their_units.value, theirs)


def test_formatting_units_change_the_printed_footer():
    model = nn.Linear(1000, 1000)
    s = summary(model, (8, 1000), verbose=0)
    theirs = torchinfo.summary(model, (8, 1000), verbose=0)
    assert s.formatting.params_units is Units.AUTO
    assert f"Total params: {s.total_params:,} (1.00M)" in str(s)
    s.formatting.params_units = torchinfo.Units.NONE  # torchinfo's own enum works too
    s.formatting.macs_units = Units.MEGABYTES
    text = str(s)
    assert f"Total params: {s.total_params:,}\n" in text
    _, macs = theirs.to_readable(theirs.total_mult_adds, torchinfo.Units.MEGABYTES)
    assert f"Total mult-adds: {s.total_mult_adds / 1e6:.2f}M" in text
    assert f"{macs:.2f}" == f"{(s.total_mult_adds + 8 * 1000) / 1e6:.2f}"  # theirs adds biases
    s.formatting.params_units = Units.GIGABYTES
    rows = [[c.strip() for c in line.split("|")] for line in s.to_markdown().splitlines()]
    shown = [r[2] for r in rows if len(r) > 2 and r[1] == "Total params"]
    assert shown == [f"{s.total_params / 1e9:.2f}G"]
    # the units stay when the summary is drawn again with other options
    assert s.with_options(depth=1).formatting.params_units is Units.GIGABYTES
    with pytest.raises(ValueError, match="unknown unit"):
        s.formatting.macs_units = "K"
    with pytest.raises(AttributeError):
        s.formatting.max_depth = 2


def test_num_params_to_str_is_torchinfos():
    frozen = nn.Linear(4, 4)
    frozen.requires_grad_(False)
    model = nn.Sequential(frozen, nn.Sequential(nn.Linear(4, 3), nn.ReLU()), nn.Linear(3, 2))
    theirs = torchinfo.summary(model, (1, 4), verbose=0)
    ours = summary(model, (1, 4), verbose=0)
    for row, info in zip(ours.summary_list, theirs.summary_list, strict=True):
        for reached in (False, True):
            assert row.num_params_to_str(reached_max_depth=reached) == info.num_params_to_str(
                reached
            ), (row.path, reached)


def test_a_column_that_needs_an_input_is_refused_without_one():
    class NeverRun(nn.Linear):
        def forward(self, x):
            raise AssertionError("ran")

    with pytest.raises(ValueError, match="output_size needs a forward pass"):
        summary(NeverRun(2, 2), col_names=("output_size",), verbose=0)
    with pytest.raises(ValueError):  # torchinfo's type too
        torchinfo.summary(NeverRun(2, 2), col_names=("output_size",), verbose=0)
    registered = summary(NeverRun(2, 2), verbose=0)  # and redrawing one made without a pass
    with pytest.raises(ValueError, match="mult_adds needs a forward pass"):
        registered.with_options(col_names=("num_params", "mult_adds"))
    assert "Kernel Shape" in str(registered.with_options(col_names=("kernel_size",)))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"input_size": (1, 2), "input_data": torch.zeros(1, 2)},
        {"input_size": (1, 2), "device": "nonsense"},
    ],
    ids=["both-inputs", "unknown-device"],
)
def test_argument_errors_torchinfo_raises_as_runtime_errors_are_caught_both_ways(kwargs):
    """One class, a ValueError and a RuntimeError: torchinfo's callers catch it too."""
    with pytest.raises(RuntimeError):
        torchinfo.summary(nn.Linear(2, 2), verbose=0, **kwargs)
    with pytest.raises(RuntimeError) as as_runtime:
        summary(NeverRuns(), verbose=0, **kwargs)
    with pytest.raises(ValueError) as as_value:
        summary(NeverRuns(), verbose=0, **kwargs)
    assert type(as_runtime.value) is type(as_value.value) is ArgumentError


def test_an_unavailable_device_is_an_argument_error_too():
    with pytest.raises(ArgumentError, match="not available here"):
        summary(NeverRuns(), (1, 2), device="cuda:99", verbose=0)


class NeverRuns(nn.Linear):
    def __init__(self) -> None:
        super().__init__(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        raise AssertionError("ran")


# -- issue 25 item 1: the remaining call sites of torchinfo's suite ---------------------


def _lazy_model() -> nn.Module:
    return nn.Sequential(nn.Linear(4, 3), nn.LazyLinear(2), nn.LazyBatchNorm1d())


def test_a_lazy_model_without_input_is_listed_with_its_uninitialised_parameters():
    model = _lazy_model()  # (the audit fixture cannot copy an uninitialised parameter)
    classes = [type(m) for m in model.modules()]
    theirs = torchinfo.summary(model, verbose=0)
    ours = summary(model, verbose=0)
    sized = [p for p in model.parameters() if not is_lazy(p)]
    assert ours.total_params == theirs.total_params == sum(p.numel() for p in sized)
    lazy = [n for n, t in [*model.named_parameters(), *model.named_buffers()] if is_lazy(t)]
    assert ours.tree.uninitialised == tuple(lazy)
    cells = table_cells(ours.tree, ours.options)
    shown = dict(zip((n.path for n in cells.nodes), (r[-1] for r in cells.rows), strict=True))
    assert shown == {
        "": "--",
        "0": f"{model[0].weight.numel() + 3}",
        "1": "uninitialised",
        "2": "uninitialised",
    }
    lines = [line for g in footer_groups(ours.tree) for line in g.lines]
    assert [line.value for line in lines if line.label == UNINITIALISED_LABEL] == [", ".join(lazy)]
    assert is_lazy(model[1].weight) and is_lazy(model[2].running_mean)
    # with an input it runs on a copy, which the pass sizes (an uninitialised buffer
    # too, which deepcopy alone refuses); the model stays lazy
    run = summary(model, (5, 4), verbose=0)
    assert run.total_params == 4 * 3 + 3 + 3 * 2 + 2 + 2 * 2 and not run.tree.uninitialised
    assert run.total_buffers == 2 + 2 + 1  # running mean and variance of 2, and the count
    assert is_lazy(model[1].weight) and is_lazy(model[2].running_mean)
    assert [type(m) for m in model.modules()] == classes


@pytest.mark.parametrize("units", list(torchinfo.Units), ids=lambda u: u.name)
def test_formatting_has_torchinfos_newer_unit_names(units):
    model = nn.Linear(1000, 1000)
    s = summary(model, (2, 1000), verbose=0)
    s.formatting.params_count_units = units
    assert s.formatting.params_units is s.formatting.params_count_units is Units(units.value)
    s.formatting.params_size_units = units
    assert s.formatting.params_size_units is Units(units.value)
    nbytes = sum(p.numel() * p.element_size() for p in model.parameters())
    size = {
        "auto": format_bytes(nbytes),
        "": f"{nbytes:,} B",
        "M": f"{nbytes / 1e6:,.2f} MB",
        "G": f"{nbytes / 1e9:,.2f} GB",
        "T": f"{nbytes / 1e12:,.2f} TB",
    }[units.value]
    assert f"Parameters size: {size}\n" in str(s)
    assert s.with_options(depth=1).formatting.params_size_units is Units(units.value)
    s.formatting.macs_units = units  # the third of torchinfo's names, as before
    assert s.formatting.macs_units is Units(units.value)


# The differences that torchinfo's own suite still finds, on purpose (docs/index.md):


class _Reused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.fc(x))


def test_intended_difference_a_reused_module_is_one_row_with_its_calls():
    theirs = torchinfo.summary(_Reused(), (1, 2), verbose=0)
    ours = summary(_Reused(), (1, 2), verbose=0)
    assert [info.var_name for info in theirs.summary_list] == ["_Reused", "fc", "fc"]
    assert [(row.var_name, row.calls) for row in ours.summary_list] == [("_Reused", 1), ("fc", 2)]
    assert ours.total_params == theirs.total_params == 6


class _ReturnsText(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)

    def forward(self, x: torch.Tensor) -> object:
        self.fc(x)
        return "done"


class _ReturnsClass(_ReturnsText):
    def forward(self, x: torch.Tensor) -> object:
        self.fc(x)
        return nn.Linear


@pytest.mark.parametrize("make", [_ReturnsText, _ReturnsClass], ids=["string", "class"])
def test_intended_difference_a_forward_returning_no_tensor_is_summarised(make):
    with pytest.raises(RuntimeError, match="Failed to run torchinfo"):
        torchinfo.summary(make(), (1, 2), verbose=0)
    s = summary(make(), (1, 2), verbose=0)
    assert s.total_params == 6 and s.layers[1].output_size == [1, 2]
