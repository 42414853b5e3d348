"""The 360 view: everything about one customer in one call."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.services.access import Actor
from kehu.services.customers.changes import EDITABLE
from kehu.services.customers.explain import current_classes
from kehu.services.loyalty.entries import about as loyalty_about
from kehu.services.privacy import current_consents, mask_customer
from kehu.services.refresh import current_run
from kehu.services.scope import scoped_customer
from kehu.store.models import (
    Alert,
    Customer,
    Feedback,
    Interaction,
    LedgerEntry,
    LoyaltyAccount,
    Order,
    Task,
)


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
    profile, contacts = _profile(c, actor), _contacts(c, actor)
    run = current_run(session)
    classes, scores, recommendations = current_classes(session, run, c, lang)
    orders, interactions, tasks, feedback = _activity(session, c, recent)
    account, ledger = _loyalty_rows(session, c, recent)
    alerts = session.scalars(
        select(Alert).where(Alert.customer_id == c.id).order_by(Alert.id.desc()).limit(recent)
    ).all()
    totals = _orders_summary(session, c)
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
        "orders_summary": totals,
        "recent_orders": [_order(o) for o in orders],
        "interactions": [_interaction(i) for i in interactions],
        "open_tasks": [
            {"id": t.id, "title": t.title, "due_date": t.due_date, "owner_id": t.owner_id}
            for t in tasks
        ],
        "feedback": [_feedback(fb) for fb in feedback],
        "loyalty": _loyalty(account, ledger),
        "alerts": [
            {"kind": a.kind, "message": a.message, "run_id": a.run_id, "created_at": a.created_at}
            for a in alerts
        ],
        "recommendations": recommendations,
    }


def _profile(c: Customer, actor: Actor) -> dict[str, Any]:
    """The editable fields and the row's dates, personal data masked for the actor's role."""
    profile = {
        "customer_id": c.code,
        **{f: getattr(c, f) for f in EDITABLE},
        "anonymised_at": c.anonymised_at,
        "created_at": c.created_at,
        "updated_at": c.updated_at,
    }
    return mask_customer(profile, actor)


def _contacts(c: Customer, actor: Actor) -> list[dict[str, Any]]:
    """The customer's contact people, masked like the profile: they are personal data too."""
    return [
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


def _activity(session: Session, c: Customer, recent: int) -> tuple[list, list, list, list]:
    """The latest orders, interactions and feedback, and every open task (soonest due first)."""
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
    return orders, interactions, tasks, feedback


def _loyalty_rows(
    session: Session, c: Customer, recent: int
) -> tuple[LoyaltyAccount | None, list[LedgerEntry]]:
    """The loyalty account, if the customer has one, and its latest ledger entries."""
    account = session.scalar(select(LoyaltyAccount).where(LoyaltyAccount.customer_id == c.id))
    ledger = []
    if account is not None:
        ledger = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.account_id == account.id)
            .order_by(LedgerEntry.id.desc())
            .limit(recent)
        ).all()
    return account, ledger


def _orders_summary(session: Session, c: Customer) -> dict[str, Any]:
    """All the customer's orders counted in SQL: the recent ones shown are only a few."""
    totals = session.execute(
        select(func.count(Order.id), func.sum(Order.amount), func.max(Order.order_time)).where(
            Order.customer_id == c.id
        )
    ).one()
    return {
        "orders": totals[0] or 0,
        "amount": float(totals[1] or 0.0),
        "last_order": totals[2],
    }


def _order(o: Order) -> dict[str, Any]:
    """An order as the view lists it: its lines counted, not listed."""
    return {
        "order_id": o.order_no,
        "order_time": o.order_time,
        "amount": o.amount,
        "status": o.status,
        "channel": o.channel,
        "lines": len(o.lines),
    }


def _interaction(i: Interaction) -> dict[str, Any]:
    """An interaction as the view lists it."""
    return {
        "id": i.id,
        "kind": i.kind,
        "occurred_at": i.occurred_at,
        "notes": i.notes,
        "outcome": i.outcome,
    }


def _feedback(fb: Feedback) -> dict[str, Any]:
    """A piece of feedback with the category and sentiment it was classified with."""
    return {
        "id": fb.id,
        "channel": fb.channel,
        "rating": fb.rating,
        "text": fb.text,
        "category": fb.category,
        "sentiment": fb.sentiment,
        "received_at": fb.received_at,
    }


def _loyalty(account: LoyaltyAccount | None, ledger: list[LedgerEntry]) -> dict[str, Any] | None:
    """Points, tier and the latest entries, each told by what it is about; None if not enrolled."""
    if account is None:
        return None
    return {
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
    }
