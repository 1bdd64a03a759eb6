"""Exported programs: ``summary(ep)`` read from the graph agrees with the eager summary.

The truth for each model of the zoo is the eager summary of the same model on the same
example input (itself tested against closed forms and the libraries' own counts) and
``model.parameters()``; nothing is mocked, every program is made by ``torch.export``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import torch
import torchvision
from torch import nn
from torchvision.models.vision_transformer import VisionTransformer

from modelsummary import summary
from modelsummary._records import TensorSpec
from modelsummary._trace.exported import read_program
from tests.models import TiedLM, tiny_gpt2


def _tokens(*shape: int) -> torch.Tensor:
    return torch.randint(0, 50, shape, generator=torch.Generator().manual_seed(0))


def _images(*shape: int) -> torch.Tensor:
    return torch.rand(shape, generator=torch.Generator().manual_seed(0))


def _bert() -> nn.Module:
    import transformers

    config = transformers.BertConfig(
        num_hidden_layers=2,
        hidden_size=32,
        num_attention_heads=2,
        intermediate_size=64,
        vocab_size=50,
        max_position_embeddings=16,
    )
    return transformers.BertModel(config)


def _llama() -> nn.Module:
    """Its rotary embedding runs under ``torch.no_grad()``: a subgraph in the program."""
    import transformers

    config = transformers.LlamaConfig(
        num_hidden_layers=2,
        hidden_size=32,
        intermediate_size=64,
        num_attention_heads=2,
        num_key_value_heads=1,
        vocab_size=50,
        max_position_embeddings=16,
        use_cache=False,
    )
    return transformers.LlamaForCausalLM(config)


def _small_vit() -> nn.Module:
    return VisionTransformer(
        image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64
    )


ZOO: dict[str, tuple[Callable[[], nn.Module], Callable[[], tuple[Any, ...]]]] = {
    "resnet18": (torchvision.models.resnet18, lambda: (_images(1, 3, 64, 64),)),
    "mobilenet_v3_small": (torchvision.models.mobilenet_v3_small, lambda: (_images(1, 3, 64, 64),)),
    "vit": (_small_vit, lambda: (_images(1, 3, 32, 32),)),
    "gpt2": (lambda: tiny_gpt2(use_cache=False), lambda: (_tokens(2, 8),)),
    "bert": (_bert, lambda: (_tokens(2, 8),)),
    "llama": (_llama, lambda: (_tokens(2, 8),)),
    "tied": (TiedLM, lambda: (_tokens(3, 5),)),
}


def _tensors(spec: Any) -> list[TensorSpec]:
    """The tensors of a recorded value, in order (a graph has no ``None`` outputs)."""
    if isinstance(spec, TensorSpec):
        return [spec]
    items = getattr(spec, "items", ())
    return [t for item in items for t in _tensors(item[1] if isinstance(item, tuple) else item)]


def _rows(s: Any) -> list[tuple[Any, ...]]:
    return [
        (n.path, n.type_name, n.num_params, n.calls, n.mult_adds, _tensors(n.output))
        for n in s.tree.root.walk()
    ]


def _unique_params(model: nn.Module) -> int:
    return sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())


@pytest.mark.parametrize("name", list(ZOO), ids=list(ZOO))
def test_program_agrees_with_the_eager_summary(name):
    build, example = ZOO[name]
    torch.manual_seed(0)
    model = build().eval()
    args = example()
    program = torch.export.export(model, args)
    eager = summary(model, input_data=list(args), verbose=0, depth=99)
    read = summary(program, verbose=0, depth=99)
    assert read.total_params == eager.total_params == _unique_params(model)
    assert read.trainable_params == eager.trainable_params
    assert read.total_mult_adds == eager.total_mult_adds > 0
    assert read.tree.totals.buffer_bytes == eager.tree.totals.buffer_bytes
    assert read.tree.totals.activation_bytes == eager.tree.totals.activation_bytes
    assert read.tree.uncounted_ops == ()
    # A module never called (its parameters used by a parent's code) is in the program
    # only by its parameters' names: its class is unknown there, shown as "?".
    unknown = {n.path for n in read.tree.root.walk() if n.type_name == "?"}
    assert all(n.calls == 0 for n in eager.tree.root.walk() if n.path in unknown)
    expected = [(r[0], "?", *r[2:]) if r[0] in unknown else r for r in _rows(eager)]
    assert _rows(read) == expected


def test_tied_gpt2_program_lists_both_names_of_one_tensor_and_counts_it_once():
    model = tiny_gpt2(use_cache=False).eval()
    program = torch.export.export(model, (_tokens(1, 6),))
    state = program.state_dict
    assert state["lm_head.weight"] is state["transformer.wte.weight"]
    s = summary(program, verbose=0, depth=99)
    assert s.total_params == _unique_params(model)
    assert s.all_params == s.total_params
    head = next(n for n in s.tree.root.walk() if n.path == "lm_head")
    assert head.num_params == 0
    assert [p.name for p in head.shared] == ["weight"]


class _Mlp(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(6, 5)
        self.fc2 = nn.Linear(5, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(torch.relu(self.fc1(x)))


def _dynamic_program() -> torch.export.ExportedProgram:
    batch = torch.export.Dim("batch")
    return torch.export.export(_Mlp(), (_images(4, 6),), dynamic_shapes=({0: batch},))


def test_dynamic_batch_dimension_is_shown_by_its_name_and_counted_at_the_example():
    program = _dynamic_program()
    s = summary(program, verbose=0)
    fc1 = next(n for n in s.tree.root.walk() if n.path == "fc1")
    assert isinstance(fc1.output, TensorSpec)
    assert fc1.output.shape == ("batch", 5)
    assert "[batch, 3]" in str(s)
    # The example batch was 4: closed form 4 * (6 * 5 + 5 * 3).
    assert s.total_mult_adds == 4 * (6 * 5 + 5 * 3)
    eager = summary(_Mlp(), (4, 6), verbose=0)
    assert s.total_mult_adds == eager.total_mult_adds
    assert s.total_params == eager.total_params


def test_saved_program_loads_and_reads_the_same(tmp_path):
    path = tmp_path / "mlp.pt2"
    program = _dynamic_program()
    torch.export.save(program, path)
    loaded = torch.export.load(path)
    s, before = summary(loaded, verbose=0), summary(program, verbose=0)
    assert (s.total_params, s.total_mult_adds) == (before.total_params, before.total_mult_adds)
    # A loaded program forgets the Dim's name: the solver's symbol is shown.
    fc1 = next(n for n in s.tree.root.walk() if n.path == "fc1")
    assert isinstance(fc1.output, TensorSpec)
    first = fc1.output.shape[0]
    assert isinstance(first, str) and first.startswith("s")


def test_reader_makes_the_records_the_tree_takes():
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    program = torch.export.export(model, (_images(1, 3, 8, 8),))
    trace, run = read_program(program)
    assert [m.path for m in trace.modules] == ["", "0"]
    assert trace.modules[1].kernel_size == (3, 3)
    assert [(c.path, c.mult_adds) for c in trace.calls] == [("", 0), ("0", 4 * 3 * 9 * 36)]
    assert run.input_bytes == 3 * 8 * 8 * 4
    assert trace.param_uses == ((0, "0"), (1, "0"))


@pytest.mark.parametrize(
    "given",
    [{"input_size": (1, 6)}, {"mode": "train"}, {"device": "cpu"}, {"optimizer": "adam"}],
    ids=["input_size", "mode", "device", "optimizer"],
)
def test_arguments_that_need_a_pass_are_refused(given):
    with pytest.raises(ValueError, match=f"{next(iter(given))} cannot be given"):
        summary(_dynamic_program(), verbose=0, **given)


def test_module_of_a_program_runs_with_the_default_mode():
    model = _Mlp()
    program = torch.export.export(model, (_images(2, 6),))
    module = program.module()
    with pytest.raises(NotImplementedError):  # why the mode must be left alone
        module.eval()
    flags = [m.training for m in module.modules()]
    s = summary(module, (2, 6), verbose=0)
    assert s.total_params == _unique_params(model)
    assert s.total_mult_adds == summary(model, (2, 6), verbose=0).total_mult_adds
    assert [m.training for m in module.modules()] == flags


class _NoGrad(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.frozen = nn.Linear(4, 3)
        self.head = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            y = self.frozen(x)
        return self.head(y)


def test_a_no_grad_region_is_read_in_place_of_its_operator():
    model = _NoGrad()
    program = torch.export.export(model, (_images(5, 4),))
    regions = [n for n in program.graph.nodes if "wrap_with_set_grad_enabled" in str(n.target)]
    assert regions  # the region is a higher-order operator with a subgraph
    read = summary(program, verbose=0, col_names=("input_size", "output_size", "mult_adds"))
    eager = summary(model, (5, 4), verbose=0, col_names=("input_size", "output_size", "mult_adds"))
    assert read.total_mult_adds == eager.total_mult_adds == 5 * (4 * 3 + 3 * 2)
    assert read.tree.uncounted_ops == ()
    rows = [(n.path, n.inputs, n.output, n.num_params, n.mult_adds) for n in read.layers]
    assert rows == [(n.path, n.inputs, n.output, n.num_params, n.mult_adds) for n in eager.layers]
