"""Customers: the list with filters, the 360 view, export, creation and changes.

Every function takes the :class:`~kehu.services.access.Actor` and applies the
rep-scoping rule (:mod:`kehu.services.scope`) and the masking of personal data
(:func:`kehu.services.privacy.mask_customer`) itself, so that no caller can
forget them.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from kehu import writers
from kehu.exceptions import ConfigError, SchemaError
from kehu.names import CLASS_COLUMNS, LABELLED_CLASS_COLUMNS, STORE_CUSTOMER_FIELDS
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.loyalty.entries import about as loyalty_about
from kehu.services.paging import check_page, fetch_page
from kehu.services.privacy import current_consents, mask_customer
from kehu.services.refresh import RESULT_COLUMNS, current_run
from kehu.services.scope import scope_customers, scoped_customer, taken
from kehu.services.sql_filter import compile_sql_filter
from kehu.store.models import (
    Alert,
    ClassificationResult,
    Customer,
    CustomerTag,
    Feedback,
    Interaction,
    LedgerEntry,
    LoyaltyAccount,
    Order,
    Task,
)
from kehu.warehouse.rules import MAX_CUSTOMER_ID, check_key

#: customer fields people may set through the API (``sales_rep`` needs ``customers.assign``)
EDITABLE = (*STORE_CUSTOMER_FIELDS, "no_personalised_marketing")
#: fields of a list row
PROFILE_FIELDS = (
    "name",
    "phone",
    "email",
    "province",
    "city",
    "district",
    "region",
    "area_type",
    "channel",
    "sales_rep",
    "distributor",
)
MAX_EXPORT_ROWS = 200_000


@dataclass
class CustomerPage:
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int


def _columns(result, account) -> dict[str, tuple[ColumnElement[Any], str]]:
    """The columns lists can be filtered and sorted on, with their kinds."""
    cols: dict[str, tuple[ColumnElement[Any], str]] = {
        "customer_id": (Customer.code, "string"),
        "code": (Customer.code, "string"),
        "signup_date": (Customer.signup_date, "date"),
        "tier": (account.tier, "string"),
        "points": (account.balance, "number"),
        "no_personalised_marketing": (Customer.no_personalised_marketing, "boolean"),
    }
    # every stored field but the contacts (personal data, masked by role) and the date
    for name in (f for f in STORE_CUSTOMER_FIELDS if f not in ("phone", "email", "signup_date")):
        cols[name] = (getattr(Customer, name), "string")
    for name in RESULT_COLUMNS:
        kind = (
            "date"
            if name == "last_purchase"
            else "string"
            if name in LABELLED_CLASS_COLUMNS
            else "number"
        )
        cols[name] = (getattr(result, name), kind)
    return cols


def _base_query(session: Session, actor: Actor):
    run = current_run(session)
    result = aliased(ClassificationResult)
    account = aliased(LoyaltyAccount)
    stmt = (
        select(Customer, result, account)
        .outerjoin(
            result,
            (result.customer_id == Customer.id) & (result.run_id == (run.id if run else -1)),
        )
        .outerjoin(account, account.customer_id == Customer.id)
    )
    return scope_customers(stmt, actor), _columns(result, account)


def _filtered(
    session: Session,
    actor: Actor,
    *,
    classes: dict[str, Sequence[str]] | None = None,
    region: str | None = None,
    channel: str | None = None,
    rep: str | None = None,
    tier: str | None = None,
    tags: Sequence[str] | None = None,
    filter: str | None = None,
    sort: str | None = None,
):
    stmt, cols = _base_query(session, actor)
    for name, values in (classes or {}).items():
        if name not in CLASS_COLUMNS:
            raise SchemaError(f"unknown classifier {name!r}; known: {', '.join(CLASS_COLUMNS)}")
        if values:
            col = cols[name][0]
            if name == "grade":
                try:
                    values = [int(v) for v in values]
                except ValueError:
                    raise SchemaError(f"grade must be whole numbers, got {values!r}") from None
            stmt = stmt.where(col.in_(list(values)))
    for value, name in ((region, "region"), (channel, "channel"), (rep, "sales_rep")):
        if value:
            stmt = stmt.where(cols[name][0] == value)
    if tier:
        stmt = stmt.where(cols["tier"][0] == tier)
    for tag in tags or ():
        has = select(CustomerTag.id).where(
            CustomerTag.customer_id == Customer.id, CustomerTag.tag == tag
        )
        stmt = stmt.where(has.exists())
    if filter and filter.strip():
        stmt = stmt.where(compile_sql_filter(filter, cols))
    order = _order_by(sort, cols)
    return stmt, order


def _order_by(sort: str | None, cols) -> list[Any]:
    """``"monetary"`` ascending, ``"-monetary"`` descending; ties by customer id."""
    out = []
    for part in (sort or "customer_id").split(","):
        part = part.strip()
        desc = part.startswith("-")
        name = part.lstrip("-+")
        if name not in cols:
            raise SchemaError(f"cannot sort by {name!r}; sortable: {', '.join(sorted(cols))}")
        col = cols[name][0]
        out.append(col.desc().nulls_last() if desc else col.asc().nulls_last())
    out.append(Customer.code.asc())
    return out


def list_customers(
    session: Session,
    *,
    actor: Actor,
    classes: dict[str, Sequence[str]] | None = None,
    region: str | None = None,
    channel: str | None = None,
    rep: str | None = None,
    tier: str | None = None,
    tags: Sequence[str] | None = None,
    filter: str | None = None,
    sort: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> CustomerPage:
    """A page of customers with their current classes, newest rules applied.

    ``filter`` is the safe filter language of custom segments (for example
    ``orders >= 4 and region = '浙江省'``) over the profile, the current
    classes and scores, and ``tier``/``points``.  ``sort`` is a column name,
    ``-`` in front for descending, several separated by commas.
    """
    check_page(page, page_size)
    stmt, order = _filtered(
        session,
        actor,
        classes=classes,
        region=region,
        channel=channel,
        rep=rep,
        tier=tier,
        tags=tags,
        filter=filter,
        sort=sort,
    )
    rows, total = fetch_page(session, stmt, tuple(order), page=page, page_size=page_size)
    items = _items(session, actor, rows)
    return CustomerPage(items=items, total=total, page=page, page_size=page_size)


def _items(session: Session, actor: Actor, rows) -> list[dict[str, Any]]:
    ids = [c.id for c, _r, _a in rows]
    tags: dict[int, list[str]] = {}
    if ids:
        q = select(CustomerTag.customer_id, CustomerTag.tag).where(CustomerTag.customer_id.in_(ids))
        for cid, tag in session.execute(q.order_by(CustomerTag.tag)):
            tags.setdefault(cid, []).append(tag)
    out = []
    for c, r, a in rows:
        item = {"customer_id": c.code, **{f: getattr(c, f) for f in PROFILE_FIELDS}}
        item = mask_customer(item, actor)
        item["tags"] = tags.get(c.id, [])
        item["tier"] = a.tier if a else None
        item["points"] = a.balance if a else None
        for col in RESULT_COLUMNS:
            item[col] = getattr(r, col) if r is not None else None
        out.append(item)
    return out


def export_customers(
    session: Session, *, actor: Actor, format: str = "csv", **filters: Any
) -> tuple[bytes, str]:
    """The filtered list as CSV (UTF-8 with BOM, for Excel) or an Excel workbook.

    Returns the bytes and the media type.  Personal data are masked as for the
    list; the export is written to the audit log.  Cells are data, never
    formulas (:mod:`kehu.writers`).
    """
    require(actor, "customers.export")
    if format not in ("csv", "xlsx"):
        raise ConfigError(f"export format must be csv or xlsx, got {format!r}")
    stmt, order = _filtered(session, actor, **filters)
    rows = session.execute(stmt.order_by(*order).limit(MAX_EXPORT_ROWS)).all()
    items = _items(session, actor, rows)
    header = ["customer_id", *PROFILE_FIELDS, "tags", "tier", "points", *RESULT_COLUMNS]
    table = [[_cell(it.get(h)) for h in header] for it in items]
    audit.record(
        session,
        actor=actor,
        action="customers.export",
        entity="customer",
        changes={"rows": len(items), "format": format, "filters": filters},
    )
    return writers.export_table(format, header, table, sheet="customers")


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value


# --- one customer ----------------------------------------------------------------------------


def get_customer(session: Session, *, actor: Actor, code: str) -> Customer:
    """The customer, if in the actor's scope (else :class:`NotFoundError`)."""
    return scoped_customer(session, actor=actor, code=code)


