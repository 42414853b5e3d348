"""Write tables atomically: build under a temporary name, then swap in one transaction."""

from __future__ import annotations

import uuid
from typing import Any

import ibis.expr.types as ir


def run(con: Any, sql: str, params: list | None = None) -> list[tuple]:
    """Execute SQL on the backend's DuckDB connection and fetch the result.

    DuckDB 2 refuses further work on a connection with an unconsumed result, so
    even DDL is fetched.
    """
    return con.con.execute(sql, params or []).fetchall()


def object_type(con: Any, name: str) -> str | None:
    """``"TABLE"``, ``"VIEW"`` or ``None`` for ``name`` in the main schema."""
    rows = run(
        con,
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_name = ? AND table_schema = 'main' AND table_catalog = current_database()",
        [name],
    )
    if not rows:
        return None
    return "VIEW" if "VIEW" in rows[0][0] else "TABLE"


def build(con: Any, name: str, expr: ir.Table, *, temp: bool = False) -> str:
    """Create a new table from ``expr`` under a fresh name based on ``name``; return it."""
    tmp = f"{name}__kehu_{uuid.uuid4().hex[:10]}"
    sql = con.compile(expr)
    kind = "TEMP TABLE" if temp else "TABLE"
    run(con, f'CREATE {kind} "{tmp}" AS {sql}')
    return tmp


def view(con: Any, name: str, expr: ir.Table) -> str:
    """Create a temporary view of ``expr`` under a fresh name; return the name.

    Compiling a large expression once and building on the view keeps later
    queries small (Ibis compile time grows with the expression).
    """
    tmp = f"{name}__kehu_{uuid.uuid4().hex[:10]}"
    run(con, f'CREATE TEMP VIEW "{tmp}" AS {con.compile(expr)}')
    return tmp


def swap(con: Any, built: dict[str, str]) -> None:
    """Replace each target table by its built table, all in one transaction.

    Either every target is replaced or none is; on failure the built tables are
    dropped and the previous targets stay as they were.
    """
    run(con, "BEGIN TRANSACTION")
    try:
        for target, tmp in built.items():
            kind = object_type(con, target)
            if kind is not None:
                run(con, f'DROP {kind} "{target}"')
            run(con, f'ALTER TABLE "{tmp}" RENAME TO "{target}"')
        run(con, "COMMIT")
    except Exception:
        run(con, "ROLLBACK")
        drop(con, *built.values())
        raise


def drop(con: Any, *names: str) -> None:
    """Drop tables or views (temporary or not) if they exist; never raises for a missing one."""
    for name in names:
        kind = object_type(con, name) or _temp_type(con, name)
        if kind is not None:
            run(con, f'DROP {kind} IF EXISTS "{name}"')


def _temp_type(con: Any, name: str) -> str | None:
    rows = run(
        con,
        "SELECT table_type FROM information_schema.tables "
        "WHERE table_name = ? AND table_catalog = 'temp'",
        [name],
    )
    if not rows:
        return None
    return "VIEW" if "VIEW" in rows[0][0] else "TABLE"
