"""What the engines that spread a model over devices and processes record about it.

FSDP2 and tensor parallelism keep each parameter as a ``DTensor`` (``numel()``
is the global size, ``to_local()`` this rank's shard); DeepSpeed ZeRO-3 leaves
each parameter empty between calls (``ds_numel`` and ``ds_shape`` are its size,
``ds_tensor`` this rank's partition); DDP replicates the whole model on every
rank; accelerate's offloading leaves parameters on ``meta`` and loads them in an
``AlignDevicesHook`` (``module._hf_hook``) from a weights map in cpu memory or on
disk. This module reads those records, and nothing else: the tracer asks it for
a parameter's global size, the bytes this process holds of it and where it is
placed; the summary asks it where an offloaded model executes and which rank this
is. Only torch is imported; an engine's own package never is.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> param_facts(nn.Linear(4, 2).weight)
    ParamFacts(numel=8, nbytes=32, local_nbytes=32, placement='')
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True, slots=True)
class ParamFacts:
    """A parameter's global size, the bytes this process holds of it, and its placement.

    Examples:
        >>> ParamFacts(numel=10, nbytes=40, local_nbytes=20, placement="sharded over 2 ranks")
        ParamFacts(numel=10, nbytes=40, local_nbytes=20, placement='sharded over 2 ranks')
    """

    numel: int
    """Elements of the whole (logical) parameter, on every rank."""
    nbytes: int
    """``numel`` times the element size."""
    local_nbytes: int
    """Bytes of it that this process holds on its device (a shard, a partition; 0 when
    offloaded)."""
    placement: str
    """How the engine placed it (``"sharded over 2 ranks"``, ``"replicated over 2 ranks"``,
    ``"offloaded to disk"``); ``""`` for a plain parameter."""


def param_facts(
    p: torch.Tensor, module: nn.Module | None = None, name: str = "", replicas: int = 0
) -> ParamFacts:
    """Read a parameter's sizes and placement from the engine's own records.

    Args:
        p: The registered parameter, as it rests between forward passes.
        module: The module it is registered on (accelerate's hook hangs there).
        name: Its attribute name on ``module``.
        replicas: The number of ranks a data-parallel wrapper (DDP) replicates it
            over, 0 when none does.

    Examples:
        >>> w = nn.Parameter(torch.empty(3, 4, device="meta"))
        >>> param_facts(w)
        ParamFacts(numel=12, nbytes=48, local_nbytes=48, placement='')
        >>> param_facts(nn.Parameter(torch.zeros(2)), replicas=4).placement
        'replicated over 4 ranks'
    """
    size = p.element_size()
    ds_numel = getattr(p, "ds_numel", None)
    if isinstance(ds_numel, int):  # DeepSpeed ZeRO-3: empty between calls
        local = getattr(p, "ds_tensor", None)
        local_nbytes = local.numel() * local.element_size() if local is not None else 0
        ranks = dist.get_world_size() if dist.is_initialized() else 1
        return ParamFacts(
            ds_numel, ds_numel * size, local_nbytes, f"partitioned over {ranks} ranks"
        )
    numel = p.numel()
    if _is_dtensor(p):
        local = p.to_local()  # type: ignore[attr-defined]
        return ParamFacts(numel, numel * size, local.numel() * size, _dtensor_placement(p))
    if p.is_meta:
        home = _offloaded_to(module, name)
        if home:
            return ParamFacts(numel, numel * size, 0, f"offloaded to {home}")
        # A weightless model built on meta: a description, held whole where it runs.
    placement = f"replicated over {replicas} ranks" if replicas > 1 else ""
    return ParamFacts(numel, numel * size, numel * size, placement)


def resting_params(modules: Iterable[nn.Module]) -> dict[tuple[int, str], torch.Tensor]:
    """The parameters an engine keeps apart while others sit in their slots, by
    ``(id(module), name)``.

    FSDP2 leaves the root's parameters all-gathered after a forward pass (they are
    needed again for backward); its own records still hold each parameter's
    sharded ``DTensor``, which is what this rank keeps between steps.

    Examples:
        >>> resting_params([nn.Linear(2, 2)])
        {}
    """
    found: dict[tuple[int, str], torch.Tensor] = {}
    if "torch.distributed.fsdp" not in sys.modules:
        return found
    for module in modules:
        if not is_fsdp_class(type(module)):
            continue
        try:  # private records of FSDP2: read what is there, skip what is not
            state: Any = module._get_fsdp_state()  # type: ignore[operator]
            groups = getattr(state, "_fsdp_param_groups", None)
            if groups is None:
                groups = [state._fsdp_param_group]
            for group in groups:
                for fsdp_param in getattr(group, "fsdp_params", ()):
                    info = fsdp_param._module_info
                    found[(id(info.module), info.param_name)] = fsdp_param.sharded_param
        except (AttributeError, AssertionError, RuntimeError):
            continue
    return found


def is_fsdp_class(cls: type) -> bool:
    """Whether ``cls`` is a class FSDP2's ``fully_shard`` made (its instances keep FSDP
    state, and maybe parameters apart: see `resting_params()`).

    Examples:
        >>> is_fsdp_class(nn.Linear)
        False
    """
    return getattr(cls, "_get_fsdp_state", None) is not None


def _is_dtensor(t: torch.Tensor) -> bool:
    """Whether ``t`` is a ``DTensor``, without importing ``torch.distributed.tensor``."""
    return hasattr(t, "to_local") and hasattr(t, "placements") and hasattr(t, "device_mesh")


def _dtensor_placement(t: Any) -> str:
    """``"sharded over N ranks"`` when any mesh dimension shards it, else replicated."""
    mesh, placements = t.device_mesh, t.placements
    shards = replicas = 1
    for dim, placement in enumerate(placements):
        ranks = mesh.size(dim)
        if placement.is_shard():
            shards *= ranks
        else:
            replicas *= ranks
    if shards > 1:
        return f"sharded over {shards} ranks"
    return f"replicated over {replicas} ranks" if replicas > 1 else ""


def _offloaded_to(module: nn.Module | None, name: str) -> str:
    """Where accelerate's hook on ``module`` loads the parameter ``name`` from: ``"cpu"``,
    ``"disk"``, or ``""`` when no hook loads it (a truly weightless meta parameter)."""
    hook = None if module is None else module.__dict__.get("_hf_hook")
    weights = getattr(hook, "weights_map", None)
    if weights is None or not getattr(hook, "offload", False):
        return ""
    key = getattr(weights, "prefix", "") + name
    dataset = getattr(weights, "dataset", weights)
    if isinstance(dataset, dict):
        return "cpu" if key in dataset else ""
    if key in getattr(dataset, "state_dict", {}):
        return "cpu"
    if key in getattr(dataset, "index", {}):
        return "disk"
    return ""


def offload_ties(named_modules: Iterable[tuple[str, nn.Module]]) -> list[list[torch.Tensor]]:
    """Groups of offloaded parameters that are one tensor, though their placeholders differ.

    accelerate's offloading puts a new ``meta`` placeholder into each slot of a tied
    weight (an embedding and the head tied to it), so identity no longer tells the tie.
    Its records still do, and two offloaded parameters (of the same shape and dtype) are
    taken for one tensor when

    * the weights map holds one tensor for both names (``cpu_offload`` keeps the model's
      own ``state_dict``, where a tied weight is one tensor under two names);
    * the weights map reads both from one entry of one checkpoint file (``from_pretrained``
      with an ``offload_folder``: the head's entry names the embedding's weight);
    * the model declares the tie, as a transformers model does in
      ``all_tied_weights_keys`` (``disk_offload`` writes each name to a file of its own).

    Args:
        named_modules: ``(path, module)`` of every module once.

    Returns:
        The tied groups, each in module order; ``[]`` when none (any model without
        accelerate's hooks).

    Examples:
        >>> offload_ties([("", nn.Linear(2, 2))])
        []
    """
    named = list(named_modules)
    offloaded: dict[str, torch.Tensor] = {}
    sources: dict[tuple[Any, ...], list[str]] = {}
    for path, module in named:
        hook = module.__dict__.get("_hf_hook")
        weights = getattr(hook, "weights_map", None)
        if weights is None or not getattr(hook, "offload", False):
            continue
        for name, p in module._parameters.items():
            if p is None or not p.is_meta:
                continue
            full = f"{path}.{name}" if path else name
            offloaded[full] = p
            source = _weight_source(weights, name)
            if source is not None:
                sources.setdefault((*source, tuple(p.shape), p.dtype), []).append(full)
    if not offloaded:
        return []
    # One union of names over both kinds of evidence: the weights map's and the model's.
    parent = {name: name for name in offloaded}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    def join(a: str, b: str) -> None:
        pa, pb = offloaded[a], offloaded[b]
        if a in parent and b in parent and pa.shape == pb.shape and pa.dtype == pb.dtype:
            parent[root(b)] = root(a)

    for names in sources.values():
        for other in names[1:]:
            join(names[0], other)
    for path, module in named:
        declared = getattr(module, "all_tied_weights_keys", None)
        if not isinstance(declared, dict):
            continue
        prefix = f"{path}." if path else ""
        for target, source in declared.items():
            if isinstance(target, str) and isinstance(source, str):
                a, b = prefix + source, prefix + target
                if a in offloaded and b in offloaded:
                    join(a, b)
    groups: dict[str, list[torch.Tensor]] = {}
    for name, tensor in offloaded.items():
        group = groups.setdefault(root(name), [])
        if all(q is not tensor for q in group):
            group.append(tensor)
    return [group for group in groups.values() if len(group) > 1]


def _weight_source(weights: Any, name: str) -> tuple[Any, ...] | None:
    """What accelerate's weights map reads the parameter ``name`` from: the storage of a
    tensor it holds, or a checkpoint file's entry; ``None`` when nothing shared can be
    told (a file of its own)."""
    key = getattr(weights, "prefix", "") + name
    dataset = getattr(weights, "dataset", weights)
    held = dataset.get(key) if isinstance(dataset, dict) else None
    if held is None:
        held = getattr(dataset, "state_dict", {}).get(key)
    if isinstance(held, torch.Tensor):
        address = held.untyped_storage().data_ptr()
        if address == 0:  # no storage to tell by (empty, or on meta)
            return None
        return ("tensor", address, held.storage_offset(), held.stride())
    entry = getattr(dataset, "index", {}).get(key)
    if isinstance(entry, dict) and "safetensors_file" in entry:
        return ("file", entry["safetensors_file"], entry.get("weight_name", key))
    return None


def execution_device(model: nn.Module) -> torch.device | None:
    """Where a model whose parameters hooks load for each call runs, else ``None``.

    accelerate's ``cpu_offload``, ``disk_offload`` and ``dispatch_model`` attach an
    ``AlignDevicesHook`` with an ``execution_device`` to the modules (and one to the
    root that brings the outputs back); the first such device in module order is
    where the inputs go. The modules are walked only when the root has a hook or the
    first parameter rests on meta: a summary of any other model pays nothing.

    Examples:
        >>> execution_device(nn.Linear(2, 2)) is None
        True
    """
    if "_hf_hook" not in model.__dict__:
        first = next(model.parameters(), None)
        if first is None or not first.is_meta:
            return None
    for module in model.modules():
        hook = module.__dict__.get("_hf_hook")  # not getattr: a miss costs an exception
        if hook is None:
            continue
        device = getattr(hook, "execution_device", None)
        if device is None:
            for inner in getattr(hook, "hooks", ()):  # a SequentialHook
                device = getattr(inner, "execution_device", None)
                if device is not None:
                    break
        if device is not None:
            return torch.device(device)
    return None


def replicas(modules: Iterable[nn.Module]) -> int:
    """The number of ranks a ``DistributedDataParallel`` among ``modules`` replicates
    its parameters over, 0 when there is none.

    Examples:
        >>> replicas([nn.Linear(2, 2)])
        0
    """
    if not (dist.is_available() and dist.is_initialized()):  # DDP needs a process group
        return 0
    for module in modules:
        if isinstance(module, nn.parallel.DistributedDataParallel):
            group = getattr(module, "process_group", None)
            return int(dist.get_world_size(group))
    return 0


def rank_and_world() -> tuple[int, int] | None:
    """``(rank, world size)`` under an initialised default process group, else ``None``.

    Examples:
        >>> rank_and_world() is None
        True
    """
    if not (dist.is_available() and dist.is_initialized()):
        return None
    return dist.get_rank(), dist.get_world_size()
