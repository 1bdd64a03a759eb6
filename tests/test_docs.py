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


def _nav_pages(entries: object) -> list[str]:
    """The Markdown files of mkdocs.yml's nav, at any depth of sections."""
    if isinstance(entries, str):
        return [entries]
    if isinstance(entries, list):
        return [page for entry in entries for page in _nav_pages(entry)]
    if isinstance(entries, dict):
        return [page for value in entries.values() for page in _nav_pages(value)]
    return []


def test_the_home_page_links_every_page_of_the_nav():
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text(encoding="utf-8"))
    pages = _nav_pages(config["nav"])
    assert "index.md" in pages and len(pages) >= 10
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(([\w./-]+\.md)(?:#[\w-]*)?\)", index))
    missing = [page for page in pages if page != "index.md" and page not in linked]
    assert not missing, f"docs/index.md does not link {missing}"


@pytest.fixture(scope="module")
def api_html(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The API page as mkdocs builds it (the whole site, into a temporary folder)."""
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    site = tmp_path_factory.mktemp("site")
    build(load_config(str(ROOT / "mkdocs.yml"), site_dir=str(site)))
    return (site / "api" / "index.html").read_text(encoding="utf-8")


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).strip()


def test_api_headings_are_names_and_signatures_are_code(api_html):
    headings = re.findall(r'<h3 id="(modelsummary\.[\w.]+)"[^>]*>(.*?)</h3>', api_html, re.S)
    assert len(headings) >= 20
    for identifier, heading in headings:  # a heading is the name alone, never the signature
        labels = re.sub(r'<span class="doc doc-labels">.*?</span>', "", heading, flags=re.S)
        assert _text(labels) == identifier.rpartition(".")[2], identifier
    after = api_html.split('<h3 id="modelsummary.summary"', 1)[1].split("</h3>", 1)[1]
    block = re.match(r'\s*<div class="doc-signature highlight"><pre>(.*?)</pre>', after, re.S)
    assert block, "summary()'s signature is not a code block under its heading"
    code = re.sub(r"\s+", "", _text(block.group(1)))  # as one line, however it was wrapped
    assert code.startswith("summary(model,input_size=None,input_data=None,")
    assert code.removesuffix(")").removesuffix(",").endswith("**kwargs")


def test_the_readme_pins_one_torch_for_both_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    commands = [
        line for line in re.findall(r"```bash\n(.*?)```", readme, re.S) if "pip install" in line
    ]
    assert len(commands) >= 2
    main, test = commands[0], readme.split("<!-- test-command -->", 1)[1]
    assert "python -m modelsummary" in main and "python -m pytest" in test
    pins = {pin for command in commands for pin in re.findall(r"\btorch==([\w.+]+)", command)}
    assert len(pins) == 1, f"the README pins several torch versions: {sorted(pins)}"
    assert "torchvision==" in test and f"torch=={pins.pop()}" in main


TORCHINFO_NAMES = [
    *(f"SummaryNode.{name}" for name in ("class_name", "var_name", "macs", "is_leaf_layer")),
    *(f"SummaryNode.{name}" for name in ("input_size", "output_size", "num_params_to_str")),
    "ModelSummary.formatting",
    "ModelSummary.unmasked_params",
]


@pytest.mark.parametrize("name", TORCHINFO_NAMES)
def test_api_page_shows_the_torchinfo_names_the_classes_inherit(api_html, name):
    assert f'id="modelsummary.{name}"' in api_html
