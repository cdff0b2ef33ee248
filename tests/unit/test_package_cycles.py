"""deploy/'s packages (deploy/__init__.py maps them) import each other without a cycle at module
level: a package's modules may use a lower one's, never the other way round. Imports inside a
function or under TYPE_CHECKING do not count (they run when used, or never)."""

from __future__ import annotations

import ast
from pathlib import Path

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def unit_of(path: Path) -> str:
    """A package's name for its modules (deploy/gates/health.py -> gates), else the module's own."""
    parts = path.relative_to(DEPLOY).with_suffix("").parts
    return parts[0]


def module_level_imports(tree: ast.Module) -> list[str]:
    found = []
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("deploy."):
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name.startswith("deploy.")]
    return found


def edges(root: Path = DEPLOY) -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        source = unit_of(path)
        for name in module_level_imports(ast.parse(path.read_text())):
            target = name.split(".")[1]
            if target != source:
                graph.setdefault(source, set()).add(target)
    return graph


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of `graph` as a path (first == last), or None."""
    state: dict[str, int] = {}
    trail: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        trail.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return trail[trail.index(nxt):] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        trail.pop()
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_cycle_finder_finds_one_and_only_one():
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b", "c"}, "b": {"c"}, "c": set()}) is None


def test_a_function_level_or_type_only_import_does_not_count():
    tree = ast.parse("from deploy.x import y\nif TYPE_CHECKING:\n    from deploy.z import w\n"
                     "def f():\n    from deploy.q import r\n")
    assert module_level_imports(tree) == ["deploy.x"]


def test_no_package_of_deploy_imports_another_in_a_cycle():
    graph = edges()
    assert {"engine", "gates", "monitoring", "phases", "db"} <= set(graph)     # the walk saw the packages
    assert cycle(graph) is None, " -> ".join(cycle(graph))
