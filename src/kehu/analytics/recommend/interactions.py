"""The customer x product interaction table, aggregated in the engine.

One row per (customer, product) with what the models and the re-buy rule need.
Lines without a customer or a product are dropped.  Returns are netted: a pair
whose returned quantity cancels what was bought (net quantity <= 0, or net
amount <= 0 when there is no ``quantity``) is dropped, so a product bought and
sent back is not a taste signal.  ``orders`` counts the distinct purchase
orders (return lines excluded) and ``days`` the distinct purchase days.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.rfm import DateLike, as_date
from kehu.analytics.schema import require_columns, to_table

#: columns of :func:`interactions`
INTERACTION_COLUMNS = (
    "customer_id",
    "product_id",
    "orders",
    "days",
    "quantity",
    "first_purchase",
    "last_purchase",
)
REQUIRED = ("customer_id", "order_time", "product_id")


def order_lines(
    orders: Any, *, before: DateLike | None = None, since: DateLike | None = None
) -> ir.Table:
    """Canonical order lines with a customer and a product, optionally cut in time.

    Adds ``_ret`` (the line is a return) and ``_key`` (the order identity: the
    order id, or the timestamp where there is none).
    """
    t = to_table(orders, "orders")
    require_columns(t, REQUIRED, "orders")
    cond = [t.customer_id.notnull(), t.product_id.notnull()]
    if before is not None:
        cond.append(t.order_time < ibis.timestamp(_midnight(before, "before")))
    if since is not None:
        cond.append(t.order_time >= ibis.timestamp(_midnight(since, "since")))
    t = t.filter(*cond)
    if "is_return" in t.columns:
        ret = t.is_return.fill_null(False)
    elif "quantity" in t.columns:
        ret = t.quantity < 0
    elif "amount" in t.columns:
        ret = t.amount < 0
    else:
        ret = ibis.literal(False)
    stamp = t.order_time.cast("string")
    key = t.order_id.cast("string").fill_null(stamp) if "order_id" in t.columns else stamp
    return t.mutate(
        customer_id=t.customer_id.cast("string"),
        product_id=t.product_id.cast("string"),
        _ret=ret,
        _key=key,
    )


def interactions(
    orders: Any, *, before: DateLike | None = None, since: DateLike | None = None
) -> ir.Table:
    """Per (customer, product) purchase counts with returns netted.

    Parameters
    ----------
    orders
        Order lines in the canonical schema; needs ``customer_id``,
        ``order_time`` and ``product_id``; uses ``order_id``, ``quantity``,
        ``amount`` and ``is_return`` when present.
    before, since
        Keep lines with ``since <= order_time < before`` (dates, midnight).

    Returns
    -------
    An Ibis table with the columns of :data:`INTERACTION_COLUMNS`.
    """
    t = order_lines(orders, before=before, since=since)
    if "quantity" in t.columns:
        net = t.quantity.cast("float64")
    elif "amount" in t.columns:
        net = t.amount.cast("float64")
    else:  # no volume at all: every kept line counts as one unit bought
        net = ibis.ifelse(t._ret, -1.0, 1.0)
    buy = ~t._ret
    lines = t.mutate(
        _net=net,
        _okey=ibis.ifelse(buy, t._key, ibis.null("string")),
        _day=ibis.ifelse(buy, t.order_time.date(), ibis.null("date")),
    )
    g = lines.group_by("customer_id", "product_id").agg(
        orders=lines._okey.nunique(),
        days=lines._day.nunique(),
        quantity=lines._net.sum(),
        first_purchase=lines._day.min(),
        last_purchase=lines._day.max(),
    )
    g = g.filter(g.orders > 0, g.quantity > 0)
    return g.mutate(orders=g.orders.cast("int64"), days=g.days.cast("int64")).select(
        *INTERACTION_COLUMNS
    )


def _midnight(value: DateLike, what: str) -> dt.datetime:
    return dt.datetime.combine(as_date(value, what), dt.time())
