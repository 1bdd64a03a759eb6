"""The operator catalogue: every entry a real operator, the public door to add formulas,
and the operators it must never report as uncounted (losses, assertions, collectives,
profiler markers). Expected counts come from closed forms or from running the
algorithm, never pasted."""

from __future__ import annotations

import contextlib
import datetime
import math
import socket
from collections.abc import Iterator

import pytest
import torch
import transformers
from torch import nn
from torch._ops import OpOverload, OpOverloadPacket
from torch.nn import functional as F
from torch.utils._python_dispatch import TorchDispatchMode

from modelsummary import register_formula, summary, unregister_formula
from modelsummary._trace.catalogue import _Builder, _key, current_catalogue
from modelsummary._trace.tracer import Tracer
from tests.models import rand, tiny_gpt2
from tests.test_mult_adds import Call, _every_op_agrees

aten = torch.ops.aten

# The Python modules of torch and the libraries that define operators the catalogue
# names lazily; imported here so that every one of them must resolve.
_DEFINING_MODULES = (
    "torchvision",
    "torch.distributed._functional_collectives",
    "torch.distributed.fsdp",
    "torch.distributed.tensor",
    "bitsandbytes",  # the quantization libraries of the test extras (issue 22)
    "torchao.quantization",
    "optimum.quanto",
)
_COMMUNICATION_NAMESPACES = (
    "c10d",
    "_c10d_functional",
    "_c10d_functional_autograd",
    "fsdp",
    "profiler",
    "_dtensor",
)


def _import_defining_modules() -> None:
    import importlib

    for name in _DEFINING_MODULES:
        importlib.import_module(name)


def _torch_level_objects() -> set[object]:
    """Every callable attribute of the namespaces a torch-level entry may come from, and
    the getters and setters of the properties of tensors."""
    found: set[object] = set()
    for owner in (torch, torch._C, torch.Tensor, torch._C.TensorBase, F, torch.linalg, nn.init):
        for name in dir(owner):
            attr = getattr(owner, name, None)
            if type(attr).__name__ == "getset_descriptor":
                found.update({attr.__get__, attr.__set__})
            elif callable(attr):
                with contextlib.suppress(TypeError):  # unhashable: no catalogue key either
                    found.add(attr)
    return found


# -- the catalogue itself -----------------------------------------------------------------
def test_every_entry_is_a_real_operator_of_the_installed_torch():
    from modelsummary._trace.catalogue import MISSING

    assert MISSING == (), "names the installed torch does not define (a typo?)"
    _import_defining_modules()
    schemas = set(torch._C._dispatch_get_all_op_names())
    packets = {name.partition(".")[0] for name in schemas}
    torch_level = _torch_level_objects()
    kinds: dict[str, int] = {}
    for key, kind in current_catalogue().entries():
        kinds[kind] = kinds.get(kind, 0) + 1
        if isinstance(key, str):  # lazily resolved: now that its library is loaded
            key = _key(key)
            assert not isinstance(key, str), f"{key} does not resolve"
        if isinstance(key, OpOverload):  # one overload: its schema is registered
            assert key.name() in schemas, key
        elif isinstance(key, OpOverloadPacket):
            assert key._qualified_op_name in packets, key
        elif isinstance(key, type):
            assert issubclass(key, nn.Module) and getattr(nn, key.__name__) is key
        else:
            assert callable(key) and key in torch_level, key
    assert kinds["counted"] > 50 and kinds["free"] > 300 and kinds["leaf"] > 30
    assert kinds["communication"] > 30


def test_every_collective_fsdp_and_profiler_operator_has_an_entry():
    _import_defining_modules()
    catalogue = current_catalogue()
    names = [
        name
        for name in torch._C._dispatch_get_all_op_names()
        if name.partition("::")[0] in _COMMUNICATION_NAMESPACES
    ]
    assert len(names) > 40
    for name in names:
        namespace, _, op = name.partition("::")
        packet = getattr(getattr(torch.ops, namespace), op.partition(".")[0])
        overload = getattr(packet, packet.overloads()[0])
        assert catalogue.classify(overload) is True, name


