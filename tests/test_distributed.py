"""Models spread over processes and devices, run by the engines themselves.

Two processes are spawned once for every multi-process check (gloo on CPU, a free
port, a hard timeout so that a hang fails); each rank writes its figures to a JSON
file and the assertions run here, in the parent. The truths are the same model's
numbers without an engine (counts, the used set by autograd, mult-adds) and the
sizes read from the engine's own tensors (``to_local()``, ``ds_tensor``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from modelsummary import summary

WORLD = 2
TIMEOUT_S = 180
IN_FEATURES = 64


def mlp() -> nn.Sequential:
    """The issue's MLP, 64 -> 128 -> 10: 9,610 parameters."""
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(IN_FEATURES, 128), nn.ReLU(), nn.Linear(128, 10))


def truth() -> dict[str, Any]:
    """The plain model's numbers: counts, the names autograd reaches, mult-adds."""
    model = mlp()
    model(torch.ones(2, IN_FEATURES)).sum().backward()
    s = summary(mlp(), (2, IN_FEATURES), verbose=0)
    return {
        "all_params": sum(p.numel() for p in model.parameters()),
        "param_bytes": sum(p.numel() * p.element_size() for p in model.parameters()),
        "used": sorted(n for n, p in model.named_parameters() if p.grad is not None),
        "mult_adds": s.total_mult_adds,
    }


def used_names(s: Any) -> list[str]:
    return sorted(name for layer in s.layers for name in layer.param_names)


def figures(model: nn.Module, engine_local_bytes: int, *, col: bool = True) -> dict[str, Any]:
    """Summarise on this rank (printing by default) and return what the parent checks."""
    x = torch.ones(2, IN_FEATURES)
    with torch.no_grad():
        before = model(x)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        s = summary(model, (2, IN_FEATURES), col_names=("num_params", "comm_bytes"))
    totals = s.to_dict()["totals"]
    with torch.no_grad():
        after = model(x)  # the engine still runs the model as before
    model(x).sum().backward()  # and trains it
    return {
        "total_params": s.total_params,
        "unused_params": s.unused_params,
        "all_params": s.all_params,
        "used": used_names(s),
        "mult_adds": s.total_mult_adds,
        "param_bytes": s.total_param_bytes,
        "local_param_bytes": totals["local_param_bytes"],
        "engine_local_bytes": engine_local_bytes,
        "placements": s.to_dict()["placements"],
        "comm_bytes": totals["comm_bytes"],
        "row_comm_bytes": sum(layer.comm_bytes for layer in s.layers),
        "uncounted": s.uncounted_ops,
        "rank": s.to_dict()["rank"],
        "world_size": s.to_dict()["world_size"],
        "printed": printed.getvalue(),
        "same_output": bool(torch.allclose(before, after)),
        "verbose_prints": _prints(lambda: summary(model, (2, IN_FEATURES), verbose=1)),
    }


def _prints(run: Any) -> bool:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        run()
    return bool(out.getvalue())


def local_bytes_dtensor(model: nn.Module) -> int:
    return sum(
        p.to_local().numel() * p.element_size()  # type: ignore[attr-defined]
        for p in model.parameters()
    )


# -- what each rank runs -----------------------------------------------------------------
def check_fsdp2_nested(mesh: Any) -> dict[str, Any]:
    from torch.distributed.fsdp import fully_shard

    model = mlp()
    fully_shard(model[0], mesh=mesh)
    fully_shard(model[2], mesh=mesh)
    fully_shard(model, mesh=mesh)
    return figures(model, local_bytes_dtensor(model))


def check_fsdp2_root_only(mesh: Any) -> dict[str, Any]:
    from torch.distributed.fsdp import fully_shard

    model = mlp()
    fully_shard(model, mesh=mesh)
    return figures(model, local_bytes_dtensor(model))


def check_tensor_parallel(mesh: Any) -> dict[str, Any]:
    from torch.distributed.tensor.parallel import (
        ColwiseParallel,
        RowwiseParallel,
        parallelize_module,
    )

    model = mlp()
    parallelize_module(model, mesh, {"0": ColwiseParallel(), "2": RowwiseParallel()})
    return figures(model, local_bytes_dtensor(model))


def check_ddp(mesh: Any) -> dict[str, Any]:
    model = nn.parallel.DistributedDataParallel(mlp())
    local = sum(p.numel() * p.element_size() for p in model.parameters())
    result = figures(model, local)
    # DDP's own names carry the "module." prefix; the plain model's do not.
    result["used"] = [name.removeprefix("module.") for name in result["used"]]
    return result


