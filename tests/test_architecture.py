"""The shape of the code: no import cycles (late imports included) and no oversized modules.

import-linter (`make lint`) checks the layers, but only between packages and only for the imports
it sees; an import inside a function that closes a cycle is still a cycle, so this walks the AST of
every module and counts every import statement, wherever it stands.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = (
    *("core", "front", "campaign", "donations", "audit", "ops", "config", "deploy"),
    *("bench", "testing"),
)
MAX_LINES = 400
# Declarations may be long; migrations are generated.
SIZE_EXEMPT = {"models.py"}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def _imported(name: str, path: Path, node: ast.AST, modules: dict[str, Path]) -> list[str]:
    targets: list[str] = []
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        base = node.module or ""
        if node.level:
            parts = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
            parts = parts[: len(parts) - (node.level - 1)]
            base = ".".join([*parts, base] if base else parts)
        # `from package import module` names the module; `from module import name`, the module.
        targets = [
            f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base
            for alias in node.names
        ]
    resolved = []
    for target in targets:
        while target and target not in modules:
            target = target.rpartition(".")[0]
        if target and target != name:
            resolved.append(target)
    return resolved


def import_graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            graph[name].update(_imported(name, path, node, modules))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), or a module importing
    itself."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_sees_a_late_import_cycle():
    # The check itself must fail on what it guards against: a cycle closed inside a function.
    graph = {"a.services": {"a.tasks"}, "a.tasks": {"a.services"}, "a.models": set()}
    assert cycles(graph) == [["a.services", "a.tasks"]]


def test_no_import_cycle_between_modules_counting_late_imports():
    graph = import_graph()
    assert "donations.services.ledger" in graph  # the walk found the code
    assert cycles(graph) == []


def test_no_module_over_the_size_limit():
    too_long = {
        str(path.relative_to(ROOT)): length
        for path in _modules().values()
        if path.name not in SIZE_EXEMPT
        and (length := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert too_long == {}, f"split these along their sections (limit {MAX_LINES} lines)"


def test_only_the_gateway_reads_stripe_payloads():
    # Services receive typed facts (donations/gateway/types.py); Stripe's shapes stay in events.py.
    readers = sorted(
        str(path.relative_to(ROOT))
        for path in _modules().values()
        if '["data"]["object"]' in path.read_text()
    )
    assert readers == ["donations/gateway/events.py"]
