"""What the command line summarises: a model named by a target, and the input it runs on.

A target is one of:

* ``PACKAGE.MODULE:FACTORY``: ``FACTORY`` imported from an importable module;
* ``path/to/file.py:FACTORY``: ``FACTORY`` from a Python file (imported, so its
  top-level code runs, with the file's folder first on the import path);
* ``model.pt2``: a program saved by ``torch.export.save()``, read from its graph;
* ``hf:MODEL_TYPE``: the Hugging Face model of that type (``gpt2``, ``bert``,
  ``llama``) with transformers' default config, built on the meta device (no
  weights, no download), run on token ids (for the encoder and the decoder of an
  encoder-decoder model; on images, for a vision model);
  ``settings`` override config fields (``n_layer=2``);
* ``torchvision:NAME`` and ``timm:NAME``: the model of that name built on meta,
  run at its default input size (timm only when it is installed).

An unknown name is an error that suggests the closest known ones.

Examples:
    >>> target = load_target("hf:gpt2", settings={"n_layer": 1})
    >>> type(target.model).__name__, target.options["input_size"], target.options["dtypes"]
    ('GPT2Model', [(1, 16)], [torch.int64])
    >>> load_target("torchvision:resnet81")
    Traceback (most recent call last):
    ...
    modelsummary._targets.TargetError: unknown torchvision model 'resnet81'; did you mean ...?
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch.export import ExportedProgram

TOKENS = (1, 16)
"""The token ids an ``hf:`` language model runs on by default: one sequence of 16."""


class TargetError(Exception):
    """A target that names nothing loadable: a bad spec, an unknown name, a missing library."""


@dataclass(frozen=True, slots=True)
class Target:
    """A model to summarise and the `summary()` arguments it comes with.

    Examples:
        >>> Target(nn.Linear(2, 1)).options
        {}
    """

    model: nn.Module | ExportedProgram
    """The model, or an exported program."""
    options: dict[str, Any] = field(default_factory=dict)
    """Its default input (``input_size`` and ``dtypes``), overridden by the user's."""
    note: str = ""
    """A line that says how it was built and what it runs on ("" for none)."""