def check_zero3(mesh: Any) -> dict[str, Any]:
    import deepspeed

    # An empty table of compatible ops: DeepSpeed then keeps to torch.distributed (gloo)
    # instead of compiling its shared-memory op with g++ (about 100 s on 2 cores).
    deepspeed.ops.__dict__["__compatible_ops__"] = {}
    deepspeed.init_distributed(dist_backend="gloo")
    config = {"train_batch_size": 2 * WORLD, "zero_optimization": {"stage": 3}}
    # With the config (no bf16 in it) the parameters stay float32; without it the cpu
    # accelerator makes them bfloat16, whatever dtype= says.
    with deepspeed.zero.Init(config_dict_or_path=config):
        model = mlp()
    engine, *_ = deepspeed.initialize(model=model, config=config)
    local = sum(p.ds_tensor.numel() * p.ds_tensor.element_size() for p in model.parameters())
    x = torch.ones(2, IN_FEATURES)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        s = summary(model, (2, IN_FEATURES))
    totals = s.to_dict()["totals"]
    with torch.no_grad():
        out = engine(x)
    return {
        "total_params": s.total_params,
        "unused_params": s.unused_params,
        "all_params": s.all_params,
        "used": used_names(s),
        "mult_adds": s.total_mult_adds,
        "param_bytes": s.total_param_bytes,
        "local_param_bytes": totals["local_param_bytes"],
        "engine_local_bytes": local,
        "placements": s.to_dict()["placements"],
        "comm_bytes": totals["comm_bytes"],
        "uncounted": s.uncounted_ops,
        "rank": s.to_dict()["rank"],
        "world_size": s.to_dict()["world_size"],
        "printed": printed.getvalue(),
        "engine_runs": list(out.shape),
        "engine_summary_params": summary(engine, (2, IN_FEATURES), verbose=0).total_params,
    }


CHECKS = {
    "fsdp2_nested": check_fsdp2_nested,
    "fsdp2_root_only": check_fsdp2_root_only,
    "tensor_parallel": check_tensor_parallel,
    "ddp": check_ddp,
    "zero3": check_zero3,  # last: DeepSpeed sets process-wide state of its own
}


def worker(rank: int, port: int, out: str, names: list[str]) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
        WORLD_SIZE=str(WORLD),
        LOCAL_WORLD_SIZE=str(WORLD),
        DS_ACCELERATOR="cpu",
    )
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD)
    from torch.distributed.device_mesh import init_device_mesh

    mesh = init_device_mesh("cpu", (WORLD,))
    results: dict[str, Any] = {}
    for name in names:
        try:
            results[name] = CHECKS[name](mesh)
        except Exception as err:  # reported to the parent, which fails the check
            results[name] = {"error": f"{type(err).__name__}: {err}"}
        dist.barrier()
    Path(out, f"rank{rank}.json").write_text(json.dumps(results))
    dist.destroy_process_group()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _engines_available() -> list[str]:
    names = list(CHECKS)
    try:
        import deepspeed  # noqa: F401
    except ImportError:
        names.remove("zero3")
    return names


