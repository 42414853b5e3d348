"""The re-buy rule: products a customer buys regularly, and which of them are due.

A (customer, product) pair bought on ``purchases >= min_purchases`` distinct days
has a usual interval ``(last - first) / (purchases - 1)`` days.  It is due when
``1 <= elapsed / interval <= max_overdue``, ``elapsed`` being the days from the last
purchase to the day asked about; the score is ``interval / elapsed`` (1 = due today,
lower = overdue), ties broken by more purchases.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import pandas as pd


def rebuy_candidates(inter: Any, min_purchases: int) -> pd.DataFrame:
    """Regularly re-bought pairs of the interactions table, counted in the engine.

    Columns ``customer_id, product_id, purchases, interval_days, last_purchase``.
    """
    reg = inter.filter(inter.days >= min_purchases)
    span = reg.last_purchase.delta(reg.first_purchase, unit="day")
    cand = reg.select(
        "customer_id",
        "product_id",
        purchases=reg.days,
        interval_days=span.cast("float64") / (reg.days - 1).cast("float64"),
        last_purchase=reg.last_purchase,
    ).order_by("customer_id", "product_id")
    df = cand.to_pandas()
    df["last_purchase"] = pd.to_datetime(df["last_purchase"]).astype("datetime64[s]")
    return df.reset_index(drop=True)


def due_rebuys(c: pd.DataFrame, day: dt.date, k: int, max_overdue: float) -> pd.DataFrame:
    """The candidates ``c`` due on ``day``, best timed first, at most ``k`` per customer."""
    elapsed = (pd.Timestamp(day) - c["last_purchase"]).dt.days.to_numpy(dtype=float)
    interval = c["interval_days"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = elapsed / interval
    due = (interval > 0) & (ratio >= 1) & (ratio <= max_overdue)
    c = c[due].assign(score=interval[due] / elapsed[due])
    c = c.sort_values(
        ["customer_id", "score", "purchases", "product_id"],
        ascending=[True, False, False, True],
    )
    c = c.assign(rank=c.groupby("customer_id").cumcount() + 1)
    c = c[c["rank"] <= k]
    return pd.DataFrame(
        {
            "customer_id": c["customer_id"].to_numpy(dtype=object),
            "rank": c["rank"].to_numpy(dtype=np.int64),
            "product_id": c["product_id"].to_numpy(dtype=object),
            "score": c["score"].to_numpy(dtype=float),
            "reason": "rebuy_due",
            "because": c["product_id"].to_numpy(dtype=object),
        }
    )
