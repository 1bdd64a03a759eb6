"""Wrappers keep the depth: PEFT, torch.compile and DDP wrappers merge with the model's row.

The rule comes from the records (one child, nothing of its own: no parameters and
no operators), checked here on the real wrappers, and against models that must
keep their rows. The unused line leaves out containers never called themselves.
"""

from __future__ import annotations

import os
import socket

import peft
import pytest
import torch
import torch.distributed as dist
from torch import nn

from modelsummary import summary
from modelsummary._present.render import RenderOptions, table_cells, unused_line
from tests.models import tiny_gpt2


def _net() -> nn.Module:
    return nn.Sequential(nn.Sequential(nn.Linear(4, 8), nn.ReLU()), nn.Linear(8, 2))


def _names(s, depth: int = 9) -> list[tuple[str, int, str]]:
    cells = table_cells(s.tree, RenderOptions(depth=depth, ascii_only=True))
    return [(n.path, n.depth, row[0]) for n, row in zip(cells.nodes, cells.rows, strict=True)]


@pytest.fixture(scope="module")
def lora():
    model = peft.get_peft_model(
        tiny_gpt2(), peft.LoraConfig(r=2, target_modules=["c_attn"], fan_in_fan_out=True)
    )
    ids = {"input_ids": torch.zeros(1, 8, dtype=torch.long)}
    return model, summary(model, input_data=ids, verbose=0)


def test_peft_chain_merges_into_the_model_row(lora) -> None:
    model, s = lora
    rows = _names(s)
    assert rows[0] == (
        "base_model.model",
        0,
        "PeftModel -> base_model.model (GPT2LMHeadModel)",
    )
    # the wrapped model's parts one level below the root, as in the bare model
    bare = summary(tiny_gpt2(), input_data=torch.zeros(1, 8, dtype=torch.long), verbose=0)
    prefix = "base_model.model."
    ours = [(p.removeprefix(prefix), d) for p, d, _ in rows[1:] if ".lora_" not in p]
    theirs = [(n.path, n.depth) for n in table_cells(bare.tree, RenderOptions(depth=9)).nodes]
    assert [x for x in ours if not x[0].endswith(".base_layer")] == [
        (p.removeprefix(""), d) for p, d in theirs[1:]
    ]
    assert s.total_params == sum(p.numel() for p in model.parameters())


def test_depth_3_shows_the_blocks_of_a_peft_gpt2(lora) -> None:
    _, s = lora
    shown = [n.path for n in table_cells(s.tree, s.options).nodes]
    assert s.options.depth == 3
    assert "base_model.model.transformer.h.0" in shown
    assert "base_model.model.transformer.h.1" in shown
    # the data keep every module at its own depth
    depths = {n.path: n.depth for n in s.layers}
    assert depths["base_model"] == 1 and depths["base_model.model.transformer.h.0"] == 5


def test_unused_line_leaves_out_containers_never_called(lora) -> None:
    model, s = lora
    line = unused_line(s.tree, s.options)
    # LoRA registers empty ParameterDicts and ModuleDicts (for other adapter kinds)
    empty = [
        name
        for name, m in model.named_modules()
        if isinstance(m, (nn.ParameterDict, nn.ModuleDict))
        and not list(m.parameters())
        and not list(m.children())
    ]
    assert empty and set(empty) <= set(s.unused_modules)
    assert "ParameterDict" not in line and "ModuleDict" not in line
    drops = [n for n in s.unused_modules if n.endswith("attn_dropout")]
    assert line == f"{len(drops)} modules without parameters never ran: Dropout ×{len(drops)}"


def test_torch_compile_wrapper_merges() -> None:
    compiled = torch.compile(_net())  # the default backend: it compiles on this CPU
    s = summary(compiled, (2, 4), verbose=0)
    assert type(compiled).__name__ == "OptimizedModule"
    assert _names(s) == [
        ("_orig_mod", 0, "OptimizedModule -> _orig_mod (Sequential)"),
        ("_orig_mod.0", 1, "|-0 (Sequential)"),
        ("_orig_mod.0.0", 2, "| |-0 (Linear)"),
        ("_orig_mod.0.1", 2, "| `-1 (ReLU)"),
        ("_orig_mod.1", 1, "`-1 (Linear)"),
    ]
    plain = summary(_net(), (2, 4), verbose=0)
    assert s.total_params == plain.total_params and s.total_mult_adds == plain.total_mult_adds


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ddp_of_one_gloo_rank_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASTER_ADDR", "127.0.0.1")
    monkeypatch.setenv("MASTER_PORT", str(_free_port()))
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        ddp = nn.parallel.DistributedDataParallel(_net())
        s = summary(ddp, (2, 4), verbose=0)
    finally:
        dist.destroy_process_group()
    names = _names(s)
    assert names[0] == ("module", 0, "DistributedDataParallel -> module (Sequential)")
    assert [(p, d) for p, d, _ in names[1:]] == [
        ("module.0", 1),
        ("module.0.0", 2),
        ("module.0.1", 2),
        ("module.1", 1),
    ]
    assert os.environ.get("MASTER_PORT")  # left for monkeypatch to restore


class _Scaled(nn.Module):
    """One child, but work of its own: a scale after the child."""

    def __init__(self) -> None:
        super().__init__()
        self.inner = _net()

    def forward(self, x):
        return self.inner(x) * 2


class _Holder(nn.Module):
    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x)


@pytest.mark.parametrize(
    ("model", "merged"),
    [
        pytest.param(_Scaled(), False, id="own-operator"),
        pytest.param(_Holder(nn.Linear(4, 2)), False, id="wraps-a-leaf"),
        pytest.param(nn.Sequential(_net()), False, id="torch-container"),
        pytest.param(_Holder(_net()), True, id="plain-wrapper"),
    ],
)
def test_only_modules_that_add_nothing_merge(model: nn.Module, merged: bool) -> None:
    s = summary(model, (2, 4), verbose=0)
    root = table_cells(s.tree, s.options).nodes[0]
    assert bool(root.wrappers) is merged
    assert root.path == ("inner" if merged else "")


def test_plot_of_a_peft_gpt2_at_depth_3_has_a_bar_per_block(lora) -> None:
    from modelsummary._present.plot import plot_bars

    _, s = lora
    labels = [b.label for b in plot_bars(s.tree, 3)]
    assert "base_model.model.transformer.h.0 (GPT2Block)" in labels
    assert sum(b.params for b in plot_bars(s.tree, 3) if not b.unused) == s.total_params