@pytest.fixture(scope="module")
def ranks(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """Every multi-process check, run once in one spawned group of two ranks."""
    if not dist.is_available() or sys.platform == "win32":
        pytest.skip("torch.distributed with gloo is not available here")
    out = tmp_path_factory.mktemp("ranks")
    context = mp.start_processes(
        worker,
        args=(_free_port(), str(out), _engines_available()),
        nprocs=WORLD,
        join=False,
        start_method="spawn",
    )
    import time

    deadline = time.monotonic() + TIMEOUT_S
    try:
        while not context.join(timeout=max(1.0, deadline - time.monotonic())):
            if time.monotonic() > deadline:
                pytest.fail(f"the distributed checks did not finish in {TIMEOUT_S} s")
    finally:
        for process in context.processes:
            if process.is_alive():
                process.kill()
    return [json.loads(Path(out, f"rank{r}.json").read_text()) for r in range(WORLD)]


@pytest.fixture(scope="module")
def plain() -> dict[str, Any]:
    return truth()


def _checked(ranks: list[dict[str, Any]], name: str) -> list[dict[str, Any]]:
    if name not in ranks[0]:
        pytest.skip(f"{name}: the engine is not installed")
    results = [r[name] for r in ranks]
    for rank, result in enumerate(results):
        assert "error" not in result, f"rank {rank}: {result.get('error')}"
    return results


SHARDED = ["fsdp2_nested", "fsdp2_root_only", "tensor_parallel", "zero3"]


@pytest.mark.parametrize("name", [*SHARDED, "ddp"])
def test_global_counts_on_every_rank(ranks, plain, name):
    for result in _checked(ranks, name):
        assert result["all_params"] == plain["all_params"]
        assert result["total_params"] == plain["all_params"]
        assert result["unused_params"] == 0
        assert result["used"] == plain["used"]
        assert result["mult_adds"] == plain["mult_adds"]
        assert result["param_bytes"] == plain["param_bytes"]


@pytest.mark.parametrize("name", SHARDED)
def test_per_rank_bytes_are_the_engines_own(ranks, plain, name):
    results = _checked(ranks, name)
    for result in results:
        assert result["local_param_bytes"] == result["engine_local_bytes"]
        assert result["local_param_bytes"] < plain["param_bytes"]
    if name != "tensor_parallel":  # TP replicates the row-parallel layer's bias
        assert sum(r["local_param_bytes"] for r in results) >= plain["param_bytes"]


@pytest.mark.parametrize(
    ("name", "placement"),
    [
        ("fsdp2_nested", "sharded over 2 ranks"),
        ("fsdp2_root_only", "sharded over 2 ranks"),
        ("ddp", "replicated over 2 ranks"),
        ("zero3", "partitioned over 2 ranks"),
    ],
)
def test_placement_as_the_engine_records_it(ranks, plain, name, placement):
    for result in _checked(ranks, name):
        assert result["placements"] == {placement: plain["all_params"]}


def test_tensor_parallel_placement(ranks, plain):
    # Colwise shards both of the first layer's tensors and the second weight; the
    # second bias is replicated.
    for result in _checked(ranks, "tensor_parallel"):
        assert result["placements"] == {
            "sharded over 2 ranks": plain["all_params"] - 10,
            "replicated over 2 ranks": 10,
        }


@pytest.mark.parametrize("name", [*SHARDED, "ddp"])
def test_only_rank_zero_prints_unless_asked(ranks, name):
    results = _checked(ranks, name)
    assert [bool(r["printed"]) for r in results] == [True, False]
    assert [(r["rank"], r["world_size"]) for r in results] == [(0, 2), (1, 2)]
    for result in results:
        if "verbose_prints" in result:
            assert result["verbose_prints"]  # verbose=1 wins on every rank


@pytest.mark.parametrize("name", ["fsdp2_nested", "fsdp2_root_only"])
def test_footer_shows_the_rank_share(ranks, name):
    printed = _checked(ranks, name)[0]["printed"]
    assert "Parameters size: 38.44 kB (19.22 kB on this rank of 2)" in printed


@pytest.mark.parametrize("name", ["fsdp2_nested", "fsdp2_root_only", "tensor_parallel"])
def test_the_engine_runs_as_before_after_a_summary(ranks, name):
    for result in _checked(ranks, name):
        assert result["same_output"]


def test_zero3_engine_and_module_alike(ranks, plain):
    for result in _checked(ranks, "zero3"):
        assert result["engine_runs"] == [2, 10]
        assert result["engine_summary_params"] == plain["all_params"]


def test_fsdp2_all_gathers_are_counted_as_communication(ranks, plain):
    for result in _checked(ranks, "fsdp2_nested"):
        # Each Linear is resharded after its forward: every parameter is gathered
        # whole once in the pass (the root holds none).
        assert result["comm_bytes"] == plain["param_bytes"]
    for name in ("fsdp2_nested", "fsdp2_root_only"):
        for result in _checked(ranks, name):
            assert result["row_comm_bytes"] == result["comm_bytes"]


def test_tensor_parallel_all_reduce_is_communication(ranks):
    for result in _checked(ranks, "tensor_parallel"):
        # RowwiseParallel all-reduces the second layer's (2, 10) float32 output.
        assert result["comm_bytes"] == 2 * 10 * 4


@pytest.mark.parametrize("name", [*SHARDED, "ddp"])
def test_no_collective_or_profiler_marker_is_an_uncounted_operator(ranks, name):
    for result in _checked(ranks, name):
        assert result["uncounted"] == {}


def test_zero3_gathers_are_counted_as_communication(ranks, plain):
    for result in _checked(ranks, "zero3"):
        # Each partitioned parameter is gathered whole for its module's call.
        assert result["comm_bytes"] >= plain["param_bytes"]


def test_ddp_moves_nothing_in_forward(ranks):
    for result in _checked(ranks, "ddp"):
        assert result["comm_bytes"] == 0


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_fsdp1_counts_the_flat_parameters_as_the_model(tmp_path):
    """FSDP1 refuses to run without an accelerator: one process, one GPU."""
    from torch.distributed.fsdp import FullyShardedDataParallel

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()))
    dist.init_process_group("nccl", rank=0, world_size=1)
    try:
        model = FullyShardedDataParallel(mlp().cuda(), use_orig_params=True)
        s = summary(model, (2, IN_FEATURES), verbose=0)
        assert s.all_params == truth()["all_params"]
        assert s.unused_params == 0
    finally:
        dist.destroy_process_group()
