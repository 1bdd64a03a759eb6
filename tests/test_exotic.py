"""Wrappers, compiled and scripted modules, parametrizations, odd outputs and odd inputs.

Each model is checked against the autograd oracle or tensor identities where one
applies, and the ``audit`` fixture asserts nothing about it changed.
"""

from __future__ import annotations

import warnings
from typing import ClassVar

import pytest
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.utils import parametrizations, prune

from modelsummary import ModelSummaryError, summary
from tests import models as M
from tests.conftest import backward_reached, check_invariants, unique_numel, used_names


def small() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))


# -- wrappers ------------------------------------------------------------------------------


def test_torch_compile_counts_the_original_module(audit):
    # backend="eager": dynamo still wraps the model in OptimizedModule and captures
    # the graph, but skips inductor's C++ compile, which takes ~40 s on 2 CPU cores.
    inner, plain = small(), summary(small(), (2, 4), verbose=0)
    model = audit(torch.compile(inner, backend="eager"))
    with warnings.catch_warnings():
        # torch.compile warns if process-wide module hooks exist (ours, or ones a
        # previous summary left behind); a summary of a compiled model must not.
        warnings.simplefilter("error")
        s = summary(model, (2, 4), verbose=0)
    assert type(model).__name__ == "OptimizedModule"
    assert (s.total_params, s.all_params) == (plain.total_params, unique_numel(inner.parameters()))
    assert [layer.path for layer in s.layers] == [
        "",
        "_orig_mod",
        "_orig_mod.0",
        "_orig_mod.1",
        "_orig_mod.2",
    ]
    check_invariants(s, model)


def test_data_parallel_on_cpu_counts_the_wrapped_module(audit):
    model = audit(nn.DataParallel(small()))
    x = M.rand(2, 4)
    s = summary(model, input_data=x, verbose=0)
    assert s.total_params == unique_numel(model.module.parameters()) == 4 * 3 + 3 + 3 * 2 + 2
    assert s.layers[1].path == "module"
    assert used_names(s) == backward_reached(model, x)
    check_invariants(s, model)


@pytest.fixture
def gloo_group(tmp_path):
    """A single-process gloo process group (world size 1) on CPU."""
    dist.init_process_group(
        "gloo", init_method=f"file://{tmp_path / 'store'}", rank=0, world_size=1
    )
    yield
    dist.destroy_process_group()


def test_distributed_data_parallel_single_process(gloo_group, audit):
    model = audit(nn.parallel.DistributedDataParallel(small()))
    x = M.rand(2, 4)
    s = summary(model, input_data=x, verbose=0)
    assert s.total_params == unique_numel(model.module.parameters())
    assert s.layers[1].path == "module"
    assert used_names(s) == backward_reached(model, x)
    check_invariants(s, model)


# -- TorchScript ---------------------------------------------------------------------------


def script(module: nn.Module) -> torch.jit.ScriptModule:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # torch.jit.script is deprecated
        return torch.jit.script(module)  # type: ignore[no-any-return]


class WithScripted(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = script(nn.Sequential(nn.Linear(4, 3), nn.ReLU()))
        self.head = nn.Linear(3, 2)
        self.spare = script(nn.Linear(3, 3))  # never called

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.encoder(x))


def test_scripted_child_counted_and_marked_not_traced(audit):
    model = audit(WithScripted())
    x = M.rand(2, 4)
    s = summary(model, input_data=x, verbose=0)
    rows = {layer.path: layer for layer in s.layers}
    assert rows["encoder"].subtree_params == 4 * 3 + 3
    assert not rows["encoder"].traced and not rows["encoder.0"].traced
    assert rows["head"].traced
    assert s.total_params == 15 + 8
    assert s.unused_params == 12 and s.unused_modules == ("spare",)  # never called
    assert rows["encoder"].calls == 1 and rows["encoder"].output.shape == (2, 3)
    assert used_names(s) == backward_reached(model, x) - {"spare.weight", "spare.bias"}
    assert "encoder (RecursiveScriptModule) [not traced]" in str(s)
    check_invariants(s, model)


def test_scripted_root_counts_all_its_parameters(audit):
    model = audit(script(small()))
    s = summary(model, (2, 4), verbose=0)
    assert s.total_params == s.all_params == unique_numel(model.parameters())
    assert s.unused_modules == ()
    assert not any(layer.traced for layer in s.layers)
    check_invariants(s, model)


# -- lazy, parametrized, pruned ------------------------------------------------------------


