"""Per-customer RFM summary and 1-5 scores, computed in the engine.

The scores are rank-based quintiles that never split ties::

    score = 1 + floor(5 * rank / (n - 1)), capped at 5

where ``rank`` is the 0-based *minimum* rank of the customer's value (so equal
values share a rank and therefore a score) and ``n`` the number of customers.
This is ``1 + floor(5 * percent_rank)`` done in integer arithmetic, so every
engine gets exactly the same scores.  For recency the ranking is by
``recency_days`` descending (the most recent customers score 5).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.schema import ORDER_REQUIRED, RFM_COLUMNS, require_columns, to_table
from kehu.exceptions import SchemaError

DateLike = dt.date | dt.datetime | str


def as_date(value: DateLike, what: str = "date") -> dt.date:
    """Parse ``value`` (a date, datetime or ISO string) into a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip()[:10])
    except ValueError:
        raise SchemaError(f"{what}: {value!r} is not a date (expected YYYY-MM-DD)") from None


def default_as_of(orders: ir.Table) -> dt.date:
    """The day after the last order: the natural 'today' of a historical export."""
    # through Arrow, not pandas: the import of pandas alone costs a third of a second
    last = orders.order_time.max().to_pyarrow().as_py()
    if last is None or last != last:  # None or NaT: no orders at all
        raise SchemaError("orders: there are no orders, so there is no default as-of date")
    return as_date(last) + dt.timedelta(days=1)


def purchase_window(
    orders: Any, as_of: DateLike | None = None, window_days: int | None = None
) -> tuple[ir.Table, dt.date]:
    """Kept order lines of identified customers in ``[as_of - window_days, as_of)``.

    Returns the filtered table and the as-of date used.
    """
    t = to_table(orders, "orders")
    require_columns(t, ORDER_REQUIRED, "orders")
    day = as_date(as_of, "as_of") if as_of is not None else default_as_of(t)
    if window_days is not None and window_days <= 0:
        raise SchemaError(f"window_days must be a positive number of days, got {window_days}")
    end = ibis.timestamp(dt.datetime.combine(day, dt.time()))
    cond = [t.customer_id.notnull(), t.order_time < end]
    if window_days is not None:
        start = dt.datetime.combine(day - dt.timedelta(days=window_days), dt.time())
        cond.append(t.order_time >= ibis.timestamp(start))
    return t.filter(*cond), day


def _is_return(t: ir.Table) -> ir.BooleanValue:
    if "is_return" in t.columns:
        return t.is_return.fill_null(False)
    return t.amount < 0


def _order_key(t: ir.Table) -> ir.StringValue:
    """Order identity: the order id, or the timestamp where the data has none."""
    stamp = t.order_time.cast("string")
    if "order_id" in t.columns:
        return t.order_id.cast("string").fill_null(stamp)
    return stamp


def quintile_score(value: ir.Column, *, descending: bool = False, bins: int = 5) -> ir.IntegerValue:
    """Rank-based 1..``bins`` score of a column (see the module docstring)."""
    order = ibis.desc(value) if descending else ibis.asc(value)
    rank = ibis.rank().over(order_by=order)
    n = value.count().over()  # number of (non-null) values: the customers
    raw = 1 + (rank * bins) // (n - 1).nullif(0)
    return ibis.least(raw.fill_null(1), bins).cast("int64")


def purchase_lines(
    orders: Any, as_of: DateLike | None = None, window_days: int | None = None
) -> tuple[ir.Table, dt.date]:
    """The lines of :func:`purchase_window` with what every per-customer measure reads.

    Adds ``_ret`` (a return line), ``_buy`` (not a return), ``_day`` (the
    purchase date), ``_key`` (the order identity, :func:`_order_key`), and
    makes ``customer_id`` text and ``amount`` float64.
    """
    t, day = purchase_window(orders, as_of, window_days)
    ret = _is_return(t)
    lines = t.mutate(
        customer_id=t.customer_id.cast("string"),
        _ret=ret,
        _buy=~ret,
        _day=t.order_time.date(),
        _key=_order_key(t),
        amount=t.amount.cast("float64"),
    )
    return lines, day


def rfm_aggregates(lines: ir.Table) -> dict[str, ir.Value]:
    """The per-customer aggregates of the RFM contract, over :func:`purchase_lines`."""
    return {
        "first_purchase": lines._day.min(where=lines._buy),
        "last_purchase": lines._day.max(where=lines._buy),
        "orders": lines._key.nunique(where=lines._buy),
        "monetary": lines.amount.sum(),
    }


def with_scores(g: ir.Table, as_of: dt.date) -> ir.Table:
    """Customers with a purchase, with recency, average order value and the 1-5 scores.

    ``g`` has one row per customer with the columns of :func:`rfm_aggregates`
    (and any others, which are kept).
    """
    g = g.filter(g.orders > 0)
    g = g.mutate(
        recency_days=ibis.date(as_of).delta(g.last_purchase, unit="day").cast("int64"),
        orders=g.orders.cast("int64"),
        monetary=g.monetary.round(6),
    )
    g = g.mutate(avg_order_value=(g.monetary / g.orders).round(6))
    return g.mutate(
        r_score=quintile_score(g.recency_days, descending=True),
        f_score=quintile_score(g.orders),
        m_score=quintile_score(g.monetary),
    )


def rfm_summary(
    orders: Any, as_of: DateLike | None = None, window_days: int | None = None
) -> ir.Table:
    """Per-customer recency, frequency, monetary value and their 1-5 scores.

    Parameters
    ----------
    orders
        Order lines in the canonical schema (:mod:`kehu.analytics.schema`); an
        Ibis table or a pandas/polars/Arrow frame.  Needs ``customer_id``,
        ``order_time`` and ``amount``; ``order_id`` and ``is_return`` are used
        when present.
    as_of
        The date the analysis is "as of" (exclusive); default the day after the
        last order.
    window_days
        Look back only this many days before ``as_of``; default all history.

    Returns
    -------
    An Ibis table with the columns of :data:`kehu.analytics.schema.RFM_COLUMNS`,
    one row per customer with at least one kept purchase in the window.

    Examples
    --------
    >>> import pandas as pd, kehu
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-03"]),
    ...     "amount": [10.0, 20.0, 5.0]})
    >>> rfm = kehu.rfm_summary(orders, as_of="2024-01-10").order_by("customer_id")
    >>> rfm.to_pandas()[["customer_id", "orders", "recency_days"]]
      customer_id  orders  recency_days
    0           a       2             5
    1           b       1             7
    """
    lines, day = purchase_lines(orders, as_of, window_days)
    g = lines.group_by("customer_id").agg(**rfm_aggregates(lines))
    return with_scores(g, day).select(*RFM_COLUMNS)
