"""The audit log: who changed what, written in the same transaction as the change.

``changes`` keeps the values (``{field: [old, new]}``), so it holds personal
data: an erasure (:func:`kehu.services.privacy.anonymise_person`) replaces a
person's values by ``"[erased]"`` in every row about them and wherever else
they appear, keeping the field names, who and when.  A new ``entity`` must be
listed in :data:`kehu.services.privacy.AUDIT_ENTITIES` (rows about one
customer) or ``AUDIT_ENTITIES_NOT_PERSONAL``; a test checks it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.services.access import Actor, require
from kehu.store.models import AuditLog


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: Any = None,
    changes: dict[str, Any] | None = None,
    note: str | None = None,
) -> AuditLog:
    """Add one audit row (committed with the caller's transaction)."""
    row = AuditLog(
        user_id=actor.user_id,
        username=actor.username,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        changes=_jsonable(changes or {}),
        note=note,
    )
    session.add(row)
    return row


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
    """``{field: [old, new]}`` for the fields whose value changed."""
    return {k: [before.get(k), v] for k, v in after.items() if before.get(k) != v}


def list_entries(
    session: Session,
    *,
    actor: Actor,
    entity: str | None = None,
    entity_id: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> list[AuditLog]:
    """The newest audit rows first, optionally for one entity."""
    require(actor, "audit.read")
    stmt = select(AuditLog).order_by(AuditLog.id.desc()).limit(limit).offset(offset)
    if entity:
        stmt = stmt.where(AuditLog.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditLog.entity_id == entity_id)
    return list(session.scalars(stmt))


def _jsonable(value: Any) -> Any:
    import datetime as dt

    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value
