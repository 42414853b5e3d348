"""Sales series to forecast: aggregation in the engine and validation in memory.

:func:`sales_series` sums order lines per series and period in the engine and
fills the periods without sales with 0 there too, on a calendar spine built
with ``ibis.range``: each series runs from its first period with a line to the
last period of the whole data, so a product that stopped selling shows zeros
up to the end (which is what stock planning must see).  Returns are netted:
their negative amounts and quantities are summed with the sales.

:func:`prepare_series` is the in-memory contract the models take: one row per
series and period, ``series_id, ds, y`` plus optional numeric regressor columns.
"""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir
import numpy as np
import pandas as pd

from kehu.analytics.schema import require_columns, to_table
from kehu.exceptions import ConfigError, SchemaError

#: Frequencies: the spine step, the period a date falls in (pandas), the
#: default season length and the default horizon name.
FREQS: dict[str, dict[str, Any]] = {
    "D": {"step": ibis.interval(days=1), "period": "D", "season": 7, "name": "day"},
    "W": {"step": ibis.interval(weeks=1), "period": "W-SUN", "season": 52, "name": "week"},
    "M": {"step": ibis.interval(months=1), "period": "M", "season": 12, "name": "month"},
}
BY_CHOICES = (None, "product_id", "category", "region", "channel")
TOTAL = "total"
UNKNOWN = "(unknown)"


def check_freq(freq: str) -> str:
    """Return ``freq`` as ``"D"``, ``"W"`` or ``"M"``; :class:`ConfigError` otherwise."""
    key = str(freq).strip().upper() if freq is not None else ""
    if key not in FREQS:
        raise ConfigError(
            f"unknown frequency {freq!r}: use 'D' (daily), 'W' (weekly) or 'M' (monthly)"
        )
    return key


def sales_series(
    orders: Any,
    *,
    by: str | None = None,
    freq: str = "D",
    measure: str = "amount",
    products: Any = None,
    customers: Any = None,
) -> ir.Table:
    """Net sales per series and period, with the periods without sales as 0.

    Parameters
    ----------
    orders
        Canonical order lines (:mod:`kehu.analytics.schema`): ``order_time`` and
        the measure; ``product_id`` / ``customer_id`` / ``channel`` as ``by`` needs.
        Anonymous lines count.
    by
        ``None`` (one series, ``"total"``), ``"product_id"``, ``"category"`` (from
        ``products``), ``"region"`` (from ``customers``: ``region``, else
        ``province`` then ``country``) or ``"channel"`` (the orders' column, else
        the customers'). Lines whose key is unknown form the series ``"(unknown)"``.
    freq
        ``"D"``, ``"W"`` (weeks from Monday) or ``"M"``; ``ds`` is the first day.
    measure
        ``"amount"`` (net revenue) or ``"quantity"`` (net units).

    Returns
    -------
    An Ibis table ``series_id`` (string), ``ds`` (date), ``y`` (float64), one
    row per series and period from the series' first period to the data's last.

    Examples
    --------
    >>> import pandas as pd
    >>> o = pd.DataFrame({"customer_id": ["a", "b", "a"], "amount": [5.0, 7.0, -2.0],
    ...     "order_time": pd.to_datetime(["2024-01-01", "2024-01-03", "2024-01-03"])})
    >>> sales_series(o, freq="D").to_pandas()["y"].tolist()
    [5.0, 0.0, 5.0]
    """
    f = check_freq(freq)
    if measure not in ("amount", "quantity"):
        raise ConfigError(f"sales_series: measure must be 'amount' or 'quantity', got {measure!r}")
    if by not in BY_CHOICES:
        raise ConfigError(
            "sales_series: by must be one of product_id, category, region, channel "
            f"or None, got {by!r}"
        )
    t = to_table(orders, "orders")
    require_columns(t, ["order_time", measure], "orders")
    t = _with_key(t, by, products, customers)
    lines = t.mutate(
        _sid=t._key.cast("string").fill_null(UNKNOWN),
        _ds=t.order_time.cast("timestamp").truncate(f).date(),
        _y=t[measure].cast("float64").fill_null(0.0),
    )
    lines = lines.filter(lines._ds.notnull())
    sums = lines.group_by(series_id=lines._sid, ds=lines._ds).agg(y=lines._y.sum())

    step = FREQS[f]["step"]
    last = sums.ds.max().cast("timestamp")
    first = sums.group_by("series_id").agg(_first=sums.ds.min().cast("timestamp"))
    spine = first.select(
        "series_id", ds=ibis.range(first._first, last.as_scalar() + step, step).unnest().date()
    )
    out = spine.left_join(sums, ["series_id", "ds"]).select(
        "series_id", "ds", y=sums.y.fill_null(0.0)
    )
    return out.order_by("series_id", "ds")


