"""Each customer's orders per calendar month, kept as orders are written.

The monthly figures of :mod:`kehu.services.performance` are sums over ``customer_months``
(one row per customer and month with sales, an order count and whether it is the month of
the customer's first order) instead of over every order: at 100k customers and 500k
orders the manager's first view of the workbench after a change read the orders of 13
months several times over (seconds).  Every writer of orders calls :func:`recount` for the
customers it touched, in its own transaction, so the rows are never older than the
orders; :func:`recount` with no customers rebuilds them all (a bulk load written around
the services, the migration that adds the table).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from kehu.store.models import CustomerMonth, Order

#: customers rebuilt per statement (bound parameters stay well under every driver's limit)
CHUNK = 5_000


def month_key(dialect: str, column: Any) -> Any:
    """``YYYY-MM`` of a timestamp column, in the store's SQL dialect."""
    if dialect == "postgresql":
        return func.to_char(column, "YYYY-MM")
    return func.strftime("%Y-%m", column)


def recount(session: Session, customer_ids: Iterable[int | None] | None = None) -> None:
    """Rebuild the monthly rows of ``customer_ids`` (every customer when ``None``) from orders."""
    if customer_ids is None:
        session.execute(delete(CustomerMonth))
        _insert(session, Order.customer_id.is_not(None))
        return
    ids = sorted({i for i in customer_ids if i is not None})
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start : start + CHUNK]
        session.execute(delete(CustomerMonth).where(CustomerMonth.customer_id.in_(chunk)))
        _insert(session, Order.customer_id.in_(chunk))


def _insert(session: Session, which: Any) -> None:
    month = month_key(session.get_bind().dialect.name, Order.order_time)
    per = (
        select(
            Order.customer_id.label("customer_id"),
            month.label("month"),
            func.sum(Order.amount).label("sales"),
            func.count().label("orders"),
        )
        .where(which)
        .group_by(Order.customer_id, month)
        .subquery()
    )
    first = func.min(per.c.month).over(partition_by=per.c.customer_id) == per.c.month
    rows = select(per.c.customer_id, per.c.month, per.c.sales, per.c.orders, first)
    session.execute(
        insert(CustomerMonth).from_select(
            ["customer_id", "month", "sales", "orders", "first_month"], rows
        )
    )
