"""``summary()``, the story of a summary: the arguments checked into one request
(``_request.py``), its records (``_pass.py``: one traced pass, the census alone, or an
exported program read from its graph), the tree (``_tree/``), the result
(``_result.py``), and the print.

Examples:
    >>> import torch
    >>> from torch import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.conv1 = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    ...         self.conv2 = nn.Conv2d(1, 1, 3, padding=1, bias=False)
    ...     def forward(self, x):
    ...         return self.conv1(self.conv1(x))
    >>> s = summary(Net(), (1, 1, 512, 512), verbose=0)
    >>> s.total_params, s.unused_params, s.all_params, s.unused_modules
    (9, 9, 18, ('conv2',))
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn
from torch.export import ExportedProgram

from ._pass import take_trace
from ._request import check_request
from ._result import ModelSummary
from ._tree.build import build_tree


def summary(
    model: nn.Module | ExportedProgram,
    input_size: Sequence[int] | Sequence[Sequence[int]] | None = None,
    input_data: torch.Tensor | Sequence[Any] | Mapping[str, Any] | None = None,
    batch_dim: int | None = None,
    cache_forward_pass: bool | None = None,
    col_names: Iterable[str] | None = None,
    col_width: int | None = None,
    depth: int = 3,
    device: torch.device | str | None = None,
    dtypes: Sequence[torch.dtype] | None = None,
    mode: str | None = None,
    row_settings: Iterable[str] | None = None,
    verbose: int | None = None,
    *,
    optimizer: str | torch.optim.Optimizer | None = None,
    formulas: Mapping[Any, Callable[..., int]] | None = None,
    weights_as: str | None = None,
    **kwargs: Any,
) -> ModelSummary:
    """Summarise ``model``: run one forward pass and count what it used.

    The signature matches torchinfo's ``summary`` so switching is one import.

    Args:
        model: The module to summarise. It is left exactly as it was; a model
            with lazy modules is summarised on a copy, so it stays lazy. Or a
            ``torch.export.ExportedProgram``, summarised from its graph without
            running it (no input: the shapes are those it was exported with).
        input_size: One shape, or a list of shapes for several positional inputs
            (``[]`` in the list: a 0-d tensor).
        input_data: A tensor (or numpy array), a sequence of positional arguments,
            or a dict of keyword arguments. Give this or ``input_size``; with neither (and no
            forward keyword arguments) nothing runs, and the summary lists the
            modules and parameters as registered, as torchinfo's does (also for a
            module without ``forward``, such as ``nn.ModuleList``).
        batch_dim: Insert a dimension of size 1 at this index of each ``input_size``.
        cache_forward_pass: Accepted for torchinfo compatibility. Every call runs
            its own pass: no process-global cache is kept. To draw a summary again
            with other columns or depth, use `ModelSummary.with_options()`.
        col_names: Columns to show: ``input_size``, ``output_size``,
            ``num_params``, ``params_percent``, ``kernel_size``, ``groups``,
            ``mult_adds``, ``flops`` (twice the mult-adds), ``trainable``, ``calls``,
            ``time``, ``comm_bytes``, ``mode`` (train or eval during the pass),
            ``receptive_field``. Defaults to output size and parameters. ``time`` runs one
            warm-up and three timed extra passes and shows each module's median
            wall time (indicative only).
        col_width: Minimum width of each value column; by default each column is
            as wide as its content, and the printed table fits the terminal.
        depth: Deepest row to show; deeper modules fold into their ancestor,
            whose numbers then cover the folded rows.
        device: Where to run the pass. Defaults to the model's device; a model on
            another device is moved there for the pass and moved back after.
        dtypes: One dtype (or legacy type, ``torch.LongTensor``) per ``input_size``
            entry (default: the dtype of the model's first floating-point
            parameter, float32 if it has none).
        mode: ``"eval"`` (default), ``"train"``, or ``"same"`` (keep each
            module's current mode). Modes are restored afterwards.
        row_settings: ``ascii_only`` (ASCII tree), ``depth`` (append
            ``depth-index``), ``list_unused`` (list each parameter-free module that
            never ran, instead of one line that counts them), ``fold_repeats`` (each
            run of identical consecutive siblings as one row, ``0-11 (GPT2Block) x12`` in ASCII,
            with the run's summed counts); ``var_names`` and
            ``hide_recursive_layers`` are accepted and always in effect.
        verbose: 0 prints nothing, 1 prints the table, 2 prints every depth.
            Default: 1 in scripts, 0 in an interactive session, where the
            returned value displays itself.
        optimizer: Add a training-memory estimate for this optimizer (``"sgd"``,
            ``"momentum"``, ``"adam"``, ``"adamw"``, ``"rmsprop"``, ``"adagrad"``):
            gradients, optimizer state, and the activations autograd saves for
            backward, measured by running the pass with grad enabled. Or the
            ``torch.optim.Optimizer`` itself: the state then follows its class, its
            groups' settings and its state after steps, only the trainable
            parameters in its groups keep state, and the footer names trainable
            parameters in no group and frozen ones still in one.
        weights_as: Size the weights as if stored in this format (``"int8"``,
            ``"int4"``, ``"nf4"``, ``"fp4"``, ``"float8_e4m3fn"``, ``"bfloat16"``,
            ``"float16"``), the way the quantization libraries store them: the
            linear layers' weights with their scales, the output head, embeddings
            and norms kept (see docs/quantization.md). Nothing is converted; on the
            meta device it needs no memory and no library.
        formulas: Mult-add formulas for this call only, ``{operator: formula}``,
            on top of the built-in ones and those added with
            `register_formula()` (see there for the forms).
        **kwargs: Passed to ``model.forward``.

    Returns:
        The `ModelSummary`.

    Raises:
        TypeError: An argument of the wrong type (checked before any pass).
        ValueError: An argument with a wrong value (checked before any pass).
        ModelSummaryError: The forward pass raised; names the innermost module.

    Examples:
        >>> s = summary(nn.Linear(8, 4), input_size=(2, 8), verbose=0)
        >>> s.total_params
        36
    """
    request = check_request(
        model,
        input_size,
        input_data,
        batch_dim,
        cache_forward_pass,
        col_names,
        col_width,
        depth,
        device,
        dtypes,
        mode,
        row_settings,
        verbose,
        optimizer=optimizer,
        formulas=formulas,
        weights_as=weights_as,
        kwargs=kwargs,
    )
    with _gc_paused():
        trace, run = take_trace(request)
        tree = build_tree(trace, run)
        del trace  # freed while the collector is paused: it resumes with only the tree
    result = ModelSummary(tree, request.options, input_size=request.input_size)
    if request.verbose:
        print(result)
    return result


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector during the pass and the tree building.

    A summary allocates a few small records per module call; with a large model
    alive, each collection walks all of the model's objects again (half the time
    of a summary of 10,000 modules). Reference counting still frees every tensor
    as soon as it is dropped, so no activation outlives its use.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
