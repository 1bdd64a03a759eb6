"""Memory figures (dtype-aware), the training estimate, the CUDA peak and the time column."""

from __future__ import annotations

import inspect

import pytest
import torch
from torch import nn

from modelsummary import summary
from modelsummary._tree.memory import OPTIMIZERS
from tests.models import rand

OPTIMIZER_CTORS = {
    "sgd": lambda p: torch.optim.SGD(p, lr=0.1),
    "momentum": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9),
    "adam": lambda p: torch.optim.Adam(p),
    "adamw": lambda p: torch.optim.AdamW(p),
    "rmsprop": lambda p: torch.optim.RMSprop(p),
    "adagrad": lambda p: torch.optim.Adagrad(p),
}


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))


def test_every_named_optimizer_is_checked_against_torch():
    assert set(OPTIMIZER_CTORS) == set(OPTIMIZERS)


@pytest.mark.parametrize("name", sorted(OPTIMIZER_CTORS))
def test_gradients_and_optimizer_state_match_a_real_step(audit, name):
    model, oracle = mlp(), mlp()
    oracle.load_state_dict(model.state_dict())
    for m in (model, oracle):
        m[2].bias.requires_grad_(False)  # frozen: no gradient, no state
    s = summary(audit(model), (2, 8), optimizer=name, verbose=0)

    opt = OPTIMIZER_CTORS[name]([p for p in oracle.parameters() if p.requires_grad])
    oracle(rand(2, 8)).sum().backward()
    opt.step()
    grads = sum(
        p.grad.numel() * p.grad.element_size() for p in oracle.parameters() if p.grad is not None
    )
    state = sum(
        v.numel() * v.element_size()
        for per_param in opt.state.values()
        for v in per_param.values()
        if isinstance(v, torch.Tensor)
    )
    totals = s.tree.totals
    assert (totals.grad_bytes, totals.optimizer_bytes) == (grads, state)
    assert s.training_bytes == (
        totals.input_bytes
        + totals.param_bytes
        + totals.buffer_bytes
        + grads
        + state
        + totals.saved_bytes
    )


def test_saved_activations_closed_form(audit):
    model = audit(mlp())
    s = summary(model, (2, 8), optimizer="sgd", verbose=0)
    # ReLU saves its output (2x16), which Linear 2 saves too (one storage, counted once).
    # Linear 0 saves its input x (2x8), an input of the pass, not an activation (it is in
    # input_bytes); weights are parameters.
    assert s.tree.totals.saved_bytes == 2 * 16 * 4
    assert s.tree.totals.input_bytes == 2 * 8 * 4


def _made_by_forward_and_kept(model: nn.Module, x: torch.Tensor) -> tuple[int, int]:
    """Bytes the CPU allocator handed out during a forward with grad and that are still
    held after it (what autograd saved, and the output), by torch's profiler; and the
    output's bytes."""
    from torch.profiler import ProfilerActivity, profile

    with torch.enable_grad(), profile(activities=[ProfilerActivity.CPU], profile_memory=True) as p:
        out = model(x)
    kept = sum(event.self_cpu_memory_usage for event in p.events())
    return kept, out.numel() * out.element_size()


def _small_vit() -> nn.Module:
    import torchvision

    return torchvision.models.VisionTransformer(32, 8, 2, 4, 64, 128)


def _small_resnet() -> nn.Module:
    import torchvision

    return torchvision.models.resnet18(num_classes=10)


@pytest.mark.parametrize("mode", ["eval", "train"])
@pytest.mark.parametrize(
    "make, shape",
    [(mlp, (2, 8)), (_small_resnet, (2, 3, 32, 32)), (_small_vit, (2, 3, 32, 32))],
    ids=["mlp", "resnet18", "vit"],
)
def test_saved_activations_equal_what_the_allocator_keeps_after_forward(make, shape, mode):
    """An oracle outside autograd's hooks: after a forward with grad, the memory the pass
    allocated and still holds is what autograd saved plus the output (a last linear layer
    does not save its output). Dropout masks and batch statistics included in train mode."""
    torch.manual_seed(0)
    model = make().train(mode == "train")
    s = summary(model, shape, optimizer="sgd", mode="same", verbose=0)
    torch.manual_seed(0)  # the same dropout draws
    kept, output = _made_by_forward_and_kept(model, torch.rand(shape))
    assert s.tree.totals.saved_bytes == kept - output