def load_target(
    spec: str,
    kwargs: Mapping[str, Any] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> Target:
    """Build the model a target names.

    Args:
        spec: The target (see the module's description).
        kwargs: Keyword arguments for a ``FACTORY``.
        settings: Config fields to override, for an ``hf:`` target.

    Raises:
        TargetError: The spec is malformed, names nothing known (with close
            matches), or needs a library that is not installed.

    Examples:
        >>> load_target("torch.nn:Linear", {"in_features": 2, "out_features": 1}).model
        Linear(in_features=2, out_features=1, bias=True)
    """
    kwargs = dict(kwargs or {})
    settings = dict(settings or {})
    scheme, sep, name = spec.partition(":")
    if settings and scheme != "hf":
        raise TargetError("--set overrides the config of an hf: target only")
    if scheme in _ZOOS and sep:
        if kwargs:
            raise TargetError(f"--kwarg applies to a FACTORY, not to a {scheme}: target")
        if not name:
            raise TargetError(f"bad target {spec!r}: expected {scheme}:NAME")
        return _ZOOS[scheme](name, settings)
    if spec.endswith(".pt2") and not sep:
        if kwargs:
            raise TargetError("--kwarg applies to a FACTORY, not to a .pt2 file")
        return Target(_load_program(spec))
    module_name, sep, attr = spec.rpartition(":")
    if not sep or not module_name or not attr:
        raise TargetError(
            f"bad model spec {spec!r}: expected PACKAGE.MODULE:FACTORY, path/to/file.py:FACTORY,"
            " model.pt2, hf:MODEL_TYPE, torchvision:NAME or timm:NAME"
        )
    if module_name.endswith(".py"):
        return Target(_build(_import_file(module_name), module_name, attr, kwargs))
    return Target(_build(_import_module(module_name), module_name, attr, kwargs))


# -- factories -------------------------------------------------------------------------------
def _import_module(module_name: str) -> Any:
    added = "" not in sys.path
    if added:
        sys.path.insert(0, "")  # like python -m: the current directory first
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as err:
        raise TargetError(f"cannot import {module_name!r}: {err}") from None
    except Exception as err:
        raise TargetError(f"importing {module_name!r} raised {type(err).__name__}: {err}") from None
    finally:
        if added:
            sys.path.remove("")


def _import_file(path: str) -> Any:
    file = Path(path)
    if not file.is_file():
        raise TargetError(f"no file {path!r}")
    name = f"_modelsummary_target_{file.stem}"
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise TargetError(f"cannot import {path!r} as a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(file.resolve().parent)
    sys.path.insert(0, folder)  # the file's own imports of its neighbours work
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as err:
        sys.modules.pop(name, None)
        raise TargetError(f"importing {path!r} raised {type(err).__name__}: {err}") from None
    finally:
        sys.path.remove(folder)
    return module


def _build(module: Any, where: str, attr: str, kwargs: dict[str, Any]) -> nn.Module:
    spec = f"{where}:{attr}"
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            known = [n for n in dir(module) if not n.startswith("_")]
            raise TargetError(f"{where!r} has no attribute {attr!r}{_suggest(attr, known)}")
        obj = getattr(obj, part)
    if isinstance(obj, nn.Module):
        if kwargs:
            raise TargetError(f"{spec} is a module instance; --kwarg needs a factory")
        return obj
    if not callable(obj):
        raise TargetError(f"{spec} is a {type(obj).__name__}, not an nn.Module or a factory of one")
    try:
        model = obj(**kwargs)
    except Exception as err:
        raise TargetError(
            f"calling {spec} raised {type(err).__name__}: {err}".splitlines()[0]
        ) from None
    if not isinstance(model, nn.Module):
        raise TargetError(f"{spec} returned a {type(model).__name__}, not an nn.Module")
    return model


def _load_program(path: str) -> ExportedProgram:
    if not os.path.isfile(path):
        raise TargetError(f"no file {path!r}")
    try:
        return torch.export.load(path)
    except Exception as err:
        raise TargetError(
            f"cannot load {path!r} with torch.export.load: {type(err).__name__}: {err}"
        ) from None


# -- model zoos ------------------------------------------------------------------------------
def _suggest(name: str, known: Iterable[str]) -> str:
    """``"; did you mean a, b?"`` with the known names closest to ``name``, or ``""``.

    Examples:
        >>> _suggest("resnt18", ["resnet18", "resnet34", "vgg11"])
        '; did you mean resnet18, resnet34?'
    """
    close = difflib.get_close_matches(name, list(known), n=5, cutoff=0.6)
    return f"; did you mean {', '.join(close)}?" if close else ""


def _hf(model_type: str, settings: dict[str, Any]) -> Target:
    try:
        import transformers
    except ImportError:
        raise TargetError("hf: targets need transformers: pip install transformers") from None
    known = transformers.CONFIG_MAPPING.keys()
    if model_type not in known:
        raise TargetError(
            f"unknown Hugging Face model type {model_type!r}{_suggest(model_type, known)}"
        )
    config = transformers.AutoConfig.for_model(model_type)
    fields = config.to_dict()
    for key, value in settings.items():
        if key not in fields and not hasattr(config, key):
            raise TargetError(
                f"--set {key}: {type(config).__name__} has no field {key!r}{_suggest(key, fields)}"
            )
        setattr(config, key, value)
    try:
        with torch.device("meta"):
            model = transformers.AutoModel.from_config(config)  # type: ignore[no-untyped-call]
    except Exception as err:
        raise TargetError(
            f"building hf:{model_type} raised {type(err).__name__}: {err}".splitlines()[0]
        ) from None
    built = f"hf:{model_type}: {type(model).__name__} from transformers' default config"
    changed = f" with {', '.join(f'{k}={v!r}' for k, v in settings.items())}" if settings else ""
    if getattr(model, "main_input_name", "input_ids") == "pixel_values":
        size = _pair(getattr(config, "image_size", 224))
        channels = getattr(config, "num_channels", 3)
        shape = (1, channels, *size)
        return Target(
            model,
            {"input_size": [shape], "dtypes": [torch.float32]},
            f"{built}{changed}, on meta; images of shape {list(shape)}",
        )
    if getattr(config, "is_encoder_decoder", False):  # the decoder takes its own ids
        ids = torch.zeros(TOKENS, dtype=torch.long, device="meta")
        return Target(
            model,
            {"input_data": {"input_ids": ids, "decoder_input_ids": ids}},
            f"{built}{changed}, on meta; token ids of shape {list(TOKENS)} for the encoder"
            " and for the decoder",
        )
    return Target(
        model,
        {"input_size": [TOKENS], "dtypes": [torch.long]},
        f"{built}{changed}, on meta; token ids of shape {list(TOKENS)}",
    )


def _pair(size: Any) -> tuple[int, int]:
    if isinstance(size, (tuple, list)):
        return int(size[0]), int(size[-1])
    return int(size), int(size)


def _torchvision(name: str, settings: dict[str, Any]) -> Target:
    import torchvision

    known = torchvision.models.list_models()
    if name not in known:
        raise TargetError(f"unknown torchvision model {name!r}{_suggest(name, known)}")
    try:
        with torch.device("meta"):
            model = torchvision.models.get_model(name)
    except Exception as err:
        raise TargetError(
            f"building torchvision:{name} raised {type(err).__name__}: {err}".splitlines()[0]
        ) from None
    transforms = torchvision.models.get_model_weights(name).DEFAULT.transforms()
    size = getattr(transforms, "crop_size", None) or getattr(transforms, "resize_size", None)
    height, width = _pair(size or 224)
    video = type(model).__module__.startswith("torchvision.models.video")
    shape = (1, 3, 16, height, width) if video else (1, 3, height, width)
    return Target(
        model,
        {"input_size": [shape], "dtypes": [torch.float32]},
        f"torchvision:{name}: {type(model).__name__} on meta; input of shape {list(shape)}"
        " (its weights' default size)",
    )


def _timm(name: str, settings: dict[str, Any]) -> Target:
    try:
        import timm  # type: ignore[import-not-found]
    except ImportError:
        raise TargetError(
            "timm: targets need timm, which is not installed: pip install timm"
        ) from None
    known = timm.list_models()
    if name not in known:
        raise TargetError(f"unknown timm model {name!r}{_suggest(name, known)}")
    with torch.device("meta"):
        model = timm.create_model(name, pretrained=False)
    shape = (1, *model.pretrained_cfg.get("input_size", (3, 224, 224)))
    return Target(
        model,
        {"input_size": [shape], "dtypes": [torch.float32]},
        f"timm:{name}: {type(model).__name__} on meta; input of shape {list(shape)}",
    )


_ZOOS = {"hf": _hf, "torchvision": _torchvision, "timm": _timm}
