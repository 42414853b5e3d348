"""Products, orders and order lines, and the record of file loads."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kehu.store.models.base import Base, Timestamps, utcnow


class Product(Timestamps, Base):
    __tablename__ = "products"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str | None] = mapped_column(String(100), index=True)
    category2: Mapped[str | None] = mapped_column(String(100))
    brand: Mapped[str | None] = mapped_column(String(100))
    price: Mapped[float | None]
    pack_size: Mapped[str | None] = mapped_column(String(64))
    source_hash: Mapped[str | None] = mapped_column(String(32))


class Order(Timestamps, Base):
    """An order; ``order_no`` is the natural key (the source's order id).

    Lines without an order id in the source become one order per (customer,
    order time), numbered ``<customer>@<time>``, as the analytics count them.
    """

    __tablename__ = "orders"
    __table_args__ = (Index("ix_orders_customer_time", "customer_id", "order_time"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_no: Mapped[str] = mapped_column(String(128), unique=True)
    #: null for anonymous sales, kept for sales figures
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id", ondelete="SET NULL"))
    order_time: Mapped[dt.datetime] = mapped_column(index=True)
    channel: Mapped[str | None] = mapped_column(String(64))
    store_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str | None] = mapped_column(String(32))
    amount: Mapped[float] = mapped_column(default=0.0)
    #: "file" or "api"
    source: Mapped[str] = mapped_column(String(16), default="file")
    #: digest of the customer, time and lines; equal digests mean an unchanged order
    content_hash: Mapped[str] = mapped_column(String(32))

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="OrderLine.line_no",
    )


class CustomerMonth(Base):
    """A customer's orders in one calendar month, kept as orders are written.

    The monthly figures (sales, active, new and repeat customers per month, rep, region,
    channel, distributor) are sums over these rows instead of over every order; they are
    rebuilt from ``orders`` for the customers a write touched (``services/sales_months.py``)
    in the write's own transaction.
    """

    __tablename__ = "customer_months"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    #: ``YYYY-MM`` of the orders' wall-clock order time
    month: Mapped[str] = mapped_column(String(7), primary_key=True, index=True)
    sales: Mapped[float]
    orders: Mapped[int]
    #: the month of the customer's first order ever
    first_month: Mapped[bool]


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (UniqueConstraint("order_id", "line_no"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id", ondelete="CASCADE"))
    line_no: Mapped[int]
    product_code: Mapped[str | None] = mapped_column(String(64), index=True)
    quantity: Mapped[float | None]
    price: Mapped[float | None]
    amount: Mapped[float]
    discount: Mapped[float | None]
    is_return: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str | None] = mapped_column(String(32))

    order: Mapped[Order] = relationship(back_populates="lines")


class LoadRun(Base):
    """A file load: its fingerprint, progress per batch and counts, for resuming."""

    __tablename__ = "load_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    files: Mapped[list[Any]] = mapped_column(default=list, info={"personal": "mention"})
    status: Mapped[str] = mapped_column(String(16), default="running")  # running, done, failed
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    batches_total: Mapped[int] = mapped_column(default=0)
    batches_done: Mapped[int] = mapped_column(default=0)
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    conflicts: Mapped[list[Any]] = mapped_column(default=list, info={"personal": "mention"})
    import_summary: Mapped[dict[str, Any]] = mapped_column(
        default=dict, info={"personal": "mention"}
    )
    error: Mapped[str | None] = mapped_column(Text, info={"personal": "mention"})
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
