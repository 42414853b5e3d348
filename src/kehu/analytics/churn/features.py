"""Churn features at a cut-off date, and the labelled data set of a time split.

Everything about the order lines is computed in the engine (Ibis): the
customer feature table of :func:`kehu.analytics.features.customer_features`
at the cut-off, plus the trend and rhythm features below.  Only the BG/NBD
outputs are computed in Python, on the per-customer summary
(:func:`kehu.analytics.clv.clv_summary`), as the CLV models are.

A customer is in the data set at cut-off ``c`` when they bought anything
before ``c``.  Their label ``churned`` is 1 when they bought nothing (no
purchase line; returns do not count) in ``[c, c + horizon_days)``.
"""

from __future__ import annotations

import datetime as dt
import warnings
from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from kehu.analytics.clv import BetaGeoModel, clv_summary
from kehu.analytics.features import customer_features
from kehu.analytics.rfm import DateLike, _is_return, _order_key, as_date, default_as_of
from kehu.analytics.schema import ORDER_REQUIRED, require_columns, to_table
from kehu.exceptions import KehuError, SchemaError

#: The model's inputs, in order.  ``*_recent`` is the last ``trend_days``
#: before the cut-off, ``*_prior`` the ``trend_days`` before those.
CHURN_FEATURES = (
    "recency_days",
    "recency_ratio",  # recency / the customer's own mean gap between purchase days
    "recency_max_ratio",  # recency / the customer's longest gap between purchase days
    "last_gap_days",  # the gap between the last two purchase days
    "last_gap_ratio",  # that gap / the mean gap
    "orders",
    "purchase_days",
    "mean_gap_days",
    "max_gap_days",  # the longest gap between two consecutive purchase days
    "purchase_rate",  # purchase days per 30 days of tenure
    "orders_recent",
    "orders_prior",
    "spend_recent",
    "spend_prior",
    "orders_change",  # orders_recent - orders_prior
    "spend_change",  # (spend_recent - spend_prior) / spend_prior
    "last_spend_ratio",  # spend of the last purchase day / mean spend per purchase day
    "last3_spend_ratio",  # mean spend of the last 3 purchase days / mean per purchase day
    "last_products_ratio",  # products of the last purchase day / mean per purchase day
    "monetary",
    "avg_order_value",
    "quantity",
    "premium_share",
    "distinct_products",
    "distinct_categories",
    "tenure_days",
    "return_share",  # returned amount / purchased amount
    "p_alive",  # BG/NBD probability of being active at the cut-off
    "expected_purchases",  # BG/NBD expected purchase days in the horizon
)

#: Columns of :func:`churn_features` besides the model inputs.
ID_COLUMNS = ("customer_id", "last_purchase")


def _day_start(day: dt.date) -> ir.TimestampScalar:
    return ibis.timestamp(dt.datetime.combine(day, dt.time()))


