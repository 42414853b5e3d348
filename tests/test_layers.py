"""Dependencies point down only (ARCHITECTURE.md): checked on the source's import statements."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "kehu"

#: package -> modules it must not import (prefixes)
FORBIDDEN = {
    "analytics": (
        "sqlalchemy",
        "fastapi",
        "typer",
        "kehu.services",
        "kehu.store",
        "kehu.api",
        "kehu.cli",
        "kehu.report",
        "kehu.warehouse",
    ),
    "warehouse": (
        "sqlalchemy",
        "fastapi",
        "typer",
        "kehu.services",
        "kehu.store",
        "kehu.api",
        "kehu.cli",
        "kehu.report",
    ),
    "store": (
        "fastapi",
        "typer",
        "kehu.analytics",
        "kehu.api",
        "kehu.cli",
        "kehu.report",
        "kehu.warehouse",
    ),
    # services return data: the report and its files are drawn by the faces (report.outputs)
    "services": ("fastapi", "typer", "kehu.api", "kehu.cli", "kehu.web", "kehu.report"),
    # pages call the services, as the API does: never the store's tables, the API or the CLI
    "web": ("typer", "sqlalchemy", "kehu.store", "kehu.api", "kehu.cli", "kehu.warehouse"),
    "api": ("typer", "kehu.cli"),
    # the CLI is a face: it calls the services (the store only to open and migrate it), never pages
    "cli": ("fastapi", "starlette", "kehu.web"),
    "report": ("sqlalchemy", "fastapi", "typer", "kehu.store", "kehu.api", "kehu.cli"),
}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


CASES = [(layer, path) for layer in FORBIDDEN for path in sorted((SRC / layer).rglob("*.py"))]


@pytest.mark.parametrize(("layer", "path"), CASES, ids=[str(p.relative_to(SRC)) for _, p in CASES])
def test_imports_point_down(layer, path):
    bad = sorted(
        name
        for name in _imports(path)
        for banned in FORBIDDEN[layer]
        if name == banned or name.startswith(banned + ".")
    )
    assert not bad, f"{path.relative_to(SRC)} ({layer}) imports {', '.join(bad)}"


def _part_graph() -> dict[str, set[str]]:
    """kehu's top-level parts (packages and modules) -> the other parts they import."""
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        me = path.relative_to(SRC).parts[0].removesuffix(".py")
        for name in _imports(path):
            bits = name.split(".")
            if bits[0] == "kehu" and len(bits) > 1 and bits[1] != me:
                graph.setdefault(me, set()).add(bits[1])
    return graph


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` as a path, or None."""
    state: dict[str, int] = {}  # 1 = on the path, 2 = done

    def visit(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt] if nxt in path else [node, nxt]
            if nxt not in state and (found := visit(nxt, [*path, nxt])):
                return found
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start, [start])):
            return found
    return None


def test_no_cycle_between_parts():
    """Layers and the shared modules (names, i18n, writers, ...) import each other one way."""
    cycle = _cycle(_part_graph())
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"


def test_the_cycle_check_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
