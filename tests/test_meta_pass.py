"""Meta passes where torch's meta kernels differ from a real device's: float32
mixture-of-experts layers run by shapes alone, and a failure that only meta has
advises a real device."""

from __future__ import annotations

import pytest
import torch
import transformers
from torch import nn
from torch.utils._python_dispatch import _get_current_dispatch_mode_stack

from modelsummary import ModelSummaryError, summary
from modelsummary._trace.meta import META_HINT, MetaPass, _runs_on_a_real_device

aten = torch.ops.aten


def _mixtral() -> nn.Module:
    config = transformers.MixtralConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        num_local_experts=4,
        num_experts_per_tok=2,
    )
    return transformers.MixtralForCausalLM(config)


def _qwen2_moe() -> nn.Module:
    config = transformers.Qwen2MoeConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        num_experts=4,
        num_experts_per_tok=2,
        moe_intermediate_size=16,
        shared_expert_intermediate_size=16,
    )
    return transformers.Qwen2MoeForCausalLM(config)


@pytest.mark.parametrize("build", [_mixtral, _qwen2_moe], ids=["mixtral", "qwen2-moe"])
def test_float32_mixture_of_experts_on_meta_equals_cpu(build, audit):
    model = audit(build().eval())
    assert next(model.parameters()).dtype == torch.float32
    tokens = torch.zeros(1, 8, dtype=torch.long)
    on_cpu = summary(model, input_data=[tokens], verbose=0)
    on_meta = summary(model, input_data=[tokens], device="meta", verbose=0)
    assert on_cpu.uncounted_ops == {} and on_cpu.total_mult_adds > 0
    assert on_meta.to_dict() == on_cpu.to_dict()


@pytest.mark.parametrize(
    "a, b, offs",
    [((12, 4), (3, 8, 4), 3), ((3, 4, 4), (3, 8, 4), None), ((4, 12), (8, 12), 3)],
    ids=["2d-3d", "3d-3d", "2d-2d"],
)
def test_grouped_mm_on_meta_has_the_cpu_output(a, b, offs):
    sizes = torch.tensor([4, 8, 12], dtype=torch.int32) if offs else None
    mat_a, mat_b = torch.randn(a), torch.randn(b).transpose(-2, -1)
    expected = torch._grouped_mm(mat_a, mat_b, offs=sizes)
    meta = [t.to("meta") if t is not None else None for t in (mat_a, mat_b, sizes)]
    with MetaPass():
        out = torch._grouped_mm(meta[0], meta[1], offs=meta[2])
    assert (out.shape, out.dtype, out.is_meta) == (expected.shape, expected.dtype, True)


class _ZeroDimCpuValue(nn.Module):
    """Fills with a 0-dim CPU tensor made in forward, as SEW-D's attention does: a real
    device takes it as a scalar; torch's meta kernel refuses it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        return y.masked_fill(y > 0, torch.tensor(torch.finfo(y.dtype).min))


def test_a_zero_dim_cpu_tensor_in_a_meta_pass_advises_a_real_device(audit):
    model = audit(_ZeroDimCpuValue())
    summary(model, (2, 4), verbose=0)  # fine on a real device
    with pytest.raises(ModelSummaryError) as info:
        summary(model, (2, 4), device="meta", verbose=0)
    assert META_HINT in str(info.value)


def test_an_operator_refused_by_its_meta_kernel_only_is_told_apart():
    a, b = torch.empty(12, 4, device="meta"), torch.empty(3, 8, 4, device="meta").mT
    offs = torch.empty(3, dtype=torch.int32, device="meta")
    with pytest.raises(RuntimeError, match="BFloat16"):  # torch's own meta kernel
        aten._grouped_mm.default(a, b, offs)
    assert _runs_on_a_real_device(aten._grouped_mm.default, (a, b, offs), {})
    bad = torch.empty(3, 5, device="meta"), torch.empty(4, 2, device="meta")
    assert not _runs_on_a_real_device(aten.mm.default, bad, {})  # wrong on any device


def test_a_shape_error_inside_an_operator_on_meta_gives_no_meta_advice():
    class Mismatched(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weight = nn.Parameter(torch.ones(5, 2))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x @ self.weight  # (2, 4) @ (5, 2): wrong everywhere

    with pytest.raises(ModelSummaryError) as info:
        summary(Mismatched(), (2, 4), device="meta", verbose=0)
    assert META_HINT not in str(info.value)


class _Experts(nn.Module):
    """A float32 grouped matrix product, as the mixture-of-experts layers of transformers 5
    run it, and a note of the dispatch modes each forward ran under."""

    def __init__(self) -> None:
        super().__init__()
        self.up = nn.Linear(4, 4)
        self.experts = nn.Parameter(torch.randn(3, 4, 8))
        self.modes: list[list[str]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.modes.append([type(m).__name__ for m in _get_current_dispatch_mode_stack()])
        offs = torch.tensor([4, 8, 12], dtype=torch.int32, device=x.device)
        return torch._grouped_mm(self.up(x), self.experts, offs=offs)


class _Plain(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.modes: list[list[str]] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.modes.append([type(m).__name__ for m in _get_current_dispatch_mode_stack()])
        return self.fc(x).relu()


def test_a_meta_pass_that_needs_no_help_runs_without_meta_pass(audit):
    model = audit(_Plain())
    on_meta = summary(model, (12, 4), device="meta", verbose=0)
    assert model.modes == [[]]  # one pass, under no dispatch mode of ours
    assert on_meta.to_dict() == summary(model, (12, 4), verbose=0).to_dict()


def test_a_call_whose_meta_kernel_needs_help_gets_it_alone(audit):
    # torch._grouped_mm in float32, which torch's meta kernel refuses: MetaPass is entered
    # around that call only, and the pass runs once, the model's forward under no mode
    model = audit(_Experts())
    on_cpu = summary(model, (12, 4), verbose=0)
    model.modes.clear()
    on_meta = summary(model, (12, 4), device="meta", verbose=0)
    assert model.modes == [[]]
    assert on_meta.to_dict() == on_cpu.to_dict()
    assert on_meta.total_mult_adds == 12 * 4 * 4 + 12 * 4 * 8  # the Linear, then the groups


class _AtenExperts(_Experts):
    """The same product reached through the aten operator itself, which the targeted
    help does not know."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.modes.append([type(m).__name__ for m in _get_current_dispatch_mode_stack()])
        offs = torch.tensor([4, 8, 12], dtype=torch.int32, device=x.device)
        return torch.ops.aten._grouped_mm.default(self.up(x), self.experts, offs)


def test_a_meta_failure_that_meta_pass_fixes_is_run_again_under_it(audit):
    model = audit(_AtenExperts())
    on_cpu = summary(model, (12, 4), verbose=0)
    model.modes.clear()
    on_meta = summary(model, (12, 4), device="meta", verbose=0)
    # first as it is, refused by torch's float32 _grouped_mm meta kernel; then under MetaPass
    assert [("MetaPass" in modes) for modes in model.modes] == [False, True]
    assert on_meta.to_dict() == on_cpu.to_dict()