def test_saved_activations_are_dtype_aware(audit):
    model = audit(mlp().to(torch.bfloat16))
    s = summary(model, (2, 8), dtypes=[torch.bfloat16], optimizer="adam", verbose=0)
    totals = s.tree.totals
    assert totals.saved_bytes == 2 * 16 * 2
    params = sum(p.numel() for p in model.parameters())
    assert totals.param_bytes == totals.grad_bytes == params * 2
    assert totals.optimizer_bytes == 2 * params * 2 + 4 * len(list(model.parameters()))


def test_training_estimate_in_footer_and_to_dict(audit):
    model = audit(mlp())
    s = summary(model, (2, 8), optimizer="Adam", verbose=0)
    text = str(s)
    for label in (
        "Training estimate (adam):",
        "Gradients:",
        "Optimizer state:",
        "Activations saved for backward:",
        "Estimated training size:",
    ):
        assert label in text
    training = s.to_dict()["training"]
    t = s.tree.totals
    assert training == {
        "optimizer": "adam",
        "input_bytes": t.input_bytes,
        "param_bytes": t.param_bytes,
        "buffer_bytes": t.buffer_bytes,
        "grad_bytes": t.grad_bytes,
        "optimizer_bytes": t.optimizer_bytes,
        "saved_activation_bytes": t.saved_bytes,
        "total_bytes": s.training_bytes,
    }


def test_no_training_estimate_by_default(audit):
    s = summary(audit(mlp()), (2, 8), verbose=0)
    assert s.training_bytes is None
    assert s.to_dict()["training"] is None
    assert "Training estimate" not in str(s)


def test_training_estimate_leaves_grad_mode_and_model_alone(audit):
    model = audit(mlp())
    with torch.no_grad():
        summary(model, (2, 8), optimizer="adam", verbose=0)
    assert all(p.grad is None for p in model.parameters())


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_training_estimate_inside_inference_mode_equals_outside(mode, audit):
    """Autograd records nothing in inference mode: the estimate's pass leaves that mode,
    also for inputs made inside it (inference tensors, which autograd cannot save)."""
    model = audit(
        nn.Sequential(
            nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(144, 2)
        )
    )
    x = rand(2, 3, 8, 8)
    outside = summary(model, input_data=x, mode=mode, optimizer="adam", verbose=0).to_dict()
    assert outside["training"]["saved_activation_bytes"] > 0
    with torch.inference_mode():
        by_size = summary(model, (2, 3, 8, 8), mode=mode, optimizer="adam", verbose=0)
        by_data = summary(model, input_data=x.clone(), mode=mode, optimizer="adam", verbose=0)
        assert torch.is_inference_mode_enabled()
    assert by_size.to_dict() == by_data.to_dict() == outside


