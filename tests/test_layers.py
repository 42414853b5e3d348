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