def _with_key(t: ir.Table, by: str | None, products: Any, customers: Any) -> ir.Table:
    """``t`` with ``_key``, the series id of every line (joined from a master table as needed)."""
    if by is None:
        return t.mutate(_key=ibis.literal(TOTAL))
    if by == "product_id" or (by == "channel" and "channel" in t.columns):
        require_columns(t, [by], "orders")
        return t.mutate(_key=t[by])
    if by == "category":
        if products is None:
            raise SchemaError("sales_series: by='category' needs the products table")
        p = to_table(products, "products")
        require_columns(p, ["product_id", "category"], "products")
        require_columns(t, ["product_id"], "orders")
        # one category per product, so duplicate master rows never double sales
        p = p.group_by(_pid=p.product_id.cast("string")).agg(_key=p.category.cast("string").min())
        return _lookup(t, t.product_id.cast("string"), p)
    if customers is None:
        raise SchemaError(
            f"sales_series: by={by!r} needs the customers table (or a channel column in orders)"
        )
    c = to_table(customers, "customers")
    require_columns(c, ["customer_id"], "customers")
    require_columns(t, ["customer_id"], "orders")
    if by == "region":
        cols = [col for col in ("region", "province", "country") if col in c.columns]
        if not cols:
            raise SchemaError("customers has no region, province or country column for by='region'")
        value = (
            ibis.coalesce(*[c[col].cast("string") for col in cols]) if len(cols) > 1 else c[cols[0]]
        )
    else:
        require_columns(c, ["channel"], "customers")
        value = c.channel
    c = c.group_by(_pid=c.customer_id.cast("string")).agg(_key=value.cast("string").min())
    return _lookup(t, t.customer_id.cast("string"), c)


def _lookup(t: ir.Table, left_key: ir.Value, keys: ir.Table) -> ir.Table:
    """``t`` with ``keys._key`` of each line; a left join keeps lines without a match."""
    joined = t.mutate(_pid=left_key).left_join(keys, "_pid")
    return joined.drop(*[c for c in joined.columns if c.startswith("_pid")])


def prepare_series(series: Any, freq: str, what: str = "series") -> pd.DataFrame:
    """Validate and sort a ``series_id, ds, y`` frame (plus regressors) for the models.

    ``ds`` may be any day inside its period (it becomes the period's first day);
    each series must have exactly one row per period with no gap, ``y`` must be
    finite and the other columns numeric regressors.

    Raises
    ------
    SchemaError
        Naming the column or series that breaks the contract.
    """
    f = check_freq(freq)
    df = series.to_pandas() if isinstance(series, ir.Table) else series
    if not isinstance(df, pd.DataFrame):
        df = to_table(df, what).to_pandas()
    missing = [c for c in ("series_id", "ds", "y") if c not in df.columns]
    if missing:
        raise SchemaError(
            f"{what} is missing column(s) {', '.join(missing)}; "
            f"columns found: {', '.join(map(str, df.columns))}"
        )
    if len(df) == 0:
        raise SchemaError(f"{what} has no rows")
    out = df.copy()
    out["series_id"] = out["series_id"].astype("string").fillna(UNKNOWN).astype(object)
    try:
        ds = pd.to_datetime(out["ds"])
    except (ValueError, TypeError) as exc:
        raise SchemaError(f"{what}: column ds has values that are not dates ({exc})") from None
    if ds.isna().any():
        raise SchemaError(f"{what}: column ds has {int(ds.isna().sum())} empty value(s)")
    out["ds"] = ds.dt.to_period(FREQS[f]["period"]).dt.start_time.astype("datetime64[ns]")
    for col in [c for c in out.columns if c not in ("series_id", "ds")]:
        try:
            out[col] = pd.to_numeric(out[col]).astype("float64")
        except (ValueError, TypeError):
            raise SchemaError(f"{what}: column {col} must be numeric") from None
    bad = ~np.isfinite(out["y"].to_numpy())
    if bad.any():
        sid = out.loc[bad, "series_id"].iloc[0]
        raise SchemaError(
            f"{what}: y has {int(bad.sum())} missing or infinite value(s), e.g. in series {sid!r}"
        )
    out = out.sort_values(["series_id", "ds"], kind="stable").reset_index(drop=True)
    ordinal = period_ordinal(out["ds"], f)
    new = out["series_id"].ne(out["series_id"].shift()).to_numpy()
    step = np.diff(ordinal, prepend=ordinal[0] - 1)
    wrong = ~new & (step != 1)
    if wrong.any():
        i = int(np.argmax(wrong))
        sid, day = out["series_id"].iloc[i], out["ds"].iloc[i].date()
        kind = "a duplicate period" if step[i] == 0 else "missing periods before"
        raise SchemaError(
            f"{what}: series {sid!r} has {kind} {day} (each series needs one row per "
            f"{FREQS[f]['name']} with no gap; sales_series fills gaps with 0)"
        )
    return out


def period_ordinal(ds: pd.Series | pd.DatetimeIndex, freq: str) -> np.ndarray:
    """Consecutive integers for consecutive periods (days, Monday weeks or months)."""
    d = pd.DatetimeIndex(ds)
    if freq == "M":
        return (d.year * 12 + d.month - 1).to_numpy(dtype="int64")
    days = (d - pd.Timestamp("1970-01-05")).days.to_numpy(dtype="int64")  # a Monday
    return days if freq == "D" else days // 7


def future_dates(last: pd.Timestamp, h: int, freq: str) -> pd.DatetimeIndex:
    """The ``h`` period starts after ``last`` (a period start)."""
    alias = {"D": "D", "W": "W-MON", "M": "MS"}[freq]
    return pd.date_range(last, periods=h + 1, freq=alias)[1:]