def test_a_duplicate_fails_the_build_and_an_unknown_name_is_set_aside():
    builder = _Builder()
    builder.ops(True, aten.mm)
    with pytest.raises(ValueError, match="twice"):
        builder.ops(True, "aten::mm")
    with pytest.raises(ValueError, match="twice"):
        builder.leaf(lambda m, x, o: 0, nn.ReLU, nn.ReLU)
    builder.ops(True, "aten::mmm")
    builder.ops(True, "c10d::allreduce")  # the namespace is there: a typo
    # Set aside, not raised: an older torch may lack a real operator; the built-in
    # catalogue's list of such names is asserted empty on the tested torch (above).
    assert builder.missing == ["aten::mmm", "c10d::allreduce"]
    builder.ops(True, "notloaded::op")  # a library not loaded: resolved when it is
    assert builder.lazy == {"notloaded.op": True}


# -- the public door ----------------------------------------------------------------------
def bilinear_closed_form(batch: int, in1: int, in2: int, out: int) -> int:
    return batch * in1 * in2 * out  # every weight entry times one x1, x2 pair, per row


def test_bilinear_is_counted_by_default(audit):
    model = audit(nn.Bilinear(5, 6, 7))
    s = summary(model, input_data=[rand(2, 5), rand(2, 6)], verbose=0)
    assert s.total_mult_adds == bilinear_closed_form(2, 5, 6, 7) == 420
    assert s.uncounted_ops == {}


def test_bilinear_agrees_between_the_torch_level_and_the_aten_level():
    model = Call(lambda x1, x2, w: F.bilinear(x1, x2, w))
    _every_op_agrees(model, rand(3, 4, 5), rand(3, 4, 6), rand(7, 5, 6))


def _twice(args, kwargs, out):  # type: ignore[no-untyped-def]
    return 2 * args[0].shape[0] * math.prod(args[1].shape)  # a made-up formula: x2


@pytest.fixture
def registered() -> Iterator[list[object]]:
    """Operators registered process-wide by a test, unregistered after it."""
    ops: list[object] = []
    yield ops
    for op in ops:
        unregister_formula(op)


def test_a_per_call_formula_wins_over_the_process_wide_one_and_leaves_no_trace(registered):
    model = nn.Bilinear(5, 6, 7)
    inputs = [rand(2, 5), rand(2, 6)]
    x1, x2, weight = inputs[0], inputs[1], model.weight
    default = bilinear_closed_form(2, 5, 6, 7)

    def process_wide(args, kwargs, out):  # type: ignore[no-untyped-def]
        return 1

    with pytest.raises(ValueError, match="override=True"):
        register_formula(aten._trilinear, process_wide)  # the built-in one is there
    register_formula(aten._trilinear, process_wide, override=True)
    registered.append(aten._trilinear)
    assert summary(model, input_data=inputs, verbose=0).total_mult_adds == 1
    per_call = summary(model, input_data=inputs, verbose=0, formulas={aten._trilinear: _twice})
    assert per_call.total_mult_adds == 2 * x1.shape[0] * weight.numel() == 2 * default
    assert summary(model, input_data=inputs, verbose=0).total_mult_adds == 1  # no trace
    unregister_formula(aten._trilinear)
    registered.clear()
    assert summary(model, input_data=inputs, verbose=0).total_mult_adds == default
    assert x2.shape == (2, 6)


def test_register_formula_as_a_decorator_on_a_torch_function(registered):
    @register_formula(F.bilinear, override=True)
    def bilinear(args, kwargs, out):  # type: ignore[no-untyped-def]
        return 3

    registered.append(F.bilinear)
    model = Call(lambda x1, x2, w: F.bilinear(x1, x2, w))
    s = summary(model, input_data=[rand(2, 5), rand(2, 6), rand(7, 5, 6)], verbose=0)
    assert s.total_mult_adds == 3


