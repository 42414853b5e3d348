"""The ledger entries: the account lock, appending an entry, credits that settle debt, lots."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kehu.exceptions import ConflictError
from kehu.services.access import Actor
from kehu.services.loyalty.rules import CREDIT_KINDS, ProgramRules
from kehu.store.models import Customer, LedgerEntry, LoyaltyAccount
from kehu.store.models.base import utcnow


def serialise_writes(session: Session) -> None:
    """On SQLite take the database write lock now (``BEGIN IMMEDIATE``).

    Without it two transactions could both read a balance and then race to
    write.  If the connection is already in a transaction that has written,
    it holds the write lock already.  PostgreSQL uses row locks instead.
    """
    con = session.connection()
    if con.dialect.name == "sqlite" and not con.connection.driver_connection.in_transaction:
        con.exec_driver_sql("BEGIN IMMEDIATE")


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _locked_account(session: Session, customer: Customer) -> LoyaltyAccount:
    """The customer's account, created if missing, locked for this transaction."""
    serialise_writes(session)
    stmt = (
        _insert(session)(LoyaltyAccount)
        .values(
            customer_id=customer.id,
            balance=0,
            lifetime_points=0,
            debt=0,
            version=1,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["customer_id"])
    )
    session.execute(stmt)
    return session.scalars(
        select(LoyaltyAccount)
        .where(LoyaltyAccount.customer_id == customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


@dataclass
class Posting:
    """The outcome of a posting; ``created`` is false when the key had been posted before."""

    account: LoyaltyAccount
    entry: LedgerEntry
    created: bool
    settlement: LedgerEntry | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _by_key(session: Session, key: str) -> LedgerEntry | None:
    return session.scalar(select(LedgerEntry).where(LedgerEntry.key == key))


def _retried(
    session: Session,
    account: LoyaltyAccount,
    key: str,
    points: int,
    request_id: str | None,
    sign: int,
) -> Posting | None:
    """The posting of an earlier request with this key, or ``None``.

    A retry must ask for the same ``points`` (as posted); the message shows
    them as the caller's request had them (``sign * points``).
    """
    if (done := _by_key(session, key)) is None:
        return None
    if done.points != points:
        shown = sign * done.points
        raise ConflictError(f"request {request_id!r} was posted with {shown} points")
    return Posting(account, done, False)


def _post(
    session: Session,
    account: LoyaltyAccount,
    actor: Actor,
    *,
    key: str,
    kind: str,
    points: int,
    debt: int = 0,
    order_id: int | None = None,
    expires_on: dt.date | None = None,
    note: str | None = None,
) -> LedgerEntry:
    """Append one entry and move the cached balance; the caller holds the account lock.

    ``note`` is a person's words only (a reason, a redemption's note); what the system
    did is read from the entry itself (:func:`about`), in the reader's language.
    """
    balance = account.balance + points
    if balance < 0:  # every caller checks first; this is the last line of defence
        raise ConflictError(f"points balance would become negative ({balance})")
    entry = LedgerEntry(
        account_id=account.id,
        key=key,
        kind=kind,
        points=points,
        balance_after=balance,
        debt=debt,
        expires_on=expires_on,
        order_id=order_id,
        posted_by=actor.user_id,
        note=note,
    )
    session.add(entry)
    account.balance = balance
    account.debt = account.debt + debt
    if kind in CREDIT_KINDS:
        account.lifetime_points = account.lifetime_points + points
    session.flush()
    return entry


def _credit(
    session: Session,
    account: LoyaltyAccount,
    actor: Actor,
    *,
    key: str,
    kind: str,
    points: int,
    expires_on: dt.date | None,
    order_id: int | None = None,
    note: str | None = None,
) -> Posting:
    """Post a credit, then settle any debt out of it (the debt rule)."""
    entry = _post(
        session,
        account,
        actor,
        key=key,
        kind=kind,
        points=points,
        order_id=order_id,
        expires_on=expires_on,
        note=note,
    )
    settlement = None
    owed = min(points, account.debt)
    if owed > 0:
        settlement = _post(
            session,
            account,
            actor,
            key=f"settle:{key}",
            kind="reverse",
            points=-owed,
            debt=-owed,
            order_id=order_id,
        )
    return Posting(account, entry, True, settlement)


def about(entry: LedgerEntry) -> dict[str, Any]:
    """What the system did in an entry, as data for a sentence in the reader's language:
    ``{"what": ..., **values}`` read from its kind, natural key and debt.

    ``what`` is ``earn``, ``cancel``, ``refund``, ``settle``, ``birthday``, ``expire``,
    ``referral``, or ``manual`` (a redemption or adjustment: the note says why).
    """
    key = entry.key
    if key.startswith("settle:"):
        return {"what": "settle", "points": -entry.points}
    if key.startswith("earn:order:"):
        return {"what": "earn", "order": key.removeprefix("earn:order:")}
    if key.startswith("reverse:order:"):
        rest = key.removeprefix("reverse:order:")
        if rest.endswith(":cancel"):
            out = {"what": "cancel", "order": rest.removesuffix(":cancel")}
        else:
            order, _, refund = rest.rpartition(":")
            out = {"what": "refund", "order": order, "refund": refund}
        return out | {"debt": entry.debt}
    if entry.kind in ("birthday", "expire"):  # birthday:<account>:<year>, expire:<account>:<day>
        return {"what": entry.kind, "when": key.rpartition(":")[2]}
    if entry.kind == "referral":
        return {"what": "referral", "customer": key.removeprefix("referral:")}
    return {"what": "manual"}


def _expiry(rules: ProgramRules, day: dt.date) -> dt.date | None:
    return None if rules.expiry_days is None else day + dt.timedelta(days=rules.expiry_days)


@dataclass(frozen=True)
class Lot:
    entry_id: int
    kind: str
    points: int
    remaining: int
    expires_on: dt.date | None


def lots(session: Session, account_id: int) -> list[Lot]:
    """What is left of each credit, consumed oldest-expiring first (derived, see module notes)."""
    credits = session.execute(
        select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.points, LedgerEntry.expires_on)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.points > 0)
        .order_by(LedgerEntry.expires_on.asc().nulls_last(), LedgerEntry.id)
    ).all()
    used = -session.execute(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.account_id == account_id, LedgerEntry.points < 0
        )
    ).scalar_one()
    out, cum = [], 0
    for eid, kind, points, expires in credits:
        cum += points
        out.append(Lot(eid, kind, points, min(max(cum - used, 0), points), expires))
    return out
