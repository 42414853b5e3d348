"""Monthly KPIs (定期评估): active, new and returning customers, revenue, orders, AOV."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.rfm import _is_return, _order_key
from kehu.analytics.schema import ORDER_REQUIRED, require_columns, to_table


def monthly_kpis(orders: Any) -> ir.Table:
    """One row per calendar month with sales.

    Definitions (returns are netted: their negative amounts are summed in the
    month they happen):

    * ``active_customers`` -- identified customers with a non-return line;
    * ``new_customers`` -- active customers whose first purchase in ``orders``
      falls in the month; ``returning_customers`` = active - new;
    * ``revenue`` -- net amount of all lines, anonymous included;
      ``customer_revenue`` -- of identified customers' lines only;
      ``returns`` -- amount returned (positive number);
    * ``orders`` -- distinct orders with a non-return line, anonymous included;
    * ``aov`` = revenue / orders; ``revenue_per_active`` = customer_revenue /
      active_customers.

    Returns an Ibis table ordered by ``month`` (first day of the month).
    """
    t = to_table(orders, "orders")
    require_columns(t, ORDER_REQUIRED, "orders")
    ret = _is_return(t)
    key = _order_key(t)
    if "order_id" not in t.columns:  # a timestamp alone would merge different customers
        key = t.customer_id.cast("string").fill_null("") + "|" + key
    t = t.mutate(
        month=t.order_time.truncate("M").date(),
        amount=t.amount.cast("float64"),
        _ret=ret,
        _cid=ibis.ifelse(ret, ibis.null("string"), t.customer_id.cast("string")),
        _okey=ibis.ifelse(ret, ibis.null("string"), key),
    )
    first = t.month.min(where=t._cid.notnull()).over(group_by=t._cid)
    t = t.mutate(
        _new=ibis.ifelse(t._cid.notnull() & (t.month == first), t._cid, ibis.null("string"))
    )
    g = t.group_by("month").agg(
        active_customers=t._cid.nunique().cast("int64"),
        new_customers=t._new.nunique().cast("int64"),
        revenue=t.amount.sum(),
        customer_revenue=t.amount.sum(where=t.customer_id.notnull()).fill_null(0.0),
        returns=(-t.amount.sum(where=t._ret)).fill_null(0.0),
        orders=t._okey.nunique().cast("int64"),
    )
    g = g.mutate(
        returning_customers=g.active_customers - g.new_customers,
        aov=ibis.ifelse(g.orders > 0, g.revenue / g.orders, ibis.null("float64")),
        revenue_per_active=ibis.ifelse(
            g.active_customers > 0, g.customer_revenue / g.active_customers, ibis.null("float64")
        ),
    )
    return g.select(
        "month",
        "active_customers",
        "new_customers",
        "returning_customers",
        "revenue",
        "customer_revenue",
        "returns",
        "orders",
        "aov",
        "revenue_per_active",
    ).order_by("month")
