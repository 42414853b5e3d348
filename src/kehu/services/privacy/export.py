"""Export of everything the store holds about one person (PIPL article 45)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.privacy.mentions import _known_values, _mentions
from kehu.services.privacy.places import KINDS, _by_table, _link, _Person, _table, personal_columns
from kehu.services.privacy.workspace import _workspace_files
from kehu.services.scope import scoped_customer
from kehu.store.models import (
    Base,
    utcnow,
)

#: export section of a table when it is not the table's name
_SECTIONS = {
    "customers": "customer",
    "customer_contacts": "contacts",
    "customer_tags": "tags",
    "loyalty_accounts": "loyalty_account",
    "classification_results": "classifications",
}


_SINGLE = ("customers", "loyalty_accounts")


#: columns holding a local wall-clock time (an order's), not the store's UTC
WALL_CLOCK_COLUMNS = frozenset({"order_time"})


def _plain(value: Any, column: str | None = None) -> Any:
    """JSON-ready: the store's naive UTC times written as RFC 3339 with ``Z``."""
    if isinstance(value, dt.datetime):
        return value.isoformat() + ("" if column in WALL_CLOCK_COLUMNS else "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def _rows(session: Session, table: Table, where) -> list[dict[str, Any]]:
    got = session.execute(select(table).where(where).order_by(*table.primary_key.columns))
    got = got.mappings()
    return [{k: _plain(v, k) for k, v in r.items()} for r in got]


def export_person(
    session: Session, *, actor: Actor, code: str, workspace: Path | None = None
) -> dict[str, Any]:
    """Everything the store holds about one customer, as JSON-ready data (unmasked).

    One section per table with rows of the person (found as erasure finds
    them), ``mentions``: the other rows whose text holds one of the person's
    values (table, column and id, not the text: it is about someone else too),
    ``places``: the list of personal columns that erasure clears, and with
    ``workspace``, ``files``: the workspace files that quote the person or
    learnt from their texts (which erasure rewrites).
    """
    require(actor, "privacy.manage")
    c = scoped_customer(session, actor=actor, code=code)
    person = _Person(c.id, c.code)
    data: dict[str, Any] = {"exported_at": _plain(utcnow())}
    for table in Base.metadata.sorted_tables:
        where = _link(table, person)
        if where is None:
            continue
        rows = _rows(session, table, where)
        section = _SECTIONS.get(table.name, table.name)
        if table.name in _SINGLE:
            data[section] = rows[0] if rows else None
        elif table.name == "customer_tags":
            data[section] = sorted(r["tag"] for r in rows)
        else:
            data[section] = rows
    own = _own_keys(session, person)
    needles = _known_values(session, person)
    data["mentions"] = [
        {"table": t, "column": col.column, "id": key}
        for t, col, key, _ in _mentions(session, needles)
        if (t, key) not in own
    ]
    data["places"] = [
        {"table": p.table, "column": p.column, "kind": p.kind, "meaning": KINDS[p.kind]}
        for p in personal_columns()
    ]
    if workspace is not None:
        data["files"] = _workspace_files(Path(workspace), session, person, needles)
    audit.record(session, actor=actor, action="privacy.export", entity="customer", entity_id=code)
    return data


def _own_keys(session: Session, person: _Person) -> set[tuple[str, Any]]:
    out = set()
    for name in _by_table(("text", "mention")):
        table = _table(name)
        where = _link(table, person)
        if where is None:
            continue
        (pk,) = table.primary_key.columns
        out.update((name, k) for k in session.scalars(select(pk).where(where)))
    return out
