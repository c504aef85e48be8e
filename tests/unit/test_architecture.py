"""The shape of the package, read from its source: no import cycles, small modules, one-way layers.

These tests import nothing from brittle. They parse ``src/brittle`` with :mod:`ast` and build the
module import graph, counting function-level imports (and ``TYPE_CHECKING`` blocks) as well as
module-level ones: a function-level import that dodges a cycle still ties the two modules
together, and it fails only later, at the first call. docs/architecture.md explains the layers.
"""

from __future__ import annotations

import ast
import functools
import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "brittle"

MAX_TOP_LEVEL_MODULES = 12
MAX_MODULE_LINES = 700

# (importer, imported): no module of the first group may import one of the second.
FORBIDDEN = [
    ("brittle.spec", "brittle.run"),
    ("brittle.spec", "brittle.report"),
    ("brittle.spec", "brittle.cli"),
    ("brittle.run", "brittle.report"),
    ("brittle.run", "brittle.cli"),
    ("brittle.stats", "brittle.run"),
    ("brittle.stats", "brittle.report"),
    ("brittle.stats", "brittle.gateway"),
    ("brittle.stats", "brittle.spec"),
    ("brittle.gateway", "brittle.spec"),
    ("brittle.gateway", "brittle.run"),
    ("brittle.gateway", "brittle.checks"),
    ("brittle.gateway", "brittle.report"),
]
# Only these sit on top: nothing below may import them.
TOP = ("brittle._plugin", "brittle.cli")


@dataclass
class Edge:
    """One module importing another: the first line that does it, and whether any import of it
    runs at module level (False: only inside functions or ``if`` blocks)."""

    line: int
    module_level: bool

    def __str__(self) -> str:
        return f"line {self.line}{'' if self.module_level else ', not at module level'}"


Graph = dict[str, dict[str, Edge]]


def module_files(root: Path) -> dict[str, Path]:
    """Dotted module name -> file, for every .py file under ``root`` (a folder holding packages)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        name = ".".join(path.relative_to(root).with_suffix("").parts)
        modules[name.removesuffix(".__init__")] = path
    return modules


def _imported_names(node: ast.Import | ast.ImportFrom, package: str) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = node.module or ""
    if node.level:
        parts = package.split(".")
        base = ".".join(parts[: len(parts) - node.level + 1] + ([base] if base else []))
    # ``from a import b`` may name a module a.b or a name defined in a: try both.
    return [base] + [f"{base}.{alias.name}" for alias in node.names]


def import_graph(root: Path) -> Graph:
    """Module -> {imported module: Edge}, over the modules under ``root`` only.

    Relative imports are resolved; a name is mapped to the longest module prefix that exists
    (``from brittle.x import y`` imports ``brittle.x.y`` if that is a module, else ``brittle.x``).
    A module importing its own ancestor packages is not counted: Python runs them first anyway.
    """
    modules = module_files(root)
    graph: Graph = {name: {} for name in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        top_level = {id(node) for node in tree.body}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            for imported in _imported_names(node, package):
                while imported and imported not in modules:
                    imported = imported.rpartition(".")[0]
                if not imported or imported == name or name.startswith(imported + "."):
                    continue
                at_top = id(node) in top_level
                edge = graph[name].get(imported)
                if edge is None:
                    graph[name][imported] = Edge(node.lineno, at_top)
                elif at_top and not edge.module_level:
                    graph[name][imported] = Edge(node.lineno, True)
    return graph


def tangles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm): each
    module of one can reach every other, so each lies on a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(start: str) -> None:  # Tarjan, iterative
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return components


def shortest_cycle(graph: Graph, component: list[str]) -> list[str]:
    """A shortest path from the component's first module back to itself, inside the component."""
    members = set(component)
    start = component[0]
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for successor in sorted(graph[node]):
                if successor == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [start, *reversed(path[:-1]), start]
                if successor in members and successor not in parents:
                    parents[successor] = node
                    following.append(successor)
        frontier = following
    raise AssertionError(f"no cycle through {start}")  # pragma: no cover


def describe(graph: Graph, component: list[str]) -> str:
    """The component's modules, and one shortest cycle among them with the importing lines."""
    cycle = shortest_cycle(graph, component)
    steps = [f"    {a} -> {b} ({graph[a][b]})" for a, b in itertools.pairwise(cycle)]
    return f"  {len(component)} modules: {', '.join(component)}\n  e.g.\n" + "\n".join(steps)