def customer_360(
    session: Session, *, actor: Actor, code: str, lang: str = "zh", recent: int = 10
) -> dict[str, Any]:
    """Everything about one customer in one call.

    Profile (masked by role), tags and contacts, consents, current classes with
    their explanation and rule version, scores, recent orders, interactions,
    open tasks, feedback, loyalty points and tier, alerts, and the playbook's
    recommendations for the customer's classes.
    """
    c = scoped_customer(session, actor=actor, code=code)
    profile = {
        "customer_id": c.code,
        **{f: getattr(c, f) for f in EDITABLE},
        "anonymised_at": c.anonymised_at,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }
    profile = mask_customer(profile, actor)
    contacts = [
        mask_customer(
            {
                "name": k.name,
                "role": k.role,
                "phone": k.phone,
                "email": k.email,
                "wechat": k.wechat,
                "is_primary": k.is_primary,
            },
            actor,
        )
        for k in c.contacts
    ]
    run = current_run(session)
    result = None
    if run is not None:
        result = session.scalar(
            select(ClassificationResult).where(
                ClassificationResult.run_id == run.id, ClassificationResult.customer_id == c.id
            )
        )
    classes, scores, recommendations = [], {}, []
    if result is not None:
        classes = explain_result(run.classifiers, result.values, lang=lang)
        scores = {
            k: getattr(result, k)
            for k in (
                "recency_days",
                "orders",
                "monetary",
                "avg_order_value",
                "r_score",
                "f_score",
                "m_score",
                "last_purchase",
            )
        }
        scores.update(result.scores or {})
        recommendations = _recommendations(result, lang)
    orders = session.scalars(
        select(Order)
        .where(Order.customer_id == c.id)
        .order_by(Order.order_time.desc())
        .limit(recent)
    ).all()
    interactions = session.scalars(
        select(Interaction)
        .where(Interaction.customer_id == c.id)
        .order_by(Interaction.occurred_at.desc())
        .limit(recent)
    ).all()
    tasks = session.scalars(
        select(Task)
        .where(Task.customer_id == c.id, Task.status == "open")
        .order_by(Task.due_date.asc().nulls_last())
    ).all()
    feedback = session.scalars(
        select(Feedback)
        .where(Feedback.customer_id == c.id)
        .order_by(Feedback.received_at.desc())
        .limit(recent)
    ).all()
    account = session.scalar(select(LoyaltyAccount).where(LoyaltyAccount.customer_id == c.id))
    ledger = []
    if account is not None:
        ledger = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.account_id == account.id)
            .order_by(LedgerEntry.id.desc())
            .limit(recent)
        ).all()
    alerts = session.scalars(
        select(Alert).where(Alert.customer_id == c.id).order_by(Alert.id.desc()).limit(recent)
    ).all()
    totals = session.execute(
        select(func.count(Order.id), func.sum(Order.amount), func.max(Order.order_time)).where(
            Order.customer_id == c.id
        )
    ).one()
    return {
        "profile": profile,
        "tags": sorted(t.tag for t in c.tags),
        "contacts": contacts,
        "consents": current_consents(c),
        "run": None
        if run is None
        else {"run_id": run.id, "as_of": run.as_of, "finished_at": run.finished_at},
        "classes": classes,
        "scores": scores,
        "orders_summary": {
            "orders": totals[0] or 0,
            "amount": float(totals[1] or 0.0),
            "last_order": totals[2],
        },
        "recent_orders": [
            {
                "order_id": o.order_no,
                "order_time": o.order_time,
                "amount": o.amount,
                "status": o.status,
                "channel": o.channel,
                "lines": len(o.lines),
            }
            for o in orders
        ],
        "interactions": [
            {
                "id": i.id,
                "kind": i.kind,
                "occurred_at": i.occurred_at,
                "notes": i.notes,
                "outcome": i.outcome,
            }
            for i in interactions
        ],
        "open_tasks": [
            {"id": t.id, "title": t.title, "due_date": t.due_date, "owner_id": t.owner_id}
            for t in tasks
        ],
        "feedback": [
            {
                "id": fb.id,
                "channel": fb.channel,
                "rating": fb.rating,
                "text": fb.text,
                "category": fb.category,
                "sentiment": fb.sentiment,
                "received_at": fb.received_at,
            }
            for fb in feedback
        ],
        "loyalty": None
        if account is None
        else {
            "points": account.balance,
            "tier": account.tier,
            "lifetime_points": account.lifetime_points,
            "recent": [
                {
                    "kind": e.kind,
                    "points": e.points,
                    "posted_at": e.posted_at,
                    "note": e.note,
                    "about": loyalty_about(e),
                }
                for e in ledger
            ],
        },
        "alerts": [
            {"kind": a.kind, "message": a.message, "run_id": a.run_id, "created_at": a.created_at}
            for a in alerts
        ],
        "recommendations": recommendations,
    }


