"""Exporters: summary data -> JSON, CSV, Markdown, a pandas DataFrame. Pure; never imports torch.

JSON, CSV and the DataFrame work from the dictionary
`to_dict()` returns, without naming its fields:
whatever a row or the totals hold flows through. Markdown draws the same cells
as the text table (`modelsummary._present.markdown.render_markdown()`), and
`render_text()` picks it for a pipe ``tablefmt``. `FORMATS` maps each format
name to its renderer.

Examples:
    >>> data = {"layers": [{"path": "", "type": "Net", "output": {"shape": [1, 2]}}]}
    >>> print(layers_csv(data), end="")
    path,type,output
    ,Net,"{""shape"":[1,2]}"
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .._records import MapSpec, OtherSpec, SeqSpec, TensorSpec, ValueSpec
from .._tree.nodes import SummaryNode, SummaryTree
from .html import render_html
from .markdown import render_markdown
from .render import PIPE_FORMATS, RenderOptions, render_table

PathLike = str | os.PathLike[str]
"""Where an exporter writes its text."""


SCHEMA_VERSION = 1
"""Version of the layout `summary_dict()` returns (``docs/outputs.md`` documents it)."""


def summary_dict(tree: SummaryTree) -> dict[str, Any]:
    """The totals and rows of a summary tree as JSON-serializable data.

    This is `modelsummary.ModelSummary.to_dict()`; the other exporters work from it.

    Examples:
        >>> from modelsummary._tree.nodes import SummaryNode
        >>> summary_dict(SummaryTree(SummaryNode("", "Net", 0, 1)))["layers"][0]["calls"]
        1
    """
    t = tree.totals
    return {
        "schema_version": SCHEMA_VERSION,
        "model": tree.root.type_name,
        "forward_pass": tree.forward_pass,
        "totals": {
            "total_params": t.total_params,
            "trainable_params": t.trainable_params,
            "non_trainable_params": t.non_trainable_params,
            "unused_params": t.unused_params,
            "all_params": t.all_params,
            "buffers": t.buffers,
            "total_mult_adds": t.mult_adds,
            "input_bytes": t.input_bytes,
            "param_bytes": t.param_bytes,
            "buffer_bytes": t.buffer_bytes,
            "activation_bytes": t.activation_bytes,
            "total_bytes": t.total_bytes,
            "cuda_peak_bytes": t.peak_bytes,
            "local_param_bytes": t.local_param_bytes,
            "weights_as": t.weights_as,
            "comm_bytes": t.comm_bytes if t.comm_bytes or t.world_size is not None else None,
        },
        "placements": dict(t.placements),
        "rank": t.rank,
        "world_size": t.world_size,
        "uncounted_ops": dict(tree.uncounted_ops),
        "training": None
        if t.optimizer is None
        else {
            "optimizer": t.optimizer,
            "input_bytes": t.input_bytes,
            "param_bytes": t.param_bytes,
            "buffer_bytes": t.buffer_bytes,
            "grad_bytes": t.grad_bytes,
            "optimizer_bytes": t.optimizer_bytes,
            "saved_activation_bytes": t.saved_bytes,
            "total_bytes": t.training_bytes,
            **(
                {}
                if t.not_in_optimizer is None
                else {
                    "not_in_optimizer": list(t.not_in_optimizer),
                    "frozen_in_optimizer": list(t.frozen_in_optimizer or ()),
                }
            ),
        },
        "layers": [_layer_dict(node) for node in tree.root.walk()],
        "unused": [{"path": e.path, "type": e.type_name, "params": e.params} for e in tree.unused],
        "unused_modules": list(tree.unused_modules),
    }


def _spec_dict(spec: ValueSpec | None) -> Any:
    if spec is None:
        return None
    if isinstance(spec, TensorSpec):
        return {"shape": list(spec.shape), "dtype": spec.dtype}
    if isinstance(spec, OtherSpec):
        return {"type": spec.type_name}
    if isinstance(spec, SeqSpec):
        return [_spec_dict(item) for item in spec.items]
    assert isinstance(spec, MapSpec)
    return {key: _spec_dict(value) for key, value in spec.items}


def _layer_dict(node: SummaryNode) -> dict[str, Any]:
    return {
        "path": node.path,
        "type": node.type_name,
        "depth": node.depth,
        "calls": node.calls,
        "inputs": _spec_dict(node.inputs),
        "output": _spec_dict(node.output),
        "num_params": node.num_params,
        "param_names": list(node.param_names),
        "trainable_params": node.trainable_params,
        "subtree_params": node.subtree_params,
        "shared": [
            {"name": s.name, "param": s.param, "counted_at": s.counted_at} for s in node.shared
        ],
        "used_by": list(node.used_by),
        "buffers": node.buffers,
        "mult_adds": node.mult_adds,
        "mult_adds_per_call": node.mult_adds_per_call,
        "subtree_mult_adds": node.subtree_mult_adds,
        "time_s": node.time_s,
        "kernel_size": list(node.kernel_size) if node.kernel_size else None,
        "groups": node.groups,
        "traced": node.traced,
        "variants": [
            {"inputs": _spec_dict(inputs), "output": _spec_dict(output)}
            for inputs, output in node.variants
        ],
        "comm_bytes": node.comm_bytes,
        "dtype": " + ".join(node.formats) if node.formats else None,
        "params": [
            {"name": p.name, "numel": p.numel, "nbytes": p.nbytes, "format": p.dtype}
            for p in node.params
        ],
    }


def write_text(text: str, path: PathLike | None) -> str:
    """Write ``text`` (plus a final newline) to ``path`` when one is given; return ``text``.

    Examples:
        >>> write_text("ok", None)
        'ok'
    """
    if path is not None:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text if text.endswith("\n") else text + "\n")
    return text


def to_json_text(data: Mapping[str, Any], indent: int | None = 2) -> str:
    """The summary data as JSON text.

    Examples:
        >>> to_json_text({"schema_version": 1}, indent=None)
        '{"schema_version": 1}'
    """
    return json.dumps(data, indent=indent, ensure_ascii=False)


def _flat(value: Any) -> Any:
    """Scalars stay; lists and dicts become compact JSON text (one CSV cell)."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return value


