"""Monthly KPIs on hand-made orders (anonymous sales and a return included)."""

from __future__ import annotations

import pandas as pd
import pytest

from kehu.analytics.kpis import monthly_kpis
from kehu.exceptions import SchemaError

# The dozen hand-made order lines shared (by copy) by the behaviour, cohort and KPI tests.
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


def hand_orders() -> pd.DataFrame:
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


def test_monthly_kpis_by_hand():
    k = monthly_kpis(hand_orders()).to_pandas()
    assert [str(m)[:7] for m in k["month"]] == ["2024-01", "2024-02", "2024-03"]
    assert k["active_customers"].tolist() == [2, 2, 4]  # b's February return is no purchase
    assert k["new_customers"].tolist() == [2, 1, 1]
    assert k["returning_customers"].tolist() == [0, 1, 3]
    assert k["revenue"].tolist() == [44.0, 15.0, 78.0]  # anonymous included, return netted
    assert k["customer_revenue"].tolist() == [35.0, 15.0, 73.0]
    assert k["returns"].tolist() == [0.0, 5.0, 0.0]
    assert k["orders"].tolist() == [3, 2, 5]
    assert k["aov"].tolist() == pytest.approx([44 / 3, 7.5, 15.6])
    assert k["revenue_per_active"].tolist() == pytest.approx([17.5, 7.5, 18.25])


def test_monthly_kpis_without_order_ids_counts_timestamps_per_customer():
    o = hand_orders().drop(columns=["order_id", "is_return"])
    k = monthly_kpis(o).to_pandas()
    # without is_return a negative amount is the return; without order ids a
    # (customer, timestamp) is one order, so a's two o1 lines stay one order
    assert k["orders"].tolist() == [3, 2, 5]
    assert k["returns"].tolist() == [0.0, 5.0, 0.0]


def test_monthly_kpis_empty_and_bad_input():
    empty = hand_orders().iloc[:0]
    assert len(monthly_kpis(empty).to_pandas()) == 0
    with pytest.raises(SchemaError, match="amount"):
        monthly_kpis(hand_orders().drop(columns=["amount"]))


@pytest.mark.realdata
def test_monthly_kpis_on_online_retail(shared_data):
    import ibis

    raw = ibis.read_parquet(shared_data / "online_retail" / "online_retail.parquet")
    o = raw.select(
        customer_id=raw.CustomerID.cast("string"),
        order_id=raw.InvoiceNo,
        order_time=raw.InvoiceDate,
        amount=raw.Quantity.cast("float64") * raw.UnitPrice,
        is_return=raw.InvoiceNo.startswith("C"),
    )
    k = monthly_kpis(o).to_pandas()
    assert len(k) == 13  # 2010-12 .. 2011-12
    total = o.amount.sum().execute()
    assert k["revenue"].sum() == pytest.approx(total)
    buyers = o.filter(o.customer_id.notnull() & ~o.is_return).customer_id.nunique().execute()
    assert k["new_customers"].sum() == buyers  # every buyer is new exactly once
    assert (k["returning_customers"] >= 0).all()