def explain_result(
    records: list[dict[str, Any]], values: dict[str, Any], *, lang: str = "zh"
) -> list[dict[str, Any]]:
    """Each classifier's class of one customer with its explanation.

    The classifiers are rebuilt from the run's records (parameters and fitted
    state), so the explanation is the one the run's own rules give.
    """
    from kehu.analytics.classify import build

    out = []
    for rec in records:
        name = rec.get("classifier")
        try:
            clf = build(name, **(rec.get("params") or {}))
            for key, value in (rec.get("state") or {}).items():
                setattr(clf, key, value)
            clf.fitted_ = True
            ex = clf.explain(values).to_dict()
            reason = ex["reason_zh"] if lang == "zh" else ex["reason"]
            out.append(
                {
                    "classifier": name,
                    "version": rec.get("version"),
                    "label": ex["label"],
                    "reason": reason,
                    "inputs": ex["inputs"],
                    "thresholds": ex["thresholds"],
                }
            )
        except Exception:  # an explanation must never break the customer page
            out.append(
                {
                    "classifier": name,
                    "version": rec.get("version"),
                    "label": values.get(name),
                    "reason": None,
                    "inputs": {},
                    "thresholds": rec.get("thresholds") or {},
                }
            )
    return out


@functools.cache
def _playbook():
    from kehu.analytics.playbook import Playbook

    return Playbook.default()  # read once: parsing the YAML per request was the slow part