def test_an_aten_formula_of_ones_own_sees_calls_the_torch_level_would_count():
    """F.linear and nn.Linear are counted above the aten level by default; a formula
    for addmm must see their calls all the same."""
    calls: list[tuple[int, ...]] = []

    def addmm(args, kwargs, out):  # type: ignore[no-untyped-def]
        calls.append(tuple(out.shape))
        return 1

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    s = summary(model, (5, 3), verbose=0, formulas={aten.addmm: addmm})
    assert s.total_mult_adds == 2 and calls == [(5, 4), (5, 2)]
    assert s.unused_params == 0
    assert summary(model, (5, 3), verbose=0).total_mult_adds == 5 * 3 * 4 + 5 * 4 * 2


class Scale(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(4))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.weight


def test_a_module_class_formula_counts_its_calls_on_one_tensor():
    model = nn.Sequential(Scale(), nn.Linear(4, 2))
    s = summary(model, (3, 4), verbose=0, formulas={Scale: lambda m, x, out: x.numel()})
    assert s.total_mult_adds == 3 * 4 + 3 * 4 * 2
    assert s.unused_params == 0  # its own weight is noted as used


@pytest.mark.parametrize(
    "formulas, error",
    [
        ([(aten.mm, _twice)], TypeError),
        ({aten.mm: 3}, TypeError),
        ({"aten::no_such_op": _twice}, ValueError),
        ({"no namespace": _twice}, ValueError),
        ({42: _twice}, TypeError),
        ({int: _twice}, TypeError),
    ],
    ids=["not-a-mapping", "not-callable", "unknown-name", "bad-name", "not-an-op", "not-a-module"],
)
def test_bad_formulas_are_refused_before_any_pass(formulas, error):
    ran = []
    model = Call(lambda x: ran.append(x) or x)
    with pytest.raises(error):
        summary(model, (1, 3), verbose=0, formulas=formulas)
    assert ran == []


def test_register_formula_refuses_bad_arguments():
    with pytest.raises(TypeError, match="callable"):
        register_formula(aten.mm, 3, override=True)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="operator"):
        register_formula(3.5, _twice)
    with pytest.raises(ValueError, match="no formula registered"):
        unregister_formula(aten.mm)


# -- operators that do no MACs ------------------------------------------------------------
@pytest.mark.parametrize(
    "op",
    [
        aten.nll_loss_forward.default,
        aten.nll_loss2d_forward.default,
        aten._is_all_true.default,
        aten._is_any_true.default,
        aten._assert_scalar.default,
        aten._functional_assert_async.msg,
        aten._assert_async.default,
        torch.ops.profiler._record_function_enter_new.default,
        torch.ops.profiler._record_function_exit._RecordFunction,
    ],
    ids=str,
)
def test_losses_assertions_and_profiler_markers_are_free(op):
    assert current_catalogue().classify(op) is True


def test_a_language_model_given_labels_has_no_uncounted_operators(audit):
    model = audit(tiny_gpt2())
    tokens = torch.zeros(1, 8, dtype=torch.long)
    s = summary(model, input_data={"input_ids": tokens, "labels": tokens}, verbose=0)
    assert s.uncounted_ops == {}
    without_labels = summary(model, input_data={"input_ids": tokens}, verbose=0)
    assert s.total_mult_adds == without_labels.total_mult_adds  # the loss adds no MACs


# -- triangular solves --------------------------------------------------------------------
def substitution_multiplies(a: torch.Tensor, b: torch.Tensor, *, unit: bool) -> int:
    """Solve ``a x = b`` (lower triangular) by forward substitution, checking the result
    against torch's, and count its multiplications (a division by the diagonal is one)."""
    n, columns = b.shape[-2], b.shape[-1]
    x = torch.zeros_like(b)
    multiplies = 0
    for k in range(columns):
        for i in range(n):
            acc = b[..., i, k].clone()
            for j in range(i):
                acc -= a[..., i, j] * x[..., j, k]
                multiplies += 1
            if not unit:
                acc = acc / a[..., i, i]
                multiplies += 1
            x[..., i, k] = acc
    expected = torch.linalg.solve_triangular(a, b, upper=False, unitriangular=unit)
    torch.testing.assert_close(x, expected)
    return multiplies


