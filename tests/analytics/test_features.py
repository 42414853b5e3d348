"""customer_features and the exact discrete quantile, on hand-made and real data."""

from __future__ import annotations

import datetime as dt
import math

import ibis
import pandas as pd
import pytest

from kehu.analytics.features import (
    CUSTOMER_FEATURE_COLUMNS,
    customer_features,
    discrete_quantile,
    quantile_values,
)
from kehu.exceptions import SchemaError

D = pd.Timestamp


def _orders() -> pd.DataFrame:
    rows = [
        # customer, order, time, product, qty, amount, return
        ("a", "o1", "2024-01-01 09:00", "p1", 2, 20.0, False),
        ("a", "o1", "2024-01-01 09:00", "p2", 1, 50.0, False),
        ("a", "o2", "2024-01-11 10:00", "p1", 1, 10.0, False),
        ("a", "o3", "2024-01-21 11:00", "p3", 4, 40.0, False),
        ("a", "o3r", "2024-01-25 12:00", "p3", -1, -10.0, True),
        ("b", "o4", "2024-01-15 08:00", "p2", 1, 50.0, False),
        ("b", "o4", "2024-01-15 08:00", "p4", 1, 5.0, False),
        ("c", "o5", "2024-01-30 18:00", None, 3, 30.0, False),
        ("d", "o6", "2024-01-20 07:00", "p1", 1, 10.0, False),
        ("d", "o6", "2024-01-20 07:00", "p4", 2, 10.0, False),
        (None, "o7", "2024-01-20 07:00", "p2", 9, 450.0, False),  # anonymous: ignored
    ]
    df = pd.DataFrame(
        rows,
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
    df["order_time"] = pd.to_datetime(df.order_time)
    df["quantity"] = df.quantity.astype(float)
    return df


PRODUCTS = pd.DataFrame(
    {
        "product_id": ["p1", "p2", "p3", "p4"],
        "category": ["tea", "wine", "tea", "snack"],
        "brand": ["X", "Y", "Y", "X"],
        "price": [10.0, 50.0, None, 5.0],
    }
)

CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "z"],
        "country": ["CN", "CN", "CN"],
        "province": ["浙江", None, "江苏"],
        "channel": ["超市", "便利店", "餐饮"],
        "area_type": ["城市", "农村", "城市"],
    }
)


@pytest.fixture(scope="module")
def feats() -> pd.DataFrame:
    f = customer_features(
        _orders(), products=PRODUCTS, customers=CUSTOMERS, as_of="2024-02-01"
    ).to_pandas()
    return f.set_index("customer_id")


def test_columns_and_customers(feats):
    assert tuple(feats.reset_index().columns) == CUSTOMER_FEATURE_COLUMNS
    # master row z has no purchase: not added; the anonymous line is ignored
    assert sorted(feats.index) == ["a", "b", "c", "d"]


def test_rfm_part_comes_from_rfm_summary(feats):
    a = feats.loc["a"]
    # last purchase 2024-01-21 (the return does not count); as_of 2024-02-01
    assert a.recency_days == 11
    assert a.orders == 3  # o1, o2, o3; the return order o3r is not an order
    assert a.monetary == pytest.approx(110.0)  # 20 + 50 + 10 + 40 - 10


def test_volume_breadth_and_rhythm(feats):
    a, b, c = feats.loc["a"], feats.loc["b"], feats.loc["c"]
    assert a.quantity == 7  # 2 + 1 + 1 + 4 - 1 (net units)
    assert a.distinct_products == 3  # p1, p2, p3
    assert a.purchase_days == 3  # 01-01, 01-11, 01-21
    assert a.prev_purchase == D("2024-01-11")
    assert a.mean_gap_days == pytest.approx(10.0)  # 20 days / (3 - 1)
    assert a.tenure_days == 31  # 2024-02-01 - 2024-01-01
    assert b.quantity == 2
    assert b.purchase_days == 1
    assert pd.isna(b.prev_purchase)
    assert pd.isna(b.mean_gap_days)
    assert b.tenure_days == 17
    # c bought only lines without a product id
    assert c.quantity == 3
    assert pd.isna(c.distinct_products)
    assert pd.isna(c.premium_share)


def test_premium_share(feats):
    # unit prices: p1 10, p2 50, p3 (no master price) 40 / 4 = 10, p4 5.
    # Sorted 5, 10, 10, 50: the 0.8-quantile is the 4th value (0.8 * 4 = 3.2 -> 4th) = 50,
    # so only p2 is premium.
    assert feats.loc["a"].premium_share == pytest.approx(50 / 120)  # purchases 20+50+10+40
    assert feats.loc["b"].premium_share == pytest.approx(50 / 55)
    assert feats.loc["d"].premium_share == 0.0  # bought, but nothing premium