def _check_days(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value <= 0:
        raise SchemaError(f"{what} must be a positive whole number of days, got {value!r}")
    return int(value)


def _orders(orders: Any) -> ir.Table:
    t = to_table(orders, "orders")
    require_columns(t, ORDER_REQUIRED, "orders")
    return t


def engine_features(
    orders: Any,
    *,
    as_of: DateLike,
    products: Any = None,
    trend_days: int = 90,
) -> ir.Table:
    """The order-line features of every customer who bought before ``as_of`` (Ibis).

    All of :data:`CHURN_FEATURES` except the BG/NBD outputs, plus
    :data:`ID_COLUMNS`.  Ratios are null where their denominator is 0 or
    unknown (e.g. the mean gap of a customer with one purchase day).
    """
    trend_days = _check_days(trend_days, "trend_days")
    t = _orders(orders)
    day = as_date(as_of, "as_of")
    base = customer_features(t, products=products, as_of=day)

    lines = t.filter(t.customer_id.notnull(), t.order_time < _day_start(day))
    ret = _is_return(lines)
    lines = lines.mutate(
        customer_id=lines.customer_id.cast("string"),
        _ret=ret,
        _key=_order_key(lines),
        amount=lines.amount.cast("float64"),
    )
    recent = lines.order_time >= _day_start(day - dt.timedelta(days=trend_days))
    prior = ~recent & (lines.order_time >= _day_start(day - dt.timedelta(days=2 * trend_days)))
    buy = ~lines._ret
    trend = lines.group_by("customer_id").agg(
        orders_recent=lines._key.nunique(where=buy & recent),
        orders_prior=lines._key.nunique(where=buy & prior),
        spend_recent=lines.amount.sum(where=recent),
        spend_prior=lines.amount.sum(where=prior),
        bought=lines.amount.sum(where=buy),
        returned=-lines.amount.sum(where=lines._ret),
    )
    f = base.inner_join(trend, "customer_id")
    f = f.left_join(_categories(lines, products), "customer_id").drop("customer_id_right")
    f = f.left_join(_baskets(lines), "customer_id").drop("customer_id_right")

    mean_gap = f.mean_gap_days.nullif(0.0)
    last_gap = f.last_purchase.delta(f.prev_purchase, unit="day").cast("float64")
    nothing = ibis.null("float64")
    spend_recent = f.spend_recent.fill_null(0.0)
    spend_prior = f.spend_prior.fill_null(0.0)
    f = f.mutate(
        recency_ratio=f.recency_days.cast("float64") / mean_gap,
        recency_max_ratio=f.recency_days.cast("float64") / f.max_gap_days.nullif(0.0),
        last_gap_days=last_gap,
        last_gap_ratio=last_gap / mean_gap,
        purchase_rate=30.0 * f.purchase_days / ibis.greatest(f.tenure_days, 1),
        orders_change=(f.orders_recent - f.orders_prior).cast("float64"),
        spend_recent=spend_recent,
        spend_prior=spend_prior,
        spend_change=(spend_recent - spend_prior)
        / ibis.ifelse(spend_prior > 0, spend_prior, nothing),
        return_share=f.returned.fill_null(0.0) / ibis.ifelse(f.bought > 0, f.bought, nothing),
    )
    engine_cols = [c for c in CHURN_FEATURES if c not in ("p_alive", "expected_purchases")]
    return f.select(*ID_COLUMNS, **{c: f[c].cast("float64") for c in engine_cols}).order_by(
        "customer_id"
    )


def _baskets(lines: ir.Table) -> ir.Table:
    """The longest gap, and the last purchase days' baskets against the customer's usual.

    Per customer and purchase day (purchase lines only): the spend and the
    distinct products.  ``last_spend_ratio`` is the last day's spend over the
    mean spend per purchase day, ``last3_spend_ratio`` the mean over the last
    three days over the same, ``last_products_ratio`` the last day's products
    over the mean per day.  All are null for a customer with one purchase day
    (there is no "usual" to compare with), and the spend ratios also when the
    mean spend is not positive.
    """
    buy = lines.filter(~lines._ret)
    products = (
        buy.product_id.cast("string").nunique()
        if "product_id" in buy.columns
        else ibis.null("int64")
    )
    days = buy.group_by(["customer_id", buy.order_time.date().name("day")]).agg(
        spend=buy.amount.sum(), products=products
    )
    days = days.mutate(
        _back=ibis.row_number().over(group_by=days.customer_id, order_by=ibis.desc(days.day)),
        _gap=days.day.delta(
            days.day.lag().over(group_by=days.customer_id, order_by=days.day), unit="day"
        ).cast("float64"),
    )
    last = days._back == 0  # row_number counts from 0
    per = days.group_by("customer_id").agg(
        _days=days.day.count(),
        max_gap_days=days._gap.max(),
        _spend=days.spend.mean(),
        _last_spend=days.spend.max(where=last),
        _last3_spend=days.spend.mean(where=days._back < 3),
        _products=days.products.cast("float64").mean(),
        _last_products=days.products.cast("float64").max(where=last),
    )
    nothing = ibis.null("float64")
    spend = ibis.ifelse((per._days > 1) & (per._spend > 0), per._spend, nothing)
    products = ibis.ifelse((per._days > 1) & (per._products > 0), per._products, nothing)
    return per.select(
        "customer_id",
        "max_gap_days",
        last_spend_ratio=per._last_spend / spend,
        last3_spend_ratio=per._last3_spend / spend,
        last_products_ratio=per._last_products / products,
    )


def _categories(lines: ir.Table, products: Any) -> ir.Table:
    """Distinct categories bought per customer; null without a product category."""
    ids = lines.select("customer_id").distinct()
    if products is None or "product_id" not in lines.columns:
        return ids.mutate(distinct_categories=ibis.null("int64"))
    p = to_table(products, "products")
    require_columns(p, ("product_id",), "products")
    if "category" not in p.columns:
        return ids.mutate(distinct_categories=ibis.null("int64"))
    # one category per product id, so duplicate master rows never multiply lines
    p = p.group_by(product_id=p.product_id.cast("string")).agg(category=p.category.min())
    bought = lines.filter(~lines._ret)
    bought = bought.select("customer_id", product_id=bought.product_id.cast("string"))
    j = bought.inner_join(p, "product_id")
    cats = j.group_by("customer_id").agg(distinct_categories=j.category.nunique())
    return ids.left_join(cats, "customer_id").select(
        "customer_id", distinct_categories=ibis._.distinct_categories.fill_null(0)
    )


def bgnbd_features(orders: Any, *, as_of: DateLike, horizon_days: int) -> pd.DataFrame:
    """``customer_id, p_alive, expected_purchases`` from a BG/NBD fitted at ``as_of``.

    The model is fitted (in weeks) on everyone who bought before ``as_of``;
    ``expected_purchases`` counts purchase days in the next ``horizon_days``.
    When the model cannot be fitted (too few customers) both are NaN.
    """
    day = as_date(as_of, "as_of")
    summary = clv_summary(orders, calibration_end=day - dt.timedelta(days=1)).to_pandas()
    out = pd.DataFrame({"customer_id": summary["customer_id"].astype(str)})
    try:
        with warnings.catch_warnings():
            # a poor fit still ranks customers; the features only need that
            warnings.simplefilter("ignore")
            model = BetaGeoModel().fit(summary)
            alive = model.probability_alive(summary)
            expected = model.predict_purchases(horizon_days / 7.0, summary)
    except (KehuError, FloatingPointError, np.linalg.LinAlgError):
        alive = expected = np.full(len(summary), np.nan)
    out["p_alive"] = np.asarray(alive, dtype=float)
    out["expected_purchases"] = np.asarray(expected, dtype=float)
    return out


def churn_features(
    orders: Any,
    *,
    as_of: DateLike,
    horizon_days: int = 90,
    products: Any = None,
    trend_days: int = 90,
) -> pd.DataFrame:
    """Every churn feature at ``as_of``: one row per customer who bought before it.

    Parameters
    ----------
    orders
        Order lines in the canonical schema (Ibis table or pandas/polars/Arrow).
    as_of
        The cut-off date (exclusive): only lines before it are read.
    horizon_days
        The horizon of the BG/NBD ``expected_purchases``.
    products
        Optional product master; its ``category`` gives ``distinct_categories``.
    trend_days
        Length of the "recent" and "prior" windows of the trend features.

    Returns
    -------
    A pandas DataFrame with :data:`ID_COLUMNS` and :data:`CHURN_FEATURES`
    (floats, NaN where unknown), sorted by ``customer_id``.

    Raises
    ------
    SchemaError
        Nobody bought anything before ``as_of``.
    """
    horizon_days = _check_days(horizon_days, "horizon_days")
    t = _orders(orders)
    day = as_date(as_of, "as_of")
    f = engine_features(t, as_of=day, products=products, trend_days=trend_days).to_pandas()
    if f.empty:
        first = t.filter(t.customer_id.notnull()).order_time.min().execute()
        if first is None or first != first:  # None or NaT
            seen = "there are no orders of identified customers"
        else:
            seen = f"the first order of an identified customer is on {as_date(first)}"
        raise SchemaError(f"no customer bought anything before the cut-off {day}: {seen}")
    bg = bgnbd_features(t, as_of=day, horizon_days=horizon_days)
    f = f.merge(bg, on="customer_id", how="left", validate="one_to_one")
    f["customer_id"] = f["customer_id"].astype(str)
    f["last_purchase"] = pd.to_datetime(f["last_purchase"])
    return f[[*ID_COLUMNS, *CHURN_FEATURES]].reset_index(drop=True)


def data_end(orders: Any) -> dt.date:
    """The day after the last order line: the first day the data does not cover."""
    return default_as_of(_orders(orders))


def churn_labels(orders: Any, *, cutoff: DateLike, horizon_days: int) -> ir.Table:
    """``customer_id`` of everyone with a purchase in ``[cutoff, cutoff + horizon)`` (Ibis)."""
    t = _orders(orders)
    day = as_date(cutoff, "cutoff")
    end = day + dt.timedelta(days=horizon_days)
    t = t.filter(
        t.customer_id.notnull(),
        t.order_time >= _day_start(day),
        t.order_time < _day_start(end),
    )
    t = t.filter(~_is_return(t))
    return t.select(customer_id=t.customer_id.cast("string")).distinct()


def churn_dataset(
    orders: Any,
    *,
    cutoff: DateLike,
    horizon_days: int,
    products: Any = None,
    customers: Any = None,
    trend_days: int = 90,
) -> pd.DataFrame:
    """Features at ``cutoff`` and the label ``churned`` of every customer who bought before it.

    ``churned`` is 1 when the customer made no purchase in
    ``[cutoff, cutoff + horizon_days)``.  The horizon must be fully observed:
    the data must reach at least the day before ``cutoff + horizon_days``.

    Parameters
    ----------
    orders, products, trend_days
        As in :func:`churn_features`.
    cutoff
        The date the features are taken at (exclusive).
    horizon_days
        Length of the label window, in days.
    customers
        Accepted for symmetry with the other analytics; the customer master's
        attributes are not churn features (yet), so it is unused.

    Raises
    ------
    SchemaError
        ``horizon_days`` is not positive, the horizon runs past the end of the
        data, or nobody bought before ``cutoff``.

    Examples
    --------
    >>> import pandas as pd
    >>> orders = pd.DataFrame({"customer_id": ["a", "a", "b"],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-02-10", "2024-01-03"]),
    ...     "amount": [10.0, 20.0, 5.0]})
    >>> d = churn_dataset(orders, cutoff="2024-02-01", horizon_days=10)
    >>> d[["customer_id", "recency_days", "churned"]]
      customer_id  recency_days  churned
    0           a          31.0        0
    1           b          29.0        1
    """
    del customers  # see the docstring
    horizon_days = _check_days(horizon_days, "horizon_days")
    t = _orders(orders)
    day = as_date(cutoff, "cutoff")
    end = data_end(t)
    if day + dt.timedelta(days=horizon_days) > end:
        raise SchemaError(
            f"the {horizon_days}-day horizon after the cut-off {day} runs to "
            f"{day + dt.timedelta(days=horizon_days - 1)}, but the orders end on "
            f"{end - dt.timedelta(days=1)}: labels would be incomplete; choose a cut-off on or "
            f"before {end - dt.timedelta(days=horizon_days)}"
        )
    f = churn_features(
        t, as_of=day, horizon_days=horizon_days, products=products, trend_days=trend_days
    )
    active = churn_labels(t, cutoff=day, horizon_days=horizon_days).to_pandas()
    f["churned"] = (~f["customer_id"].isin(active["customer_id"].astype(str))).astype("int64")
    return f
