"""The import graph of mlmd/, apps/ and campaigns/ (issue 14 item 6, DESIGN §2): no circles at
module level, and the layers point one way (campaigns → apps → mlmd; mlmd never imports
Parsl, apps or campaigns).

The graph is read from the source with :mod:`ast` (nothing is imported, so the whole check
takes well under a second): an edge A → B for every ``import B`` / ``from B import x`` that
runs when A is imported, i.e. outside functions and outside ``if TYPE_CHECKING:``. ``from
P import m`` where ``P.m`` is a module counts as an edge to ``P.m``. Imports inside a function
run later and cannot make a circle at import time; they still count for the layering test.

Run ``python -m tests.test_imports`` to print a circle (or "no import circle").
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mlmd", "apps", "campaigns")


def module_files() -> dict[str, Path]:
    """Dotted module name → source file, for every .py file under the three packages."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(body: list[ast.stmt], module_level: bool):
    """(node, runs_at_import) for every import statement in ``body``, recursively."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, module_level
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield from _imports(node.body, False)
        elif isinstance(node, ast.If) and _is_type_checking(node):
            yield from _imports(node.body, False)
            yield from _imports(node.orelse, module_level)
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                yield from _imports(getattr(node, field, None) or [], module_level)


def _resolve(node: ast.ImportFrom, name: str, is_package: bool) -> str:
    """The absolute module a ``from ... import`` of module ``name`` reads from."""
    if not node.level:
        return node.module or ""
    anchor = name.split(".") if is_package else name.split(".")[:-1]
    anchor = anchor[: len(anchor) - (node.level - 1)]
    return ".".join(anchor + ([node.module] if node.module else []))


def _targets(node: ast.Import | ast.ImportFrom, name: str, is_package: bool) -> list[str]:
    """Absolute names a statement of module ``name`` imports: ``import a.b`` → a.b;
    ``from P import m, x`` → P.m where that is a module of ours, else P."""
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = _resolve(node, name, is_package)
    return [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
            for alias in node.names]  # fmt: skip


def import_graph(module_level_only: bool = True) -> dict[str, set[str]]:
    """Module of ours → the modules of ours it imports. With ``module_level_only=False``,
    imports inside functions count too, and so does the top-level package of every import
    (``parsl``, ``numpy``, ...)."""
    graph: dict[str, set[str]] = {}
    for name, path in MODULES.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        edges = set()
        for node, at_import in _imports(tree.body, True):
            if module_level_only and not at_import:
                continue
            targets = _targets(node, name, path.name == "__init__.py")
            edges.update(t for t in targets if t in MODULES)
            if not module_level_only:
                edges.update(t.split(".")[0] for t in targets if t)
        edges.discard(name)
        graph[name] = edges
    return graph


def circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle [a, b, ..., a] of ``graph``, or None when it is acyclic."""
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        return list(reversed(exc.args[1]))
    return None


def test_no_import_circle_at_module_level():
    graph = import_graph()
    assert len(graph) > 100  # the scan found the packages
    found = circle(graph)
    assert found is None, "import circle: " + " → ".join(found)


def test_the_circle_finder_finds_a_circle():
    found = circle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()})
    assert found is not None and set(found) == {"a", "b", "c"} and found[0] == found[-1]
    assert circle({"a": {"b"}, "b": set()}) is None


def test_layers_point_one_way():
    """mlmd/ never imports Parsl (nor apps/ or campaigns/), even inside a function; apps/
    never imports campaigns/."""
    graph = import_graph(module_level_only=False)
    wrong = {
        name: sorted(graph[name] & forbidden)
        for layer, forbidden in (("mlmd", {"parsl", "apps", "campaigns"}), ("apps", {"campaigns"}))
        for name in graph
        if name.split(".")[0] == layer and graph[name] & forbidden
    }
    assert not wrong, f"imports against the layering (DESIGN §2): {wrong}"


if __name__ == "__main__":
    print(" → ".join(circle(import_graph()) or ["no import circle"]))
