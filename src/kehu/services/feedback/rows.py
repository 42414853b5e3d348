"""Feedback rows: recorded with their category and sentiment, read, updated and reclassified."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.exceptions import NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.feedback.category import analyse, category_names
from kehu.services.paging import check_page, fetch_page
from kehu.services.scope import scope_customers, scoped_customer
from kehu.store.models import (
    Customer,
    Feedback,
    Order,
    utcnow,
)

FEEDBACK_STATUSES = ("open", "in_progress", "resolved", "closed")


def feedback_dict(fb: Feedback, code: str | None) -> dict[str, Any]:
    return {
        "id": fb.id,
        "customer_id": code,
        "order_id": (fb.extra or {}).get("order_no"),
        "channel": fb.channel,
        "rating": fb.rating,
        "text": fb.text,
        "category": fb.category,
        "category_source": fb.category_source,
        "sentiment": fb.sentiment,
        "sentiment_score": fb.sentiment_score,
        "status": fb.status,
        "received_at": fb.received_at,
        "lang": (fb.extra or {}).get("lang"),
        "terms": (fb.extra or {}).get("terms", []),
    }


def _check_category(workspace: Path, category: str) -> str:
    names = category_names(workspace)
    if category not in names:
        raise SchemaError(f"category {category!r} is not one of {', '.join(names)}")
    return category


def record_feedback(
    session: Session,
    *,
    actor: Actor,
    workspace: Path | None,
    code: str | None = None,
    order_no: str | None = None,
    channel: str | None = None,
    rating: int | None = None,
    text: str | None = None,
    category: str | None = None,
    received_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Store a piece of feedback with its automatic category and sentiment.

    A ``category`` given by the person recording it is kept as a label
    (``category_source = "user"``).  Feedback without a customer can only be
    recorded by roles that see every customer.
    """
    require(actor, "feedback.write")
    customer = None
    if code is not None:
        customer = scoped_customer(session, actor=actor, code=code)
    elif not actor.sees_all_customers:
        raise SchemaError("customer_id is required: a sales rep records feedback of own customers")
    if rating is not None and not 1 <= rating <= 5:
        raise SchemaError(f"rating must be 1-5, got {rating}")
    if not (text or "").strip() and rating is None:
        raise SchemaError("feedback needs a text or a rating")
    order_id = None
    if order_no is not None:
        order = session.scalar(select(Order).where(Order.order_no == order_no))
        if order is None or (customer is not None and order.customer_id != customer.id):
            raise NotFoundError(f"no order {order_no!r} for this customer")
        if customer is None and not actor.sees_all_customers:  # pragma: no cover - checked above
            raise NotFoundError(f"no order {order_no!r}")
        order_id = order.id
    got = analyse([text], workspace)[0]
    if category is not None:
        got["category"], got["category_source"] = (
            _check_category(workspace, category) if workspace is not None else category,
            "user",
        )
    row = Feedback(
        customer_id=customer.id if customer else None,
        order_id=order_id,
        channel=channel,
        rating=rating,
        text=text,
        category=got["category"],
        category_source=got["category_source"],
        sentiment=got["sentiment"],
        sentiment_score=got["sentiment_score"],
        status="open",
        received_at=(received_at or utcnow()).replace(tzinfo=None),
        extra={"lang": got["lang"], "terms": got["terms"], "order_no": order_no},
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="feedback.create",
        entity="feedback",
        entity_id=row.id,
        changes={"customer": code, "category": row.category, "sentiment": row.sentiment},
    )
    return feedback_dict(row, customer.code if customer else None)


def _feedback_query(actor: Actor):
    stmt = select(Feedback, Customer.code).outerjoin(Customer, Customer.id == Feedback.customer_id)
    return scope_customers(stmt, actor)


def _scoped_feedback(session: Session, actor: Actor, feedback_id: int):
    got = session.execute(_feedback_query(actor).where(Feedback.id == feedback_id)).first()
    if got is None:
        raise NotFoundError(f"no feedback {feedback_id}")
    return got


def get_feedback(session: Session, *, actor: Actor, feedback_id: int) -> dict[str, Any]:
    fb, code = _scoped_feedback(session, actor, feedback_id)
    return feedback_dict(fb, code)


def update_feedback(
    session: Session,
    *,
    actor: Actor,
    workspace: Path | None,
    feedback_id: int,
    category: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Set the category (a label for training) or the handling status."""
    require(actor, "feedback.write")
    fb, code = _scoped_feedback(session, actor, feedback_id)
    before = {"category": fb.category, "status": fb.status}
    if category is not None:
        fb.category = _check_category(workspace, category) if workspace is not None else category
        fb.category_source = "user"
    if status is not None:
        if status not in FEEDBACK_STATUSES:
            raise SchemaError(f"status {status!r} is not one of {', '.join(FEEDBACK_STATUSES)}")
        fb.status = status
    audit.record(
        session,
        actor=actor,
        action="feedback.update",
        entity="feedback",
        entity_id=fb.id,
        changes=audit.diff(before, {"category": fb.category, "status": fb.status}),
    )
    return feedback_dict(fb, code)


def list_feedback(
    session: Session,
    *,
    actor: Actor,
    code: str | None = None,
    category: str | None = None,
    sentiment: str | None = None,
    channel: str | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Feedback of the actor's customers, newest first, and the total."""
    check_page(page, page_size)
    stmt = _feedback_query(actor)
    for col, value in (
        (Customer.code, code),
        (Feedback.category, category),
        (Feedback.sentiment, sentiment),
        (Feedback.channel, channel),
        (Feedback.status, status),
    ):
        if value is not None:
            stmt = stmt.where(col == value)
    if since is not None:
        stmt = stmt.where(Feedback.received_at >= since.replace(tzinfo=None))
    if until is not None:
        stmt = stmt.where(Feedback.received_at < until.replace(tzinfo=None))
    order = (Feedback.received_at.desc(), Feedback.id.desc())
    rows, total = fetch_page(session, stmt, order, page=page, page_size=page_size)
    return [feedback_dict(f, c) for f, c in rows], total


def reclassify_feedback(session: Session, *, actor: Actor, workspace: Path) -> int:
    """Classify again every row whose category was not set by a person; return how many."""
    require(actor, "refresh.run")
    rows = session.scalars(
        select(Feedback).where(
            (Feedback.category_source != "user") | Feedback.category_source.is_(None)
        )
    ).all()
    for fb, got in zip(rows, analyse([r.text for r in rows], workspace), strict=True):
        fb.category, fb.category_source = got["category"], got["category_source"]
        fb.sentiment, fb.sentiment_score = got["sentiment"], got["sentiment_score"]
    audit.record(
        session,
        actor=actor,
        action="feedback.reclassify",
        entity="feedback",
        changes={"rows": len(rows)},
    )
    return len(rows)
