"""Summary tree -> GitHub-flavoured Markdown: the one Markdown renderer. Never imports torch.

It draws the presentation data of `modelsummary._present.render` (the table's
cells, the unused section, the footer groups) as pipe tables, lists and
paragraphs; `to_markdown()`, ``render("markdown")`` and a pipe ``tablefmt``
(``to_text(tablefmt="github")``, ``--tablefmt github``) all come here.

- The layers: one pipe table, names left, numbers right; footnotes as a list.
- The unused section: a pipe table, and the line that sums up parameter-free
  modules as a paragraph.
- The footer: one two-column table per group (counts, sizes, the training
  estimate), headed by the group's title and ``Value``, a value in every row;
  a note (a summary made without a pass) as a paragraph.

A cell keeps its text: a ``|`` is escaped and the tree's indentation made
non-breaking, so a Markdown renderer shows what the text table shows.

Examples:
    >>> from modelsummary._tree.nodes import SummaryNode, SummaryTree, Totals
    >>> leaf = SummaryNode("fc", "Linear", 1, 1, num_params=6, subtree_params=6)
    >>> root = SummaryNode("", "Net", 0, 1, subtree_params=6, children=(leaf,))
    >>> tree = SummaryTree(root, totals=Totals(total_params=6, trainable_params=6))
    >>> print(render_markdown(tree, RenderOptions(columns=("num_params",))))
    | Layer (type)   |   Param # |
    |:---------------|----------:|
    | Net            |        -- |
    | └─fc (Linear)  |         6 |
    <BLANKLINE>
    | Parameters (the model's count is Total params)   |   Value |
    |:-------------------------------------------------|--------:|
    | Total params                                     |       6 |
    | Trainable params                                 |       6 |
    | Non-trainable params                             |       0 |
    | Unused params                                    |       0 |
    | All params                                       |       6 |
    | Buffers                                          |       0 |
    | Total mult-adds                                  |       0 |
    <BLANKLINE>
    | Sizes                |   Value |
    |:---------------------|--------:|
    | Input size           |     0 B |
    | Parameters size      |     0 B |
    | Buffers size         |     0 B |
    | Forward activations  |     0 B |
    | Estimated total size |     0 B |
"""

from __future__ import annotations

from collections.abc import Sequence

from tabulate import tabulate

from .._tree.nodes import SummaryTree
from .render import (
    PIPE_FORMATS,
    FooterGroup,
    RenderOptions,
    footer_groups,
    table_cells,
    unused_cells,
    unused_line,
)

GROUP_TITLES = {"counts": "Parameters", "sizes": "Sizes", "training": "Training estimate"}
"""The first header of a footer group's table when the group has no title line of its own."""

VALUE_HEADER = "Value"
"""The second header of every footer table."""


def md_cell(text: str) -> str:
    """``text`` as one table cell: a pipe escaped, leading spaces kept (non-breaking).

    Examples:
        >>> md_cell("  a|b")
        '\\xa0\\xa0a\\\\|b'
    """
    stripped = text.lstrip(" ")
    text = "\u00a0" * (len(text) - len(stripped)) + stripped
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def md_text(text: str) -> str:
    """``text`` as a Markdown paragraph or list item that shows it as it is.

    Examples:
        >>> md_text("[1] see a_b")
        '\\\\[1\\\\] see a\\\\_b'
    """
    return "".join("\\" + ch if ch in "\\`*_[]<>|#" else ch for ch in text)


def pipe_table(
    headers: Sequence[str],
    rows: Sequence[Sequence[str]],
    colalign: Sequence[str],
    fmt: str = "pipe",
) -> str:
    """A pipe table of text cells, each escaped by `md_cell()`.

    Examples:
        >>> print(pipe_table(("Name", "Count"), [("a|b", "3")], ("left", "right")))
        | Name   |   Count |
        |:-------|--------:|
        | a\\|b   |       3 |
    """
    return tabulate(
        [[md_cell(c) for c in row] for row in rows],
        [md_cell(h) for h in headers],
        tablefmt=fmt,
        colalign=tuple(colalign),
        disable_numparse=True,
        preserve_whitespace=True,
    )


def footer_table(group: FooterGroup, fmt: str = "pipe") -> str:
    """One footer group as a two-column table: its title (or `GROUP_TITLES`) and
    `VALUE_HEADER` over one row per labelled line; ``""`` for a group of notes.

    Examples:
        >>> from modelsummary._present.render import FooterLine
        >>> group = FooterGroup("sizes", (FooterLine("Input size", "16 B", "size"),))
        >>> print(footer_table(group))
        | Sizes      |   Value |
        |:-----------|--------:|
        | Input size |    16 B |
    """
    titles = [line.label for line in group.lines if line.kind == "title"]
    rows = [(line.label, line.value) for line in group.lines if line.kind not in ("title", "note")]
    if not rows:
        return ""
    title = titles[0] if titles else GROUP_TITLES.get(group.kind, group.kind.capitalize())
    return pipe_table((title, VALUE_HEADER), rows, ("left", "right"), fmt)


def render_markdown(tree: SummaryTree, options: RenderOptions) -> str:
    """The summary as GitHub-flavoured Markdown: pipe tables for the layers, the
    unused section and each group of totals; footnotes as a list; notes as paragraphs.

    ``options.tablefmt`` picks ``github`` or ``pipe``; any other format draws ``pipe``.

    Examples:
        >>> from modelsummary._tree.nodes import SummaryNode
        >>> tree = SummaryTree(SummaryNode("", "A|B", 0, 1))
        >>> print(render_markdown(tree, RenderOptions(columns=("num_params",))).splitlines()[2])
        | A\\|B           |        -- |
    """
    fmt = options.tablefmt if options.tablefmt in PIPE_FORMATS else "pipe"
    cells = table_cells(tree, options)
    parts = [pipe_table(cells.headers, cells.rows, cells.colalign, fmt)]
    if cells.notes:
        parts.append("\n".join(f"- {md_text(note)}" for note in cells.notes))
    headers, rows = unused_cells(tree, options)
    if rows:
        parts.append(pipe_table(headers, rows, ("left", "right"), fmt))
    quiet = unused_line(tree, options)
    if quiet:
        parts.append(md_text(quiet))
    for group in footer_groups(tree, options):
        table = footer_table(group, fmt)
        parts += [table] if table else []
        parts += [md_text(line.value) for line in group.lines if line.kind == "note"]
    return "\n\n".join(parts)