def _recommendations(result: ClassificationResult, lang: str) -> list[dict[str, Any]]:
    book = _playbook()
    out = []
    for col in LABELLED_CLASS_COLUMNS:
        value = getattr(result, col)
        entry = book.for_class(col, value, lang) if value is not None else None
        if entry:
            out.append({"classifier": col, "class": value, **entry})
    return out


def create_customer(session: Session, *, actor: Actor, code: str, **values: Any) -> Customer:
    """A new customer; a rep's new customers are their own.

    An id already taken answers the same whoever holds it, in the actor's scope
    or not (:func:`kehu.services.scope.taken`); so does losing a race to
    create the same id, after which the session is rolled back.
    """
    require(actor, "customers.write")
    code = check_key(code, "customer_id", max_length=MAX_CUSTOMER_ID)
    tags = values.pop("tags", None)
    unknown = sorted(set(values) - set(EDITABLE))
    if unknown:
        raise SchemaError(f"unknown customer field(s) {', '.join(unknown)}")
    if session.scalar(select(Customer.id).where(Customer.code == code)) is not None:
        raise taken("customer id", code)
    if not actor.can("customers.assign"):
        values["sales_rep"] = actor.rep_name
    customer = Customer(code=code, **values)
    session.add(customer)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()  # another request created this id meanwhile
        raise taken("customer id", code) from None
    if tags:
        set_tags(session, actor=actor, code=code, tags=tags)
    audit.record(
        session,
        actor=actor,
        action="customer.create",
        entity="customer",
        entity_id=code,
        changes=values,
    )
    return customer


def update_customer(session: Session, *, actor: Actor, code: str, **changes: Any) -> Customer:
    """Change customer fields; moving a customer to another rep needs ``customers.assign``."""
    require(actor, "customers.write")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise SchemaError(f"unknown customer field(s) {', '.join(unknown)}")
    c = scoped_customer(session, actor=actor, code=code, for_update=True)
    moving = "sales_rep" in changes and changes["sales_rep"] != c.sales_rep
    if moving:
        require(actor, "customers.assign")
    before = {k: getattr(c, k) for k in changes}
    for k, v in changes.items():
        setattr(c, k, v)
    session.flush()
    delta = audit.diff(before, changes)
    if delta:
        audit.record(
            session,
            actor=actor,
            action="customer.update",
            entity="customer",
            entity_id=code,
            changes=delta,
        )
    return c


def set_tags(session: Session, *, actor: Actor, code: str, tags: Sequence[str]) -> list[str]:
    """Replace a customer's tags."""
    require(actor, "customers.write")
    c = scoped_customer(session, actor=actor, code=code)
    clean = sorted({t.strip() for t in tags if t and t.strip()})
    if any(len(t) > 64 for t in clean):
        raise SchemaError("a tag has at most 64 characters")
    before = sorted(t.tag for t in c.tags)
    # remove and add the differences only: re-inserting a kept tag would collide
    for t in [t for t in c.tags if t.tag not in clean]:
        c.tags.remove(t)
    session.flush()
    c.tags.extend(CustomerTag(tag=t) for t in clean if t not in before)
    session.flush()
    if before != clean:
        audit.record(
            session,
            actor=actor,
            action="customer.tags",
            entity="customer",
            entity_id=code,
            changes={"tags": [before, clean]},
        )
    return clean