def test_lazy_modules_counted_after_materialising_and_model_stays_lazy():
    model = nn.Sequential(nn.LazyConv2d(4, 3), nn.Flatten(), nn.LazyLinear(2))
    s = summary(model, (1, 3, 6, 6), verbose=0)
    conv, linear = 3 * 4 * 3 * 3 + 4, 4 * 4 * 4 * 2 + 2
    assert s.total_params == s.all_params == conv + linear
    assert [layer.type_name for layer in s.layers[1:]] == ["Conv2d", "Flatten", "Linear"]
    # the user's model is not materialised by the summary
    assert type(model[0]) is nn.LazyConv2d and type(model[2]) is nn.LazyLinear
    assert all(nn.parameter.is_lazy(p) for p in model.parameters())


@pytest.mark.parametrize(
    "wrap",
    [
        parametrizations.weight_norm,
        parametrizations.spectral_norm,
        parametrizations.orthogonal,
        lambda m: prune.l1_unstructured(m, "weight", amount=0.5),
        lambda m: prune.random_unstructured(m, "bias", amount=0.5),
    ],
    ids=["weight_norm", "spectral_norm", "orthogonal", "prune_weight", "prune_bias"],
)
@pytest.mark.parametrize("mode", ["eval", "train"])
def test_parametrized_and_pruned_weights_counted_as_used(audit, wrap, mode):
    model = nn.Sequential(nn.Linear(4, 4), nn.Tanh())
    wrap(model[0])
    audit(model)
    x = M.rand(2, 4)
    s = summary(model, input_data=x, mode=mode, verbose=0)
    assert used_names(s) == backward_reached(model, x)
    assert s.total_params == s.all_params == unique_numel(model.parameters())
    check_invariants(s, model)


def test_old_style_weight_norm_pre_hook_use_is_counted(audit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        layer = nn.utils.weight_norm(nn.Linear(4, 3))  # weight = g * v / |v| in a pre-hook
    model = audit(nn.Sequential(layer))
    x = M.rand(2, 4)
    s = summary(model, input_data=x, verbose=0)
    assert used_names(s) == backward_reached(model, x) == {"0.bias", "0.weight_g", "0.weight_v"}
    assert s.layers[1].num_params == 3 + 3 + 12  # carried by the module whose hook used them


# -- dtypes, memory formats ----------------------------------------------------------------


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_low_and_high_precision_models(audit, dtype):
    model = audit(nn.Sequential(nn.Linear(8, 4), nn.LayerNorm(4)).to(dtype))
    s = summary(model, (2, 8), dtypes=[dtype], verbose=0)
    size = torch.tensor([], dtype=dtype).element_size()
    assert s.total_params == 8 * 4 + 4 + 4 + 4
    assert s.total_param_bytes == s.total_params * size
    assert s.total_input == 2 * 8 * size
    assert s.to_dict()["layers"][1]["output"]["dtype"] == str(dtype).removeprefix("torch.")


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_input_size_takes_the_dtype_of_the_models_floating_parameters(audit, dtype):
    """A ``.half()`` model given only ``input_size`` runs on half inputs, not float32
    ones that its first layer would refuse (torchinfo needs ``dtypes=[...]`` for it)."""
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Flatten(), nn.Linear(4 * 6 * 6, 2))
    model = audit(model.to(dtype))
    s = summary(model, (2, 3, 8, 8), verbose=0)
    assert s.layers[1].inputs.items[0].dtype == str(dtype).removeprefix("torch.")
    assert s.total_input == 2 * 3 * 8 * 8 * torch.tensor([], dtype=dtype).element_size()
    # dtypes given still win (an integer input is zeros)
    assert summary(model, (2, 3, 8, 8), dtypes=[dtype], verbose=0).total_input == s.total_input


def test_input_size_of_a_mixed_precision_model_takes_its_first_parameters_dtype(audit):
    """bfloat16 layers with a float32 norm at the end (kept in float32 for stability):
    the first layer meets the input, so the input is bfloat16."""

    class Mixed(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4).to(torch.bfloat16)
            self.norm = nn.LayerNorm(4)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.norm(self.fc(x).float())

    s = summary(audit(Mixed()), (2, 4), verbose=0)
    assert s.layers[0].inputs.items[0].dtype == "bfloat16"
    assert s.total_input == 2 * 4 * 2


@pytest.mark.parametrize("made", [True, False], ids=["input_size", "input_data"])
def test_an_input_of_the_wrong_dtype_is_explained_when_the_summary_made_it(made):
    model = nn.Sequential(nn.Embedding(10, 4), nn.Linear(4, 2))
    given = {"input_size": (2, 5)} if made else {"input_data": torch.zeros(2, 5)}
    with pytest.raises(ModelSummaryError, match="'indices'") as info:
        summary(model, verbose=0, **given)
    assert ("dtypes=[torch.long]" in str(info.value)) == made
    assert summary(model, (2, 5), dtypes=[torch.long], verbose=0).total_params == 40 + 10


