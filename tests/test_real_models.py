"""Real models built from constructors and configs (no downloads), against published counts."""

from __future__ import annotations

import pytest
import torch

from modelsummary import summary
from tests.conftest import check_invariants, unique_numel


@pytest.fixture(scope="module")
def resnet50() -> torch.nn.Module:
    import torchvision

    return torchvision.models.resnet50()


def test_resnet50_matches_published_count(resnet50):
    s = summary(resnet50, (1, 3, 224, 224), verbose=0)
    assert s.total_params == 25_557_032  # torchvision's published figure
    assert s.unused_params == 0
    assert s.total_buffers == unique_numel(resnet50.buffers())
    check_invariants(s, resnet50)
    text = str(s)
    assert "Total params: 25,557,032 (25.56M)" in text
    assert "layer1 (Sequential)" in text


def test_resnet50_depth_one_rows_cover_their_subtrees(resnet50):
    s = summary(resnet50, (1, 3, 224, 224), depth=1, verbose=0)
    layer4 = next(layer for layer in s.layers if layer.path == "layer4")
    assert layer4.subtree_params == unique_numel(resnet50.layer4.parameters())
    assert f"{layer4.subtree_params:,}" in str(s)


@pytest.fixture(scope="module")
def gpt2() -> torch.nn.Module:
    import transformers

    return transformers.GPT2LMHeadModel(transformers.GPT2Config())


def test_gpt2_small_tied_head_counts_once(gpt2):
    assert gpt2.lm_head.weight is gpt2.transformer.wte.weight  # tied, as published
    tokens = torch.zeros(1, 16, dtype=torch.long)
    s = summary(gpt2, input_data={"input_ids": tokens}, verbose=0)
    assert s.total_params == unique_numel(gpt2.parameters()) == 124_439_808
    assert s.unused_params == 0
    head = next(layer for layer in s.layers if layer.path == "lm_head")
    assert head.num_params == 0
    assert [sh.counted_at for sh in head.shared] == ["transformer.wte"]
    check_invariants(s, gpt2)
