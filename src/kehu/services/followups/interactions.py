"""Interactions with customers (calls, visits, messages): recorded, read, corrected, listed."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.exceptions import NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.followups.rows import _check_kind, _scoped
from kehu.services.followups.tasks import _set_status
from kehu.services.paging import check_page, fetch_page
from kehu.services.scope import scope_customers, scoped_customer
from kehu.store.models import Customer, Interaction, Task, utcnow


def interaction_dict(i: Interaction, code: str) -> dict[str, Any]:
    return {
        "id": i.id,
        "customer_id": code,
        "user_id": i.user_id,
        "kind": i.kind,
        "occurred_at": i.occurred_at,
        "notes": i.notes,
        "outcome": i.outcome,
        "task_id": i.task_id,
    }


def record_interaction(
    session: Session,
    *,
    actor: Actor,
    code: str,
    kind: str,
    occurred_at: dt.datetime | None = None,
    notes: str | None = None,
    outcome: str | None = None,
    task_id: int | None = None,
    complete_task: bool = False,
) -> dict[str, Any]:
    """Record a call, visit, WeChat, e-mail or complaint; optionally close the task it answers."""
    require(actor, "followups.write")
    customer = scoped_customer(session, actor=actor, code=code)
    _check_kind(kind)
    task = None
    if task_id is not None:
        task = session.get(Task, task_id)
        if task is None or task.customer_id != customer.id:
            raise NotFoundError(f"no task {task_id} for customer {code!r}")
    row = Interaction(
        customer_id=customer.id,
        user_id=actor.user_id,
        kind=kind,
        occurred_at=(occurred_at or utcnow()).replace(tzinfo=None),
        notes=notes,
        outcome=outcome,
        task_id=task_id,
    )
    session.add(row)
    if task is not None and complete_task and task.status == "open":
        _set_status(session, actor, task, "done")
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="interaction.create",
        entity="interaction",
        entity_id=row.id,
        changes={"customer": code, "kind": kind, "task_id": task_id},
    )
    return interaction_dict(row, customer.code)


def get_interaction(session: Session, *, actor: Actor, interaction_id: int) -> dict[str, Any]:
    row, code = _scoped(session, actor, Interaction, interaction_id, "interaction")
    return interaction_dict(row, code)


def update_interaction(
    session: Session, *, actor: Actor, interaction_id: int, **changes: Any
) -> dict[str, Any]:
    """Change ``notes``, ``outcome`` or ``kind`` of an interaction."""
    require(actor, "followups.write")
    row, code = _scoped(session, actor, Interaction, interaction_id, "interaction")
    unknown = set(changes) - {"notes", "outcome", "kind"}
    if unknown:
        raise SchemaError(f"cannot change {', '.join(sorted(unknown))} of an interaction")
    if "kind" in changes:
        _check_kind(changes["kind"])
    before = {k: getattr(row, k) for k in changes}
    for k, v in changes.items():
        setattr(row, k, v)
    audit.record(
        session,
        actor=actor,
        action="interaction.update",
        entity="interaction",
        entity_id=row.id,
        changes=audit.diff(before, changes),
    )
    return interaction_dict(row, code)


def list_interactions(
    session: Session,
    *,
    actor: Actor,
    code: str | None = None,
    kind: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Interactions (newest first) of the actor's customers and the total."""
    check_page(page, page_size)
    stmt = scope_customers(
        select(Interaction, Customer.code).join(Customer, Customer.id == Interaction.customer_id),
        actor,
    )
    if code is not None:
        stmt = stmt.where(Customer.code == code)
    if kind is not None:
        stmt = stmt.where(Interaction.kind == _check_kind(kind))
    if since is not None:
        stmt = stmt.where(Interaction.occurred_at >= since.replace(tzinfo=None))
    if until is not None:
        stmt = stmt.where(Interaction.occurred_at < until.replace(tzinfo=None))
    order = (Interaction.occurred_at.desc(), Interaction.id.desc())
    rows, total = fetch_page(session, stmt, order, page=page, page_size=page_size)
    return [interaction_dict(i, c) for i, c in rows], total
