"""The package's layout rules, read from the source with ``ast`` (nothing is imported).

- No import circle among the package's modules. Every import that runs counts, at any
  level: a function-level import that closes a circle (the old way around one) still
  ties the two modules together. An import under ``if TYPE_CHECKING:`` never runs and
  only names a type (the error type names the summary it carries), so it is no edge of
  a circle.
- The pure stages, ``modelsummary/_tree/`` and ``modelsummary/_present/``, never import
  torch or the tracing stage ``modelsummary._trace``, neither themselves nor through
  another module of the package they import; here ``TYPE_CHECKING`` imports count too.

The modules are found by walking the package folder; no list of them is kept here. The
checker is tried on small packages written to a temporary folder first, so a rule it
could never break would show.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "modelsummary"
PURE_STAGES = ("_tree", "_present")
FORBIDDEN = ("torch", "_trace")  # torch itself; the tracing stage, as modelsummary._trace


def _module_names(root: Path) -> dict[str, Path]:
    """Every module under the package folder ``root``, by its dotted name."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = (root.name, *path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _type_checking_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under an ``if TYPE_CHECKING:`` (or ``typing.TYPE_CHECKING``)."""
    inside: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test) in {
            "TYPE_CHECKING",
            "typing.TYPE_CHECKING",
        }:
            inside |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return inside


def _imports(module: str, path: Path, known: set[str], *, typing_only: bool) -> Iterator[str]:
    """The absolute names ``module`` imports, at any depth of its code; with
    ``typing_only=False``, not those under ``if TYPE_CHECKING:``."""
    is_package = path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    skipped = set() if typing_only else _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = module.split(".")
                base_parts = parts if is_package else parts[:-1]
                base_parts = base_parts[: len(base_parts) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            yield base
            for alias in node.names:  # `from . import x` imports the module x
                if f"{base}.{alias.name}" in known:
                    yield f"{base}.{alias.name}"


def import_graph(
    root: Path, *, typing_only: bool = False
) -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """``(edges, outside)``: for each module of the package under ``root``, the package's
    modules it imports, and the names from outside the package it imports; the imports
    under ``if TYPE_CHECKING:`` only with ``typing_only=True``."""
    modules = _module_names(root)
    known = set(modules)
    edges: dict[str, set[str]] = {}
    outside: dict[str, set[str]] = {}
    for module, path in modules.items():
        names = set(_imports(module, path, known, typing_only=typing_only))
        edges[module] = {name for name in names if name in known and name != module}
        outside[module] = {name for name in names if name.partition(".")[0] != root.name}
    return edges, outside


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm),
    each sorted, and modules that import themselves."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1 or v in edges[v]:
                found.append(sorted(group))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def pure_stage_breaches(root: Path) -> list[str]:
    """``"module -> ... -> forbidden"`` for each pure-stage module that reaches torch or
    the tracing stage, directly or through the package's other modules."""
    edges, outside = import_graph(root, typing_only=True)
    trace = f"{root.name}._trace"

    def forbidden(name: str) -> bool:
        return name.partition(".")[0] == "torch" or name == trace or name.startswith(trace + ".")

    breaches = []
    for module in sorted(edges):
        if not any(module.startswith(f"{root.name}.{stage}") for stage in PURE_STAGES):
            continue
        seen = {module}
        paths = [[module]]
        while paths:  # breadth first: the shortest way to each module
            path = paths.pop(0)
            here = path[-1]
            bad = sorted(n for n in outside[here] | edges[here] if forbidden(n))
            if bad:
                breaches.append(" -> ".join([*path, bad[0]]))
                break
            for nxt in sorted(edges[here] - seen):
                seen.add(nxt)
                paths.append([*path, nxt])
    return breaches


# -- the rules on this package ---------------------------------------------------------------


def test_the_walk_finds_the_stages():
    edges, _ = import_graph(PACKAGE)
    for stage in ("_trace", "_tree", "_present"):
        assert any(m.startswith(f"modelsummary.{stage}.") for m in edges), stage
    assert "modelsummary._tree.nodes" in edges["modelsummary._present.render"]


def test_no_import_circle():
    edges, _ = import_graph(PACKAGE)
    assert circles(edges) == []


def test_pure_stages_import_neither_torch_nor_the_tracer():
    assert pure_stage_breaches(PACKAGE) == []


def test_torchinfo_names_import_nothing_of_the_package():
    edges, _ = import_graph(PACKAGE)
    assert edges["modelsummary._torchinfo"] == set()


# -- the checker itself, on packages made to break each rule ---------------------------------


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for name, text in {"__init__.py": "", **files}.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"a.py": "from . import b\n", "b.py": "from .a import x\n"}, [["pkg.a", "pkg.b"]]),
        (
            {"a.py": "from .b import y\n", "b.py": "def f():\n    from . import a\n"},
            [["pkg.a", "pkg.b"]],
        ),
        (
            {
                "a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.b\n",
                "b.py": "import pkg.a\n",
            },
            [],
        ),
        (
            {
                "_tree/__init__.py": "",
                "_tree/n.py": "from .._t import x\n",
                "_t.py": "def f():\n    from ._tree import n\n",
            },
            [["pkg._t", "pkg._tree.n"]],
        ),
        ({"a.py": "from . import b\n", "b.py": "import os\n"}, []),
    ],
    ids=["module-level", "function-level", "type-checking-only", "across-folders", "none"],
)
def test_the_checker_finds_a_circle(tmp_path, files, expected):
    edges, _ = import_graph(_package(tmp_path, files))
    assert circles(edges) == expected


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ({"_tree/__init__.py": "", "_tree/n.py": "import torch.nn\n"}, ["pkg._tree.n -> torch.nn"]),
        (
            {"_present/__init__.py": "", "_present/r.py": "def f():\n    from torch import nn\n"},
            ["pkg._present.r -> torch"],
        ),
        (
            {"_tree/__init__.py": "", "_tree/n.py": "from .._trace.tracer import T\n"},
            ["pkg._tree.n -> pkg._trace.tracer"],
        ),
        (
            {"_present/__init__.py": "", "_present/r.py": "from .. import _trace\n"},
            ["pkg._present.r -> pkg._trace"],
        ),
        (
            {
                "_tree/__init__.py": "",
                "_tree/n.py": "from .._io import x\n",
                "_io.py": "import torch\n",
            },
            ["pkg._tree.n -> pkg._io -> torch"],
        ),
        (
            {
                "_tree/__init__.py": "",
                "_tree/n.py": "import typing\nif typing.TYPE_CHECKING:\n    import torch\n",
            },
            ["pkg._tree.n -> torch"],
        ),
        ({"_tree/__init__.py": "", "_tree/n.py": "import math\n", "_io.py": "import torch"}, []),
    ],
    ids=[
        "torch",
        "torch-in-a-function",
        "tracer",
        "tracer-package",
        "through-a-module",
        "torch-for-types",
        "none",
    ],
)
def test_the_checker_finds_torch_in_a_pure_stage(tmp_path, files, expected):
    root = _package(tmp_path, {"_trace/__init__.py": "", "_trace/tracer.py": "", **files})
    assert pure_stage_breaches(root) == expected
