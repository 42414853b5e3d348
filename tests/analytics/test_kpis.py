"""Monthly KPIs on hand-made orders (anonymous sales and a return included)."""

from __future__ import annotations

import pytest

from kehu.analytics.kpis import monthly_kpis
from kehu.exceptions import SchemaError


def test_monthly_kpis_by_hand(hand_orders):
    k = monthly_kpis(hand_orders.copy()).to_pandas()
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


def test_monthly_kpis_without_order_ids_counts_timestamps_per_customer(hand_orders):
    o = hand_orders.copy().drop(columns=["order_id", "is_return"])
    k = monthly_kpis(o).to_pandas()
    # without is_return a negative amount is the return; without order ids a
    # (customer, timestamp) is one order, so a's two o1 lines stay one order
    assert k["orders"].tolist() == [3, 2, 5]
    assert k["returns"].tolist() == [0.0, 5.0, 0.0]


def test_monthly_kpis_empty_and_bad_input(hand_orders):
    empty = hand_orders.copy().iloc[:0]
    assert len(monthly_kpis(empty).to_pandas()) == 0
    with pytest.raises(SchemaError, match="amount"):
        monthly_kpis(hand_orders.copy().drop(columns=["amount"]))


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
