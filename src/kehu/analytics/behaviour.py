"""Purchase behaviour (购买行为): timing, category preference, hot and slow products,
basket size and the time between purchases.

Conventions shared by every function here:

* revenue is net: return lines (``is_return``, else a negative amount) are
  summed with their negative amounts;
* an order is an ``order_id`` (or, without one, a distinct order timestamp) with
  at least one non-return line;
* anonymous lines (no ``customer_id``) count for product and timing figures, not
  for per-customer ones (gaps, class preferences).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.profile import NONE_CLASS, class_key
from kehu.analytics.rfm import DateLike, _is_return, _order_key, as_date
from kehu.analytics.schema import ORDER_REQUIRED, require_columns, to_table
from kehu.exceptions import SchemaError

#: upper bounds (inclusive, days) of the inter-purchase gap buckets; the last is open
GAP_EDGES = (7, 14, 30, 60, 90, 180, 365)


def _lines(orders: Any) -> ir.Table:
    """Canonical lines with ``_ret`` (return flag) and ``_okey`` (order key of kept lines)."""
    t = to_table(orders, "orders")
    require_columns(t, ORDER_REQUIRED, "orders")
    ret = _is_return(t)
    # without order ids a customer's timestamp is the order; keep anonymous orders apart
    key = _order_key(t)
    if "order_id" not in t.columns:
        key = t.customer_id.cast("string").fill_null("") + "|" + key
    return t.mutate(
        _ret=ret,
        _okey=ibis.ifelse(ret, ibis.null("string"), key),
        amount=t.amount.cast("float64"),
    )


def purchase_timing(orders: Any) -> dict[str, ir.Table]:
    """Orders and net revenue by weekday, hour of day and month of year.

    Returns
    -------
    ``{"weekday": ..., "hour": ..., "month": ...}``; each an Ibis table with the
    unit column (``weekday`` 0 = Monday .. 6, ``hour`` 0..23, ``month`` 1..12),
    ``orders`` and ``revenue``, ordered by the unit.  Only units with sales appear.
    """
    t = _lines(orders)
    parts = {
        "weekday": t.order_time.day_of_week.index(),
        "hour": t.order_time.hour(),
        "month": t.order_time.month(),
    }
    out = {}
    for unit, expr in parts.items():
        u = t.mutate(**{unit: expr.cast("int64")})
        g = u.group_by(unit).agg(orders=u._okey.nunique().cast("int64"), revenue=u.amount.sum())
        out[unit] = g.order_by(unit)
    return out


def category_preference(
    orders: Any, products: Any, by: str | None = None, *, customers: Any = None
) -> ir.Table:
    """Net revenue and its share per product category, optionally per class.

    Parameters
    ----------
    orders, products
        Canonical orders and products (``product_id``, ``category``).  Lines whose
        product is unknown or has no category fall in "(none)".
    by
        A class column of ``customers``; then shares are within each class and
        only identified customers' lines count.
    customers
        Per-customer table holding ``by`` (required with ``by``).

    Returns
    -------
    Ibis table: [``class``,] ``category``, ``revenue``, ``share``; ordered by
    class, then revenue descending.
    """
    t = _lines(orders)
    p = to_table(products, "products")
    require_columns(p, ["product_id", "category"], "products")
    require_columns(t, ["product_id"], "orders")
    p = p.select(_pid=p.product_id.cast("string"), _cat=p.category.cast("string"))
    t = t.mutate(_pid=t.product_id.cast("string"))
    lp = t.left_join(p, t._pid == p._pid)
    lp = lp.mutate(category=lp._cat.fill_null(NONE_CLASS))
    keys = ["category"]
    if by is not None:
        if customers is None:
            raise SchemaError(f"category_preference: by={by!r} needs the customers table")
        c = to_table(customers, "customers")
        require_columns(c, ["customer_id", by], "customers")
        c = c.select(_cid=c.customer_id.cast("string"), **{"class": class_key(c[by])})
        lp = lp.mutate(_cid=lp.customer_id.cast("string"))
        lp = lp.join(c, lp._cid == c._cid)
        keys = ["class", "category"]
    g = lp.group_by(keys).agg(revenue=lp.amount.sum())
    total = (
        g.revenue.sum().over(group_by=[g[k] for k in keys[:-1]]) if by else g.revenue.sum().over()
    )
    g = g.mutate(share=ibis.ifelse(total > 0, g.revenue / total, ibis.null("float64")))
    order = [*(["class"] if by else []), ibis.desc("revenue"), "category"]
    return g.order_by(order)


def product_movement(
    orders: Any,
    products: Any = None,
    *,
    as_of: DateLike,
    window_days: int = 90,
    top_n: int = 20,
    rank_by: str = "revenue",
) -> dict[str, ir.Table]:
    """Hot (畅销) and slow-moving (滞销) products in the window before ``as_of``.

    Parameters
    ----------
    orders
        Canonical orders with ``product_id`` (anonymous lines count).
    products
        Optional products table: adds ``name``/``category``/``brand``, and its
        products with no sales at all count as slow movers (last sale unknown).
    as_of
        End of the window (exclusive); the window is ``[as_of - window_days, as_of)``
        and the previous window the ``window_days`` before it.
    rank_by
        "revenue" or "units": what ranks the hot list.

    Returns
    -------
    ``{"hot": ..., "slow": ...}``, Ibis tables with ``product_id``, ``units``,
    ``revenue``, ``prev_units``, ``prev_revenue``, ``growth`` (revenue growth vs
    the previous window; null when that was not positive), ``last_sale`` and
    ``days_since_last_sale`` (before ``as_of``), plus the product attributes.
    Hot: top ``top_n`` by ``rank_by`` among products that sold in the window.
    Slow: products with a sales history before the window (or listed in
    ``products``), lowest units in the window first (zero included), longest
    since last sale breaking ties.
    """
    _check_movement_args(window_days, top_n, rank_by)
    t = _lines(orders)
    require_columns(t, ["product_id"], "orders")
    if "quantity" not in t.columns:
        t = t.mutate(quantity=ibis.literal(1.0))
    day = as_date(as_of, "as_of")
    end = dt.datetime.combine(day, dt.time())
    start = end - dt.timedelta(days=window_days)
    prev = start - dt.timedelta(days=window_days)
    g = _window_sales(t, end=end, start=start, prev=prev)
    if products is not None:
        g = _with_catalogue(g, products)
    g = g.mutate(
        growth=ibis.ifelse(
            g.prev_revenue > 0, (g.revenue - g.prev_revenue) / g.prev_revenue, ibis.null("float64")
        ),
        days_since_last_sale=ibis.date(day).delta(g.last_sale, unit="day").cast("int64"),
    )
    other = "units" if rank_by == "revenue" else "revenue"
    hot = g.filter(g.units > 0)
    hot = hot.order_by([ibis.desc(rank_by), ibis.desc(other), "product_id"]).limit(top_n)
    # a product first sold inside the window is new, not slow
    slow = g.filter(g._first.isnull() | (g._first < ibis.timestamp(start)))
    slow = slow.order_by(
        [
            slow.units.asc(),
            slow.days_since_last_sale.desc(nulls_first=True),
            slow.product_id,
        ]
    ).limit(top_n)
    return {"hot": hot.drop("_first"), "slow": slow.drop("_first")}


def _check_movement_args(window_days: int, top_n: int, rank_by: str) -> None:
    """Refuse a window, list length or ranking that :func:`product_movement` cannot use."""
    if window_days <= 0:
        raise SchemaError(f"window_days must be a positive number of days, got {window_days}")
    if top_n < 1:
        raise SchemaError(f"top_n must be at least 1, got {top_n}")
    if rank_by not in ("revenue", "units"):
        raise SchemaError(f"rank_by must be 'revenue' or 'units', got {rank_by!r}")


def _window_sales(
    t: ir.Table, *, end: dt.datetime, start: dt.datetime, prev: dt.datetime
) -> ir.Table:
    """Per product: units and revenue in the window and the one before, last and first sale."""
    t = t.filter(t.product_id.notnull(), t.order_time < ibis.timestamp(end))
    t = t.mutate(
        product_id=t.product_id.cast("string"),
        _qty=t.quantity.cast("float64").fill_null(0),
        _cur=t.order_time >= ibis.timestamp(start),
        _prev=(t.order_time >= ibis.timestamp(prev)) & (t.order_time < ibis.timestamp(start)),
    )
    zero = ibis.literal(0.0)
    return t.group_by("product_id").agg(
        units=t._qty.sum(where=t._cur).fill_null(zero),
        revenue=t.amount.sum(where=t._cur).fill_null(zero),
        prev_units=t._qty.sum(where=t._prev).fill_null(zero),
        prev_revenue=t.amount.sum(where=t._prev).fill_null(zero),
        last_sale=t.order_time.max(where=~t._ret).date(),
        _first=t.order_time.min(),
    )


def _with_catalogue(g: ir.Table, products: Any) -> ir.Table:
    """Add the product attributes, and the unsold products of the master (so they count as slow)."""
    zero = ibis.literal(0.0)
    p = to_table(products, "products")
    require_columns(p, ["product_id"], "products")
    attrs = [col for col in ("name", "category", "brand") if col in p.columns]
    p = p.select(product_id=p.product_id.cast("string"), **{a: p[a] for a in attrs})
    g = g.outer_join(p, "product_id").mutate(
        product_id=ibis.coalesce(ibis._.product_id, ibis._.product_id_right)
    )
    return g.drop("product_id_right").mutate(
        units=ibis._.units.fill_null(zero),
        revenue=ibis._.revenue.fill_null(zero),
        prev_units=ibis._.prev_units.fill_null(zero),
        prev_revenue=ibis._.prev_revenue.fill_null(zero),
    )


def basket_size(orders: Any) -> ir.Table:
    """Items (units), lines and net amount per order, summarised.

    Returns a one-row Ibis table: ``orders``, ``mean_items``, ``median_items``,
    ``mean_lines``, ``mean_amount``, ``median_amount``.  Only non-return lines
    count (a basket is what was bought).
    """
    t = _lines(orders)
    t = t.filter(~t._ret)
    qty = t.quantity.cast("float64") if "quantity" in t.columns else ibis.literal(1.0)
    t = t.mutate(_qty=qty)
    per = t.group_by("_okey").agg(items=t._qty.sum(), lines=t._okey.count(), amount=t.amount.sum())
    return per.agg(
        orders=per._okey.count(),
        mean_items=per.items.mean(),
        median_items=per.items.median(),
        mean_lines=per.lines.mean(),
        mean_amount=per.amount.mean(),
        median_amount=per.amount.median(),
    )


def interpurchase_gaps(orders: Any, edges: tuple[int, ...] = GAP_EDGES) -> ir.Table:
    """Distribution of days between a customer's consecutive purchase days.

    Purchases on the same day count once; return lines do not count.

    Returns
    -------
    Ibis table: ``bucket`` ("1-7", "8-14", ..., ">365"), ``lower``, ``upper``
    (null for the open last bucket), ``gaps`` and ``share``, in bucket order.
    Empty buckets are listed with zero gaps.
    """
    if not edges or list(edges) != sorted(set(edges)) or edges[0] < 1:
        raise SchemaError(f"gap bucket edges must be increasing positive days, got {edges}")
    t = _lines(orders)
    t = t.filter(t.customer_id.notnull(), ~t._ret)
    days = t.select(cid=t.customer_id.cast("string"), day=t.order_time.date()).distinct()
    w = ibis.window(group_by=days.cid, order_by=days.day)
    gaps = days.mutate(gap=days.day.delta(days.day.lag().over(w), unit="day"))
    gaps = gaps.filter(gaps.gap.notnull())
    lowers = [1, *(e + 1 for e in edges)]
    uppers = [*edges, None]
    case = ibis.cases(*((gaps.gap <= e, i) for i, e in enumerate(edges)), else_=len(edges))
    counts = gaps.group_by(idx=case).agg(gaps=gaps.gap.count())
    buckets = ibis.memtable(
        {
            "idx": list(range(len(lowers))),
            "bucket": [
                f"{lo}-{up}" if up else f">{lowers[-1] - 1}"
                for lo, up in zip(lowers, uppers, strict=True)
            ],
            "lower": lowers,
            "upper": uppers,
        },
        schema={"idx": "int64", "bucket": "string", "lower": "int64", "upper": "int64"},
    )
    j = buckets.left_join(counts, buckets.idx == counts.idx)
    j = j.select("idx", "bucket", "lower", "upper", gaps=j.gaps.fill_null(0).cast("int64"))
    total = j.gaps.sum().over()
    j = j.mutate(share=ibis.ifelse(total > 0, j.gaps / total, ibis.null("float64")))
    return j.order_by("idx").drop("idx")
