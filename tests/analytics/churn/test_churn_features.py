"""Churn features and labels on hand-built orders."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from kehu.analytics.churn import CHURN_FEATURES, churn_dataset, churn_features, churn_labels
from kehu.exceptions import SchemaError


def _orders() -> pd.DataFrame:
    rows = [
        # a: purchase days 2024-01-01, 01-11, 01-21 (gaps 10, 10), one of them with two orders
        ("a", "o1", "2024-01-01", "p1", 1, 10.0, False),
        ("a", "o2", "2024-01-11", "p2", 2, 20.0, False),
        ("a", "o3", "2024-01-21", "p1", 1, 30.0, False),
        ("a", "o4", "2024-01-21 15:00", "p3", 1, 40.0, False),
        ("a", "r1", "2024-01-25", "p3", -1, -10.0, True),  # a return: not a purchase day
        # b: a single purchase, then only a return inside the horizon
        ("b", "o5", "2023-12-02", "p1", 1, 5.0, False),
        ("b", "r2", "2024-02-05", "p1", -1, -5.0, True),
        # c: buys again inside the horizon
        ("c", "o6", "2024-01-30", "p2", 1, 8.0, False),
        ("c", "o7", "2024-02-09", "p2", 1, 8.0, False),
        # d: buys after the horizon only
        ("d", "o8", "2024-01-15", "p4", 1, 50.0, False),
        ("d", "o9", "2024-02-11", "p4", 1, 50.0, False),
        # anonymous sales are never customers
        (None, "o10", "2024-01-05", "p1", 1, 99.0, False),
        # the data ends on 2024-02-20
        ("e", "o11", "2024-02-20", "p1", 1, 1.0, False),
    ]
    cols = ["customer_id", "order_id", "order_time", "product_id", "quantity", "amount"]
    cols.append("is_return")
    df = pd.DataFrame(rows, columns=cols)
    df["order_time"] = pd.to_datetime(df["order_time"], format="ISO8601")
    df["quantity"] = df["quantity"].astype(float)
    return df


PRODUCTS = pd.DataFrame({"product_id": ["p1", "p2", "p3", "p4"], "category": ["x", "x", "y", "z"]})


def test_dataset_features_and_labels_by_hand():
    d = churn_dataset(
        _orders(), cutoff="2024-02-01", horizon_days=10, trend_days=20, products=PRODUCTS
    ).set_index("customer_id")
    assert list(d.index) == ["a", "b", "c", "d"]  # e bought after the cut-off, None is anonymous
    # labels: purchase in [02-01, 02-11): only c (b's return and d's 02-11 purchase do not count)
    assert d["churned"].to_dict() == {"a": 1, "b": 1, "c": 0, "d": 1}
    a = d.loc["a"]
    assert a.recency_days == 11  # 02-01 - 01-21
    assert a.purchase_days == 3 and a.orders == 4
    assert a.mean_gap_days == 10.0 and a.last_gap_days == 10.0
    assert a.recency_ratio == pytest.approx(1.1) and a.last_gap_ratio == 1.0
    # trend windows: recent [01-12, 02-01), prior [12-23, 01-12)
    assert (a.orders_recent, a.orders_prior) == (2, 2)
    assert a.spend_recent == 30.0 + 40.0 - 10.0  # net of the return
    assert a.spend_prior == 30.0
    assert a.spend_change == pytest.approx(1.0)
    assert a.orders_change == 0
    assert a.return_share == pytest.approx(10.0 / 100.0)
    assert a.distinct_products == 3 and a.distinct_categories == 2
    assert a.tenure_days == 31
    assert a.purchase_rate == pytest.approx(30 * 3 / 31)
    # baskets per purchase day: 01-01 spend 10 (p1), 01-11 20 (p2), 01-21 70 (p1, p3)
    assert a.max_gap_days == 10.0 and a.recency_max_ratio == pytest.approx(1.1)
    assert a.last_spend_ratio == pytest.approx(70 / (100 / 3))
    assert a.last3_spend_ratio == pytest.approx(1.0)  # the last three days are all three
    assert a.last_products_ratio == pytest.approx(2 / (4 / 3))
    b = d.loc["b"]
    assert b.recency_days == 61 and math.isnan(b.mean_gap_days) and math.isnan(b.recency_ratio)
    assert (b.orders_recent, b.orders_prior, b.spend_prior) == (0, 0, 0.0)
    assert math.isnan(b.spend_change)  # no prior spend: unknown, not infinite
    # one purchase day: no gap and no usual basket to compare with
    for col in ("max_gap_days", "recency_max_ratio", "last_spend_ratio", "last_products_ratio"):
        assert math.isnan(b[col]), col
    assert d.loc["d", "distinct_categories"] == 1
    assert set(CHURN_FEATURES) <= set(d.columns)


def test_bgnbd_features_are_probabilities():
    f = churn_features(_orders(), as_of="2024-02-01")
    assert f["p_alive"].between(0, 1).all()
    # a customer without repeat purchases is "alive" for BG/NBD by construction
    assert f.set_index("customer_id").loc["b", "p_alive"] == 1.0


def test_last_baskets_against_the_usual():
    # four purchase days: spends 100, 100, 40, 20 (the last two shrinking), gaps 10, 30, 5
    days = ["2024-01-01", "2024-01-11", "2024-02-10", "2024-02-15"]
    spends = [100.0, 100.0, 40.0, 20.0]
    orders = pd.DataFrame(
        {
            "customer_id": "x",
            "order_id": [f"o{i}" for i in range(4)],
            "order_time": pd.to_datetime(days),
            "product_id": ["p1", "p2", "p3", "p1"],
            "amount": spends,
        }
    )
    # a second product on the first day, and a return on the last (not a purchase line)
    extra = pd.DataFrame(
        {
            "customer_id": ["x", "x"],
            "order_id": ["o0", "r1"],
            "order_time": pd.to_datetime(["2024-01-01", "2024-02-15"]),
            "product_id": ["p9", "p1"],
            "amount": [0.0, -20.0],
            "is_return": [False, True],
        }
    )
    orders = pd.concat([orders.assign(is_return=False), extra], ignore_index=True)
    x = churn_features(orders, as_of="2024-03-16").iloc[0]
    mean = sum(spends) / 4  # 65 per purchase day
    assert x.last_spend_ratio == pytest.approx(20 / mean)
    assert x.last3_spend_ratio == pytest.approx((100 + 40 + 20) / 3 / mean)
    assert x.last_products_ratio == pytest.approx(1 / (5 / 4))  # days with 2, 1, 1, 1 products
    assert x.max_gap_days == 30.0 and x.recency_days == 30.0
    assert x.recency_max_ratio == pytest.approx(1.0)


def test_categories_unknown_without_product_master():
    d = churn_dataset(_orders(), cutoff="2024-02-01", horizon_days=10)
    assert d["distinct_categories"].isna().all()


def test_labels_table():
    got = churn_labels(_orders(), cutoff="2024-02-01", horizon_days=11).to_pandas()
    assert sorted(got["customer_id"]) == ["c", "d"]


def test_horizon_must_be_observed():
    # the data ends on 02-20: a 10-day horizon fits from 02-11 at the latest
    assert len(churn_dataset(_orders(), cutoff="2024-02-11", horizon_days=10)) == 4
    with pytest.raises(SchemaError, match=r"labels would be incomplete.*2024-02-11"):
        churn_dataset(_orders(), cutoff="2024-02-12", horizon_days=10)


@pytest.mark.parametrize("bad", [0, -5, 1.5, True])
def test_horizon_must_be_positive_days(bad):
    with pytest.raises(SchemaError, match="horizon_days must be a positive whole number"):
        churn_dataset(_orders(), cutoff="2024-02-01", horizon_days=bad)


def test_cutoff_before_any_data():
    with pytest.raises(SchemaError, match="no customer bought anything before the cut-off 2023"):
        churn_dataset(_orders(), cutoff="2023-01-01", horizon_days=10)


def test_bad_cutoff_and_missing_columns():
    with pytest.raises(SchemaError, match="not a date"):
        churn_dataset(_orders(), cutoff="soon", horizon_days=10)
    with pytest.raises(SchemaError, match="missing column"):
        churn_dataset(_orders().drop(columns="amount"), cutoff="2024-02-01", horizon_days=10)
