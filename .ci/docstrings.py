"""Rewrite the package's docstrings into what the docs tooling renders; safe to re-run.

mkdocstrings reads Google-style docstrings with griffe, which knows an ``Examples:``
section (rendered as code) but takes ``Example:`` for an admonition whose ``>>>``
lines run together into one paragraph; and it prints Sphinx roles such as
``:func:`summary``` literally. So, in every ``modelsummary/**/*.py``:

* a line that is only ``Example:`` becomes ``Examples:``;
* ``:func:`x``` / ``:meth:`x``` become ```x()```; ``:attr:``, ``:class:``, ``:mod:``,
  ``:data:``, ``:exc:``, ``:obj:`` and ``:const:`` become ```x```; a ``~`` keeps the last
  dotted part, as in Sphinx, and ``:role:`title <target>``` keeps the title.

Run from the repository root: ``python .ci/docstrings.py``.
"""

import pathlib
import re

ROLE = re.compile(r":(?:py:)?(func|meth|attr|class|mod|data|exc|obj|const):`(~?)([^`]+)`")
EXAMPLE = re.compile(r"(?m)^([ \t]*)Example:[ \t]*$")


def plain(match: re.Match[str]) -> str:
    kind, short, name = match.groups()
    titled = re.fullmatch(r"(.+?)\s*<[^>]+>", name)
    if titled:
        return f"`{titled[1]}`"
    if short:
        name = name.rsplit(".", 1)[-1]
    if kind in ("func", "meth") and not name.endswith(")"):
        name += "()"
    return f"`{name}`"


for path in sorted(pathlib.Path("modelsummary").rglob("*.py")):
    text = path.read_text(encoding="utf-8")
    new = EXAMPLE.sub(r"\1Examples:", ROLE.sub(plain, text))
    if new != text:
        path.write_text(new, encoding="utf-8")
        print(path)
