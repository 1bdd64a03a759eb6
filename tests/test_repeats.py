"""Folded repeats (``row_settings=("fold_repeats",)``): runs of identical siblings as one row.

The runs are checked against the models themselves: a GPT-2 built from its config,
a torchvision ResNet whose first block of each stage differs (a downsample), and a
hand-made model whose middle block differs. Counts are checked against
``parameters()``; totals and exports against the same summary unfolded.
"""

from __future__ import annotations

import itertools

import pytest
import torch
import torchvision
from torch import nn

from modelsummary import summary
from modelsummary._cli import main
from modelsummary._present.render import RenderOptions, table_cells
from modelsummary._tree.nodes import SummaryNode
from modelsummary._tree.repeats import fold_repeats
from tests.models import tiny_gpt2


def _rows(s, **options) -> dict[str, SummaryNode]:
    cells = table_cells(s.tree, RenderOptions(fold_repeats=True, **options))
    return {node.path: node for node in cells.nodes}


def _numel(modules) -> int:
    return sum(p.numel() for m in modules for p in m.parameters())


@pytest.fixture(scope="module")
def gpt2():
    model = tiny_gpt2(n_layer=12, n_embd=16)
    ids = torch.zeros(1, 8, dtype=torch.long)
    return model, summary(model, input_data=ids, verbose=0, row_settings=("fold_repeats",))


def test_gpt2_twelve_blocks_fold_into_one_row(gpt2) -> None:
    model, s = gpt2
    cells = table_cells(s.tree, s.options)
    folded = [n for n in cells.nodes if n.folded]
    assert [(n.path, n.copies) for n in folded] == [("transformer.h.0", 12)]
    row = folded[0]
    assert row.folded == tuple(f"transformer.h.{i}" for i in range(1, 12))
    assert row.subtree_params == _numel(model.transformer.h)
    assert row.calls == 12
    name = cells.rows[cells.nodes.index(row)][0]
    assert name.endswith("0–11 (GPT2Block) ×12")
    # one copy of the inner rows: the first block's, no row of blocks 1 to 11
    paths = [n.path for n in cells.nodes]
    assert not any(p.startswith("transformer.h.1") for p in paths)
    inner = _rows(s, depth=4)
    assert inner["transformer.h.0.attn"].num_params == 0
    assert inner["transformer.h.0.mlp"].subtree_params == _numel([model.transformer.h[0].mlp])


def test_gpt2_folding_changes_no_total_or_export(gpt2) -> None:
    model, s = gpt2
    plain = s.with_options(row_settings=())
    assert s.to_dict() == plain.to_dict()
    assert s.to_csv() == plain.to_csv()
    assert s.total_params == plain.total_params == _numel([model])  # the tied head once
    assert len(str(s).splitlines()) == len(str(plain).splitlines()) - 11
    assert not plain.options.fold_repeats and s.options.fold_repeats


def _stage_runs(stage: nn.Sequential) -> list[tuple[str, int]]:
    """The runs a stage should fold into, told by the model: blocks with a downsample
    differ from those without."""
    runs = []
    index = 0
    for _, group in itertools.groupby(stage, key=lambda block: block.downsample is None):
        size = len(list(group))
        runs.append((str(index), size))
        index += size
    return runs


@pytest.mark.parametrize("builder", [torchvision.models.resnet18, torchvision.models.resnet50])
def test_resnet_run_breaks_at_the_downsampling_block(builder) -> None:
    model = builder()
    s = summary(model, (1, 3, 64, 64), verbose=0, row_settings=("fold_repeats",))
    rows = _rows(s, depth=2)
    for name in ("layer1", "layer2", "layer3", "layer4"):
        stage = getattr(model, name)
        expected = _stage_runs(stage)
        children = [n for n in rows.values() if n.path.rpartition(".")[0] == name]
        assert [(n.name, n.copies) for n in children] == expected, name
        start = 0
        for node, (_, size) in zip(children, expected, strict=True):
            assert node.subtree_params == _numel(stage[start : start + size])
            start += size
    assert rows["layer3.0"].copies == 1  # the downsampling block stands alone
    assert s.total_params == _numel([model])


class Block(nn.Module):
    def __init__(self, width: int, act: type[nn.Module] = nn.ReLU) -> None:
        super().__init__()
        self.fc = nn.Linear(8, width)
        self.act = act()
        self.out = nn.Linear(width, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(self.fc(x)))


@pytest.mark.parametrize(
    ("middle", "why"),
    [
        pytest.param(Block(16), "another shape", id="other-shape"),
        pytest.param(Block(4, nn.GELU), "another inner module", id="other-module"),
    ],
)
def test_a_different_block_in_the_middle_breaks_the_run(middle: nn.Module, why: str) -> None:
    blocks = [Block(4), Block(4), middle, Block(4), Block(4), Block(4)]
    model = nn.Sequential(*blocks)
    s = summary(model, (2, 8), verbose=0, row_settings=("fold_repeats",))
    rows = [n for n in _rows(s).values() if n.depth == 1]
    assert [(n.path, n.copies) for n in rows] == [("0", 2), ("2", 1), ("3", 3)], why
    assert [n.subtree_params for n in rows] == [
        _numel(blocks[:2]),
        _numel(blocks[2:3]),
        _numel(blocks[3:]),
    ]
    assert [n.subtree_mult_adds for n in rows] == [
        2 * 2 * (8 * 4 + 4 * 8),
        s.tree.root.children[2].subtree_mult_adds,
        3 * 2 * (8 * 4 + 4 * 8),
    ]


def test_off_by_default_and_nothing_to_fold_keeps_the_tree() -> None:
    model = nn.Sequential(Block(4), Block(4))
    s = summary(model, (2, 8), verbose=0)
    assert not s.options.fold_repeats
    assert all(not n.folded for n in table_cells(s.tree, s.options).nodes)
    single = summary(nn.Sequential(Block(4), Block(16)), (2, 8), verbose=0)
    assert fold_repeats(single.tree.root) is single.tree.root


def test_ascii_and_collapsed_rows_of_a_fold() -> None:
    model = nn.Sequential(*(Block(4) for _ in range(3)))
    s = summary(model, (2, 8), verbose=0, depth=1, row_settings=("fold_repeats", "ascii_only"))
    cells = table_cells(s.tree, s.options)
    assert cells.rows[1][0] == "`-0-2 (Block) x3"
    assert cells.rows[1][2] == f"{_numel([model]):,}"  # collapsed: the run's summed count


def test_cli_fold(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    import tests.models as models

    model = nn.Sequential(*(Block(4) for _ in range(3)))
    monkeypatch.setattr(models, "BLOCKS", model, raising=False)
    spec = ["tests.models:BLOCKS", "--input-size", "2,8", "--depth", "1", "--ascii"]
    assert main([*spec, "--fold"]) == 0
    folded = capsys.readouterr().out
    assert main(spec) == 0
    plain = capsys.readouterr().out
    assert "`-0-2 (Block) x3" in folded and "0-2 (Block)" not in plain
    assert "|-1 (Block)" in plain and "|-1 (Block)" not in folded
