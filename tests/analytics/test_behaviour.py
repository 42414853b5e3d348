"""Purchase timing, category preference, hot/slow products, baskets and gaps by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from kehu.analytics.behaviour import (
    basket_size,
    category_preference,
    interpurchase_gaps,
    product_movement,
    purchase_timing,
)
from kehu.exceptions import SchemaError

PRODUCTS = pd.DataFrame(
    {
        "product_id": ["p1", "p2", "p3", "p4"],
        "name": ["矿泉水", "薯片", "纸巾", "老酸奶"],
        "category": ["饮料", "零食", None, "乳品"],
    }
)


def test_purchase_timing_by_hand(hand_orders):
    t = {k: v.to_pandas() for k, v in purchase_timing(hand_orders.copy()).items()}
    wd = t["weekday"].set_index("weekday")
    # Monday: o1, o4, o11 and b's return (no order, -5)
    assert wd.loc[0].tolist() == [3, 50.0]
    assert wd.loc[2].tolist() == [4, 34.0]  # Wednesday: o2, o3 (anonymous), o9, o10
    assert wd.loc[4].tolist() == [2, 43.0]
    assert wd.loc[5].tolist() == [1, 10.0]
    assert list(wd.index) == [0, 2, 4, 5]
    hour = t["hour"].set_index("hour")
    assert hour.loc[10].tolist() == [3, 38.0]  # o1, o4 (10:30), o8
    month = t["month"].set_index("month")
    assert month["orders"].tolist() == [3, 2, 5]
    assert month["revenue"].tolist() == [44.0, 15.0, 78.0]


def test_category_preference_overall_and_per_class(hand_orders):
    c = category_preference(hand_orders.copy(), PRODUCTS).to_pandas()
    assert c["category"].tolist() == ["饮料", "零食", "(none)"]
    assert c["revenue"].tolist() == [110.0, 15.0, 12.0]
    assert c["share"].tolist() == pytest.approx([110 / 137, 15 / 137, 12 / 137])

    customers = pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "seg": ["X", "X", "Y", None]})
    by = category_preference(hand_orders.copy(), PRODUCTS, "seg", customers=customers).to_pandas()
    got = {(r["class"], r.category): (r.revenue, r.share) for _, r in by.iterrows()}
    assert got[("X", "饮料")] == pytest.approx((60.0, 60 / 63))
    assert got[("X", "零食")] == pytest.approx((0.0, 0.0))  # a's 5 minus b's returned 5
    assert got[("X", "(none)")] == pytest.approx((3.0, 3 / 63))
    assert got[("Y", "饮料")] == pytest.approx((40.0, 0.8))
    assert got[("(none)", "饮料")] == pytest.approx((10.0, 1.0))
    assert len(got) == 6  # anonymous lines have no class
    with pytest.raises(SchemaError, match="customers"):
        category_preference(hand_orders.copy(), PRODUCTS, "seg")


def test_product_movement_hot_and_slow(hand_orders):
    m = product_movement(hand_orders.copy(), PRODUCTS, as_of="2024-04-01", window_days=30)
    hot = m["hot"].to_pandas()
    # window [2 Mar, 1 Apr); previous window [31 Jan, 2 Mar)
    assert hot["product_id"].tolist() == ["p1", "p2", "p3"]
    assert hot["units"].tolist() == [3.0, 1.0, 1.0]
    assert hot["revenue"].tolist() == [30.0, 5.0, 3.0]
    assert hot["prev_units"].tolist() == [5.0, 1.0, 0.0]  # p2: 2 sold, 1 returned
    assert hot["prev_revenue"].tolist() == [50.0, 5.0, 0.0]
    assert hot["growth"].iloc[0] == pytest.approx(-0.4)
    assert hot["growth"].iloc[1] == 0.0 and pd.isna(hot["growth"].iloc[2])
    assert hot["days_since_last_sale"].tolist() == [7, 12, 17]
    assert hot["name"].tolist() == ["矿泉水", "薯片", "纸巾"]

    slow = m["slow"].to_pandas()
    # p4 never sold; p2 and p3 tie on one unit: the longer unsold (p3) first
    assert slow["product_id"].tolist() == ["p4", "p3", "p2", "p1"]
    assert slow["units"].tolist() == [0.0, 1.0, 1.0, 3.0]
    assert pd.isna(slow["days_since_last_sale"].iloc[0])

    by_units = product_movement(
        hand_orders.copy(), as_of="2024-04-01", window_days=30, top_n=1, rank_by="units"
    )["hot"].to_pandas()
    assert by_units["product_id"].tolist() == ["p1"]


def test_product_movement_new_product_is_hot_not_slow(hand_orders):
    o = hand_orders.copy()
    new = pd.DataFrame([o.iloc[-1]]).assign(
        order_id="o12", product_id="p9", order_time=pd.Timestamp("2024-03-28")
    )
    o = pd.concat([o, new], ignore_index=True)
    # window [22 Mar, 1 Apr): p2 (last sold 20 Mar) and p3 (15 Mar) sold nothing in it
    m = product_movement(o, as_of="2024-04-01", window_days=10)
    slow = m["slow"].to_pandas()
    assert slow["product_id"].tolist() == ["p3", "p2", "p1"]  # p9 first sold in the window
    assert slow["units"].tolist() == [0.0, 0.0, 2.0]
    assert slow["days_since_last_sale"].tolist() == [17, 12, 7]
    assert set(m["hot"].to_pandas()["product_id"]) == {"p1", "p9"}


@pytest.mark.parametrize(
    "kwargs",
    [{"window_days": 0}, {"top_n": 0}, {"rank_by": "margin"}],
)
def test_product_movement_bad_options(kwargs, hand_orders):
    with pytest.raises(SchemaError):
        product_movement(hand_orders.copy(), as_of="2024-04-01", **kwargs)


def test_basket_size_by_hand(hand_orders):
    b = basket_size(hand_orders.copy()).to_pandas().iloc[0]
    assert b.orders == 10
    assert b.mean_items == pytest.approx(1.9)
    assert b.median_items == pytest.approx(1.5)
    assert b.mean_lines == pytest.approx(1.1)
    assert b.mean_amount == pytest.approx(14.2)
    assert b.median_amount == pytest.approx(10.0)


def test_interpurchase_gaps_by_hand(hand_orders):
    g = interpurchase_gaps(hand_orders.copy()).to_pandas().set_index("bucket")
    # a: 35 and 39 days; b: 82 (the return does not count); c: 20; d: one day only
    assert g["gaps"].to_dict() == {
        "1-7": 0,
        "8-14": 0,
        "15-30": 1,
        "31-60": 2,
        "61-90": 1,
        "91-180": 0,
        "181-365": 0,
        ">365": 0,
    }
    assert g.loc["31-60", "share"] == 0.5
    assert g.loc["31-60", "lower"] == 31 and g.loc["31-60", "upper"] == 60
    assert pd.isna(g.loc[">365", "upper"])
    with pytest.raises(SchemaError):
        interpurchase_gaps(hand_orders.copy(), edges=(30, 7))


def test_empty_orders_give_empty_tables(hand_orders):
    empty = hand_orders.copy().iloc[:0]
    assert all(len(v.to_pandas()) == 0 for v in purchase_timing(empty).values())
    assert interpurchase_gaps(empty).to_pandas()["gaps"].sum() == 0
    assert len(product_movement(empty, as_of="2024-04-01")["hot"].to_pandas()) == 0


@pytest.mark.realdata
def test_behaviour_on_online_retail(shared_data):
    import ibis

    raw = ibis.read_parquet(shared_data / "online_retail" / "online_retail.parquet")
    o = raw.select(
        customer_id=raw.CustomerID.cast("string"),
        order_id=raw.InvoiceNo,
        order_time=raw.InvoiceDate,
        product_id=raw.StockCode,
        quantity=raw.Quantity.cast("float64"),
        amount=raw.Quantity.cast("float64") * raw.UnitPrice,
        is_return=raw.InvoiceNo.startswith("C"),
    )
    timing = purchase_timing(o)
    total = o.amount.sum().execute()
    for unit in ("weekday", "hour", "month"):
        assert timing[unit].to_pandas()["revenue"].sum() == pytest.approx(total)
    assert 5 not in set(timing["weekday"].to_pandas()["weekday"])  # the shop shut on Saturdays
    m = product_movement(o, as_of="2011-12-01", window_days=90, top_n=10)
    hot = m["hot"].to_pandas()
    assert len(hot) == 10 and hot["revenue"].is_monotonic_decreasing
    slow = m["slow"].to_pandas()
    assert slow["units"].is_monotonic_increasing and (slow["days_since_last_sale"] >= 0).all()
