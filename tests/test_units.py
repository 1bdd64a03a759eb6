"""Units: parameter counts in K, M, B, T; mult-adds keep torchinfo's G; bytes in kB, MB, GB."""

from __future__ import annotations

import pytest
import torch
import transformers

from modelsummary import summary
from modelsummary._present.units import format_bytes, format_count, format_count_in, format_short


@pytest.mark.parametrize(
    ("n", "scale", "letter"),
    [(21_840, 1e3, "K"), (25_557_032, 1e6, "M"), (6_738_415_616, 1e9, "B"), (2e12, 1e12, "T")],
    ids=["K", "M", "B", "T"],
)
def test_counts_read_in_k_m_b_t(n, scale, letter):
    n = int(n)
    assert format_count(n) == f"{n / scale:.2f}{letter}"
    assert format_count_in(n) == f"{n:,} ({n / scale:.2f}{letter})"


@pytest.mark.parametrize(
    ("n", "scale", "letter"),
    [(21_840, 1e3, "K"), (118_013_952, 1e6, "M"), (4_089_184_256, 1e9, "G"), (3e12, 1e12, "T")],
    ids=["K", "M", "G", "T"],
)
def test_operations_keep_giga(n, scale, letter):
    n = int(n)
    assert format_count(n, ops=True) == f"{n / scale:.2f}{letter}"
    assert format_short(n, ops=True) == f"{n / scale:.1f}{letter}"


@pytest.mark.parametrize(
    "n", [0, 7, 999, 1_000, 9_408, 99_950, 999_949, 999_950, 10**9 - 1, 10**12]
)
def test_short_counts_are_at_most_six_characters_and_close(n):
    text = format_short(n)
    assert len(text) <= 6
    scale = {"K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}.get(text[-1], 1)
    value = float(text.rstrip("KMBT")) * scale
    assert abs(value - n) <= 0.05 * scale  # one decimal, rounded


def test_bytes_stay_in_decimal_byte_units():
    assert format_bytes(6_738_415_616 * 2) == f"{6_738_415_616 * 2 / 1e9:.2f} GB"


def test_a_billion_parameter_model_reads_b_and_its_mult_adds_g():
    config = transformers.GPT2Config(n_layer=24, n_embd=2048, n_head=16)
    with torch.device("meta"):
        model = transformers.GPT2LMHeadModel(config)
    ids = torch.zeros(1, 8, dtype=torch.long, device="meta")
    s = summary(model, input_data={"input_ids": ids}, verbose=0)
    total = sum(p.numel() for p in model.parameters())  # a tied weight is yielded once
    assert total > 10**9
    lines = str(s).splitlines()
    assert f"Total params: {total:,} ({total / 1e9:.2f}B)" in lines
    macs = s.total_mult_adds
    assert macs > 10**9
    assert f"Total mult-adds: {macs:,} ({macs / 1e9:.2f}G)" in lines
    assert "G)" not in next(line for line in lines if line.startswith("Total params"))
