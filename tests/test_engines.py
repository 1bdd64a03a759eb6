"""Parameters that engines swap for other tensors during forward, without the engines.

What FSDP2 and accelerate do to a module's parameter slots, done here by plain
hooks in one process: the registered parameter never reaches an operator, a
substitute in its slot does. The truth is the same model without the hooks.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from modelsummary import summary
from modelsummary._present.render import RenderOptions, footer_groups, render_table
from modelsummary._tree.nodes import SummaryNode, SummaryTree, Totals


class Tied(nn.Module):
    """An embedding tied to its head, and a layer never called."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.mid = nn.Linear(8, 8)
        self.spare = nn.Linear(8, 3)
        self.head = nn.Linear(8, 20, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        return self.head(torch.relu(self.mid(self.embed(tokens))))


def load_for_each_call(model: nn.Module) -> None:
    """accelerate's way: the weights rest elsewhere; a pre-hook puts a new Parameter in
    each slot (one per tied tensor), a post-hook a new empty one after the call."""
    stored = {id(p): p.detach().clone() for p in model.parameters()}
    for module in model.modules():
        homes = {name: id(p) for name, p in module._parameters.items() if p is not None}
        if not homes:
            continue

        def load(module: nn.Module, args: object, homes: dict[str, int] = homes) -> None:
            loaded: dict[int, nn.Parameter] = {}
            for name, home in homes.items():
                if home not in loaded:
                    loaded[home] = nn.Parameter(stored[home].clone())
                module._parameters[name] = loaded[home]

        def unload(
            module: nn.Module, args: object, out: object, homes: dict[str, int] = homes
        ) -> None:
            for name, home in homes.items():
                module._parameters[name] = nn.Parameter(torch.empty_like(stored[home]))

        module.register_forward_pre_hook(load)
        module.register_forward_hook(unload)


def gather_for_each_call(model: nn.Module) -> None:
    """FSDP2's way: a pre-hook swaps in one persistent gathered Parameter, a post-hook
    swaps the registered one back."""
    for module in model.modules():
        if not module._parameters:
            continue
        registered = {name: p for name, p in module._parameters.items() if p is not None}
        gathered = {name: nn.Parameter(p.detach().clone()) for name, p in registered.items()}

        def swap_in(module: nn.Module, args: object, gathered: dict = gathered) -> None:  # type: ignore[type-arg]
            module._parameters.update(gathered)

        def swap_back(
            module: nn.Module,
            args: object,
            out: object,
            registered: dict = registered,  # type: ignore[type-arg]
        ) -> None:
            module._parameters.update(registered)

        module.register_forward_pre_hook(swap_in)
        module.register_forward_hook(swap_back)


def figures(model: nn.Module) -> tuple[object, ...]:
    s = summary(model, input_data=torch.tensor([[1, 2, 3]]), verbose=0)
    rows = [(r.path, r.num_params, r.param_names, r.shared) for r in s.layers]
    return (s.total_params, s.unused_params, s.all_params, s.total_mult_adds, rows, s.tree.unused)


@pytest.mark.parametrize("engine", [load_for_each_call, gather_for_each_call])
def test_substituted_parameters_count_as_the_registered_ones(engine):
    truth = figures(Tied())
    model = Tied()
    engine(model)
    names_before = {n: id(p) for n, p in model.named_parameters()}
    assert figures(model) == truth
    assert figures(model) == truth  # and again: what was learned is not kept
    assert {n: id(p) for n, p in model.named_parameters()} == names_before


def test_a_parameter_no_slot_holds_is_no_use():
    class Stray(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ nn.Parameter(torch.ones(4, 2)) + self.fc(x)

    s = summary(Stray(), (1, 4), verbose=0)
    assert (s.total_params, s.unused_params) == (10, 0)


def test_comm_column_and_footer_from_records():
    leaf = SummaryNode("fc", "Linear", 1, 1, comm_bytes=64, subtree_comm_bytes=64)
    root = SummaryNode("", "Net", 0, 1, subtree_comm_bytes=64, children=(leaf,))
    totals = Totals(
        param_bytes=40,
        local_param_bytes=20,
        comm_bytes=64,
        rank=1,
        world_size=2,
        placements=(("sharded over 2 ranks", 10),),
    )
    tree = SummaryTree(root, totals=totals)
    text = render_table(tree, RenderOptions(columns=("comm_bytes",)))
    assert "Comm Bytes" in text
    assert [line.rstrip()[-4:] for line in text.splitlines()[3:5]] == ["  --", "64 B"]
    sizes = [line.text for line in footer_groups(tree)[1].lines]
    assert "Parameters size: 40 B (20 B on this rank of 2)" in sizes
    assert "Parameter placement: 10 sharded over 2 ranks" in sizes
    assert "Communication (collectives): 64 B" in sizes


def test_plain_model_has_no_engine_figures():
    d = summary(nn.Linear(3, 2), (1, 3), verbose=0).to_dict()
    assert d["totals"]["local_param_bytes"] is None
    assert (d["placements"], d["rank"], d["world_size"], d["totals"]["comm_bytes"]) == (
        {},
        None,
        None,
        None,
    )
