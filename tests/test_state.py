"""A summary leaves the model, its hooks, and the process exactly as it found them."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from modelsummary import ModelSummaryError, summary
from modelsummary._trace.state import BufferValues
from tests import models as M
from tests.conftest import unique_numel


def test_train_mode_batchnorm_statistics_do_not_move(audit):
    model = audit(M.Frozen().train())
    summary(model, (4, 10), mode="train", verbose=0)
    assert model.training and model.backbone[1].training


def test_every_modules_own_mode_is_restored(audit):
    model = M.Frozen().train()
    model.backbone.eval()  # mixed modes: the root in train, a child in eval
    audit(model)
    summary(model, (4, 10), verbose=0)
    assert model.training and not model.backbone.training and not model.backbone[1].training


@pytest.mark.parametrize("mode", ["eval", "train", "same"])
def test_modes_restored_for_each_mode(audit, mode):
    model = audit(nn.Sequential(nn.Linear(3, 3), nn.Dropout(0.5)).train())
    summary(model, (2, 3), mode=mode, verbose=0)


def test_mode_train_runs_modules_in_train_mode():
    seen = []

    class Probe(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            seen.append(self.training)
            return x

    model = nn.Sequential(Probe()).eval()
    summary(model, (1, 2), mode="train", verbose=0)
    summary(model, (1, 2), verbose=0)
    summary(model, (1, 2), mode="same", verbose=0)
    assert seen == [True, False, False]
    assert not model.training


def test_user_hooks_untouched_and_still_called(audit):
    model = nn.Sequential(nn.Linear(3, 3))
    calls = []
    model[0].register_forward_hook(lambda m, i, o: calls.append("fwd"))
    model[0].register_forward_pre_hook(lambda m, i: calls.append("pre"))
    audit(model)
    summary(model, (1, 3), verbose=0)
    assert calls == ["pre", "fwd"]


def test_user_hook_replacing_output_is_kept():
    model = nn.Sequential(nn.Linear(3, 3))
    model[0].register_forward_hook(lambda m, i, o: o[:, :2])
    s = summary(model, (1, 3), verbose=0)
    assert s.to_dict()["layers"][1]["output"]["shape"] == [1, 2]


def test_no_hooks_left_after_a_failing_forward(audit):
    model = audit(M.Failing())
    with pytest.raises(ModelSummaryError):
        summary(model, (1, 4), verbose=0)


def test_keyboard_interrupt_still_restores(audit):
    class Interrupt(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bn = nn.BatchNorm1d(3)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.bn(x)
            raise KeyboardInterrupt

    model = audit(Interrupt().train())
    with pytest.raises(KeyboardInterrupt):
        summary(model, (4, 3), mode="train", verbose=0)


def test_requires_grad_and_grad_mode_restored(audit):
    class Toggler(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.fc.weight.requires_grad_(False)
            return self.fc(x)

    model = audit(Toggler())
    with torch.enable_grad():
        summary(model, (1, 2), verbose=0)
        assert torch.is_grad_enabled()
    assert model.fc.weight.requires_grad


def test_pass_builds_no_autograd_graph():
    outputs = []
    model = nn.Linear(2, 2)
    model.register_forward_hook(lambda m, i, o: outputs.append(o))
    with torch.enable_grad():
        summary(model, (1, 2), verbose=0)
    assert outputs[0].grad_fn is None


def test_global_rng_stream_not_moved_by_input_generation_or_dropout(audit):
    model = audit(nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5)))
    before = torch.random.get_rng_state()
    summary(model, (8, 4), mode="train", verbose=0)
    assert torch.equal(before, torch.random.get_rng_state())


def test_buffer_replaced_in_forward_is_put_back(audit):
    class Replacer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("steps", torch.zeros(1))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.steps = self.steps + 1  # rebinds the buffer to a new tensor
            return x

    model = audit(Replacer())
    summary(model, (1, 2), verbose=0)
    assert model.steps.item() == 0


def test_parameter_and_buffer_registered_during_the_pass_are_taken_away(audit):
    class Grower(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.inner = nn.Linear(2, 2)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            if "scale" not in self._parameters:  # created on the first call
                self.scale = nn.Parameter(torch.ones(2))
                self.register_buffer("calls", torch.zeros(()))
            return self.inner(x) * self.scale

    model = audit(Grower())
    s = summary(model, (1, 2), verbose=0)
    assert s.all_params == 6  # the summary counts the model as it was handed over
    assert [name for name, _ in model.named_parameters()] == ["inner.weight", "inner.bias"]
    assert list(model.named_buffers()) == []


def test_in_place_buffer_update_is_undone(audit):
    class Counter(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.register_buffer("count", torch.zeros((), dtype=torch.long))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            self.count += 1
            return x

    model = audit(Counter())
    summary(model, (1, 2), verbose=0)
    assert model.count.item() == 0


class _Probe(nn.Module):
    """Runs ``inner`` and keeps a copy of each output, as the pass computed it."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner
        self.seen: list[torch.Tensor] = []

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        out = self.inner(tokens)
        self.seen.append(out.detach().clone())
        return out


def _large(model: nn.Module) -> nn.Module:
    with torch.no_grad():  # rows far over max_norm: every looked-up row is rescaled
        for p in model.parameters():
            p.mul_(10.0)
    return model


