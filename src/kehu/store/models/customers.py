"""Customers with their contacts, tags and consent records."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kehu.names import IMPORTED_CUSTOMER_FIELDS, store_name
from kehu.store.models.base import Base, Timestamps, utcnow

#: Purposes a consent is recorded for (PIPL: separate consent per purpose).
CONSENT_PURPOSES = ("marketing_sms", "marketing_wechat", "marketing_email", "share_distributor")

#: Customer fields filled from the master-data files (the importer's canonical names).
MASTER_FIELDS = tuple(store_name(f) for f in IMPORTED_CUSTOMER_FIELDS)


class Customer(Timestamps, Base):
    __tablename__ = "customers"
    #: the last change to any customer is part of the store's version (services/memo.py)
    __table_args__ = (Index("ix_customers_updated_at", "updated_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the natural key: the customer id of the source system
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(
        String(200), info={"personal": "field", "erased": "(已匿名 anonymised)"}
    )
    phone: Mapped[str | None] = mapped_column(String(40), info={"personal": "field"})
    email: Mapped[str | None] = mapped_column(String(200), info={"personal": "field"})
    country: Mapped[str | None] = mapped_column(String(64))
    province: Mapped[str | None] = mapped_column(String(64))
    city: Mapped[str | None] = mapped_column(String(64))
    district: Mapped[str | None] = mapped_column(String(64), info={"personal": "field"})
    #: sales region (大区) such as 华东; defaults to the province
    region: Mapped[str | None] = mapped_column(String(64), index=True)
    area_type: Mapped[str | None] = mapped_column(String(16))
    channel: Mapped[str | None] = mapped_column(String(64), index=True)
    size: Mapped[str | None] = mapped_column(String(32))
    gender: Mapped[str | None] = mapped_column(String(16), info={"personal": "field"})
    age_band: Mapped[str | None] = mapped_column(String(32), info={"personal": "field"})
    income_band: Mapped[str | None] = mapped_column(String(32), info={"personal": "field"})
    sales_rep: Mapped[str | None] = mapped_column(String(100), index=True)
    distributor: Mapped[str | None] = mapped_column(String(200))
    signup_date: Mapped[dt.date | None] = mapped_column(info={"personal": "field"})
    no_personalised_marketing: Mapped[bool] = mapped_column(default=False)
    #: set when the person's data were anonymised on request
    anonymised_at: Mapped[dt.datetime | None]
    #: hash of the master-data values at the last file load (see services.store_load);
    #: a digest of personal values, so erasure replaces it (a reload is then a conflict)
    source_hash: Mapped[str | None] = mapped_column(
        String(32), info={"personal": "field", "erased": "[erased]"}
    )

    contacts: Mapped[list[Contact]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", passive_deletes=True
    )
    tags: Mapped[list[CustomerTag]] = relationship(
        back_populates="customer", cascade="all, delete-orphan", passive_deletes=True
    )
    consents: Mapped[list[Consent]] = relationship(
        back_populates="customer",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="Consent.id",
    )


class Contact(Base):
    """A person to talk to at a customer (owner, buyer, cashier ...)."""

    __tablename__ = "customer_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str | None] = mapped_column(String(100), info={"personal": "field"})
    role: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(40), info={"personal": "field"})
    email: Mapped[str | None] = mapped_column(String(200), info={"personal": "field"})
    wechat: Mapped[str | None] = mapped_column(String(100), info={"personal": "field"})
    is_primary: Mapped[bool] = mapped_column(default=False)

    customer: Mapped[Customer] = relationship(back_populates="contacts")


class CustomerTag(Base):
    __tablename__ = "customer_tags"
    __table_args__ = (UniqueConstraint("customer_id", "tag"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    tag: Mapped[str] = mapped_column(String(64), index=True)

    customer: Mapped[Customer] = relationship(back_populates="tags")


class Consent(Base):
    """One consent event: granted or withdrawn, per purpose; never updated.

    The current state of a purpose is its latest record.
    """

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_customer_purpose", "customer_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    granted: Mapped[bool]
    source: Mapped[str | None] = mapped_column(String(64))  # form, phone call, import ...
    note: Mapped[str | None] = mapped_column(Text, info={"personal": "text"})
    recorded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))

    customer: Mapped[Customer] = relationship(back_populates="consents")
