"""Loyalty accounts, their append-only points ledger and the versioned programme rules.

The ledger is never updated: lots (what is left of each earning) are derived
from it, oldest-expiring first (see :mod:`kehu.services.loyalty`).  Migration
0002 adds database triggers that refuse an UPDATE of a posting's figures.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kehu.store.models.base import Base, utcnow

LEDGER_KINDS = ("earn", "redeem", "expire", "reverse", "referral", "birthday", "adjust")


class LoyaltyAccount(Base):
    """One per customer; ``balance`` is the sum of the ledger and never negative."""

    __tablename__ = "loyalty_accounts"
    __table_args__ = (CheckConstraint("balance >= 0", name="balance_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    balance: Mapped[int] = mapped_column(default=0)
    lifetime_points: Mapped[int] = mapped_column(default=0)
    tier: Mapped[str | None] = mapped_column(String(32))
    tier_since: Mapped[dt.date | None]
    #: points reversed after they had been spent, settled from future earnings
    debt: Mapped[int] = mapped_column(default=0, server_default="0")
    #: the member's birthday, for the birthday reward (given at enrolment)
    birthday: Mapped[dt.date | None] = mapped_column(info={"personal": "field"})
    #: bumped by every posting: optimistic locking against lost updates
    version: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


class LedgerEntry(Base):
    """A points posting; ``key`` makes each posting happen once (e.g. ``earn:<order>``)."""

    __tablename__ = "loyalty_ledger"
    __table_args__ = (Index("ix_loyalty_ledger_account_at", "account_id", "posted_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("loyalty_accounts.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    points: Mapped[int]
    balance_after: Mapped[int]
    #: unused: the ledger is append-only, so what is left of a lot is derived
    remaining: Mapped[int | None]
    expires_on: Mapped[dt.date | None]
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    posted_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    posted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    note: Mapped[str | None] = mapped_column(Text, info={"personal": "text"})
    #: change of the account's points debt (+ shortfall of a reversal, - settlement)
    debt: Mapped[int] = mapped_column(default=0, server_default="0")


class LoyaltyRules(Base):
    """One version of the programme's rules; the newest is in force (never updated)."""

    __tablename__ = "loyalty_rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    rules: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