@pytest.mark.parametrize("unit", [False, True], ids=["general", "unitriangular"])
def test_solve_triangular_counts_forward_substitution(audit, unit):
    a = torch.tril(rand(6, 6)) + 6 * torch.eye(6)
    b = rand(6, 3)
    per_batch = substitution_multiplies(a, b, unit=unit)
    assert per_batch == 3 * (6 * 5 // 2 + (0 if unit else 6))  # n(n-1)/2 (+ n) per column
    model = audit(
        Call(lambda a, b: torch.linalg.solve_triangular(a, b, upper=False, unitriangular=unit))
    )
    batch_a, batch_b = a.expand(2, 4, 6, 6), b.expand(2, 4, 6, 3)  # 8 systems
    assert summary(model, input_data=[batch_a, batch_b], verbose=0).total_mult_adds == 8 * per_batch


@pytest.mark.filterwarnings("ignore:torch.triangular_solve is deprecated")
def test_solve_triangular_from_the_right_and_the_old_api(audit):
    a = torch.triu(rand(5, 5)) + 5 * torch.eye(5)
    b = rand(4, 5)  # X A = B: each of B's 4 rows is one substitution
    per_row = 5 * 6 // 2
    right = audit(Call(lambda a, b: torch.linalg.solve_triangular(a, b, upper=True, left=False)))
    assert summary(right, input_data=[a, b], verbose=0).total_mult_adds == 4 * per_row
    old = audit(Call(lambda b, a: torch.triangular_solve(b, a).solution))
    s = summary(old, input_data=[b.mT.contiguous(), a], verbose=0)
    assert (s.total_mult_adds, s.uncounted_ops) == (4 * per_row, {})


def test_solve_triangular_agrees_between_the_torch_level_and_the_aten_level():
    model = Call(lambda a, b: torch.linalg.solve_triangular(a, b, upper=False))
    _every_op_agrees(model, torch.tril(rand(2, 5, 5)) + 5 * torch.eye(5), rand(2, 5, 3))


# -- Fourier transforms -------------------------------------------------------------------
def radix2_macs(points: int, transforms: int, *, real: bool) -> int:
    """N/2 log2 N butterflies of one complex multiply (6 FLOPs) and two complex adds
    (4 FLOPs) per complex transform, half for a real one; MACs are half the FLOPs."""
    flops = points // 2 * int(math.log2(points)) * (6 + 4)
    return transforms * (flops // 2 if real else flops) // 2


@pytest.mark.parametrize(
    "fn, shape, dtype, expected",
    [
        (torch.fft.rfft, (3, 8), torch.float32, radix2_macs(8, 3, real=True)),
        (torch.fft.fft, (4, 16), torch.complex64, radix2_macs(16, 4, real=False)),
        (torch.fft.ifft, (2, 32), torch.complex64, radix2_macs(32, 2, real=False)),
        (
            lambda x: torch.fft.irfft(x, n=16),
            (5, 9),
            torch.complex64,
            radix2_macs(16, 5, real=True),
        ),
        (
            lambda x: torch.fft.fftn(x, dim=(1, 2)),
            (2, 4, 8),
            torch.float32,
            radix2_macs(32, 2, real=False),
        ),
        (lambda x: torch.fft.rfft2(x), (3, 8, 4), torch.float32, radix2_macs(32, 3, real=True)),
    ],
    ids=["rfft", "fft", "ifft", "irfft", "fftn-real-input", "rfft2"],
)
def test_fourier_transforms_count_the_radix2_operations(audit, fn, shape, dtype, expected):
    model = audit(Call(fn))
    x = torch.randn(shape, dtype=dtype, generator=torch.Generator().manual_seed(0))
    s = summary(model, input_data=[x], verbose=0)
    assert (s.total_mult_adds, s.uncounted_ops) == (expected, {})


def test_fnet_has_no_uncounted_fourier_transform(audit):
    config = transformers.FNetConfig(
        vocab_size=50,
        hidden_size=32,
        num_hidden_layers=2,
        intermediate_size=64,
        max_position_embeddings=16,
    )
    model = audit(transformers.FNetModel(config))
    tokens = torch.zeros(1, 8, dtype=torch.long)
    s = summary(model, input_data=[tokens], verbose=0)
    assert s.uncounted_ops == {}
    # each layer transforms the (8, 32) hidden states over both dimensions
    fourier = config.num_hidden_layers * radix2_macs(8 * 32, 1, real=False)
    linear_only = summary(
        model, input_data=[tokens], verbose=0, formulas={aten._fft_c2c: lambda a, k, o: 0}
    )
    assert s.total_mult_adds - linear_only.total_mult_adds == fourier


# -- communication ------------------------------------------------------------------------
WAIT = datetime.timedelta(seconds=30)
"""How long a collective may wait: a hang fails instead of stalling."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def process_group() -> Iterator[object]:
    """A real one-process gloo group, destroyed after the test."""
    import torch.distributed as dist

    address = f"tcp://127.0.0.1:{_free_port()}"
    dist.init_process_group("gloo", rank=0, world_size=1, init_method=address, timeout=WAIT)
    try:
        yield dist.group.WORLD
    finally:
        dist.destroy_process_group()


class Communicating(nn.Module):
    """All-reduce, functional collectives, a broadcast and a profiler marker."""

    def __init__(self, group: object) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.group = group

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        import torch.distributed as dist
        import torch.distributed._functional_collectives as funcol

        y = self.fc(x)
        dist.all_reduce(y)
        with torch.profiler.record_function("marker"):
            y = funcol.all_reduce(y, "sum", self.group)
        y = funcol.all_gather_single(y, 0, self.group)
        dist.broadcast(funcol.wait_tensor(y), 0)
        return y


class _Bytes(TorchDispatchMode):
    """The bytes the catalogue says each collective moved."""

    def __init__(self) -> None:
        super().__init__()
        self.moved: list[tuple[str, int]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        nbytes = current_catalogue().communication(func)
        if nbytes is not None:
            self.moved.append((str(func), nbytes(args, kwargs, out)))
        return out


def test_collectives_and_profiler_markers_are_never_uncounted(process_group):
    model = Communicating(process_group)
    s = summary(model, (2, 4), verbose=0)
    assert (s.uncounted_ops, s.total_mult_adds) == ({}, 2 * 4 * 4)
    tracer = Tracer(model, every_op=True)  # every aten operator seen by the counter
    with torch.no_grad(), tracer:
        model(rand(2, 4))
    assert tracer.finish().uncounted_ops == ()
    ddp = torch.nn.parallel.DistributedDataParallel(nn.Linear(4, 4))
    assert summary(ddp, (2, 4), verbose=0).uncounted_ops == {}


def test_collectives_move_the_bytes_of_their_largest_buffer(process_group):
    model = Communicating(process_group)
    with torch.no_grad(), _Bytes() as spy:
        model(rand(2, 4))
    activation = 2 * 4 * 4  # a float32 (2, 4); with one process the gathered one is as big
    assert dict(spy.moved) == {
        "c10d.allreduce_.default": activation,
        "_c10d_functional.all_reduce.default": activation,
        "_c10d_functional.all_gather_into_tensor.default": activation,
        "c10d.broadcast_.default": activation,
        "_c10d_functional.wait_tensor.default": 0,  # the collective it waits for moved them
    }


def test_a_builtin_name_the_installed_torch_lacks_is_set_aside_not_an_import_error():
    # The library supports older torch releases than the tests run on; an operator
    # missing there must not break `import modelsummary` (torch 2.13 lacks one
    # collective). User registrations still fail on an unknown name.
    from modelsummary._trace.catalogue import _Builder

    builder = _Builder()
    builder.ops(True, "aten::no_such_op", "aten::relu")
    builder.tensor_methods(True, "no_such_method")
    assert builder.missing == ["aten::no_such_op", "Tensor.no_such_method"]
    assert torch.ops.aten.relu in builder.aten
    from modelsummary import register_formula

    with pytest.raises(ValueError, match="no operator"):
        register_formula("aten::no_such_op", lambda a, k, o: 0)
