"""Users, roles, API tokens, login attempts and the audit log."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kehu.store.models.base import Base, Timestamps, utcnow

#: The roles the store knows; seeded by the initial migration.
ROLES = {
    "admin": "管理员 administrator: everything, including users",
    "manager": "经理 manager: every customer, refresh, export, audit",
    "rep": "业务员 sales rep: only their own customers",
    "service": "客服 customer service: reads every customer, records consents",
    "analyst": "分析师 analyst: reads every customer with personal data masked",
}


class Role(Base):
    __tablename__ = "roles"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    description: Mapped[str] = mapped_column(String(200), default="")


class User(Timestamps, Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(ForeignKey("roles.name"))
    #: the name customers carry in ``sales_rep``; a rep sees exactly those customers
    rep_name: Mapped[str | None] = mapped_column(String(100), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    #: the interface language the user chose (``zh`` or ``en``); none: the browser's
    language: Mapped[str | None] = mapped_column(String(2))

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", passive_deletes=True)


class ApiToken(Base):
    """A bearer token: a login session or a named long-lived API token.

    Only a keyed hash of the token is stored; the token itself is shown once.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "session" or "api"
    name: Mapped[str | None] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime | None]
    last_used_at: Mapped[dt.datetime | None]
    revoked_at: Mapped[dt.datetime | None]

    user: Mapped[User] = relationship(back_populates="tokens")


class LoginThrottle(Base):
    """Failed sign-ins counted per key within a window (see :func:`kehu.services.users.login`).

    A key is ``pair:<user name>|<client>``, ``client:<client>`` or ``user:<user name>``.
    A password is checked only after one slot of each key was taken by a single
    atomic ``UPDATE ... WHERE failures < limit``, so concurrent requests never
    check more passwords than the limit, with one worker or several.
    """

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    window_started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class AuditLog(Base):
    """Who changed what: one row per change, never updated but by an erasure.

    Erasing a person's data (:func:`kehu.services.privacy.anonymise_person`)
    replaces their values in ``changes`` by ``"[erased]"``; who changed which
    field when stays.
    """

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str | None] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    entity: Mapped[str] = mapped_column(String(64))
    entity_id: Mapped[str | None] = mapped_column(String(128))
    #: on erasure the person's values become "[erased]"; the field names stay
    changes: Mapped[dict[str, Any]] = mapped_column(
        default=dict, info={"personal": "text", "erased": "[erased]"}
    )
    note: Mapped[str | None] = mapped_column(Text, info={"personal": "text"})


#: what a target is set for: a rep (``sales_rep``), a region, a channel or a distributor
TARGET_DIMENSIONS = ("rep", "region", "channel", "distributor")


class Target(Timestamps, Base):
    """A month's sales and active-customer targets for one rep, region, channel or distributor."""

    __tablename__ = "targets"
    __table_args__ = (
        UniqueConstraint("month", "dimension", "name", name="uq_targets_month"),
        CheckConstraint(
            "dimension IN ('rep', 'region', 'channel', 'distributor')", name="dimension"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the first day of the month
    month: Mapped[dt.date]
    dimension: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    sales: Mapped[Decimal | None] = mapped_column(Numeric(14, 2))
    active_customers: Mapped[int | None]
    set_by: Mapped[str | None] = mapped_column(String(64))
