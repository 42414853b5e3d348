"""The programme's runs over all members: birthday rewards, expiry and tier recomputation."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import extract, func, select, update
from sqlalchemy.orm import Session

from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.loyalty.entries import (
    _by_key,
    _credit,
    _expiry,
    _insert,
    _locked_account,
    _post,
    lots,
    serialise_writes,
)
from kehu.services.loyalty.rules import CANCELLED, CREDIT_KINDS, ProgramRules, current_rules
from kehu.store.models import Customer, LedgerEntry, LoyaltyAccount, Order
from kehu.store.models.base import utcnow


def birthday_rewards(
    session: Session, *, actor: Actor, as_of: dt.date, rules: ProgramRules | None = None
) -> int:
    """Reward members whose birthday is in ``as_of``'s month, once a year; the number posted."""
    require(actor, "loyalty.manage")
    rules = rules or current_rules(session)
    serialise_writes(session)
    ids = session.scalars(
        select(LoyaltyAccount.customer_id).where(
            LoyaltyAccount.birthday.is_not(None),
            extract("month", LoyaltyAccount.birthday) == as_of.month,
        )
    ).all()
    posted = 0
    for cid in ids:
        account = _locked_account(session, session.get(Customer, cid))
        key = f"birthday:{account.id}:{as_of.year}"
        if _by_key(session, key) is None and rules.birthday_points > 0:
            _credit(
                session,
                account,
                actor,
                key=key,
                kind="birthday",
                points=rules.birthday_points,
                expires_on=_expiry(rules, as_of),
            )
            posted += 1
    return posted


def expire_points(session: Session, *, actor: Actor, as_of: dt.date) -> dict[str, int]:
    """Expire what is left of lots with ``expires_on <= as_of``; idempotent per day.

    Returns ``{"accounts": n, "points": total}`` of this run.
    """
    require(actor, "loyalty.manage")
    serialise_writes(session)
    candidates = session.scalars(
        select(LedgerEntry.account_id)
        .join(LoyaltyAccount, LoyaltyAccount.id == LedgerEntry.account_id)
        .where(LedgerEntry.points > 0, LedgerEntry.expires_on <= as_of, LoyaltyAccount.balance > 0)
        .distinct()
    ).all()
    accounts = total = 0
    for account_id in sorted(candidates):
        account = session.get(LoyaltyAccount, account_id)
        account = _locked_account(session, session.get(Customer, account.customer_id))
        key = f"expire:{account.id}:{as_of.isoformat()}"
        if _by_key(session, key) is not None:
            continue
        due = sum(
            lot.remaining
            for lot in lots(session, account.id)
            if lot.expires_on is not None and lot.expires_on <= as_of
        )
        due = min(due, account.balance)
        if due > 0:
            _post(
                session,
                account,
                actor,
                key=key,
                kind="expire",
                points=-due,
            )
            accounts += 1
            total += due
    return {"accounts": accounts, "points": total}


def _open_accounts(session: Session, customer_ids: list[int]) -> None:
    """Create the missing accounts of these customers (``ON CONFLICT DO NOTHING``)."""
    for chunk in range(0, len(customer_ids), 1000):
        rows = [
            {
                "customer_id": c,
                "balance": 0,
                "lifetime_points": 0,
                "debt": 0,
                "version": 1,
                "created_at": utcnow(),
            }
            for c in customer_ids[chunk : chunk + 1000]
        ]
        session.execute(
            _insert(session)(LoyaltyAccount)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["customer_id"])
        )


def _tier_values(session: Session, rules: ProgramRules, as_of: dt.date) -> dict[int, float]:
    """Each customer's spend (or growth value) in the window ending ``as_of``.

    With the spend basis, customers with spend in the window get an account.
    """
    start = dt.datetime.combine(as_of - dt.timedelta(days=rules.tier_window_days - 1), dt.time())
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    if rules.tier_basis == "spend":
        value = (
            select(Order.customer_id.label("cid"), func.sum(Order.amount).label("value"))
            .where(
                Order.customer_id.is_not(None),
                Order.order_time >= start,
                Order.order_time < end,
                func.lower(func.coalesce(Order.status, "")).not_in(CANCELLED),
            )
            .group_by(Order.customer_id)
        )
        _open_accounts(session, [cid for cid, v in session.execute(value) if (v or 0) > 0])
    else:
        value = (
            select(
                LoyaltyAccount.customer_id.label("cid"), func.sum(LedgerEntry.points).label("value")
            )
            .join(LedgerEntry, LedgerEntry.account_id == LoyaltyAccount.id)
            .where(
                LedgerEntry.posted_at >= start,
                LedgerEntry.posted_at < end,
                LedgerEntry.kind.in_(CREDIT_KINDS) | (LedgerEntry.key.startswith("reverse:order:")),
            )
            .group_by(LoyaltyAccount.customer_id)
        )
    return {cid: float(v or 0.0) for cid, v in session.execute(value)}


def _move_tiers(session: Session, moves: dict[str, list[int]], as_of: dt.date) -> None:
    """Set the new tier of the accounts in ``moves`` (tier -> account ids)."""
    for tier, ids in moves.items():
        for chunk in range(0, len(ids), 1000):
            session.execute(
                update(LoyaltyAccount)
                .where(LoyaltyAccount.id.in_(ids[chunk : chunk + 1000]))
                .values(tier=tier, tier_since=as_of, version=LoyaltyAccount.version + 1)
                .execution_options(synchronize_session=False)
            )


def recompute_tiers(
    session: Session, *, actor: Actor, as_of: dt.date, rules: ProgramRules | None = None
) -> dict[str, Any]:
    """Set every member's tier from spend (or growth value) in the window ending ``as_of``.

    Customers with spend in the window get an account.  Returns the count per
    tier and the number of members whose tier changed.
    """
    require(actor, "loyalty.manage")
    rules = rules or current_rules(session)
    serialise_writes(session)
    values = _tier_values(session, rules, as_of)
    accounts = session.execute(
        select(LoyaltyAccount.id, LoyaltyAccount.customer_id, LoyaltyAccount.tier)
    ).all()
    moves: dict[str, list[int]] = {}
    counts = {t.name: 0 for t in rules.tiers}
    for aid, cid, old in accounts:
        new = rules.tier_for(max(values.get(cid, 0.0), 0.0)).name
        counts[new] += 1
        if new != old:
            moves.setdefault(new, []).append(aid)
    _move_tiers(session, moves, as_of)
    changed = sum(len(v) for v in moves.values())
    audit.record(
        session,
        actor=actor,
        action="loyalty.tiers",
        entity="loyalty",
        changes={"as_of": as_of, "changed": changed, "counts": counts},
    )
    session.flush()
    return {"as_of": as_of, "basis": rules.tier_basis, "counts": counts, "changed": changed}
