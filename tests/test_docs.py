"""The API docs: every docstring example renders as code, no Sphinx role prints literally,
and the API page shows each public name once (what `mkdocs build --strict` cannot see).

The docs tooling reads docstrings with griffe (the ``docs`` extra, which the ``test``
extra includes, so these tests run with the rest).
"""

from __future__ import annotations

import json
import pkgutil
import re
from pathlib import Path

import griffe
import pytest

import modelsummary

ROOT = Path(__file__).resolve().parents[1]
FIX = "run `python .ci/docstrings.py` from the repository root to rewrite them"
ROLE = re.compile(r":(?:py:)?(?:func|meth|attr|class|mod|data|exc|obj|const):`")


@pytest.fixture(scope="module")
def package():
    return griffe.load("modelsummary", search_paths=[str(ROOT)], resolve_aliases=False)


def _documented(obj):
    """The package's own objects with a docstring, depth first; imported names skipped."""
    stack = [obj]
    while stack:
        current = stack.pop()
        if current.docstring is not None:
            yield current
        stack.extend(m for m in current.members.values() if not m.is_alias)


def test_every_docstring_example_is_in_an_examples_section(package):
    # Outside an "Examples:" section (e.g. under "Example:", an admonition) the >>> lines
    # render as one paragraph of prose.
    misplaced = []
    for obj in _documented(package):
        for section in obj.docstring.parse("google"):
            if section.kind.value != "examples" and ">>>" in json.dumps(
                section.as_dict(), cls=griffe.JSONEncoder
            ):
                misplaced.append(f"{obj.path} ({section.kind.value} section)")
    assert not misplaced, f"examples that render as prose ({FIX}): {misplaced}"
    examples = [o for o in _documented(package) if ">>>" in o.docstring.value]
    assert len(examples) > 50  # the walk did reach the package's docstrings


def test_no_sphinx_roles_in_docstrings(package):
    literal = [o.path for o in _documented(package) if ROLE.search(o.docstring.value)]
    assert not literal, f"Sphinx roles, printed literally by the docs ({FIX}): {literal}"


def _target(package, identifier):
    obj = package[identifier.removeprefix("modelsummary.")]
    return obj.final_target if obj.is_alias else obj


def test_api_page_lists_every_public_name_once(package):
    listed = re.findall(r"(?m)^::: (\S+)$", (ROOT / "docs" / "api.md").read_text())
    paths = []
    for identifier in listed:
        target = _target(package, identifier)
        # a module would render everything it defines or imports: its classes twice
        assert not target.is_module, f"{identifier} is a module; name the object in it"
        paths.append(target.path)
    assert len(paths) == len(set(paths)), f"listed twice: {paths}"
    # a public name is documented when its object is (ModelStatistics is ModelSummary)
    shown = [pkgutil.resolve_name(identifier) for identifier in listed]
    missing = sorted(
        name
        for name in set(modelsummary.__all__) - {"__version__"}
        if not any(getattr(modelsummary, name) is obj for obj in shown)
    )
    assert not missing, f"docs/api.md misses public names: {missing}"
