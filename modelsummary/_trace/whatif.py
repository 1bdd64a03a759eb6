"""Which weights a storage format would store, read from the model: for ``weights_as=``.

The quantization libraries store the weights of the linear layers in their format and
leave the rest: transformers' quantizers skip the output head (the module
``get_output_embeddings()`` names) and any weight tied to another module's, and torchao's
``quantize_`` takes every ``nn.Linear`` of a plain model. `linear_weights()` finds those
weights, with their output rows (the per-row scales' count); `floating_weights()` finds
every floating-point parameter, which a dtype (``model.to(torch.bfloat16)``) casts. The
rule of each format is pure arithmetic, in `modelsummary._tree.weights_as`.

Examples:
    >>> from torch import nn
    >>> linear_weights(nn.Sequential(nn.Linear(4, 8), nn.LayerNorm(8), nn.Linear(8, 2)))
    (('0.weight', 8), ('2.weight', 2))
"""

from __future__ import annotations

from torch import nn
from torch.nn.parameter import is_lazy


def linear_weights(model: nn.Module) -> tuple[tuple[str, int], ...]:
    """``(name, output rows)`` of the linear layers' weights a quantization library stores
    in its format: every ``nn.Linear`` (and transformers' ``Conv1D``, GPT-2's linear
    layer, whose weight is stored transposed), but not the output head nor a weight
    registered by another module too (a tied weight).

    Examples:
        >>> class Tied(nn.Module):
        ...     def __init__(self):
        ...         super().__init__()
        ...         self.embed = nn.Embedding(10, 4)
        ...         self.proj = nn.Linear(4, 4)
        ...         self.head = nn.Linear(4, 10, bias=False)
        ...         self.head.weight = self.embed.weight
        >>> linear_weights(Tied())
        (('proj.weight', 4),)
    """
    owners: dict[int, int] = {}
    for module in model.modules():
        for p in module._parameters.values():
            if p is not None:
                owners[id(p)] = owners.get(id(p), 0) + 1
    head = _output_head(model)
    names = {id(p): name for name, p in reversed(list(model.named_parameters()))}
    found: list[tuple[str, int]] = []
    for module in model.modules():
        if module is head:
            continue
        weight = module._parameters.get("weight")
        if weight is None or is_lazy(weight) or weight.dim() != 2 or owners[id(weight)] > 1:
            continue
        if isinstance(module, nn.Linear):  # its logical rows: a 4-bit weight is packed
            rows = module.out_features
        elif type(module).__name__ == "Conv1D":  # transformers': (in, out)
            rows = weight.shape[1]
        else:
            continue
        name = names.get(id(weight))
        if name is not None:
            found.append((name, int(rows)))
    return tuple(found)


def floating_weights(model: nn.Module) -> tuple[tuple[str, int], ...]:
    """``(name, output rows)`` of every floating-point parameter (rows: its first size).

    Examples:
        >>> floating_weights(nn.Linear(3, 2))
        (('weight', 2), ('bias', 2))
    """
    return tuple(
        (name, int(p.shape[0]) if p.dim() else 1)
        for name, p in model.named_parameters()
        if not is_lazy(p) and p.is_floating_point()
    )


def _output_head(model: nn.Module) -> nn.Module | None:
    """The module transformers calls the output embeddings (the language-model head)."""
    get = getattr(model, "get_output_embeddings", None)
    if not callable(get):
        return None
    try:
        head = get()
    except (AttributeError, NotImplementedError, TypeError):
        return None
    return head if isinstance(head, nn.Module) else None
