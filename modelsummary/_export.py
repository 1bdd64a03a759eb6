"""Exporters: summary data -> JSON, CSV, Markdown, a pandas DataFrame. Pure; never imports torch.

JSON, CSV and the DataFrame work from the dictionary
:meth:`~modelsummary.ModelSummary.to_dict` returns, without naming its fields:
whatever a row or the totals hold flows through. Markdown draws the same cells
as the text table (:func:`modelsummary._render.table_cells`).

Example:
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
from collections.abc import Mapping, Sequence
from typing import Any

from tabulate import tabulate

from ._render import RenderOptions, footer_lines, table_cells, unused_cells
from ._tree import SummaryTree

PathLike = str | os.PathLike[str]
"""Where an exporter writes its text."""


def write_text(text: str, path: PathLike | None) -> str:
    """Write ``text`` (plus a final newline) to ``path`` when one is given; return ``text``.

    Example:
        >>> write_text("ok", None)
        'ok'
    """
    if path is not None:
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text if text.endswith("\n") else text + "\n")
    return text


def to_json_text(data: Mapping[str, Any], indent: int | None = 2) -> str:
    """The summary data as JSON text.

    Example:
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

    Example:
        >>> layer_records({"layers": [{"path": "fc", "kernel_size": [3, 3]}]})
        [{'path': 'fc', 'kernel_size': '[3,3]'}]
    """
    layers: Sequence[Mapping[str, Any]] = data["layers"]
    return [{key: _flat(value) for key, value in layer.items()} for layer in layers]


def layers_csv(data: Mapping[str, Any]) -> str:
    """The layers as CSV: a header of field names, then one line per layer.

    Example:
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


def layers_dataframe(data: Mapping[str, Any]) -> Any:
    """The layers as a ``pandas.DataFrame`` (pandas is imported here, not before).

    Raises:
        ImportError: pandas is not installed; the message names the extra to install.

    Example:
        >>> layers_dataframe({"layers": [{"path": "fc", "num_params": 6}]}).num_params.sum()
        np.int64(6)
    """
    try:
        import pandas as pd  # type: ignore[import-untyped,unused-ignore]
    except ImportError as err:
        raise ImportError(
            "to_dataframe() needs pandas: pip install 'modelsummary[pandas]'"
            " (or pip install pandas)"
        ) from err
    return pd.DataFrame.from_records(layer_records(data))


def _md_cell(text: str) -> str:
    # A pipe ends a cell and a leading space is dropped by Markdown renderers:
    # escape the one, and make the tree's indentation non-breaking.
    stripped = text.lstrip(" ")
    text = "\u00a0" * (len(text) - len(stripped)) + stripped
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def _pipe_table(
    headers: Sequence[str], rows: Sequence[Sequence[str]], colalign: Sequence[str]
) -> str:
    return tabulate(
        [[_md_cell(c) for c in row] for row in rows],
        headers=[_md_cell(h) for h in headers],
        tablefmt="pipe",
        disable_numparse=True,
        colalign=tuple(colalign),
        preserve_whitespace=True,
    )


def render_markdown(tree: SummaryTree, options: RenderOptions) -> str:
    """The summary as GitHub-flavoured Markdown: pipe tables for the layers, the
    unused section and the totals; footnotes as a list.

    Example:
        >>> from modelsummary._tree import SummaryNode, SummaryTree
        >>> tree = SummaryTree(SummaryNode("", "A|B", 0, 1))
        >>> print(render_markdown(tree, RenderOptions(columns=("num_params",))).splitlines()[2])
        | A\\|B           |        -- |
    """
    cells = table_cells(tree, options)
    parts = [_pipe_table(cells.headers, cells.rows, cells.colalign)]
    if cells.notes:
        parts.append("\n".join(f"- {_md_cell(note)}" for note in cells.notes))
    if tree.unused:
        headers, rows = unused_cells(tree)
        parts.append(_pipe_table(headers, rows, ("left", "right")))
    footer = [line.partition(": ")[::2] for group in footer_lines(tree) for line in group]
    parts.append(_pipe_table(("Totals", ""), footer, ("left", "right")))
    return "\n\n".join(parts)