def within(module: str, group: str) -> bool:
    return module == group or module.startswith(group + ".")


@functools.cache
def brittle_graph() -> Graph:
    return import_graph(PACKAGE.parent)


def test_the_graph_builder_sees_relative_and_function_level_imports(tmp_path: Path) -> None:
    """Guards the guard: a graph that missed these would call any package acyclic."""
    package = tmp_path / "pkg"
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from .sub import b\n")
    (package / "sub" / "__init__.py").write_text("")
    (package / "sub" / "b.py").write_text("def f():\n    from ..a import f\n    from . import c\n")
    (package / "sub" / "c.py").write_text("import pkg.sub\nimport os\n")
    graph = import_graph(tmp_path)
    assert graph["pkg.a"] == {"pkg.sub": Edge(1, True), "pkg.sub.b": Edge(1, True)}
    assert graph["pkg.sub.b"] == {"pkg.a": Edge(2, False), "pkg.sub.c": Edge(3, False)}
    assert graph["pkg.sub.c"] == {}  # its own package, and a module from elsewhere
    assert tangles(graph) == [["pkg.a", "pkg.sub.b"]]
    assert shortest_cycle(graph, ["pkg.a", "pkg.sub.b"]) == ["pkg.a", "pkg.sub.b", "pkg.a"]


def test_the_import_graph_has_no_cycle() -> None:
    graph = brittle_graph()
    assert "brittle.spec.eval" in graph, "the graph found no modules: is PACKAGE right?"
    found = tangles(graph)
    assert not found, f"{len(found)} import cycle(s) among brittle's modules:\n" + "\n\n".join(
        describe(graph, component) for component in found
    )


def test_at_most_twelve_modules_at_the_top_level() -> None:
    top = sorted(path.name for path in PACKAGE.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, (
        f"{len(top)} .py files directly under src/brittle (at most {MAX_TOP_LEVEL_MODULES}): "
        f"{', '.join(top)}; move each into the folder of its concern"
    )


def test_no_module_is_over_700_lines() -> None:
    sizes = {
        str(path.relative_to(ROOT)): len(path.read_text(encoding="utf-8").splitlines())
        for path in PACKAGE.rglob("*.py")
    }
    over = {path: lines for path, lines in sorted(sizes.items()) if lines > MAX_MODULE_LINES}
    assert not over, f"modules over {MAX_MODULE_LINES} lines (split each by idea): " + ", ".join(
        f"{path} ({lines})" for path, lines in over.items()
    )


@pytest.mark.parametrize(("importer", "imported"), FORBIDDEN)
def test_imports_flow_one_way_between_layers(importer: str, imported: str) -> None:
    graph = brittle_graph()
    wrong = [
        f"  {source} imports {target} ({edge})"
        for source, targets in sorted(graph.items())
        if within(source, importer)
        for target, edge in sorted(targets.items())
        if within(target, imported)
    ]
    assert not wrong, f"{importer} must not import {imported}:\n" + "\n".join(wrong)


def test_only_the_plugin_and_the_cli_import_them() -> None:
    graph = brittle_graph()
    wrong = [
        f"  {source} imports {target} ({edge})"
        for source, targets in sorted(graph.items())
        if not any(within(source, top) for top in TOP)
        for target, edge in sorted(targets.items())
        if any(within(target, top) for top in TOP)
    ]
    assert not wrong, "only brittle._plugin and brittle.cli may import them:\n" + "\n".join(wrong)


# No \b in front: a string written to a file may hold "\nsys.path...".
SYS_PATH_EDIT = re.compile(r"sys\.path\.(insert|append|extend)\b|sys\.path\s*\+?=(?!=)")


def test_tests_and_benchmarks_do_not_edit_sys_path() -> None:
    """tests.support and benchmarks are packages imported from the repository root; a subprocess
    that needs a folder on its path gets it through PYTHONPATH."""
    edits = [
        f"  {path.relative_to(ROOT)}:{number}: {line.strip()}"
        for folder in (ROOT / "tests", ROOT / "benchmarks")
        for path in sorted(folder.rglob("*.py"))
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SYS_PATH_EDIT.search(line)
    ]
    assert not edits, "sys.path edited (import through the package instead):\n" + "\n".join(edits)
