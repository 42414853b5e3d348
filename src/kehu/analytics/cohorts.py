"""Cohort retention and repeat-purchase rate (留存与复购).

A customer's cohort is the period (month by default) of their first purchase;
a customer is retained in period ``k`` when they buy (a non-return line) in the
``k``-th period after it.  Anonymous lines do not count.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.rfm import _is_return, _order_key
from kehu.analytics.schema import ORDER_REQUIRED, require_columns, to_table
from kehu.exceptions import ConfigError

PERIODS = ("month", "quarter", "week")


def _purchases(orders: Any) -> ir.Table:
    """Identified customers' non-return lines: ``cid``, ``order_time``, ``okey``."""
    t = to_table(orders, "orders")
    require_columns(t, ORDER_REQUIRED, "orders")
    t = t.filter(t.customer_id.notnull(), ~_is_return(t))
    return t.select(cid=t.customer_id.cast("string"), order_time=t.order_time, okey=_order_key(t))


def _period(ts: ir.TimestampValue, period: str) -> tuple[ir.DateValue, ir.IntegerValue]:
    """Start date of the period holding ``ts`` and a running period number."""
    if period == "month":
        start = ts.truncate("M").date()
        return start, start.year().cast("int64") * 12 + start.month().cast("int64")
    if period == "quarter":
        start = ts.truncate("Q").date()
        return start, start.year().cast("int64") * 4 + start.quarter().cast("int64")
    if period == "week":
        start = ts.truncate("W").date()  # ISO weeks: Monday
        return start, start.epoch_days().cast("int64") // 7
    raise ConfigError(f"period must be one of {', '.join(PERIODS)}, got {period!r}")


def _with_cohort(orders: Any, period: str) -> ir.Table:
    p = _purchases(orders)
    start, num = _period(p.order_time, period)
    p = p.mutate(_start=start, _num=num)
    first = p._num.min().over(group_by=p.cid)
    p = p.mutate(
        cohort=p._start.min().over(group_by=p.cid),
        period_index=(p._num - first).cast("int64"),
    )
    return p


def cohort_retention(orders: Any, *, period: str = "month") -> ir.Table:
    """Share of each first-purchase cohort buying again ``k`` periods later.

    Parameters
    ----------
    orders
        Canonical orders; returns and anonymous lines are ignored.
    period
        "month" (default), "quarter" or "week" (ISO, from Monday).

    Returns
    -------
    Long Ibis table: ``cohort`` (start date of the first-purchase period),
    ``period_index`` (0 = the first period), ``customers`` (buying in that
    period), ``cohort_size`` and ``retention`` = customers / cohort_size; ordered
    by cohort and period.  Period 0 always has retention 1.
    """
    p = _with_cohort(orders, period)
    g = p.group_by(["cohort", "period_index"]).agg(customers=p.cid.nunique().cast("int64"))
    size = g.customers.max(where=g.period_index == 0).over(group_by=g.cohort)
    g = g.mutate(cohort_size=size.cast("int64"))
    g = g.mutate(retention=g.customers / g.cohort_size)
    return g.order_by(["cohort", "period_index"])


def repeat_purchase_rate(
    orders: Any, *, by_cohort: bool = False, period: str = "month"
) -> ir.Table:
    """Share of customers with two or more orders.

    Returns a one-row Ibis table (``customers``, ``repeat_customers``,
    ``repeat_rate``), or with ``by_cohort=True`` one row per first-purchase
    cohort (``cohort`` first), ordered by cohort.
    """
    p = _with_cohort(orders, period) if by_cohort else _purchases(orders)
    keys = ["cid", "cohort"] if by_cohort else ["cid"]
    per = p.group_by(keys).agg(n=p.okey.nunique())
    cols = {
        "customers": per.cid.count().cast("int64"),
        "repeat_customers": (per.n >= 2).sum().cast("int64"),
    }
    g = per.group_by("cohort").agg(**cols).order_by("cohort") if by_cohort else per.agg(**cols)
    return g.mutate(
        repeat_rate=ibis.ifelse(
            g.customers > 0, g.repeat_customers / g.customers, ibis.null("float64")
        )
    )
