"""Tasks: created, moved between statuses, listed, and the overdue count per owner."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.exceptions import ConflictError, ForbiddenError, NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.followups.rows import _check_kind, _scoped
from kehu.services.paging import check_page, fetch_page
from kehu.services.scope import scope_customers, scoped_customer
from kehu.store.models import Customer, Task, User, utcnow
from kehu.store.models.engagement import TASK_STATUSES

#: status -> the statuses it may change to
TRANSITIONS = {"open": {"done", "cancelled"}, "done": {"open"}, "cancelled": {"open"}}


def task_dict(t: Task, code: str, today: dt.date | None = None) -> dict[str, Any]:
    today = today or utcnow().date()
    return {
        "id": t.id,
        "customer_id": code,
        "owner_id": t.owner_id,
        "title": t.title,
        "kind": t.kind,
        "due_date": t.due_date,
        "status": t.status,
        "done_at": t.done_at,
        "source": t.source,
        "overdue": t.status == "open" and t.due_date is not None and t.due_date < today,
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    }


def _owner(session: Session, actor: Actor, owner_id: int | None, customer: Customer) -> int | None:
    """Check an owner: an active user; a rep may assign tasks only to themselves."""
    if owner_id is None:
        if actor.is_rep:
            return actor.user_id
        rep = session.scalar(
            select(func.min(User.id)).where(
                User.role == "rep", User.is_active, User.rep_name == customer.sales_rep
            )
        )
        return rep if rep is not None else actor.user_id
    user = session.get(User, owner_id)
    if user is None or not user.is_active:
        raise NotFoundError(f"no active user {owner_id}")
    if actor.is_rep and owner_id != actor.user_id:
        raise ForbiddenError("a sales rep may assign tasks only to themselves")
    return owner_id


def create_task(
    session: Session,
    *,
    actor: Actor,
    code: str,
    title: str,
    kind: str | None = None,
    due_date: dt.date | None = None,
    owner_id: int | None = None,
) -> dict[str, Any]:
    """A manual task; the owner defaults to the customer's rep (or the actor)."""
    require(actor, "followups.write")
    customer = scoped_customer(session, actor=actor, code=code)
    if not (title or "").strip():
        raise SchemaError("a task needs a title")
    if kind is not None:
        _check_kind(kind)
    task = Task(
        customer_id=customer.id,
        owner_id=_owner(session, actor, owner_id, customer),
        title=title.strip(),
        kind=kind,
        due_date=due_date,
        status="open",
        source=None,
    )
    session.add(task)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="task.create",
        entity="task",
        entity_id=task.id,
        changes={
            "customer": code,
            "title": task.title,
            "due_date": due_date,
            "owner_id": task.owner_id,
        },
    )
    return task_dict(task, customer.code)


def get_task(session: Session, *, actor: Actor, task_id: int) -> dict[str, Any]:
    task, code = _scoped(session, actor, Task, task_id, "task")
    return task_dict(task, code)


def _set_status(session: Session, actor: Actor, task: Task, status: str) -> None:
    if status not in TASK_STATUSES:
        raise SchemaError(f"task status {status!r} is not one of {', '.join(TASK_STATUSES)}")
    if status == task.status:
        return
    if status not in TRANSITIONS[task.status]:
        raise ConflictError(
            f"task {task.id} is {task.status}; it can become "
            f"{' or '.join(sorted(TRANSITIONS[task.status]))}, not {status}"
        )
    task.status = status
    task.done_at = utcnow() if status == "done" else None