def _with_max_norm(model: M.TiedLM) -> nn.Module:
    model.embed.max_norm = 1.0
    return model


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Embedding(10, 4, max_norm=1.0),
        lambda: nn.EmbeddingBag(10, 4, max_norm=1.0, mode="sum"),
        lambda: _with_max_norm(M.TiedLM()),  # the embedding's weight is the head's too
    ],
    ids=["embedding", "embedding_bag", "tied_lm"],
)
def test_embedding_with_max_norm_gets_its_weight_back(make, audit):
    """max_norm rescales looked-up rows in place inside forward: the pass computes
    what the model computes, and the user's weight keeps its values and version."""
    import copy

    torch.manual_seed(0)
    model = _Probe(_large(make()))
    tokens = torch.tensor([[0, 3, 3, 7]])
    expected = copy.deepcopy(model).inner(tokens)  # what a real call does (and writes)
    audit(model)
    s = summary(model, input_data=tokens, verbose=0)
    assert torch.equal(model.seen[0], expected)
    assert s.total_params == s.all_params == unique_numel(model.parameters())


class _Writer(nn.Module):
    """Writes its own weight in place in forward, then uses it."""

    def __init__(self, write) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.fc = nn.Linear(3, 3)
        self.write = write

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        with torch.no_grad():
            self.write(self.fc.weight)
        return self.fc(x)


WRITES = {
    "clamp_": lambda w: w.clamp_(-0.1, 0.1),
    "data_mul_": lambda w: w.data.mul_(0.5),  # through an alias: no version on the weight
    "detach_fill_": lambda w: w.detach()[0].fill_(2.0),  # a view of an alias
    "view_fill_": lambda w: w[1].fill_(3.0),
    "setitem": lambda w: w.__setitem__(0, 1.0),
    "iadd": lambda w: w.__iadd__(1.0),
    "nn_init": nn.init.zeros_,
    "out_argument": lambda w: torch.add(w, 1.0, out=w),
    "data_rebound": lambda w: setattr(w, "data", torch.zeros_like(w)),  # other memory
    "foreach": lambda w: torch._foreach_mul_([w], 0.5),  # a list of tensors written
}


@pytest.mark.parametrize("inference", [False, True], ids=["", "inference_mode"])
@pytest.mark.parametrize("write", WRITES.values(), ids=WRITES.keys())
def test_parameter_written_in_place_in_forward_gets_its_values_back(write, inference, audit):
    """The pass computes with the written values, as the model would, and afterwards the
    weight has its values, its version counter and (inside inference mode too) a normal
    tensor's data back."""
    import copy

    model = _Writer(write)
    x = torch.rand(2, 3)
    with torch.no_grad():
        expected = copy.deepcopy(model)(x)
    seen: list[torch.Tensor] = []
    model.register_forward_hook(lambda m, i, o: seen.append(o.detach().clone()))
    audit(model)
    with torch.inference_mode(inference):
        s = summary(model, input_data=x, verbose=0)
    assert torch.equal(seen[0], expected)
    assert s.total_params == 12
    assert not model.fc.weight.is_inference()


def test_device_argument_same_as_model_keeps_model_in_place(audit):
    model = audit(nn.Linear(2, 2))
    s = summary(model, (1, 2), device="cpu", verbose=0)
    assert s.total_params == 6


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cpu_model_summarised_on_cuda_comes_back(audit):
    model = audit(nn.Sequential(nn.Linear(8, 8), nn.BatchNorm1d(8)))
    s = summary(model, (4, 8), device="cuda", verbose=0)
    assert s.total_params == 8 * 8 + 8 + 16
    assert next(model.parameters()).device.type == "cpu"


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_rng_not_moved_when_a_cpu_model_runs_on_cuda_in_train_mode(audit):
    model = audit(nn.Sequential(nn.Linear(8, 8), nn.Dropout(0.5)))
    before = torch.cuda.get_rng_state()
    summary(model, (4, 8), device="cuda", mode="train", verbose=0)
    assert torch.equal(before, torch.cuda.get_rng_state())


# -- the grouped buffer snapshot -----------------------------------------------------------


def _buffers() -> list[torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    return [
        torch.rand(5, generator=g),  # 1-D float: concatenated
        torch.rand(3, generator=g),
        torch.tensor(7),  # 0-d int64: stacked with its own shape
        torch.tensor(9),
        torch.rand(2, 3, generator=g),  # 2-D: stacked with its own shape
        torch.rand(2, 3, generator=g).t(),  # not contiguous
        torch.tensor([True, False]),
        torch.rand(4, dtype=torch.float64, generator=g),
    ]


@pytest.mark.parametrize("changed", range(8))
def test_buffer_values_restore_exactly_the_changed_buffer(changed):
    buffers = _buffers()
    before = [b.clone() for b in buffers]
    values = BufferValues(buffers)
    buffers[changed].copy_(torch.ones_like(buffers[changed]) * 3)
    versions = [b._version for b in buffers]
    values.restore()
    for i, (b, old) in enumerate(zip(buffers, before, strict=True)):
        assert torch.equal(b, old)
        # an unchanged buffer is never written: its version counter stays
        assert (b._version == versions[i]) == (i != changed)


def test_buffer_values_restore_a_buffer_resized_in_place():
    buffers = _buffers()
    before = buffers[0].clone()
    values = BufferValues(buffers)
    buffers[0].resize_(2).fill_(0)
    values.restore()
    assert torch.equal(buffers[0], before)


def test_buffer_values_without_changes_write_nothing():
    buffers = _buffers()
    values = BufferValues(buffers)
    versions = [b._version for b in buffers]
    values.restore()
    assert [b._version for b in buffers] == versions
