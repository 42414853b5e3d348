"""Time-split evaluation: hand-computed metrics, protocol, and Online Retail against popularity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from kehu.analytics.recommend import Recommender, evaluate_split
from kehu.analytics.recommend.evaluate import ranking_metrics
from kehu.exceptions import ConfigError, SchemaError
from kehu.warehouse.options import NON_PRODUCT_CODES


def test_ranking_metrics_by_hand():
    users = np.array(["u1", "u2"], dtype=object)
    recs = pd.DataFrame(
        {
            "customer_id": ["u1", "u1", "u2", "u2"],
            "rank": [1, 2, 1, 2],
            "product_id": ["a", "b", "c", "a"],
        }
    )
    truth = pd.DataFrame(
        {"customer_id": ["u1", "u2", "u2", "u2"], "product_id": ["b", "a", "x", "y"]}
    )
    m = ranking_metrics(recs, truth, users, k=2, catalogue=6)
    # u1: hit at rank 2 of 1 relevant; u2: hit at rank 2 of 3 relevant
    assert m["precision@2"] == pytest.approx((0.5 + 0.5) / 2)
    assert m["recall@2"] == pytest.approx((1 + 1 / 3) / 2)
    d2 = 1 / np.log2(3)
    assert m["ndcg@2"] == pytest.approx((d2 / 1 + d2 / (1 + d2)) / 2)
    assert m["coverage"] == pytest.approx(3 / 6)


def test_user_without_recommendations_counts_as_zero():
    users = np.array(["u1", "u2"], dtype=object)
    recs = pd.DataFrame({"customer_id": ["u1"], "rank": [1], "product_id": ["a"]})
    truth = pd.DataFrame({"customer_id": ["u1", "u2"], "product_id": ["a", "b"]})
    m = ranking_metrics(recs, truth, users, k=1, catalogue=2)
    assert (m["precision@1"], m["recall@1"], m["ndcg@1"]) == (0.5, 0.5, 0.5)


def synthetic_orders() -> pd.DataFrame:
    """Two taste groups: customers buy within their group's products; new ones after the split."""
    rng = np.random.default_rng(0)
    rows = []
    for c in range(60):
        group = c % 2
        products = [f"g{group}p{i}" for i in range(8)]
        bought = rng.choice(products, size=5, replace=False)
        for j, p in enumerate(bought):
            day = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(10 * j + c % 7))
            rows.append((f"c{c}", f"o{c}-{j}", day, p, 1.0))
    # a popular product everyone bought before the split: never "new"
    rows += [(f"c{c}", f"z{c}", pd.Timestamp("2024-01-02"), "hit", 1.0) for c in range(60)]
    df = pd.DataFrame(
        rows, columns=["customer_id", "order_id", "order_time", "product_id", "quantity"]
    )
    df["amount"] = df["quantity"]
    df["is_return"] = False
    return df


def test_evaluate_split_protocol_and_model_beats_popularity():
    orders = synthetic_orders()
    res = evaluate_split(orders, "2024-01-25", k=3, recommender=Recommender(l2=1.0))
    assert set(res) >= {
        "customers",
        "test_products",
        "protocol",
        "model",
        "global_popularity",
        "segment_popularity",
    }
    # test items: products bought on/after Jan 25 not bought before, by customers with history
    after = orders[orders.order_time >= "2024-01-25"]
    assert res["test_products"] == len(after.drop_duplicates(["customer_id", "product_id"]))
    assert res["customers"] == after.customer_id.nunique()
    assert res["protocol"]["k"] == 3 and res["protocol"]["split_date"] == "2024-01-25"
    assert res["protocol"]["train_products"] == 17
    for metric in ("precision@3", "recall@3", "ndcg@3"):
        assert res["model"][metric] > res["global_popularity"][metric]
    # the model only suggests the customer's group's products
    assert res["model"]["precision@3"] > 0.4


def test_evaluate_split_with_segments_and_sample():
    orders = synthetic_orders()
    segs = pd.DataFrame(
        {"customer_id": [f"c{c}" for c in range(60)], "segment": [f"s{c % 2}" for c in range(60)]}
    )
    res = evaluate_split(orders, "2024-01-25", k=3, segments=segs, max_customers=10, seed=1)
    assert res["customers"] == 10
    again = evaluate_split(orders, "2024-01-25", k=3, segments=segs, max_customers=10, seed=1)
    assert res == again
    # the segment is the taste group here, so segment popularity beats global popularity
    assert res["segment_popularity"]["precision@3"] > res["global_popularity"]["precision@3"]


def test_evaluate_split_errors():
    orders = synthetic_orders()
    with pytest.raises(SchemaError, match="no customer"):
        evaluate_split(orders, "2030-01-01")
    with pytest.raises(ConfigError):
        evaluate_split(orders, "2024-01-25", k=0)
    with pytest.raises(SchemaError, match="split_date"):
        evaluate_split(orders, "soon")


# --- Online Retail (UCI): the model must beat both popularity baselines -------------------------
#: the importer's exact non-product codes (postage, fees ...), compared case-insensitively
NON_PRODUCTS = [c for c in NON_PRODUCT_CODES if not c.endswith("*")]


@pytest.fixture(scope="module")
def online_retail(shared_data):
    raw = pd.read_parquet(
        shared_data / "online_retail" / "online_retail.parquet",
        columns=["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"],
    )
    raw = raw[raw.CustomerID.notna() & ~raw.StockCode.str.upper().isin(NON_PRODUCTS)]
    return pd.DataFrame(
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


@pytest.mark.realdata
def test_online_retail_model_beats_popularity(online_retail):
    # 2,000 most popular products keep the EASE inverse quick; 1,000 evaluated customers
    res = evaluate_split(
        online_retail,
        "2011-09-01",
        k=10,
        recommender=Recommender(max_items=2000),
        max_customers=1000,
        seed=0,
    )
    assert res["customers"] == 1000
    model = res["model"]
    for base in ("global_popularity", "segment_popularity"):
        for metric in ("precision@10", "recall@10", "ndcg@10"):
            assert model[metric] > 1.5 * res[base][metric], (base, metric, model, res[base])
    assert model["coverage"] > 5 * res["global_popularity"]["coverage"]