def update_task(session: Session, *, actor: Actor, task_id: int, **changes: Any) -> dict[str, Any]:
    """Change a task's title, kind, due date, owner or status.

    Status moves: open -> done | cancelled, done | cancelled -> open (reopen);
    any other move is a :class:`ConflictError`.
    """
    require(actor, "followups.write")
    task, code = _scoped(session, actor, Task, task_id, "task")
    unknown = set(changes) - {"title", "kind", "due_date", "owner_id", "status"}
    if unknown:
        raise SchemaError(f"cannot change {', '.join(sorted(unknown))} of a task")
    before = {k: getattr(task, k) for k in changes}
    if "owner_id" in changes:
        if changes["owner_id"] is None:
            raise SchemaError("owner_id cannot be emptied; give a user id")
        customer = session.get(Customer, task.customer_id)
        task.owner_id = _owner(session, actor, changes["owner_id"], customer)
    if changes.get("title") is not None:
        if not changes["title"].strip():
            raise SchemaError("a task needs a title")
        task.title = changes["title"].strip()
    if "kind" in changes:
        task.kind = changes["kind"] if changes["kind"] is None else _check_kind(changes["kind"])
    if "due_date" in changes:
        task.due_date = changes["due_date"]
    if changes.get("status") is not None:
        _set_status(session, actor, task, changes["status"])
    after = {k: getattr(task, k) for k in changes}
    audit.record(
        session,
        actor=actor,
        action="task.update",
        entity="task",
        entity_id=task.id,
        changes=audit.diff(before, after),
    )
    session.flush()
    return task_dict(task, code)


def list_tasks(
    session: Session,
    *,
    actor: Actor,
    status: str | None = None,
    owner_id: int | None = None,
    code: str | None = None,
    overdue: bool = False,
    due_before: dt.date | None = None,
    today: dt.date | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Tasks of the actor's customers (earliest due first) and the total.

    ``overdue`` keeps open tasks due before ``today`` (default: today, UTC).
    """
    check_page(page, page_size)
    today = today or utcnow().date()
    stmt = _task_query(actor)
    if status is not None:
        if status not in TASK_STATUSES:
            raise SchemaError(f"task status {status!r} is not one of {', '.join(TASK_STATUSES)}")
        stmt = stmt.where(Task.status == status)
    if owner_id is not None:
        stmt = stmt.where(Task.owner_id == owner_id)
    if code is not None:
        stmt = stmt.where(Customer.code == code)
    if overdue:
        stmt = stmt.where(Task.status == "open", Task.due_date < today)
    if due_before is not None:
        stmt = stmt.where(Task.due_date < due_before)
    order = (Task.due_date.asc().nulls_last(), Task.id)
    rows, total = fetch_page(session, stmt, order, page=page, page_size=page_size)
    return [task_dict(t, c, today) for t, c in rows], total


def _task_query(actor: Actor):
    return scope_customers(
        select(Task, Customer.code).join(Customer, Customer.id == Task.customer_id), actor
    )


def overdue_by_owner(
    session: Session, *, actor: Actor, today: dt.date | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Open tasks past their due date, grouped by owner (most overdue owners first).

    Each group: ``owner_id``, ``username``, ``rep_name``, ``overdue`` (count),
    ``oldest_due`` and up to ``limit`` tasks, earliest due first.  A rep sees
    only the tasks on their own customers.
    """
    today = today or utcnow().date()
    base = _task_query(actor).where(Task.status == "open", Task.due_date < today)
    counts = _overdue_counts(session, base)
    out = []
    for owner_id, username, rep_name, n, oldest in counts:
        rows = session.execute(
            base.where(Task.owner_id.is_(None) if owner_id is None else Task.owner_id == owner_id)
            .order_by(Task.due_date, Task.id)
            .limit(limit)
        )
        out.append(
            {
                "owner_id": owner_id,
                "username": username,
                "rep_name": rep_name,
                "overdue": n,
                "oldest_due": oldest,
                "tasks": [task_dict(t, c, today) for t, c in rows],
            }
        )
    return out


def _overdue_counts(session: Session, base) -> Sequence[Any]:
    sub = base.with_only_columns(Task.owner_id, Task.due_date).subquery()
    return session.execute(
        select(sub.c.owner_id, User.username, User.rep_name, func.count(), func.min(sub.c.due_date))
        .select_from(sub)
        .outerjoin(User, User.id == sub.c.owner_id)
        .group_by(sub.c.owner_id, User.username, User.rep_name)
        .order_by(func.count().desc(), sub.c.owner_id)
    ).all()
