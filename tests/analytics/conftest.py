"""Hand-made order lines shared by the behaviour, cohort, KPI and profile tests."""

from __future__ import annotations

import pandas as pd
import pytest

LINES = [
    # customer, order, time, product, qty, amount, is_return
    ("a", "o1", "2024-01-01 10:00", "p1", 2, 20.0, False),
    ("a", "o1", "2024-01-01 10:00", "p2", 1, 5.0, False),
    ("b", "o2", "2024-01-03 15:00", "p1", 1, 10.0, False),
    (None, "o3", "2024-01-03 16:00", "p3", 3, 9.0, False),  # anonymous
    ("a", "o4", "2024-02-05 10:30", "p1", 1, 10.0, False),
    ("c", "o5", "2024-02-10 12:00", "p2", 2, 10.0, False),
    ("b", "o6", "2024-02-12 09:00", "p2", -1, -5.0, True),  # return
    ("c", "o7", "2024-03-01 18:00", "p1", 4, 40.0, False),
    ("a", "o8", "2024-03-15 10:00", "p3", 1, 3.0, False),
    ("d", "o9", "2024-03-20 11:00", "p1", 1, 10.0, False),
    (None, "o10", "2024-03-20 11:30", "p2", 1, 5.0, False),  # anonymous
    ("b", "o11", "2024-03-25 20:00", "p1", 2, 20.0, False),
]


def _hand_orders() -> pd.DataFrame:
    df = pd.DataFrame(
        LINES,
        columns=[
            "customer_id",
            "order_id",
            "order_time",
            "product_id",
            "quantity",
            "amount",
            "is_return",
        ],
    )
    df["order_time"] = pd.to_datetime(df["order_time"])
    df["quantity"] = df["quantity"].astype(float)
    return df


@pytest.fixture()
def hand_orders() -> pd.DataFrame:
    """A dozen order lines (anonymous sales and a return included); expected values by hand."""
    return _hand_orders()
