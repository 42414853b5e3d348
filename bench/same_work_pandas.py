"""``kehu classify``'s whole job in pandas: the other baseline of equal work.

    python bench/same_work_pandas.py OUT.parquet FILES...

The same import rules, duplicates, feature table and seven rule classifiers as
:mod:`same_work_sql` (which says where kehu defines each rule), written as a
pandas user would: vectorised column operations and group-bys, no row loops.
The bench checks that its output equals kehu's in every shared column.
"""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from same_work_sql import (
    GRADES,
    NON_PRODUCT_CODES,
    NON_PRODUCT_PREFIXES,
    NON_PRODUCT_WORDS,
    RFM8,
    SEGMENTS,
)

COLUMNS = ["customer_id", "order_id", "order_time", "product_id", "quantity", "price", "amount"]
EPS = 1e-9


def _import(files: list[str]) -> pd.DataFrame:
    """The kept order lines: rules applied, returns signed, duplicates dropped."""
    df = pd.concat([pd.read_parquet(f, columns=COLUMNS) for f in files], ignore_index=True)
    df = df[df.order_time.notna() & df.amount.notna()]
    oid = df.order_id
    ret = (df.quantity < 0).fillna(False) | (df.amount < 0) | ((oid >= "C0") & (oid < "C:"))
    ret = ret.fillna(False).astype(bool)
    # non-product ids: tested once per distinct id
    ids = pd.Series(df.product_id.dropna().unique())
    up = ids.str.upper()
    bad = up.isin(NON_PRODUCT_CODES)
    for p in NON_PRODUCT_PREFIXES:
        bad |= up.str.startswith(p)
    for w in NON_PRODUCT_WORDS:
        bad |= up.str.contains(w.upper(), regex=False) if w.isascii() else ids.str.contains(w)
    keep = ~df.product_id.isin(ids[bad]) & ~(df.price == 0).fillna(False)
    df = df.assign(
        quantity=df.quantity.where(~ret, -df.quantity.abs()),
        amount=df.amount.where(~ret, -df.amount.abs()),
        is_return=ret,
    )[keep]
    # exact duplicates of a line with an order id: the first is kept
    dup = df.order_id.notna() & df.duplicated(subset=[*COLUMNS, "is_return"])
    return df[~dup]


def _rank(x: pd.Series, ascending: bool = True) -> np.ndarray:
    """0-based minimum rank; missing values rank lowest."""
    return x.rank(method="min", ascending=ascending, na_option="top").to_numpy("int64") - 1


