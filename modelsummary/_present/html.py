"""Summary tree -> HTML for notebooks. Pure; never imports torch.

The cells come from `modelsummary._present.render.table_cells()`, the same rows the
text table prints. Every piece of user text (module names, types, notes) is
escaped. Colours are inherited from the page and rules are translucent grey,
so the table reads in light and dark themes alike; styles are inline, so they
survive notebook sanitizers that drop ``<style>`` blocks.

Examples:
    >>> from modelsummary._present.render import RenderOptions
    >>> from modelsummary._tree.nodes import SummaryNode, SummaryTree
    >>> leaf = SummaryNode("fc", "<Lin>", 1, 1, num_params=6, subtree_params=6)
    >>> tree = SummaryTree(SummaryNode("", "Net", 0, 1, subtree_params=6, children=(leaf,)))
    >>> html = render_html(tree, RenderOptions(columns=("num_params",)))
    >>> "fc (&lt;Lin&gt;)" in html, "<Lin>" in html
    (True, False)
"""

from __future__ import annotations

from html import escape

from .._tree.nodes import SummaryTree
from .render import (
    FooterGroup,
    RenderOptions,
    footer_groups,
    table_cells,
    unused_cells,
    unused_line,
)

_FONT = "font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 12px"
_TABLE = f"border-collapse: collapse; color: inherit; background: transparent; {_FONT}"
_CELL = "padding: 2px 10px; border: none; background: transparent; color: inherit"
_RULE = "border-bottom: 1px solid rgba(128, 128, 128, 0.45)"
_HEAD = f"{_CELL}; {_RULE}; font-weight: bold"
_MUTED = "opacity: 0.7"


def _cell(tag: str, text: str, align: str, style: str = _CELL, css_class: str = "") -> str:
    klass = f' class="{css_class}"' if css_class else ""
    return (
        f'<{tag}{klass} style="{style}; text-align: {align}; white-space: pre">'
        f"{escape(text)}</{tag}>"
    )


def _table(
    headers: tuple[str, ...],
    rows: tuple[tuple[str, ...], ...],
    colalign: tuple[str, ...],
    css_class: str,
    row_classes: tuple[str, ...] = (),
) -> list[str]:
    out = [f'<table class="{css_class}" style="{_TABLE}">', "<thead><tr>"]
    out += [_cell("th", h, a, _HEAD) for h, a in zip(headers, colalign, strict=True)]
    out.append("</tr></thead><tbody>")
    for i, row in enumerate(rows):
        klass = row_classes[i] if i < len(row_classes) else ""
        out.append(f'<tr class="{klass}">' if klass else "<tr>")
        out += [_cell("td", c, a) for c, a in zip(row, colalign, strict=True)]
        out.append("</tr>")
    out.append("</tbody></table>")
    return out


def _footer(group: FooterGroup) -> list[str]:
    if group.kind == "note":  # a sentence, not a label and a value
        return [
            f'<p class="ms-{group.kind}" style="{_FONT}; {_MUTED}; margin: 6px 0 0 0">'
            f"{escape(line.value)}</p>"
            for line in group.lines
        ]
    out = [f'<table class="ms-{group.kind}" style="{_TABLE}; margin-top: 6px"><tbody>']
    for line in group.lines:
        label = _cell("th", line.label, "left", _CELL, f"ms-{line.kind}")
        out.append(f"<tr>{label}{_cell('td', line.value, 'right')}</tr>")
    out.append("</tbody></table>")
    return out


def render_html(tree: SummaryTree, options: RenderOptions) -> str:
    """Render the summary table, its footnotes, the unused section and the footer as HTML.

    Args:
        tree: The summary tree.
        options: Columns, depth and glyphs (``col_width``, ``width`` and ``tablefmt`` do not
            apply: every value is shown whole).

    Returns:
        One ``<div class="modelsummary">`` element.
    """
    cells = table_cells(tree, options, complete=True)
    row_classes = tuple("collapsed" if c else "" for c in cells.collapsed)
    parts = ['<div class="modelsummary" style="color: inherit">']
    parts += _table(cells.headers, cells.rows, cells.colalign, "ms-layers", row_classes)
    if cells.notes:
        parts.append(f'<div class="ms-notes" style="{_FONT}; {_MUTED}; margin-top: 4px">')
        parts += [f"<div>{escape(note)}</div>" for note in cells.notes]
        parts.append("</div>")
    headers, rows = unused_cells(tree, options)
    if rows:
        parts.append('<div style="margin-top: 8px"></div>')
        parts += _table(headers, rows, ("left", "right"), "ms-unused")
    quiet = unused_line(tree, options)
    if quiet:
        parts.append(f'<div class="ms-unused-line" style="{_FONT}; {_MUTED}">{escape(quiet)}</div>')
    for group in footer_groups(tree, options):
        parts += _footer(group)
    parts.append("</div>")
    return "\n".join(parts)