def layer_records(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One flat record per layer: every field of ``data["layers"]``, nested values as JSON.

    Examples:
        >>> layer_records({"layers": [{"path": "fc", "kernel_size": [3, 3]}]})
        [{'path': 'fc', 'kernel_size': '[3,3]'}]
    """
    layers: Sequence[Mapping[str, Any]] = data["layers"]
    return [{key: _flat(value) for key, value in layer.items()} for layer in layers]


def layers_csv(data: Mapping[str, Any]) -> str:
    """The layers as CSV: a header of field names, then one line per layer.

    Examples:
        >>> print(layers_csv({"layers": [{"path": "", "calls": 1}]}), end="")
        path,calls
        ,1
    """
    records = layer_records(data)
    fields = list(dict.fromkeys(key for record in records for key in record))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(records)
    return out.getvalue()


ROOT_MARKER = "(root)"
"""The root row's ``path`` in `layers_dataframe()`, as in ``diff()`` and ``top_layers()``.

JSON and CSV keep ``""``, the ``state_dict`` convention that ``model.get_submodule()``
takes and the schema documents; in a DataFrame an empty string shows as nothing and is
easily taken for a missing value. The parentheses keep it apart from module names."""

SHAPE_COLUMNS = ("input_shapes", "input_dtypes", "output_shapes", "output_dtypes")
"""The columns `layer_rows()` adds after ``output``: the first call's tensors, in order."""


def _tensors(spec: ValueSpec | None) -> list[TensorSpec]:
    """The tensors of a recorded value, depth first, in the order of its items."""
    if isinstance(spec, TensorSpec):
        return [spec]
    if isinstance(spec, SeqSpec):
        return [t for item in spec.items for t in _tensors(item)]
    if isinstance(spec, MapSpec):
        return [t for _, item in spec.items for t in _tensors(item)]
    return []


def _tuples(value: Any) -> Any:
    """Lists become tuples, at any depth (a dict keeps its keys): hashable where they can be."""
    if isinstance(value, list):
        return tuple(_tuples(item) for item in value)
    if isinstance(value, dict):
        return {key: _tuples(item) for key, item in value.items()}
    return value


def layer_rows(tree: SummaryTree) -> list[dict[str, Any]]:
    """One row per layer for a DataFrame: every field of ``to_dict()["layers"]`` as
    Python values (lists as tuples, not JSON text), the root's ``path`` as
    `ROOT_MARKER`, and after ``output`` the `SHAPE_COLUMNS`: the shapes (tuples of
    ints) and dtypes of the first call's input and output tensors, one entry per
    tensor, depth first; ``()`` where there is none.

    Examples:
        >>> from modelsummary._records import SeqSpec, TensorSpec
        >>> x = TensorSpec((2, 3), "int64", 48)
        >>> y = TensorSpec((2, 3, 4), "float32", 96)
        >>> leaf = SummaryNode("emb", "Embedding", 1, 1, inputs=SeqSpec((x,)), output=y)
        >>> rows = layer_rows(SummaryTree(SummaryNode("", "Net", 0, 1, children=(leaf,))))
        >>> [(r["path"], r["input_shapes"], r["output_shapes"], r["output_dtypes"]) for r in rows]
        [('(root)', (), (), ()), ('emb', ((2, 3),), ((2, 3, 4),), ('float32',))]
    """
    rows = []
    layers = summary_dict(tree)["layers"]
    for node, layer in zip(tree.root.walk(), layers, strict=True):
        row: dict[str, Any] = {}
        for key, value in layer.items():
            row[key] = _tuples(value)
            if key == "output":
                inputs, output = _tensors(node.inputs), _tensors(node.output)
                row["input_shapes"] = tuple(t.shape for t in inputs)
                row["input_dtypes"] = tuple(t.dtype for t in inputs)
                row["output_shapes"] = tuple(t.shape for t in output)
                row["output_dtypes"] = tuple(t.dtype for t in output)
        if node is tree.root:
            row["path"] = ROOT_MARKER
        rows.append(row)
    return rows


def layers_dataframe(tree: SummaryTree) -> Any:
    """The layers as a ``pandas.DataFrame`` of `layer_rows()` (pandas is imported
    here, not before).

    Raises:
        ImportError: pandas is not installed; the message names the extra to install.

    Examples:
        >>> leaf = SummaryNode("fc", "Linear", 1, 1, num_params=6)
        >>> df = layers_dataframe(SummaryTree(SummaryNode("", "Net", 0, 1, children=(leaf,))))
        >>> df.num_params.sum(), list(df.path)
        (np.int64(6), ['(root)', 'fc'])
    """
    try:
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    except ImportError as err:
        raise ImportError(
            "to_dataframe() needs pandas: pip install 'modelsummary[pandas]'"
            " (or pip install pandas)"
        ) from err
    return pd.DataFrame.from_records(layer_rows(tree))


def render_text(tree: SummaryTree, options: RenderOptions) -> str:
    """The printed summary in ``options.tablefmt``: the text table, or for a pipe
    format (``github``, ``pipe``) the Markdown of `render_markdown()`, to paste as it is.

    Examples:
        >>> from modelsummary._tree.nodes import SummaryNode
        >>> tree = SummaryTree(SummaryNode("", "Net", 0, 1))
        >>> options = RenderOptions(columns=("num_params",), tablefmt="github")
        >>> render_text(tree, options) == render_markdown(tree, options)
        True
    """
    if options.tablefmt in PIPE_FORMATS:
        return render_markdown(tree, options)
    return render_table(tree, options)


Renderer = Callable[[SummaryTree, RenderOptions], str]
"""Draws a summary tree in one format."""

FORMATS: dict[str, Renderer] = {
    "table": render_text,
    "json": lambda tree, options: to_json_text(summary_dict(tree)),
    "csv": lambda tree, options: layers_csv(summary_dict(tree)),
    "markdown": render_markdown,
    "html": render_html,
}
"""Every output format by name: what `modelsummary.ModelSummary.render()` and the
command line's ``--format`` take."""


def render(fmt: str, tree: SummaryTree, options: RenderOptions) -> str:
    """The summary in the format named ``fmt`` (a key of `FORMATS`).

    Raises:
        ValueError: An unknown format name.

    Examples:
        >>> from modelsummary._tree.nodes import SummaryNode
        >>> render("csv", SummaryTree(SummaryNode("", "Net", 0, 1)), RenderOptions())[:10]
        'path,type,'
    """
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose from {', '.join(FORMATS)}")
    return FORMATS[fmt](tree, options)