def test_premium_share_other_quantile_and_line_prices():
    # q = 0.5 -> 2nd of 5, 10, 10, 50 = 10: p1, p2, p3 premium, p4 not
    f = customer_features(_orders(), products=PRODUCTS, as_of="2024-02-01", premium_quantile=0.5)
    f = f.to_pandas().set_index("customer_id")
    assert f.loc["b"].premium_share == pytest.approx(50 / 55)
    assert f.loc["d"].premium_share == pytest.approx(10 / 20)
    # without a product master the line prices give the same unit prices here
    # (p1 30/3, p2 50/1, p3 40/4, p4 15/3) -> same shares as with the master
    g = customer_features(_orders(), as_of="2024-02-01").to_pandas().set_index("customer_id")
    assert g.loc["a"].premium_share == pytest.approx(50 / 120)
    assert g.loc["a"].top_category is None or pd.isna(g.loc["a"].top_category)


def test_equal_line_prices_tie_whatever_the_float_sums():
    # p1's unit price is (0.1 + 0.2) / 2 = 0.15000000000000002 in binary floating
    # point, p2's 0.3 / 2 = 0.15: the same price, so both or neither are premium.
    # Sorted 0.15, 0.15, 1.0, the discrete 2/3-quantile is 0.15: all three are.
    orders = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c"],
            "order_time": pd.to_datetime(["2024-01-02"] * 4),
            "product_id": ["p1", "p1", "p2", "p3"],
            "quantity": [1.0, 1.0, 2.0, 1.0],
            "amount": [0.1, 0.2, 0.3, 1.0],
        }
    )
    f = customer_features(orders, as_of="2024-02-01", premium_quantile=2 / 3)
    shares = f.to_pandas().set_index("customer_id").premium_share
    assert shares.to_dict() == {"a": 1.0, "b": 1.0, "c": 1.0}


def test_top_category_and_brand(feats):
    # a: tea 20 + 10 + 40 - 10 = 60 > wine 50; brand Y 50 + 30 = 80 > X 30
    assert feats.loc["a"].top_category == "tea"
    assert feats.loc["a"].top_brand == "Y"
    assert feats.loc["b"].top_category == "wine"
    # d: tea 10 and snack 10 tie -> the smaller name wins
    assert feats.loc["d"].top_category == "snack"
    assert feats.loc["d"].top_brand == "X"
    assert pd.isna(feats.loc["c"].top_category)


def test_attributes_and_region(feats):
    assert feats.loc["a"].province == "浙江"
    assert feats.loc["a"].region == "浙江"
    assert feats.loc["a"].channel == "超市"
    assert feats.loc["b"].region == "CN"  # no province: falls back to country
    assert pd.isna(feats.loc["c"].region)  # no master row
    assert pd.isna(feats.loc["c"].channel)
    assert feats.city.isna().all()  # not in the master: present and null


def test_premium_from_master_prices_only_or_not_at_all():
    o = pd.DataFrame(
        {
            "customer_id": ["a", "b"],
            "order_time": pd.to_datetime(["2024-01-01", "2024-01-02"]),
            "product_id": ["p1", "p2"],
            "amount": [5.0, 6.0],
        }
    )
    # no quantities or line prices: the master prices 1 and 9 decide (0.8-quantile = 9)
    priced = pd.DataFrame({"product_id": ["p1", "p2"], "price": [1.0, 9.0]})
    f = customer_features(o, products=priced).to_pandas().set_index("customer_id")
    assert f.premium_share.to_dict() == {"a": 0.0, "b": 1.0}
    # nothing to price products with: unknown, not zero
    unpriced = pd.DataFrame({"product_id": ["p1", "p2"], "brand": ["x", "y"]})
    g = customer_features(o, products=unpriced).to_pandas().set_index("customer_id")
    assert g.premium_share.isna().all()
    assert g.top_brand.to_dict() == {"a": "x", "b": "y"}


def test_window_days():
    f = customer_features(_orders(), as_of="2024-02-01", window_days=15).to_pandas()
    f = f.set_index("customer_id")
    # window starts 2024-01-17: a keeps o3 and its return; b (01-15) drops out
    assert sorted(f.index) == ["a", "c", "d"]
    assert f.loc["a"].orders == 1
    assert f.loc["a"].monetary == pytest.approx(30.0)
    assert f.loc["a"].quantity == 3
    assert f.loc["a"].tenure_days == 11