def test_dynamically_quantized_model_runs_and_matches_its_parameters(audit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization deprecations
        model = torch.ao.quantization.quantize_dynamic(small(), {nn.Linear}, dtype=torch.qint8)
    audit(model)
    s = summary(model, (2, 4), verbose=0)
    # Packed int8 weights are not nn.Parameters (model.parameters() is empty): they are
    # counted as the module's own, as the float model before quantization (issue 22).
    assert unique_numel(model.parameters()) == 0
    with torch.random.fork_rng():  # the audit holds the global RNG stream too
        float_params = unique_numel(small().parameters())
    assert s.all_params == s.total_params == float_params > 0
    assert [layer.type_name for layer in s.layers[1:]] == ["Linear", "ReLU", "Linear"]
    assert s.layers[-1].output.shape == (2, 2)


def test_channels_last_input(audit):
    model = audit(nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8)))
    model.to(memory_format=torch.channels_last)
    x = M.rand(2, 3, 8, 8).to(memory_format=torch.channels_last)
    s = summary(model, input_data=x, verbose=0)
    assert s.total_params == 3 * 8 * 9 + 8 + 8 + 8
    assert s.layers[2].output.shape == (2, 8, 6, 6)
    assert s.total_input == x.numel() * 4
    check_invariants(s, model)


# -- unusual outputs -----------------------------------------------------------------------


class Returns(nn.Module):
    def __init__(self, make) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 3)
        self.make = make

    def forward(self, x: torch.Tensor) -> object:
        return self.make(self.fc(x))


@pytest.mark.parametrize(
    "make, shown",
    [
        (lambda y: (t for t in (y, y)), "generator"),
        (lambda y: None, "None"),
        (lambda y: 7, "int"),
        (lambda y: "label", "str"),
        (lambda y: torch.distributions.Normal(y, 1.0), "Normal"),
        (lambda y: torch.distributions.Categorical(logits=y), "Categorical"),
    ],
    ids=["generator", "none", "int", "str", "normal", "categorical"],
)
def test_non_tensor_outputs_are_named_by_type(audit, make, shown):
    model = audit(Returns(make))
    s = summary(model, (2, 4), verbose=0)
    assert s.total_params == 15
    assert s.layers[0].output.type_name == shown.replace("None", "NoneType")
    assert shown in str(s)
    check_invariants(s, model)


# -- hooks, recursion, in-place ------------------------------------------------------------


def test_user_hooks_that_replace_input_and_output_run_once_and_stay(audit):
    model = nn.Sequential(nn.Linear(4, 3), nn.Linear(1, 2))
    calls = {"pre": 0, "post": 0}

    def pre(module, args):
        calls["pre"] += 1
        return (args[0] * 2,)

    def post(module, args, output):
        calls["post"] += 1
        return output[:, :1]  # replaces the output: (2, 3) -> (2, 1)

    model[0].register_forward_pre_hook(pre)
    model[0].register_forward_hook(post)
    audit(model)  # the hooks are part of the snapshot: still there afterwards
    s = summary(model, (2, 4), verbose=0)
    assert calls == {"pre": 1, "post": 1}
    assert s.layers[1].output.shape == (2, 1)  # the replaced output, as the next layer saw it
    assert s.total_params == 15 + 4
    check_invariants(s, model)


