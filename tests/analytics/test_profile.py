"""Class profiles on a hand-made customer table and orders."""

from __future__ import annotations

import pandas as pd
import pytest

from kehu.analytics.profile import class_profile
from kehu.exceptions import SchemaError

PRODUCTS = pd.DataFrame(
    {
        "product_id": ["p1", "p2", "p3"],
        "category": ["饮料", "零食", None],
        "brand": ["农夫", "乐事", "维达"],
    }
)

# the per-customer figures of hand_orders.copy() as of 2024-04-01
CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d"],
        "recency_days": [17, 7, 31, 12],
        "orders": [3, 2, 2, 1],
        "monetary": [38.0, 25.0, 50.0, 10.0],
        "avg_order_value": [38 / 3, 12.5, 25.0, 10.0],
        "rfm8": ["重要价值客户", "重要价值客户", "一般发展客户", None],
        "grade": pd.array([10, 2, 10, None], dtype="Int64"),
        "region": ["华东", "华南", "华东", None],
        "channel": ["超市", "超市", "便利店", "超市"],
    }
)


def test_class_profile_by_hand(hand_orders):
    p = class_profile(CUSTOMERS, "rfm8", orders=hand_orders.copy(), products=PRODUCTS).to_pandas()
    p = p.set_index("class")
    assert list(p.index) == ["一般发展客户", "重要价值客户", "(none)"]  # null class last
    v = p.loc["重要价值客户"]
    assert (v.customers, v.customer_share, v.revenue) == (2, 0.5, 63.0)
    assert v.revenue_share == pytest.approx(63 / 123)
    assert (v.mean_recency_days, v.mean_orders, v.mean_monetary) == (12.0, 2.5, 31.5)
    assert v.mean_aov == pytest.approx((38 / 3 + 12.5) / 2)
    # a and b spent 60 on drinks, 3 on uncategorised p3 and net 0 on snacks
    assert v.top_categories == "饮料 (95%), (none) (5%), 零食 (0%)"
    assert v.top_brands == "农夫 (95%), 维达 (5%), 乐事 (0%)"
    assert v.region_mix == "华东 (50%), 华南 (50%)"  # a tie: by name
    assert v.channel_mix == "超市 (100%)"
    assert p.loc["一般发展客户", "top_categories"] == "饮料 (80%), 零食 (20%)"
    assert p.loc["(none)", "region_mix"] == "(none) (100%)"
    assert p["customer_share"].sum() == pytest.approx(1.0)
    assert p["revenue_share"].sum() == pytest.approx(1.0)


def test_class_profile_top_n_and_numeric_classes(hand_orders):
    p = class_profile(CUSTOMERS, "grade", orders=hand_orders.copy(), products=PRODUCTS, top_n=1)
    p = p.to_pandas()
    assert p["class"].tolist() == ["2", "10", "(none)"]  # numeric order, not text order
    assert p.set_index("class").loc["10", "top_categories"] == "饮料 (80%)"  # 70 of 88
    assert p["customers"].tolist() == [1, 2, 1]


def test_class_profile_channel_from_orders_when_customers_lack_it(hand_orders):
    o = hand_orders.copy().assign(channel=["门店"] * 6 + ["电商"] * 6)
    c = CUSTOMERS.drop(columns=["channel", "region"])
    p = class_profile(c, "rfm8", orders=o).to_pandas().set_index("class")
    # a: 35 in store, 3 online; b: 10 in store, 20 - 5 (a return) online
    assert p.loc["重要价值客户", "channel_mix"] == "门店 (71%), 电商 (29%)"
    assert "region_mix" not in p.columns and "top_categories" not in p.columns


def test_class_profile_errors_and_empty():
    with pytest.raises(SchemaError, match="segment"):
        class_profile(CUSTOMERS, "segment")
    with pytest.raises(SchemaError, match="top_n"):
        class_profile(CUSTOMERS, "rfm8", top_n=0)
    assert len(class_profile(CUSTOMERS.iloc[:0], "rfm8").to_pandas()) == 0
