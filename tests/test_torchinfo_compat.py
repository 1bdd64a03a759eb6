"""Code written against torchinfo's ``summary_list`` reads the same values here.

torchinfo itself is the oracle: the same model summarised by both, row by row.
"""

from __future__ import annotations

import pytest
import torch
import torchinfo
import torchvision

from modelsummary import summary


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