class InPlaceAndViews(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(8, 8)
        self.act = nn.ReLU(inplace=True)
        self.flat = nn.Flatten()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.flat(self.act(self.fc(x)).view(2, 2, 8))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
def test_forward_activations_count_views_and_in_place_once(audit, dtype):
    model = audit(InPlaceAndViews().to(dtype))
    s = summary(model, (4, 8), dtypes=[dtype], verbose=0)
    size = torch.empty(0, dtype=dtype).element_size()
    # fc's output; ReLU(inplace) returns the same storage; the view and flatten alias it
    assert s.total_output_bytes == 4 * 8 * size
    assert s.total_input == 4 * 8 * size
    assert s.total_param_bytes == (8 * 8 + 8) * size


def test_optimizer_is_keyword_only_and_validated_before_the_pass():
    calls = []

    class Counting(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            calls.append(1)
            return x

    param = inspect.signature(summary).parameters["optimizer"]
    assert param.kind is inspect.Parameter.KEYWORD_ONLY
    with pytest.raises(ValueError, match="optimizer must be one of"):
        summary(Counting(), (1, 2), optimizer="lion", verbose=0)
    with pytest.raises(TypeError, match="optimizer must be a string"):
        summary(Counting(), (1, 2), optimizer=torch.optim.Adam, verbose=0)
    assert calls == []


def test_no_cuda_peak_off_cuda(audit):
    s = summary(audit(mlp()), (2, 8), verbose=0)
    assert s.peak_bytes is None
    assert s.to_dict()["totals"]["cuda_peak_bytes"] is None
    assert "CUDA peak" not in str(s)


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_peak_is_measured_beside_the_estimate(audit):
    model = audit(mlp().cuda().half())
    s = summary(model, (64, 8), dtypes=[torch.float16], optimizer="adam", verbose=0)
    assert s.peak_bytes is not None
    assert s.peak_bytes >= s.total_param_bytes + s.total_output_bytes
    assert "Measured CUDA peak during the pass" in str(s)


# -- the opt-in time column -------------------------------------------------------------
class CountingNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.passes = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.passes += 1
        return self.fc(self.fc(x))


def test_default_summary_runs_one_pass_and_times_nothing(audit):
    model = audit(CountingNet())
    s = summary(model, (1, 4), verbose=0)
    assert model.passes == 1
    assert all(layer.time_s is None for layer in s.layers)


def test_time_column_times_warmed_up_repeats(audit):
    model = audit(CountingNet())
    s = summary(model, (1, 4), col_names=("output_size", "time"), verbose=0)
    assert model.passes == 1 + 1 + 3  # traced pass, one warm-up, three timed repeats
    times = {layer.path: layer.time_s for layer in s.layers}
    assert set(times) == {"", "fc"}
    assert all(t is not None and t > 0 for t in times.values())
    assert times[""] >= times["fc"]  # the root's time includes its children's
    assert s.to_dict()["layers"][1]["time_s"] == times["fc"]
    assert "Time" in str(s).splitlines()[1]


def test_saved_activations_on_the_meta_device_skip_parameter_views():
    model = mlp().to("meta")  # no values: the audit's value comparison cannot run here
    s = summary(model, (2, 8), optimizer="sgd", verbose=0)
    # as on the CPU: addmm saves weight.t(), a view of a parameter, which is not an
    # activation, and the input, which is not one either
    assert s.tree.totals.saved_bytes == 2 * 16 * 4


class _ViewOfChild(nn.Module):
    """Returns a view of its child's output; on a 3-D input that output is itself a view
    (of the 2-D product ``nn.Linear`` computes), which dies when the view is taken."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(10, 20)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x).view(-1, 20)


def _distinct_output_bytes(model: nn.Module, x: torch.Tensor) -> int:
    """The truth without the tracer: every module's outputs, kept alive (so no address is
    reused), summed once per distinct storage."""
    outputs: list[torch.Tensor] = []
    handles = [m.register_forward_hook(lambda m, i, o: outputs.append(o)) for m in model.modules()]
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in outputs}
    return sum(storages.values())


@pytest.mark.parametrize("shape", [(100, 10), (2, 50, 10)], ids=["2d", "3d"])
def test_a_view_of_a_childs_output_counts_its_storage_once(audit, shape):
    model = _ViewOfChild()
    truth = _distinct_output_bytes(model, torch.zeros(shape))
    assert truth == 100 * 20 * 4
    s = summary(audit(model), shape, verbose=0)
    assert s.to_dict()["totals"]["activation_bytes"] == truth


# -- the optimizer object itself (issue 25 item 3) ------------------------------------------

OBJECT_CTORS = {
    "sgd": lambda groups: torch.optim.SGD(groups, lr=0.1),
    "sgd-momentum": lambda groups: torch.optim.SGD(groups, lr=0.1, momentum=0.9),
    "adam": lambda groups: torch.optim.Adam(groups),
    "adamw-amsgrad": lambda groups: torch.optim.AdamW(groups, amsgrad=True),
    "rmsprop-centered": lambda groups: torch.optim.RMSprop(groups, centered=True, momentum=0.5),
    "adagrad": lambda groups: torch.optim.Adagrad(groups),
    "nadam": lambda groups: torch.optim.NAdam(groups),
    "adam-groups-differ": lambda groups: torch.optim.Adam(
        [groups[0], {**groups[1], "amsgrad": True}]
    ),
}


def three_layers() -> nn.Sequential:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(), nn.Linear(16, 4)
    )


def real_state_bytes(opt: torch.optim.Optimizer, model: nn.Module) -> int:
    """The bytes of the state the optimizer holds now, for the model's parameters."""
    mine = {id(p) for p in model.parameters()}
    return sum(
        v.numel() * v.element_size()
        for p, per_param in opt.state.items()
        if id(p) in mine
        for v in per_param.values()
        if isinstance(v, torch.Tensor)
    )


def one_step(model: nn.Module, opt: torch.optim.Optimizer) -> None:
    opt.zero_grad()
    model(rand(2, 8)).sum().backward()
    opt.step()


@pytest.mark.parametrize("name", sorted(OBJECT_CTORS))
def test_optimizer_object_state_matches_its_real_step(name):
    """Layer 0 frozen but in a group, layer 2 trainable in another group, the head
    trainable in none: only layer 2 gets state, as a real step shows."""
    model = three_layers()
    model[0].requires_grad_(False)
    opt = OBJECT_CTORS[name](
        [{"params": list(model[0].parameters())}, {"params": list(model[2].parameters())}]
    )
    weights = {k: v.clone() for k, v in model.state_dict().items()}
    state = {id(p): {k: v.clone() for k, v in st.items()} for p, st in opt.state.items()}
    before = summary(model, (2, 8), optimizer=opt, verbose=0).tree.totals
    # the optimizer, the weights and the gradients as they were (Adagrad has state at once)
    assert {id(p): dict(st) for p, st in opt.state.items()}.keys() == state.keys()
    for p, st in opt.state.items():
        assert all(torch.equal(v, state[id(p)][k]) for k, v in st.items())
    assert all(torch.equal(v, weights[k]) for k, v in model.state_dict().items())
    assert all(p.grad is None for p in model.parameters())

    one_step(model, opt)
    truth = real_state_bytes(opt, model)
    grads = sum(
        p.grad.numel() * p.grad.element_size() for p in model.parameters() if p.grad is not None
    )
    after = summary(model, (2, 8), optimizer=opt, verbose=0).tree.totals

    assert before.optimizer_bytes == after.optimizer_bytes == truth
    assert before.grad_bytes == grads  # every trainable parameter gets a gradient
    assert before.optimizer == type(opt).__name__
    assert before.not_in_optimizer == ("4.weight", "4.bias")
    assert before.frozen_in_optimizer == ("0.weight", "0.bias")


def test_optimizer_state_after_steps_is_read_as_it_is():
    """After steps the state is the optimizer's own (Adam's step count included), and a
    parameter with state that is no longer the model's is left out."""
    model = three_layers()
    opt = torch.optim.Adam(model.parameters())
    for _ in range(3):
        one_step(model, opt)
    old_head = model[4]
    model[4] = nn.Linear(16, 4)
    opt.add_param_group({"params": list(model[4].parameters())})
    s = summary(model, (2, 8), optimizer=opt, verbose=0)
    one_step(model, opt)
    assert s.tree.totals.optimizer_bytes == real_state_bytes(opt, model)
    assert s.tree.totals.not_in_optimizer == ()
    assert all(p in opt.state for p in old_head.parameters())  # held, but not the model's


def test_optimizer_object_in_footer_and_to_dict():
    model = three_layers()
    opt = torch.optim.SGD(model[0].parameters(), lr=0.1, momentum=0.9)
    s = summary(model, (2, 8), optimizer=opt, verbose=0)
    text = str(s)
    assert "Training estimate (SGD):" in text
    assert (
        "Trainable, in no param group (never updated): 2.weight, 2.bias, 4.weight, 4.bias" in text
    )
    training = s.to_dict()["training"]
    assert training["optimizer"] == "SGD"
    assert training["not_in_optimizer"] == ["2.weight", "2.bias", "4.weight", "4.bias"]
    assert training["frozen_in_optimizer"] == []


def test_optimizer_that_cannot_be_foreseen_is_refused_before_the_pass():
    model = CountingNet()
    opt = torch.optim.ASGD(model.parameters())  # its step reads a value: not on meta
    with pytest.raises(ValueError, match="cannot foresee the state ASGD keeps"):
        summary(model, (2, 4), optimizer=opt, verbose=0)
    assert model.passes == 0 and not opt.state
    model(torch.ones(2, 4)).sum().backward()
    opt.step()  # with state, it is read as it is
    s = summary(model, (2, 4), optimizer=opt, verbose=0)
    assert s.tree.totals.optimizer_bytes == real_state_bytes(opt, model)
