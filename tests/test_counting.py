"""Counting rules on models with known answers, checked against closed forms and autograd."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from modelsummary import summary
from tests import models as M
from tests.conftest import backward_reached, check_invariants, unique_numel, used_names


def test_tied_embedding_and_head_count_once(audit):
    model = audit(M.TiedLM())
    tokens = torch.zeros(1, 5, dtype=torch.long)
    s = summary(model, input_data=tokens, verbose=0)
    assert s.total_params == 100 * 16 + 100 == 1_700  # torchinfo 1.8 says 3,300
    embed, head = s.layers[1], s.layers[2]
    assert (embed.path, embed.num_params) == ("embed", 1_600)
    assert (head.path, head.num_params) == ("head", 100)  # its bias only
    assert [(sh.name, sh.param, sh.counted_at) for sh in head.shared] == [
        ("weight", "embed.weight", "embed")
    ]
    assert "[1] head.weight is embed.weight, counted at embed" in str(s)
    check_invariants(s, model)
    assert used_names(s) == backward_reached(model, tokens)


def test_functional_use_marks_parameter_used_though_module_not_called(audit):
    model = audit(M.Functional())
    x = M.rand(2, 8)
    s = summary(model, input_data=x, verbose=0)
    assert s.total_params == 8 * 4 + 4  # proj.weight and scale; proj.bias unused
    assert s.unused_params == 4
    assert s.unused_modules == ()  # proj's weight was used: it is not "unused"
    proj = next(layer for layer in s.layers if layer.path == "proj")
    assert (proj.calls, proj.num_params, proj.used_by) == (0, 32, ("",))
    assert [(e.path, e.type_name, e.params) for e in s.tree.unused] == [
        ("proj.bias", "Parameter", 4)
    ]
    check_invariants(s, model)
    assert used_names(s) == backward_reached(model, x)


def test_loop_counts_parameters_once_and_calls_four_times(audit):
    model = audit(M.Looped())
    s = summary(model, (1, 5), verbose=0)
    assert s.total_params == 30
    assert s.layers[1].calls == 4
    check_invariants(s, model)


def test_siamese_encoder_counted_once(audit):
    model = audit(M.Siamese())
    s = summary(model, [(2, 10), (2, 10)], verbose=0)
    assert s.total_params == (10 * 6 + 6) + (6 * 3 + 3)
    encoder = s.layers[1]
    assert (encoder.path, encoder.calls, encoder.subtree_params) == ("encoder", 2, 87)
    check_invariants(s, model)


@pytest.mark.parametrize(
    "branch, used, unused", [("small", 10, 320), ("big", 320, 10)], ids=["small", "big"]
)
def test_moduledict_branch_chosen_by_kwarg(audit, branch, used, unused):
    model = audit(M.Branches())
    s = summary(model, (1, 4), branch=branch, verbose=0)
    assert (s.total_params, s.unused_params) == (used, unused)
    other = "big" if branch == "small" else "small"
    assert s.unused_modules == (f"branches.{other}",)
    check_invariants(s, model)


def test_module_shared_across_parents(audit):
    model = audit(M.SharedAcrossParents())
    s = summary(model, (1, 6), verbose=0)
    assert s.total_params == 42
    shared = next(layer for layer in s.layers if layer.path == "left.0")
    assert shared.calls == 2  # called from left and from right: one module, one row
    assert [layer.path for layer in s.layers].count("left.0") == 1
    assert "right.0" not in [layer.path for layer in s.layers]
    check_invariants(s, model)


def test_nested_containers_and_unused_branch(audit):
    model = audit(M.Nested())
    s = summary(model, (1, 4), verbose=0)
    assert s.total_params == 4 * 20
    assert s.unused_params == (4 * 100 + 100) + (100 * 4 + 4)
    assert s.unused_modules == ("extra", "extra.0", "extra.1")
    assert [(e.path, e.params) for e in s.tree.unused] == [("extra", 904)]
    stages = next(layer for layer in s.layers if layer.path == "stages")
    assert stages.calls == 0 and stages.subtree_params == 80  # a container, never called itself
    check_invariants(s, model)


def test_depth_folds_rows_into_ancestor_with_unique_counts():
    model = M.Nested()
    s = summary(model, (1, 4), depth=1, verbose=0)
    text = str(s)
    assert "stages (ModuleList)" in text and "80" in text
    assert "(Linear)" not in text.split("Unused")[0]
    deep = summary(model, (1, 4), depth=10, verbose=0)
    assert "stages.0" not in str(deep)  # names are per level
    assert str(deep).count("(Linear)") == 4 + 0


@pytest.mark.parametrize("cell", [nn.RNN, nn.LSTM, nn.GRU], ids=["rnn", "lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True], ids=["uni", "bi"])
def test_recurrent_layers(audit, cell, bidirectional):
    model = audit(cell(10, 20, num_layers=2, bidirectional=bidirectional))
    x = M.rand(5, 3, 10)
    s = summary(model, input_data=x, verbose=0)
    assert s.total_params == unique_numel(model.parameters())
    assert s.unused_params == 0
    check_invariants(s, model)
    assert used_names(s) == backward_reached(model, x)


@pytest.mark.parametrize("mode", ["eval", "train"])
def test_multihead_attention_counts_out_proj_used_functionally(audit, mode):
    model = audit(nn.MultiheadAttention(64, 4))
    q = M.rand(10, 1, 64)
    s = summary(model, input_data=(q, q, q), mode=mode, verbose=0)
    assert s.total_params == 4 * 64 * 64 + 4 * 64 == 16_640
    out_proj = s.layers[1]
    assert (out_proj.path, out_proj.calls, out_proj.num_params) == ("out_proj", 0, 4_160)
    assert s.unused_modules == ()
    check_invariants(s, model)


def test_transformer_encoder_layer(audit):
    model = audit(nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, batch_first=True))
    x = M.rand(2, 7, 32)
    s = summary(model, input_data=x, verbose=0)
    assert s.total_params == unique_numel(model.parameters())
    check_invariants(s, model)
    assert used_names(s) == backward_reached(model, x)


def test_parameter_list_used_functionally_with_one_unused(audit):
    model = audit(M.WithParameterList())
    s = summary(model, (2, 4), verbose=0)
    assert (s.total_params, s.unused_params, s.all_params) == (32, 16, 48)
    assert [(e.path, e.params) for e in s.tree.unused] == [("weights.2", 16)]
    check_invariants(s, model)


def test_lazy_modules_counted_after_materialising():
    model = nn.Sequential(nn.LazyLinear(7), nn.ReLU(), nn.LazyLinear(3))
    s = summary(model, (2, 5), verbose=0)
    assert s.total_params == (5 * 7 + 7) + (7 * 3 + 3)
    check_invariants(s)  # the model itself stays lazy: summary() runs a copy


def test_frozen_layers_split_trainable(audit):
    model = audit(M.Frozen())
    s = summary(model, (4, 10), col_names=["num_params", "trainable"], verbose=0)
    assert s.trainable_params == 20 * 2 + 2
    assert s.non_trainable_params == (10 * 20 + 20) + (20 + 20)
    assert s.total_buffers == 20 + 20 + 1  # running mean, var, num_batches_tracked
    text = str(s)
    assert "False" in text and "True" in text
    check_invariants(s, model)


def test_dict_tuple_none_and_non_tensor_outputs(audit):
    model = audit(M.ManyOutputs())
    s = summary(model, (1, 3), verbose=0)
    assert "{pair: ([1, 2], []), none: None, count: int, label: str}" in str(s)
    out = s.to_dict()["layers"][0]["output"]
    assert out == {
        "pair": [{"shape": [1, 2], "dtype": "float32"}, {"shape": [], "dtype": "float32"}],
        "none": {"type": "NoneType"},
        "count": {"type": "int"},
        "label": {"type": "str"},
    }


def test_several_inputs_of_different_dtypes(audit):
    model = audit(M.MixedInputs())
    s = summary(
        model, [(2, 4), (2,), (2, 4)], dtypes=[torch.float32, torch.long, torch.bool], verbose=0
    )
    assert s.total_params == 40 + 20
    root_inputs = s.to_dict()["layers"][0]["inputs"]
    assert [i["dtype"] for i in root_inputs] == ["float32", "int64", "bool"]
    assert s.total_input == 2 * 4 * 4 + 2 * 8 + 2 * 4 * 1


def test_input_data_as_dict_of_keyword_arguments():
    model = M.MixedInputs()
    data = {
        "x": M.rand(1, 4),
        "ids": torch.zeros(1, dtype=torch.long),
        "mask": torch.zeros(1, 4, dtype=torch.bool),
    }
    s = summary(model, input_data=data, verbose=0)
    assert s.total_params == 60


def test_buffers_counted_apart_from_parameters():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8))
    s = summary(model, (1, 3, 16, 16), verbose=0)
    assert s.total_params == (3 * 8 * 9 + 8) + (8 + 8)
    assert s.total_buffers == 8 + 8 + 1
    assert s.tree.totals.buffer_bytes == (8 + 8) * 4 + 8


def test_sizes_are_exact_bytes():
    model = nn.Linear(10, 10).to(torch.float64)
    s = summary(model, (3, 10), dtypes=[torch.float64], verbose=0)
    assert s.total_input == 3 * 10 * 8
    assert s.total_param_bytes == 110 * 8
    assert s.total_output_bytes == 3 * 10 * 8


def test_views_and_in_place_results_count_once():
    class Views(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.act = nn.ReLU(inplace=True)
            self.flat = nn.Flatten(0)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.flat(self.act(self.fc(x)))

    s = summary(Views(), (2, 4), verbose=0)
    assert s.total_output_bytes == 2 * 4 * 4  # fc's output, reused in place and viewed


def test_to_dict_is_json_serializable_and_complete():
    import json

    s = summary(M.SeedCase3(), (1, 1, 8, 8), verbose=0)
    d = json.loads(json.dumps(s.to_dict()))
    assert d["totals"]["total_params"] == 9
    assert d["totals"]["all_params"] == 18
    assert d["unused"] == [{"path": "conv2", "type": "Conv2d", "params": 9}]
    assert d["unused_modules"] == ["conv2"]
    assert [row["path"] for row in d["layers"]] == ["", "conv1"]
    assert d["layers"][1]["calls"] == 2


def test_namedtuple_and_dataclass_outputs_keep_their_field_names():
    import dataclasses
    from typing import NamedTuple

    class Pair(NamedTuple):
        mean: torch.Tensor
        scale: torch.Tensor

    @dataclasses.dataclass
    class Result:
        pair: Pair
        extra: int

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x: torch.Tensor) -> Result:
            y = self.fc(x)
            return Result(Pair(y, y.exp()), 1)

    s = summary(Net(), (1, 3), verbose=0)
    out = s.to_dict()["layers"][0]["output"]
    assert out["pair"]["mean"] == {"shape": [1, 2], "dtype": "float32"}
    assert out["extra"] == {"type": "int"}
    assert "{pair: {mean: [1, 2], scale: [1, 2]}, extra: int}" in str(s)


def test_hugging_face_model_output_is_walked_as_a_mapping():
    transformers = __import__("transformers")
    config = transformers.BertConfig(
        vocab_size=50,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=16,
    )
    model = transformers.BertModel(config)
    s = summary(model, input_data={"input_ids": torch.zeros(1, 5, dtype=torch.long)}, verbose=0)
    out = s.to_dict()["layers"][0]["output"]
    assert out["last_hidden_state"] == {"shape": [1, 5, 16], "dtype": "float32"}
    assert s.total_params + s.unused_params == unique_numel(model.parameters())
    check_invariants(s, model)


@pytest.mark.parametrize(
    "use",
    [
        lambda x, w: x @ w.t(),
        lambda x, w: x @ w.T,
        lambda x, w: x @ w.mT,
        lambda x, w: x @ w.H,
        lambda x, w: x @ w.data,
        lambda x, w: torch.nn.functional.linear(x, w.T.T),
    ],
    ids=["t()", ".T", ".mT", ".H", ".data", "F.linear(w.T.T)"],
)
def test_weight_used_through_a_tensor_property_counts_as_used(use):
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(3, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return use(x, self.w)

    s = summary(Net(), (2, 3), verbose=0)
    assert (s.total_params, s.unused_params) == (9, 0)


def test_reading_a_weights_shape_or_dtype_is_not_a_use():
    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.ones(3, 3))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (x * self.w.shape[0]).to(self.w.dtype)

    s = summary(Net(), (2, 3), verbose=0)
    assert (s.total_params, s.unused_params) == (0, 9)


def test_one_tensor_under_two_names_of_one_module(audit):
    bn = nn.BatchNorm1d(2)
    bn.bias = bn.weight  # tied within the module (found by the nightly property run)
    model = audit(nn.Sequential(bn, nn.BatchNorm1d(2)))
    s = summary(model, (4, 2), verbose=0)
    assert s.total_params == 2 + 4
    check_invariants(s, model)


def test_kernel_size_column_takes_integer_kernels_and_ignores_anything_else():
    class Custom(nn.Module):
        def __init__(self, kernel_size: object) -> None:
            super().__init__()
            self.kernel_size = kernel_size

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x

    model = nn.Sequential(
        nn.Conv2d(1, 1, 3),  # a tuple of ints: (3, 3)
        nn.MaxPool2d(2),  # an int, for each of the 2 dimensions its class name says: (2, 2)
        nn.AvgPool2d(1),  # (1, 1)
        Custom(2),  # an int, dimensions unknown: (2,)
        Custom((1, "a")),  # not all ints
        Custom("3"),  # neither int nor tuple
        Custom([3, 3]),  # a list: not a kernel
    )
    s = summary(model, (1, 1, 8, 8), verbose=0)
    assert [layer.kernel_size for layer in s.layers[1:]] == [
        (3, 3), (2, 2), (1, 1), (2,), None, None, None,
    ]  # fmt: skip
    pools = nn.Sequential(nn.MaxPool1d(3, stride=1), nn.Unflatten(1, (1, 1)), nn.AvgPool3d(1))
    s = summary(pools, (1, 1, 6), verbose=0)
    assert [layer.kernel_size for layer in s.layers[1:]] == [(3,), None, (1, 1, 1)]


# -- no input: torchinfo's summary(model) ----------------------------------------------
def test_without_an_input_the_model_is_listed_as_registered_and_never_run(audit):
    """torchinfo's ``summary(model)``: no pass, every module shown, every parameter
    counted once where it is first registered (a tied weight once)."""

    class Tied(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Embedding(10, 4)
            self.act = nn.ReLU()
            self.head = nn.Linear(4, 10, bias=False)
            self.head.weight = self.embed.weight
            self.spare = nn.Linear(4, 4)  # would be unused; without a pass nobody can tell

        def forward(self, ids: torch.Tensor) -> torch.Tensor:
            raise AssertionError("no input was given: the forward must not run")

    model = audit(Tied())
    s = summary(model, verbose=0)
    assert s.to_dict()["forward_pass"] is False
    assert s.total_params == s.all_params == unique_numel(model.parameters()) == 40 + 20
    assert s.unused_params == 0 and s.unused_modules == ()
    assert [layer.path for layer in s.layers] == ["", "embed", "act", "head", "spare"]
    assert [layer.num_params for layer in s.layers] == [0, 40, 0, 0, 20]
    assert [sh.counted_at for sh in s.layers[3].shared] == ["embed"]
    assert all(layer.output is None and layer.calls == 0 for layer in s.layers)
    text = str(s)
    assert "Output Shape" not in text and "Param #" in text  # no empty shape column
    assert "nothing ran" in text and "Total mult-adds" not in text
    check_invariants(s, model)


def test_without_an_input_a_forward_with_defaults_does_not_run_either():
    """A Hugging Face forward takes every argument by keyword with a default: with no
    input it would run on nothing and fail; it is listed as registered instead."""
    transformers = __import__("transformers")
    config = transformers.GPT2Config(n_layer=1, n_embd=16, n_head=2, vocab_size=50)
    model = transformers.GPT2LMHeadModel(config)
    s = summary(model, verbose=0)
    assert s.total_params == model.num_parameters()
    # a forward that takes nothing at all still runs
    assert summary(_Constant(), verbose=0).to_dict()["forward_pass"] is True


class _Constant(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.value = nn.Parameter(torch.ones(3))

    def forward(self) -> torch.Tensor:
        return self.value * 2


def test_without_an_input_columns_asked_for_are_kept():
    s = summary(nn.Linear(3, 2), col_names=("kernel_size", "num_params"), verbose=0)
    assert "Kernel Shape" in str(s)
    # a column only a pass fills is refused, as torchinfo refuses it (issue 14)
    with pytest.raises(ValueError, match="output_size needs a forward pass"):
        summary(nn.Linear(3, 2), col_names=("output_size", "num_params"), verbose=0)
    # a lazy module is listed, its parameters unsized (issue 25)
    assert summary(nn.LazyLinear(2), verbose=0).tree.uninitialised == ("weight", "bias")


class _Uninitialised(nn.Module):
    """Uninitialised tensors on a plain module, not a lazy one: nothing materialises them."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(2, 2)
        self.param = nn.UninitializedParameter()
        self.register_buffer("stat", nn.UninitializedBuffer())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def test_without_an_input_uninitialised_tensors_are_named_not_a_crash():
    """``nn.UninitializedParameter`` has no size until something gives it one: without a
    pass it is listed by name and counted apart, as torchinfo lists the model (it used to
    fail inside ``numel``, then was refused; issue 25)."""
    model = _Uninitialised()
    s = summary(model, verbose=0)
    assert s.tree.uninitialised == ("param", "stat")
    assert s.total_params == sum(p.numel() for p in model.fc.parameters())
    assert "param, stat" in str(s)
    assert isinstance(model.param, nn.UninitializedParameter)  # left as it was
