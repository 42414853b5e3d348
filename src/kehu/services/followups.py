"""Follow-ups: interactions with customers, tasks, revisit rules and overdue lists.

Every function takes an :class:`~kehu.services.access.Actor`; a sales rep
reaches only the interactions and tasks of their own customers (others are
*not found*, as in :mod:`kehu.services.scope`).  Analysts read but do not
write follow-ups.

Revisit rules (:class:`RevisitRule`) turn a refresh's classes into tasks, e.g.
重要挽留客户 -> call within 3 days.  :func:`create_revisit_tasks` runs as one
``INSERT ... SELECT`` in the database and is idempotent: a customer who already
has an open task from the same rule, or finished one within the rule's window,
gets no new task, so a refresh run twice creates nothing the second time.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import String, and_, cast, exists, func, insert, literal, select
from sqlalchemy.orm import Session, aliased

from kehu.exceptions import ConfigError, ConflictError, ForbiddenError, NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.paging import check_page, fetch_page
from kehu.services.scope import scope_customers, scoped_customer
from kehu.store.models import ClassificationResult, Customer, Interaction, Task, User, utcnow
from kehu.store.models.engagement import INTERACTION_KINDS, TASK_STATUSES

#: status -> the statuses it may change to
TRANSITIONS = {"open": {"done", "cancelled"}, "done": {"open"}, "cancelled": {"open"}}
#: class columns of a run a revisit rule may name
RULE_CLASSIFIERS = ("rfm8", "segment", "freq_tier", "spend_tier", "abc", "lifecycle")
REVISIT_PREFIX = "revisit:"


@dataclass(frozen=True)
class RevisitRule:
    """After a refresh, customers of ``class_name`` get a ``kind`` task due in ``due_days``."""

    classifier: str
    class_name: str
    kind: str
    due_days: int
    title: str

    @property
    def key(self) -> str:
        """What identifies the rule in a task's ``source``."""
        return f"{self.classifier}:{self.class_name}:{self.kind}"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_REVISIT_RULES: tuple[RevisitRule, ...] = (
    RevisitRule("rfm8", "重要挽留客户", "call", 3, "三天内电话回访：重要客户正在流失"),
    RevisitRule("rfm8", "重要保持客户", "call", 14, "两周内联系召回，了解购买减少的原因"),
    RevisitRule("rfm8", "重要价值客户", "visit", 30, "每月回访重要价值客户"),
    RevisitRule("rfm8", "一般发展客户", "wechat", 30, "每月跟进一般发展客户"),
)


def revisit_rules_from_config(raw: Any, source: str = "revisit") -> tuple[RevisitRule, ...]:
    """Rules from ``{classifier: {class: {kind, due_days, title}}}`` (e.g. a YAML section).

    Raises
    ------
    ConfigError
        Naming the key that is wrong.
    """
    if not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: expected a mapping of classifier -> class -> rule")
    rules = []
    for clf, classes in raw.items():
        if clf not in RULE_CLASSIFIERS:
            raise ConfigError(
                f"{source}: unknown classifier {clf!r}; known: {', '.join(RULE_CLASSIFIERS)}"
            )
        if not isinstance(classes, Mapping):
            raise ConfigError(f"{source}.{clf}: expected a mapping of class -> rule")
        for name, spec in classes.items():
            where = f"{source}.{clf}.{name}"
            if not isinstance(spec, Mapping):
                raise ConfigError(f"{where}: expected a mapping with kind, due_days, title")
            unknown = sorted(set(spec) - {"kind", "due_days", "title"})
            if unknown:
                raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
            kind = spec.get("kind", "call")
            if kind not in INTERACTION_KINDS:
                raise ConfigError(f"{where}.kind: {kind!r} is not one of {INTERACTION_KINDS}")
            days = spec.get("due_days")
            if not isinstance(days, int) or isinstance(days, bool) or not 0 <= days <= 366:
                raise ConfigError(f"{where}.due_days: expected a whole number 0-366, got {days!r}")
            title = str(spec.get("title") or f"{name}: {kind} within {days} days")[:200]
            rules.append(RevisitRule(clf, str(name), kind, days, title))
    return tuple(rules)


def load_revisit_rules(path: str | Path) -> tuple[RevisitRule, ...]:
    """Rules from a YAML file laid out as :func:`revisit_rules_from_config` reads."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"revisit rules file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8-sig"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    return revisit_rules_from_config(raw or {}, source=str(path))


# --- revisit tasks after a refresh ----------------------------------------------------------


def create_revisit_tasks(
    session: Session,
    *,
    run_id: int,
    rules: Iterable[RevisitRule] = DEFAULT_REVISIT_RULES,
    today: dt.date | None = None,
) -> int:
    """Create the rules' tasks for the classes of run ``run_id``; return how many.

    The owner is the active sales rep whose ``rep_name`` the customer carries
    (none when no such user exists).  Skipped: customers with an open task
    from the same rule, or one finished less than ``due_days`` days ago.
    """
    today = today or utcnow().date()
    now = utcnow()
    created = 0
    for rule in rules:
        column = getattr(ClassificationResult, rule.classifier)
        prefix = f"{REVISIT_PREFIX}{rule.key}:"
        t = aliased(Task)
        same_rule = and_(
            t.customer_id == ClassificationResult.customer_id,
            t.source.startswith(prefix, autoescape=True),
        )
        recently_done = and_(
            t.status == "done",
            t.done_at >= dt.datetime.combine(today, dt.time()) - dt.timedelta(days=rule.due_days),
        )
        owner = (
            select(func.min(User.id))
            .where(User.role == "rep", User.is_active, User.rep_name == Customer.sales_rep)
            .scalar_subquery()
        )
        src = (
            select(
                ClassificationResult.customer_id,
                owner,
                literal(rule.title, String),
                literal(rule.kind, String),
                literal(today + dt.timedelta(days=rule.due_days)),
                literal("open", String),
                literal(prefix, String)
                + cast(ClassificationResult.customer_id, String)
                + literal(f":{run_id}", String),
                literal(now),
                literal(now),
            )
            .join(Customer, Customer.id == ClassificationResult.customer_id)
            .where(
                ClassificationResult.run_id == run_id,
                column == rule.class_name,
                ~exists().where(same_rule, (t.status == "open") | recently_done),
            )
        )
        stmt = insert(Task).from_select(
            [
                "customer_id",
                "owner_id",
                "title",
                "kind",
                "due_date",
                "status",
                "source",
                "created_at",
                "updated_at",
            ],
            src,
        )
        # RETURNING counts on both databases (psycopg reports no rowcount for INSERT ... SELECT)
        created += len(session.execute(stmt.returning(Task.id)).all())
    return created


# --- interactions ---------------------------------------------------------------------------


def _check_kind(kind: str) -> str:
    if kind not in INTERACTION_KINDS:
        raise SchemaError(f"interaction kind {kind!r} is not one of {', '.join(INTERACTION_KINDS)}")
    return kind


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


def _scoped(session: Session, actor: Actor, model, row_id: int, what: str):
    stmt = scope_customers(
        select(model, Customer.code)
        .join(Customer, Customer.id == model.customer_id)
        .where(model.id == row_id),
        actor,
    )
    got = session.execute(stmt).first()
    if got is None:
        raise NotFoundError(f"no {what} {row_id}")
    return got


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


# --- tasks -------------------------------------------------------------------------------------


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
