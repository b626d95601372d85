"""The layers: imports point down and never round (docs/architecture.md).

Every module's imports are read from its syntax tree, imports inside functions included
(they hide a dependency, they do not remove it) and ``if TYPE_CHECKING:`` blocks excluded
(they are for the type checker only).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
#: What each package may import, besides itself and libraries.
ALLOWED = {
    "complaints": set(),
    "workflows": {"complaints"},
    "escalation": {"complaints", "workflows"},
    "root_cause": {"complaints"},
    "complaintflow": {"complaints", "workflows", "escalation", "root_cause"},
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _imports(tree: ast.AST, module: str, known: set[str]) -> set[str]:
    """The project modules ``module`` imports (``from pkg import mod`` names the module)."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            base = node.module if node.level == 0 else _resolve(module, node.level, node.module)
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return {name for name in found if name.split(".")[0] in ALLOWED}


def _resolve(module: str, level: int, name: str) -> str:
    return ".".join([*module.split(".")[:-level], name])


def import_graph() -> nx.DiGraph:
    paths = [p for package in ALLOWED for p in (ROOT / package).rglob("*.py")]
    modules = {_module_name(p): p for p in paths}
    graph = nx.DiGraph()
    graph.add_nodes_from(modules)
    for name, path in modules.items():
        for target in _imports(ast.parse(path.read_text(encoding="utf-8")), name, set(modules)):
            if target in modules and target != name:
                graph.add_edge(name, target)
    return graph


GRAPH = import_graph()


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_a_package_imports_only_the_packages_below_it(package: str) -> None:
    upward = sorted(f"{a} imports {b}" for a, b in GRAPH.edges
                    if a.split(".")[0] == package and b.split(".")[0] not in ALLOWED[package] | {package})
    assert upward == [], "imports that point up or sideways:\n" + "\n".join(upward)


def test_no_two_packages_import_each_other() -> None:
    packages = nx.DiGraph((a.split(".")[0], b.split(".")[0]) for a, b in GRAPH.edges if a.split(".")[0] != b.split(".")[0])
    assert list(nx.simple_cycles(packages)) == []


def test_no_module_imports_itself_round_a_circle_even_from_inside_a_function() -> None:
    circles = [" -> ".join([*c, c[0]]) for c in nx.simple_cycles(GRAPH)]
    assert circles == [], "import circles:\n" + "\n".join(sorted(circles))


def test_the_graph_sees_imports_inside_functions_and_leaves_out_type_checking_blocks() -> None:
    source = ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import escalation.models\n"
              "def f():\n    from workflows import machine\n")
    known = {"workflows.machine", "escalation.models"}
    assert _imports(ast.parse(source), "complaints.x", known) == {"workflows.machine"}


def test_the_graph_holds_the_real_edges() -> None:
    assert GRAPH.has_edge("complaintflow.bootstrap", "workflows.engine")
    assert GRAPH.has_edge("workflows.engine", "complaints.uow")


#: Modules that may build writes: each package's repository, and the driver-level writer.
WRITERS = {"complaints.repository", "escalation.repository", "root_cause.repository", "complaints.bulk"}


def _writes(tree: ast.AST) -> list[int]:
    """Lines that build an INSERT, UPDATE or DELETE (``update(t)``, ``t.insert()``, ``Bulk(...)``)."""
    lines = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
        table_method = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id.endswith("_t")
        if name in ("Bulk", "Stamps") or (isinstance(func, ast.Name) and name in ("insert", "update", "delete")) \
                or (table_method and name in ("insert", "update", "delete")):
            lines.append(node.lineno)
    return lines


def test_each_package_writes_its_tables_through_its_repository_only() -> None:
    found = []
    for package in ("complaints", "workflows", "escalation", "root_cause"):
        for path in (ROOT / package).rglob("*.py"):
            module = _module_name(path)
            if module not in WRITERS:
                found += [f"{module}:{line}" for line in _writes(ast.parse(path.read_text(encoding="utf-8")))]
    assert found == [], "writes built outside a repository:\n" + "\n".join(found)


def test_the_write_finder_sees_each_form_of_write() -> None:
    source = "update(timer_t)\nledger_t.insert()\nBulk(x)\nconn.execute(select(a))\n"
    assert _writes(ast.parse(source)) == [1, 2, 3]
