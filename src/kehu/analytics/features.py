"""The per-customer feature table that every classifier reads.

:func:`customer_features` extends the RFM contract
(:func:`kehu.analytics.rfm.rfm_summary`) with volume, breadth, premium mix,
purchase rhythm, favourite category and brand, and the customer master's
attributes, all computed in the engine over the same look-back window.

Quantiles are *exact and discrete* everywhere in kehu's classifiers
(:func:`discrete_quantile`): the ``q``-quantile of ``n`` values is the smallest
value ``v`` such that at least ``q * n`` values are ``<= v`` (the inverse of
the empirical distribution, Hyndman & Fan type 1; DuckDB's ``quantile_disc``
and the "lower" median for even ``n``).  It is computed with ``row_number``,
so every engine returns the same value, and it is always one of the data's own
values.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.rfm import (
    DateLike,
    default_as_of,
    purchase_lines,
    rfm_aggregates,
    with_scores,
)
from kehu.analytics.schema import CUSTOMER_COLUMNS, RFM_COLUMNS, require_columns, to_table
from kehu.exceptions import SchemaError

#: Columns added to the RFM contract by :func:`customer_features`, in order.
FEATURE_COLUMNS = (
    "quantity",
    "distinct_products",
    "premium_share",
    "prev_purchase",
    "purchase_days",
    "mean_gap_days",
    "tenure_days",
    "top_category",
    "top_brand",
)

#: Customer-master attributes carried into the features (null when unknown).
ATTRIBUTE_COLUMNS = tuple(
    c for c in CUSTOMER_COLUMNS if c not in ("customer_id", "name", "phone", "signup_date")
)

#: Every column of the feature table, in order.
CUSTOMER_FEATURE_COLUMNS = (*RFM_COLUMNS, *FEATURE_COLUMNS, *ATTRIBUTE_COLUMNS, "region")

_NULL_F64 = ibis.null("float64")
_PRICE_DIGITS = 6
_SHARE_DIGITS = 12

# Relative slack when comparing ``rank`` with ``q * n`` so that, e.g., 0.7 * 10
# (7.000000000000001 in binary floating point) still means 7.
_EPS = 1e-9


def discrete_quantile(column: ir.Column, q: float) -> ir.Scalar:
    """Exact discrete ``q``-quantile of a column (nulls ignored; null when empty).

    The smallest value ``v`` with at least ``q * n`` of the ``n`` non-null
    values ``<= v`` (see the module docstring).  ``q = 0.5`` is the lower median.

    Examples
    --------
    >>> import ibis
    >>> t = ibis.memtable({"x": [4.0, 1.0, 3.0, 2.0]})
    >>> float(discrete_quantile(t.x, 0.5).execute())
    2.0
    """
    if not 0.0 <= q <= 1.0:
        raise SchemaError(f"quantile must be between 0 and 1, got {q}")
    t = column.as_table().select(_x=column)
    t = t.mutate(
        _i=ibis.row_number().over(order_by=[t._x.isnull(), t._x]),
        _n=t._x.count().over(),
    )
    return t._x.min(where=t._x.notnull() & ((t._i + 1) >= q * t._n - _EPS))


def quantile_values(table: ir.Table, spec: Mapping[str, tuple[str, float]]) -> dict[str, Any]:
    """Several exact discrete quantiles of a table's columns in one query.

    ``spec`` maps an output name to ``(column, q)``; returns name -> Python
    value (``None`` for an empty or all-null column).
    """
    if not spec:
        return {}
    t = table
    aggs = {}
    for k, (name, (col, q)) in enumerate(spec.items()):
        if not 0.0 <= q <= 1.0:
            raise SchemaError(f"quantile for {name} must be between 0 and 1, got {q}")
        x = t[col]
        t = t.mutate(
            **{
                f"_i{k}": ibis.row_number().over(order_by=[x.isnull(), x]),
                f"_n{k}": x.count().over(),
            }
        )
    for k, (name, (col, q)) in enumerate(spec.items()):
        x = t[col]
        aggs[name] = x.min(where=x.notnull() & ((t[f"_i{k}"] + 1) >= q * t[f"_n{k}"] - _EPS))
    return scalars(t.aggregate(**aggs))


def scalars(one_row: ir.Table) -> dict[str, Any]:
    """Execute a one-row aggregate and return plain Python values (NaN -> None)."""
    row = one_row.to_pyarrow().to_pylist()
    values = row[0] if row else dict.fromkeys(one_row.columns)
    return {k: plain(v) for k, v in values.items()}


def plain(value: Any) -> Any:
    """A JSON-friendly Python scalar: numpy/pandas scalars unwrapped, NaN -> None."""
    if value is None:
        return None
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def customer_features(
    orders: Any,
    *,
    products: Any = None,
    customers: Any = None,
    as_of: DateLike | None = None,
    window_days: int | None = None,
    premium_quantile: float = 0.8,
) -> ir.Table:
    """One row per purchasing customer: the RFM contract plus behaviour and attributes.

    Parameters
    ----------
    orders
        Order lines in the canonical schema; ``quantity``, ``product_id`` and
        ``price`` are used when present.
    products
        Optional product master (``product_id`` plus any of ``category``,
        ``brand``, ``price``).
    customers
        Optional customer master; its attribute columns are left-joined.
    as_of, window_days
        As in :func:`kehu.analytics.rfm.rfm_summary`.
    premium_quantile
        A product is premium when its unit price is at or above this discrete
        quantile of product prices (see :func:`discrete_quantile`).

    Returns
    -------
    An Ibis table with :data:`CUSTOMER_FEATURE_COLUMNS`:

    - ``quantity``: net units (return lines count negative); null without a
      ``quantity`` column.
    - ``distinct_products``: products with at least one purchase (non-return)
      line; null without ``product_id``.
    - ``premium_share``: share of the customer's purchase amount (non-return
      lines with a product id) spent on premium products.  A product's unit
      price is the product master's ``price``, else its average line price
      (purchase amount / purchase units, or the mean ``price`` column) rounded
      to 6 decimals; the quantile is taken over the products sold in the
      window.  Null without product ids, without any way to price products,
      or when that amount is not positive; rounded to 12 decimals.  (Both
      roundings make equal values tie whatever order the engine summed in.)
    - ``prev_purchase``: the last purchase day before ``last_purchase``.
    - ``purchase_days``: distinct purchase dates.
    - ``mean_gap_days``: ``(last - first) / (purchase_days - 1)``; null for one day.
    - ``tenure_days``: ``as_of - first_purchase`` in days.
    - ``top_category``, ``top_brand``: the largest positive net spend, ties
      broken by the smaller name; null without a product master.
    - the attributes of :data:`ATTRIBUTE_COLUMNS` (null without a master row)
      and ``region`` = ``province`` when present, else ``country``.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-01-05", "2024-01-03"]),
    ...     "amount": [10.0, 20.0, 5.0], "quantity": [1, 2, 1]})
    >>> f = customer_features(orders, as_of="2024-01-10").order_by("customer_id").to_pandas()
    >>> f[["customer_id", "quantity", "purchase_days", "mean_gap_days"]]
      customer_id  quantity  purchase_days  mean_gap_days
    0           a       3.0              2            4.0
    1           b       1.0              1            NaN
    """
    if not 0.0 <= premium_quantile <= 1.0:
        raise SchemaError(f"premium_quantile must be between 0 and 1, got {premium_quantile}")
    lines, day = _window_lines(orders, as_of, window_days)
    prod = _product_table(products)
    premium = _premium_products(lines, prod, premium_quantile)
    f = _customer_rows(lines, premium, day)
    f = _with_breadth(f, lines)
    f = _with_favourites(f, lines, prod)
    f = _with_gaps(f, day)
    f = _with_attributes(f, customers)
    return f.select(*CUSTOMER_FEATURE_COLUMNS)


def _window_lines(
    orders: Any, as_of: DateLike | None, window_days: int | None
) -> tuple[ir.Table, dt.date]:
    """The purchase lines of the window and its end, fixed once so every pass agrees."""
    t = to_table(orders, "orders")
    if as_of is None:
        require_columns(t, ("order_time",), "orders")
        as_of = default_as_of(t)  # once, so that every pass uses the same window
    lines, day = purchase_lines(t, as_of, window_days)
    if "product_id" in lines.columns:
        lines = lines.mutate(product_id=lines.product_id.cast("string"))
    return lines, day


def _customer_rows(lines: ir.Table, premium: ir.Table | None, day: dt.date) -> ir.Table:
    """The RFM contract, units, premium share and purchase rhythm: one row per customer."""
    main = lines
    if premium is not None:
        main = lines.left_join(premium, "product_id").drop("product_id_right")
    # One pass over the lines for the sums and the orders, then one for each of
    # the other distinct counts (days, products): a grouped DISTINCT costs as
    # much in the main pass as on its own, and its own pass needs less memory.
    g = main.group_by("customer_id").agg(**rfm_aggregates(main), **_measures(main, premium))
    f = with_scores(g, day)
    return f.left_join(_rhythm(lines, f), "customer_id").drop("customer_id_right")


def _with_breadth(f: ir.Table, lines: ir.Table) -> ir.Table:
    """Add ``distinct_products``: null when no line has a product id (unknown, not zero)."""
    if "product_id" not in lines.columns:
        return f.mutate(distinct_products=ibis.null("int64"))
    f = f.left_join(_breadth(lines), "customer_id").drop("customer_id_right")
    # without any product id the breadth is unknown, not zero
    known = ibis.ifelse(f._with_id > 0, f.distinct_products.fill_null(0), None)
    return f.mutate(distinct_products=known.cast("int64"))


def _with_favourites(f: ir.Table, lines: ir.Table, prod: ir.Table | None) -> ir.Table:
    """Add ``top_category`` and ``top_brand``; without a product master, null and no pass."""
    for col in ("category", "brand"):
        if prod is None:  # unknown without a product master: no pass over the lines
            f = f.mutate(**{f"top_{col}": ibis.null("string")})
        else:
            f = f.left_join(_top_by(lines, prod, col), "customer_id").drop("customer_id_right")
    return f


def _with_gaps(f: ir.Table, day: dt.date) -> ir.Table:
    """Add ``tenure_days`` and ``mean_gap_days`` from the first and last purchase days."""
    return f.mutate(
        tenure_days=ibis.date(day).delta(f.first_purchase, unit="day").cast("int64"),
        mean_gap_days=(
            f.last_purchase.delta(f.first_purchase, unit="day").cast("float64")
            / (f.purchase_days - 1).nullif(0)
        ),
    )


def _product_table(products: Any) -> ir.Table | None:
    if products is None:
        return None
    p = to_table(products, "products")
    require_columns(p, ("product_id",), "products")
    cols = {"product_id": p.product_id.cast("string")}
    for col in ("category", "brand"):
        cols[col] = p[col].cast("string") if col in p.columns else ibis.null("string")
    aggs = {}
    if "price" in p.columns:
        cols["master_price"] = p.price.cast("float64")
    # one row per product id, so joins never multiply order lines
    p = p.select(**cols)
    if "master_price" in p.columns:
        aggs["master_price"] = p.master_price.max()
    return p.group_by("product_id").agg(category=p.category.min(), brand=p.brand.min(), **aggs)


def _premium_products(lines: ir.Table, prod: ir.Table | None, q: float) -> ir.Table | None:
    """``product_id, _premium`` for every product sold, or ``None`` without prices.

    A product's unit price is the master price, else its purchase amount over
    purchase units, else its mean line ``price``; it is premium at or above the
    discrete ``q``-quantile of the unit prices of the products sold.
    """
    if "product_id" not in lines.columns:
        return None
    sold = lines.filter(lines.product_id.notnull())
    has_master = prod is not None and "master_price" in prod.columns
    if "quantity" in sold.columns:
        buy_qty = sold.quantity.cast("float64").sum(where=sold._buy)
        avg = sold.amount.sum(where=sold._buy) / buy_qty.nullif(0)
    elif "price" in sold.columns:
        avg = sold.price.cast("float64").mean(where=sold._buy)
    elif has_master:
        avg = ibis.null("float64")
    else:
        return None
    # rounded so that products of the same price tie whatever order the engine
    # summed their lines in (a sum of floats depends on it)
    pp = sold.group_by("product_id").agg(avg_price=avg.round(_PRICE_DIGITS))
    if has_master:
        pp = pp.left_join(prod, "product_id").drop("product_id_right")
        pp = pp.select("product_id", unit_price=pp.master_price.fill_null(pp.avg_price))
    else:
        pp = pp.select("product_id", unit_price=pp.avg_price)
    cut = discrete_quantile(pp.unit_price, q)
    return pp.select("product_id", _premium=(pp.unit_price >= cut).fill_null(False))


def _measures(lines: ir.Table, premium: ir.Table | None) -> dict[str, ir.Value]:
    """Units and premium spend per customer (aggregates over the lines)."""
    aggs: dict[str, ir.Value] = {
        "quantity": (
            lines.quantity.cast("float64").sum()
            if "quantity" in lines.columns
            else ibis.null("float64")
        ),
        "_with_id": (
            lines.product_id.count() if "product_id" in lines.columns else ibis.literal(0, "int64")
        ),
        "premium_share": _NULL_F64,
    }
    if premium is not None:
        with_id = lines._buy & lines.product_id.notnull()
        spent = lines.amount.sum(where=with_id)
        # SUM over no premium line is NULL: no premium purchase means a share of 0
        on_premium = lines.amount.sum(where=with_id & lines._premium.fill_null(False))
        share = on_premium.fill_null(0.0) / ibis.ifelse(spent > 0, spent, _NULL_F64)
        # rounded so that equal shares tie whatever order the engine summed in
        aggs["premium_share"] = share.round(_SHARE_DIGITS)
    return aggs


def _rhythm(lines: ir.Table, f: ir.Table) -> ir.Table:
    """Distinct purchase days, and the last one before ``last_purchase``."""
    days = lines.filter(lines._buy).select("customer_id", day=lines._day).distinct()
    days = days.join(f.select("customer_id", _last=f.last_purchase), "customer_id")
    return days.group_by("customer_id").agg(
        purchase_days=days.day.count().cast("int64"),
        prev_purchase=days.day.max(where=days.day < days._last),
    )


def _breadth(lines: ir.Table) -> ir.Table:
    """``distinct_products``: the products a customer has a purchase line of."""
    cp = lines.filter(lines._buy, lines.product_id.notnull())
    cp = cp.select("customer_id", "product_id").distinct()
    return cp.group_by("customer_id").agg(distinct_products=cp.count().cast("int64"))


def _top_by(lines: ir.Table, prod: ir.Table, col: str) -> ir.Table:
    """The category (or brand) of the customer's largest positive net spend."""
    out = f"top_{col}"
    if "product_id" not in lines.columns:
        return lines.select("customer_id").distinct().mutate(**{out: ibis.null("string")})
    x = lines.join(prod.select("product_id", key=prod[col]), "product_id")
    x = x.filter(x.key.notnull())
    spend = x.group_by("customer_id", "key").agg(spend=x.amount.sum())
    spend = spend.filter(spend.spend > 0)
    spend = spend.mutate(
        _rn=ibis.row_number().over(
            group_by=spend.customer_id, order_by=[ibis.desc(spend.spend), spend.key]
        )
    )
    best = spend.filter(spend._rn == 0)
    return best.select("customer_id", **{out: best.key})


def _with_attributes(f: ir.Table, customers: Any) -> ir.Table:
    attrs: dict[str, ir.Value] = {}
    if customers is not None:
        c = to_table(customers, "customers")
        require_columns(c, ("customer_id",), "customers")
        present = [a for a in ATTRIBUTE_COLUMNS if a in c.columns]
        c = c.select(customer_id=c.customer_id.cast("string"), **{a: c[a] for a in present})
        # first master row per customer, so duplicates never multiply customers
        c = c.group_by("customer_id").agg(**{a: c[a].cast("string").min() for a in present})
        f = f.drop(*[a for a in present if a in f.columns])
        f = f.left_join(c, "customer_id").drop("customer_id_right")
    for a in ATTRIBUTE_COLUMNS:
        if a not in f.columns:
            attrs[a] = ibis.null("string")
    if attrs:
        f = f.mutate(**attrs)
    return f.mutate(region=f.province.fill_null(f.country))
