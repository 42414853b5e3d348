"""Reading an account: its summary, its ledger page and a check of its cached figures."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu.services.access import Actor
from kehu.services.loyalty.entries import lots
from kehu.services.scope import scoped_customer
from kehu.store.models import Customer, LedgerEntry, LoyaltyAccount
from kehu.store.models.base import utcnow


def check_account(session: Session, account: LoyaltyAccount) -> list[str]:
    """Problems of the cached figures against the ledger (empty when consistent)."""
    total, debt, n = session.execute(
        select(
            func.coalesce(func.sum(LedgerEntry.points), 0),
            func.coalesce(func.sum(LedgerEntry.debt), 0),
            func.count(LedgerEntry.id),
        ).where(LedgerEntry.account_id == account.id)
    ).one()
    last = session.scalar(
        select(LedgerEntry.balance_after)
        .where(LedgerEntry.account_id == account.id)
        .order_by(LedgerEntry.id.desc())
        .limit(1)
    )
    problems = []
    if account.balance != total:
        problems.append(f"balance {account.balance} != ledger sum {total}")
    if n and last != account.balance:
        problems.append(f"balance {account.balance} != last balance_after {last}")
    if account.debt != debt:
        problems.append(f"debt {account.debt} != ledger debt {debt}")
    if account.balance < 0 or account.debt < 0:
        problems.append("negative balance or debt")
    negative = session.scalar(
        select(func.count(LedgerEntry.id)).where(
            LedgerEntry.account_id == account.id, LedgerEntry.balance_after < 0
        )
    )
    if negative:
        problems.append(f"{negative} entries with a negative balance_after")
    return problems


def _account_of(
    session: Session, actor: Actor, code: str
) -> tuple[Customer, LoyaltyAccount | None]:
    customer = scoped_customer(session, actor=actor, code=code)
    account = session.scalar(
        select(LoyaltyAccount)
        .where(LoyaltyAccount.customer_id == customer.id)
        .execution_options(populate_existing=True)
    )
    return customer, account


def account_summary(
    session: Session, *, actor: Actor, code: str, as_of: dt.date | None = None
) -> dict[str, Any]:
    """Balance, tier, debt, the open lots and the next expiry of a customer's account."""
    customer, account = _account_of(session, actor, code)
    if account is None:
        return {
            "customer_id": customer.code,
            "enrolled": False,
            "balance": 0,
            "debt": 0,
            "lifetime_points": 0,
            "tier": None,
            "tier_since": None,
            "birthday": None,
            "lots": [],
            "next_expiry": None,
            "consistent": True,
        }
    open_lots = [lot for lot in lots(session, account.id) if lot.remaining > 0]
    day = as_of or utcnow().date()
    upcoming = sorted(
        {
            lot.expires_on
            for lot in open_lots
            if lot.expires_on is not None and lot.expires_on >= day
        }
    )
    next_expiry = None
    if upcoming:
        first = upcoming[0]
        next_expiry = {
            "date": first,
            "points": sum(lot.remaining for lot in open_lots if lot.expires_on == first),
        }
    return {
        "customer_id": customer.code,
        "enrolled": True,
        "balance": account.balance,
        "debt": account.debt,
        "lifetime_points": account.lifetime_points,
        "tier": account.tier,
        "tier_since": account.tier_since,
        "birthday": account.birthday,
        "lots": [
            {
                "entry_id": lot.entry_id,
                "kind": lot.kind,
                "points": lot.points,
                "remaining": lot.remaining,
                "expires_on": lot.expires_on,
            }
            for lot in open_lots
        ],
        "next_expiry": next_expiry,
        "consistent": not check_account(session, account),
    }


def ledger(
    session: Session, *, actor: Actor, code: str, limit: int = 100, offset: int = 0
) -> tuple[list[LedgerEntry], int]:
    """A customer's postings, newest first, and their total count."""
    _customer, account = _account_of(session, actor, code)
    if account is None:
        return [], 0
    where = LedgerEntry.account_id == account.id
    total = session.scalar(select(func.count(LedgerEntry.id)).where(where)) or 0
    rows = session.scalars(
        select(LedgerEntry).where(where).order_by(LedgerEntry.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total