def test_minimal_orders_and_default_as_of():
    o = _orders()[["customer_id", "order_time", "amount"]]
    f = customer_features(o).to_pandas().set_index("customer_id")
    assert f.quantity.isna().all()
    assert f.distinct_products.isna().all()
    assert f.premium_share.isna().all()
    # default as-of is the day after the last order (2024-01-30) -> 2024-01-31
    assert f.loc["c"].recency_days == 1
    # without is_return a negative amount is a return: a's last purchase stays 01-21
    assert f.loc["a"].recency_days == 10


def test_empty_orders():
    f = customer_features(_orders().iloc[:0], as_of="2024-02-01", products=PRODUCTS)
    out = f.to_pandas()
    assert len(out) == 0
    assert tuple(out.columns) == CUSTOMER_FEATURE_COLUMNS


def test_bad_premium_quantile():
    with pytest.raises(SchemaError, match="premium_quantile"):
        customer_features(_orders(), premium_quantile=1.5)


def test_products_without_id_column():
    with pytest.raises(SchemaError, match="product_id"):
        customer_features(_orders(), products=pd.DataFrame({"sku": ["p1"]}), as_of="2024-02-01")


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([4.0, 1.0, 3.0, 2.0], 0.5, 2.0),  # lower median of an even count
        ([5.0, 1.0, 3.0], 0.5, 3.0),
        (list(range(1, 11)), 0.7, 7),  # 0.7 * 10 is 7.000000000000001 in floats
        (list(range(1, 11)), 0.71, 8),
        ([3.0, None, 1.0], 1.0, 3.0),  # nulls ignored
        ([3.0, None, 1.0], 0.0, 1.0),
    ],
)
def test_discrete_quantile(values, q, expected):
    t = ibis.memtable(pd.DataFrame({"x": values}))
    assert discrete_quantile(t.x, q).execute() == expected


def test_quantile_values_empty_and_several():
    t = ibis.memtable(pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [10, 20, 30]}))
    got = quantile_values(t, {"a": ("x", 0.5), "b": ("y", 1.0)})
    assert got == {"a": 2.0, "b": 30}
    empty = t.filter(t.x > 100)
    assert quantile_values(empty, {"a": ("x", 0.5)}) == {"a": None}


@pytest.mark.realdata
def test_online_retail_invariants(shared_data):
    raw = pd.read_parquet(shared_data / "online_retail" / "online_retail.parquet")
    raw = raw[raw.CustomerID.notna()]
    orders = pd.DataFrame(
        {
            "customer_id": raw.CustomerID.astype("int64").astype(str),
            "order_id": raw.InvoiceNo,
            "order_time": raw.InvoiceDate,
            "product_id": raw.StockCode,
            "quantity": raw.Quantity.astype(float),
            "amount": raw.Quantity * raw.UnitPrice,
            "is_return": raw.InvoiceNo.str.startswith("C"),
        }
    )
    f = customer_features(orders).to_pandas().set_index("customer_id")
    # customers with at least one purchase (a few hundred only ever returned)
    buyers = orders[~orders.is_return]
    assert len(f) == buyers.customer_id.nunique()
    assert 4300 <= len(f) < 4400
    assert (f.recency_days >= 1).all()
    assert (f.tenure_days >= f.recency_days).all()
    assert (f.purchase_days <= f.orders).all()
    share = f.premium_share.dropna()  # null only where the purchases sum to <= 0 (free goods)
    assert len(share) >= len(f) - 5
    assert ((share >= 0) & (share <= 1)).all()
    # monetary and units: every line (returns included) of the customers who bought
    kept = orders[orders.customer_id.isin(f.index)]
    direct = kept.groupby("customer_id").amount.sum()
    assert f.monetary.sum() == pytest.approx(direct.sum(), rel=1e-9)
    pd.testing.assert_series_equal(
        f.monetary.sort_index(), direct.sort_index(), check_names=False, rtol=1e-6
    )
    units = kept.groupby("customer_id").quantity.sum()
    assert (f.quantity.sort_index() == units.sort_index()).all()
    orders_direct = buyers.groupby("customer_id").order_id.nunique()
    assert (f.orders.sort_index() == orders_direct.sort_index()).all()
    one_day = f.purchase_days == 1
    assert f.mean_gap_days[one_day].isna().all()
    assert f.prev_purchase[one_day].isna().all()
    assert (f.prev_purchase[~one_day] < f.last_purchase[~one_day]).all()
    assert not math.isnan(f.mean_gap_days[~one_day].mean())
    assert f.last_purchase.max() == D(dt.date(2011, 12, 9))