def _score(rank: np.ndarray, n: int, bins: int) -> np.ndarray:
    if n <= 1:
        return np.ones(len(rank), dtype="int64")
    return np.minimum(1 + (rank * bins) // (n - 1), bins)


def _discrete_quantile(x: pd.Series, q: float) -> float:
    v = np.sort(x.dropna().to_numpy())
    return v[max(int(np.ceil(q * len(v) - EPS)) - 1, 0)]


def classify(files: list[str]) -> pd.DataFrame:
    df = _import(files)
    as_of = df.order_time.max().normalize() + pd.Timedelta(days=1)
    df = df[df.customer_id.notna() & (df.order_time < as_of)]
    buy = ~df.is_return
    day = df.order_time.dt.normalize()
    key = df.order_id.fillna(df.order_time.astype(str))

    sold = df[df.product_id.notna() & buy]
    by_product = sold.groupby("product_id")[["amount", "quantity"]].sum()
    unit = (by_product.amount / by_product.quantity.replace(0, np.nan)).round(6)
    premium = unit.index[unit >= _discrete_quantile(unit, 0.8)]

    with_id = df.product_id.notna()
    lines = pd.DataFrame(
        {
            "customer_id": df.customer_id,
            "amount": df.amount,
            "quantity": df.quantity,
            "with_id": with_id,
            "bday": day.where(buy),
            "bkey": key.where(buy),
            "spent": df.amount.where(buy & with_id),
            "on_premium": df.amount.where(buy & with_id & df.product_id.isin(premium)),
        }
    )
    g = lines.groupby("customer_id", sort=False).agg(
        first_purchase=("bday", "min"),
        last_purchase=("bday", "max"),
        orders=("bkey", "nunique"),
        m=("amount", "sum"),
        quantity=("quantity", "sum"),
        with_id=("with_id", "sum"),
        spent=("spent", "sum"),
        on_premium=("on_premium", "sum"),  # 0 when there is none
    )
    del lines
    days = pd.DataFrame({"customer_id": df.customer_id[buy], "day": day[buy]}).drop_duplicates()
    days = days.sort_values(["customer_id", "day"])
    same = days.customer_id.eq(days.customer_id.shift(1))
    days["prev"] = days.day.shift(1).where(same)
    g["purchase_days"] = days.groupby("customer_id", sort=False).size()
    last = days.drop_duplicates("customer_id", keep="last").set_index("customer_id")
    g["prev_purchase"] = last.prev
    pairs = df.loc[buy & with_id, ["customer_id", "product_id"]].drop_duplicates()
    g["n_products"] = pairs.groupby("customer_id", sort=False).size()
    del df, days, pairs

    g = g[g.orders > 0].reset_index()
    n = len(g)
    f = pd.DataFrame({"customer_id": g.customer_id})
    f["first_purchase"] = g.first_purchase.dt.date
    f["last_purchase"] = g.last_purchase.dt.date
    f["recency_days"] = (as_of - g.last_purchase).dt.days.astype("int64")
    f["orders"] = g.orders.astype("int64")
    f["monetary"] = g.m.round(6)
    f["avg_order_value"] = (f.monetary / f.orders).round(6)
    f["r_score"] = _score(_rank(f.recency_days, ascending=False), n, 5)
    f["f_score"] = _score(_rank(f.orders), n, 5)
    m_rank = _rank(f.monetary)
    f["m_score"] = _score(m_rank, n, 5)
    f["quantity"] = g.quantity
    f["distinct_products"] = g.n_products.fillna(0).astype("Int64").where(g.with_id > 0)
    spent = g.spent.where(g.spent > 0)
    f["premium_share"] = (g.on_premium / spent).round(12)
    f["prev_purchase"] = g.prev_purchase.dt.date
    f["purchase_days"] = g.purchase_days.astype("int64")
    span = (g.last_purchase - g.first_purchase).dt.days.astype("float64")
    f["mean_gap_days"] = span / (f.purchase_days - 1).replace(0, np.nan)
    f["tenure_days"] = (as_of - g.first_purchase).dt.days.astype("int64")

    # rfm8: means as thresholds
    r_high = f.recency_days < f.recency_days.mean()
    f_high = f.orders > f.orders.mean()
    m_high = f.monetary > f.monetary.mean()
    zh, en = np.empty(n, dtype=object), np.empty(n, dtype=object)
    for (m, r, q), (label, label_en) in RFM8.items():
        hit = ((m_high == m) & (r_high == r) & (f_high == q)).to_numpy()
        zh[hit], en[hit] = label, label_en
    f["rfm8"], f["rfm8_en"] = zh, en
    # named segments from R and FM = (F + M + 1) // 2
    grid = np.array([SEGMENTS[r] for r in range(1, 6)], dtype=object)
    f["segment"] = grid[f.r_score - 1, (f.f_score + f.m_score + 1) // 2 - 1]
    days_ = np.maximum(f.tenure_days, 28).astype("float64")
    f["freq_tier"] = np.select(
        [f.orders * 7 / days_ >= 2, f.orders * 30 / days_ >= 2], ["high", "medium"], "low"
    )
    spend_rank = _rank(f.monetary, ascending=False)
    f["spend_tier"] = np.select(
        [spend_rank < 0.2 * n - EPS, spend_rank < 0.5 * n - EPS], ["high", "medium"], "low"
    )
    # ABC: revenue of the customers with a strictly greater monetary value
    pos = f.monetary.clip(lower=0)
    by_value = pos.groupby(f.monetary).sum().sort_index(ascending=False)
    prior = (by_value.cumsum() - by_value).reindex(f.monetary).to_numpy()
    total = pos.sum()
    positive = (f.monetary > 0).to_numpy()
    f["abc"] = np.select(
        [positive & (prior < 0.8 * total), positive & (prior < 0.95 * total)], ["A", "B"], "C"
    )
    f["value_decile"] = _score(m_rank, n, 10)
    median_gap = _discrete_quantile(f.mean_gap_days, 0.5) if f.mean_gap_days.notna().any() else 30
    gap = np.maximum(f.mean_gap_days.fillna(median_gap), 7)
    before = (g.last_purchase - g.prev_purchase).dt.days
    active = f.recency_days <= 1.5 * gap
    won_back = (before > 3 * gap) & (before > 90) & active
    f["lifecycle"] = np.select(
        [f.tenure_days <= 60, won_back, active, f.recency_days <= 3 * gap],
        ["new", "won_back", "active", "at_risk"],
        "lapsed",
    )
    # grade: weighted percent ranks, then 30 grades of equal shares by rank of the score
    denom = n - 1 if n > 1 else np.nan
    score = 0.0
    for col, w in (("quantity", 0.3), ("monetary", 0.4), ("distinct_products", 0.2),
                   ("premium_share", 0.1)):  # fmt: skip
        score = score + w * np.nan_to_num(_rank(f[col]) / denom)
    f["grade_score"] = np.round(score, 9)
    grank = _rank(f.grade_score)
    f["grade"] = 1 + sum((grank * GRADES >= g_ * n).astype("int64") for g_ in range(1, GRADES))
    return f


def run(files: list[str], out: str) -> None:
    classify(files).to_parquet(out, index=False)


if __name__ == "__main__":
    run(sys.argv[2:], sys.argv[1])