class Recursive(nn.Module):
    """Calls itself ``depth`` times; its one Linear runs at each level."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)

    def forward(self, x: torch.Tensor, depth: int = 2) -> torch.Tensor:
        y = self.fc(x)
        return y if depth == 0 else self(y, depth - 1)


def test_module_that_calls_itself(audit):
    model = audit(Recursive())
    x = M.rand(2, 4)
    s = summary(model, input_data=x, verbose=0)
    assert (s.layers[0].calls, s.layers[1].calls) == (3, 3)
    assert s.total_params == 20
    assert used_names(s) == backward_reached(model, x)
    check_invariants(s, model)


class InPlace(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.act = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x.mul_(2)  # in place on the input
        return self.act(self.fc(x))


def test_in_place_ops_on_inputs_and_outputs(audit):
    model = audit(InPlace())
    s = summary(model, (3, 4), verbose=0)
    assert s.total_params == 20
    # fc's output and the in-place ReLU's result share one storage: counted once
    assert s.total_output_bytes == 3 * 4 * 4
    check_invariants(s, model)


@pytest.mark.parametrize(
    "build, shape",
    [
        (lambda: M.SeedCase3(), (1, 1, 8, 8)),
        (lambda: __import__("torchvision").models.resnet18(), (1, 3, 32, 32)),
        (lambda: nn.TransformerEncoderLayer(16, 2, 32, batch_first=True), (2, 5, 16)),
    ],
    ids=["seed3", "resnet18", "encoder_layer"],
)
def test_hooks_on_each_module_give_the_same_summary(monkeypatch, audit, build, shape):
    """The path taken for compiled models, and on a torch whose process-wide hooks take no
    keyword arguments, counts what the process-wide hooks count."""
    from modelsummary._trace import tracer as _tracer

    model = audit(build().eval())
    expected = summary(model, shape, verbose=0).to_dict()
    monkeypatch.setattr(_tracer, "_GLOBAL_HOOKS_TAKE_KWARGS", False)
    assert summary(model, shape, verbose=0).to_dict() == expected


class _Logged(torch.Tensor):
    """A tensor subclass that sees the operators it takes part in, as quantized and
    distributed weight types do through ``__torch_function__``."""

    seen: ClassVar[list[str]] = []

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        cls.seen.append(getattr(func, "__name__", str(func)))
        return super().__torch_function__(func, types, args, kwargs or {})


def test_a_leaf_with_a_tensor_subclass_weight_runs_through_the_subclass(audit):
    """A standard leaf's call runs with torch functions off, except when it holds a
    subclass: that weight handles the operator itself, in the model and in the summary."""
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    model[0].weight = nn.Parameter(model[0].weight.detach().as_subclass(_Logged))
    x = torch.rand(2, 4)
    _Logged.seen.clear()
    with torch.no_grad():
        expected = model(x)
    assert "linear" in _Logged.seen  # the model's own call goes through the subclass
    _Logged.seen.clear()
    audit(model)
    s = summary(model, input_data=x, verbose=0)
    assert "linear" in _Logged.seen
    assert s.total_params == 15 and s.layers[1].mult_adds == 2 * 4 * 3
    assert s.layers[1].output.shape == tuple(expected.shape)


class _OperatorLog(torch.overrides.TorchFunctionMode):
    """A user's own torch-function mode: logs the operators it sees while ``recording``."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[str] = []
        self.recording = False

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        name = getattr(func, "__name__", str(func))
        if self.recording and name not in ("__get__", "size", "dim"):  # shapes: not compute
            self.seen.append(name)
        return func(*args, **(kwargs or {}))


class _Recorded(nn.Module):
    """Runs ``inner`` with the log recording: its operators, not the summary's own."""

    def __init__(self, inner: nn.Module, log: list[_OperatorLog]) -> None:
        super().__init__()
        self.inner = inner
        self.log = log

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.log[-1].recording = True
        try:
            return self.inner(x)
        finally:
            self.log[-1].recording = False


class _AttentionNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv1d(8, 8, 3, padding=1)
        self.norm = nn.BatchNorm1d(8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.head = nn.Linear(8, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.norm(self.conv(x)).transpose(1, 2)
        y, _ = self.attn(y, y, y, need_weights=False)
        return self.head(y.relu())


def test_a_users_torch_function_mode_sees_the_models_operators(audit):
    """Under the user's own mode the pass runs the operators the model runs, each seen
    by that mode: no leaf runs with torch functions off, and MultiheadAttention takes
    the unfused path that the mode makes it take anyway."""
    logs: list[_OperatorLog] = [_OperatorLog(), _OperatorLog()]
    model = _Recorded(_AttentionNet().eval(), logs[:1])
    x = torch.rand(2, 8, 5)
    plain = summary(model, input_data=x, verbose=0)
    audit(model)
    with torch.no_grad(), logs[0]:
        model(x)
    model.log[0] = logs[1]
    with logs[1]:
        s = summary(model, input_data=x, verbose=0)
    bare, during = logs[0].seen, logs[1].seen
    assert {"conv1d", "batch_norm", "multi_head_attention_forward", "linear"} <= set(bare)
    assert sorted(during) == sorted(bare)
    assert s.to_dict() == plain.to_dict()  # the same numbers, by the slower route


def test_summary_inside_a_device_context(audit):
    """``with torch.device(...)`` around a summary: a CPU model is still summarised on the
    CPU with the usual inputs, and a model built in a meta context is summarised there."""
    model = audit(nn.Sequential(nn.Linear(8, 4), nn.BatchNorm1d(4), nn.ReLU()))
    outside = summary(model, (2, 8), verbose=0).to_dict()
    with torch.device("meta"):
        assert summary(model, (2, 8), verbose=0).to_dict() == outside
        built_on_meta = nn.Sequential(nn.Linear(8, 4), nn.BatchNorm1d(4), nn.ReLU())
        assert summary(built_on_meta, (2, 8), verbose=0).to_dict() == outside
