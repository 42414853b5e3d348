"""Recommender: interactions, model weights by hand, fallbacks, opt-out, re-buy, saving."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from kehu.analytics.clv import BetaGeoModel
from kehu.analytics.recommend import Recommender, interactions
from kehu.analytics.recommend.models import _top_per_column, ease_weights, itemknn_weights
from kehu.exceptions import ConfigError, ModelFileError, NotFittedError, SchemaError


def lines(rows: list[tuple]) -> pd.DataFrame:
    """Order lines from (customer, order, day, product, quantity) tuples (2024-01-day)."""
    df = pd.DataFrame(rows, columns=["customer_id", "order_id", "day", "product_id", "quantity"])
    df["order_time"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(df.pop("day") - 1, unit="D")
    df["amount"] = df["quantity"] * 2.0
    df["is_return"] = df["quantity"] < 0
    return df


# c1 bought a and b, c2 a, c3 b; d is bought once by c4 (least popular)
SMALL = lines(
    [
        ("c1", "o1", 1, "a", 1),
        ("c1", "o1", 1, "b", 1),
        ("c2", "o2", 2, "a", 3),
        ("c3", "o3", 3, "b", 1),
        ("c4", "o4", 4, "d", 1),
    ]
)


# --- interactions ------------------------------------------------------------------------
def test_interactions_net_returns_and_drop_lines_without_customer_or_product():
    df = lines(
        [
            ("c1", "o1", 1, "a", 2),
            ("c1", "o2", 5, "a", 1),
            ("c1", "r1", 6, "a", -1),  # partial return: still a buyer of a
            ("c1", "o3", 7, "b", 1),
            ("c1", "r2", 8, "b", -1),  # b fully returned: dropped
            (None, "o4", 1, "a", 5),
            ("c2", "o5", 1, None, 5),
        ]
    )
    got = interactions(df).to_pandas().sort_values(["customer_id", "product_id"])
    assert got[["customer_id", "product_id"]].values.tolist() == [["c1", "a"]]
    row = got.iloc[0]
    assert (row.orders, row.days, row.quantity) == (2, 2, 2.0)
    assert (
        str(row.first_purchase)[:10] == "2024-01-01" and str(row.last_purchase)[:10] == "2024-01-05"
    )


def test_interactions_time_cut():
    got = interactions(SMALL, before="2024-01-03", since="2024-01-02").to_pandas()
    assert got[["customer_id", "product_id"]].values.tolist() == [["c2", "a"]]


# --- model weights, by hand --------------------------------------------------------------
X = sp.csr_matrix(np.array([[1, 1], [1, 0], [0, 1]], dtype=np.float32))


def test_ease_weights_by_hand():
    # G = X'X + I = [[3, 1], [1, 3]]; P = G^-1 = [[3, -1], [-1, 3]] / 8; B_ab = -P_ab / P_bb = 1/3
    w = ease_weights(X, l2=1.0)
    np.testing.assert_allclose(w, [[0, 1 / 3], [1 / 3, 0]], atol=1e-6)


def test_itemknn_weights_by_hand():
    # co-count 1, two buyers each: 1 / (sqrt(2 * 2) + shrink)
    np.testing.assert_allclose(itemknn_weights(X, 10, 0.0).toarray(), [[0, 0.5], [0.5, 0]])
    np.testing.assert_allclose(itemknn_weights(X, 10, 1.0).toarray(), [[0, 1 / 3], [1 / 3, 0]])


def test_top_per_column_keeps_largest_per_column():
    m = sp.csr_matrix(np.array([[0, 5, 1], [3, 0, 2], [4, 1, 0]], dtype=float))
    np.testing.assert_array_equal(
        _top_per_column(m, 1).toarray(), [[0, 5, 0], [0, 0, 2], [4, 0, 0]]
    )


# --- recommend --------------------------------------------------------------------------------
def test_personal_recommendation_by_hand():
    rec = Recommender(k=3, l2=1.0).fit(SMALL)
    assert list(rec.items_) == ["a", "b", "d"]  # by buyers, then id
    assert list(rec.item_customers_) == [2, 2, 1]
    got = rec.recommend(["c2"])
    # only a is seen; b scores B_ab = 1/3 (d never co-bought: 0)
    assert got.product_id.tolist() == ["b", "d"]
    assert got.score.iloc[0] == pytest.approx(1 / 3, abs=1e-6)
    assert got.reason.tolist() == ["personal", "personal"]
    assert got.because.iloc[0] == "a" and pd.isna(got.because.iloc[1])
    assert got["rank"].tolist() == [1, 2]
    assert list(got.columns) == ["customer_id", "rank", "product_id", "score", "reason", "because"]


def test_exclude_seen_false_can_return_bought_products():
    rec = Recommender(k=3, l2=1.0).fit(SMALL)
    got = rec.recommend(["c1"], exclude_seen=False)
    assert set(got.product_id) == {"a", "b", "d"}
    assert rec.recommend(["c1"]).product_id.tolist() == ["d"]  # all else seen


def test_itemknn_model_and_zero_scores_marked_popular():
    rec = Recommender(k=3, model="itemknn", shrink=0.0).fit(SMALL)
    got = rec.recommend(["c2"])
    assert got.product_id.tolist() == ["b", "d"]
    assert got.score.tolist() == pytest.approx([0.5, 0.0])
    assert got.reason.tolist() == ["personal", "popular"]


def test_new_customers_get_segment_then_global_popularity():
    segs = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c3", "c4", "n1", "n2"],
            "segment": ["x", "x", "y", "y", "x", "z"],
        }
    )
    rec = Recommender(k=2, min_segment_customers=2).fit(SMALL, segs)
    assert list(rec.segments_) == ["x", "y"] and list(rec.segment_customers_) == [2, 2]
    got = rec.recommend(["n1", "n2", "zz"])
    n1 = got[got.customer_id == "n1"]
    # segment x: a bought by c1, c2 (2), b by c1 (1)
    assert n1.product_id.tolist() == ["a", "b"] and set(n1.reason) == {"segment_popular"}
    assert n1.score.tolist() == [2.0, 1.0]
    for cid in ("n2", "zz"):  # segment z has no buyers, zz is unknown: global list
        g = got[got.customer_id == cid]
        assert g.product_id.tolist() == ["a", "b"] and set(g.reason) == {"popular"}
    assert got.customer_id.drop_duplicates().tolist() == ["n1", "n2", "zz"]  # input order kept


def test_small_segment_falls_back_to_global():
    segs = pd.DataFrame({"customer_id": ["c3", "c4", "n1"], "segment": ["y", "y", "y"]})
    rec = Recommender(k=2, min_segment_customers=3).fit(SMALL, segs)
    got = rec.recommend(["n1"])
    assert set(got.reason) == {"popular"}


def test_opt_out_gets_the_same_non_personal_list():
    rec = Recommender(k=2, l2=1.0).fit(SMALL)
    got = rec.recommend(["c1", "c2"], opt_out={"c1", "c2"})
    assert set(got.reason) == {"opt_out"}
    assert got[got.customer_id == "c1"].product_id.tolist() == ["a", "b"]  # seen items not removed
    assert got[got.customer_id == "c2"].product_id.tolist() == ["a", "b"]
    assert got.because.isna().all()
    flag = pd.Series([True, False], index=["c1", "c2"])
    mixed = rec.recommend(["c1", "c2"], opt_out=flag)
    assert set(mixed[mixed.customer_id == "c1"].reason) == {"opt_out"}
    assert set(mixed[mixed.customer_id == "c2"].reason) == {"personal"}


def test_default_customers_are_all_known():
    segs = pd.DataFrame({"customer_id": ["new"], "segment": ["x"]})
    got = Recommender(k=1).fit(SMALL, segs).recommend()
    assert sorted(got.customer_id.unique()) == ["c1", "c2", "c3", "c4", "new"]


def test_ties_go_to_the_more_popular_then_smaller_id():
    df = lines(
        [
            ("c1", "o1", 1, "z", 1),
            ("c2", "o2", 1, "y", 1),
            ("c3", "o3", 1, "y", 1),
            ("c4", "o4", 1, "x", 1),
        ]
    )
    rec = Recommender(k=3).fit(df)
    assert list(rec.items_) == ["y", "x", "z"]
    assert rec.recommend(["new"]).product_id.tolist() == ["y", "x", "z"]


# --- re-buy ---------------------------------------------------------------------------------
REGULAR = lines(
    [
        ("c1", "o1", 1, "milk", 1),
        ("c1", "o2", 11, "milk", 1),
        ("c1", "o3", 21, "milk", 1),
        ("c1", "o3", 21, "tea", 1),
        ("c2", "o4", 21, "milk", 1),
        ("c2", "o4", 21, "bread", 1),
    ]
)


def test_rebuy_due_after_usual_interval():
    rec = Recommender(k=3).fit(REGULAR, as_of="2024-02-01")  # fit on everything before Feb 1
    cand = rec.rebuy_candidates_
    assert cand[["customer_id", "product_id", "purchases"]].values.tolist() == [["c1", "milk", 3]]
    assert cand.interval_days.iloc[0] == 10.0
    # last milk on Jan 21, interval 10 days
    assert rec.rebuy(as_of="2024-01-30").empty  # 9 days: not yet
    due = rec.rebuy(as_of="2024-01-31")  # 10 days: due, score 1
    assert due[["customer_id", "product_id", "score", "reason"]].values.tolist() == [
        ["c1", "milk", 1.0, "rebuy_due"]
    ]
    assert rec.rebuy(as_of="2024-02-20").score.tolist() == [pytest.approx(10 / 30)]
    assert rec.rebuy(as_of="2024-02-21").empty  # 31 days > 3 intervals: lapsed


def test_rebuy_and_mix_modes():
    rec = Recommender(k=2, l2=1.0).fit(REGULAR)  # as_of_ = Jan 22
    assert rec.as_of_.isoformat() == "2024-01-22"
    assert rec.recommend(["c1"], mode="rebuy").empty
    mix = rec.recommend(["c1"], mode="mix", as_of="2024-01-31")
    assert mix.product_id.tolist() == ["milk", "bread"]
    assert mix.reason.tolist() == ["rebuy_due", "personal"]
    assert mix["rank"].tolist() == [1, 2]
    only = rec.recommend(["c1", "c2", "new"], mode="rebuy", as_of="2024-01-31")
    assert only.customer_id.tolist() == ["c1"]
    assert rec.recommend(["c1"], mode="rebuy", as_of="2024-01-31", opt_out={"c1"}).empty
    opted = rec.recommend(["c1"], mode="mix", as_of="2024-01-31", opt_out={"c1"})
    assert set(opted.reason) == {"opt_out"}


def test_rebuy_min_purchases_parameter():
    rec = Recommender(rebuy_min_purchases=2).fit(REGULAR)
    assert rec.rebuy_candidates_.product_id.tolist() == ["milk"]
    assert rec.rebuy_candidates_.purchases.tolist() == [3]


# --- persistence and errors --------------------------------------------------------------
@pytest.mark.parametrize("model", ["ease", "itemknn"])
def test_save_and_load_round_trip(tmp_path, model):
    segs = pd.DataFrame({"customer_id": ["c1", "c2", "new"], "segment": ["x", "x", "x"]})
    rec = Recommender(k=3, model=model, min_segment_customers=1).fit(REGULAR, segs)
    path = rec.save(tmp_path / "rec.npz")
    back = Recommender.load(path)
    assert back.get_params() == rec.get_params()
    assert back.as_of_ == rec.as_of_
    for mode in ("new", "mix"):
        a = rec.recommend(mode=mode, as_of="2024-01-31")
        b = back.recommend(mode=mode, as_of="2024-01-31")
        pd.testing.assert_frame_equal(a, b)
    assert len(a) > 0


def test_load_refuses_pickles_and_other_models_and_saves_atomically(tmp_path, monkeypatch):
    rec = Recommender(k=3).fit(REGULAR)
    path = rec.save(tmp_path / "rec.zip")
    before = path.read_bytes()
    old = tmp_path / "old.pkl"
    old.write_bytes(pickle.dumps({"format": "kehu-recommender/1"}))
    with pytest.raises(ModelFileError, match="pickle"):
        Recommender.load(old)
    with pytest.raises(ModelFileError, match="holds a Recommender, not a BetaGeoModel"):
        BetaGeoModel.load(path)

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", disk_full)
    with pytest.raises(OSError, match="disk full"):
        rec.save(path)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["old.pkl", "rec.zip"]


def test_load_rejects_other_files(tmp_path):
    bad = tmp_path / "x.npz"
    bad.write_bytes(b"not a model")
    with pytest.raises(SchemaError, match="not a saved kehu recommender"):
        Recommender.load(bad)


def test_not_fitted():
    with pytest.raises(NotFittedError, match="fit"):
        Recommender().recommend(["c1"])
    with pytest.raises(NotFittedError):
        Recommender().save("x.npz")


@pytest.mark.parametrize(
    "params",
    [
        {"model": "als"},
        {"k": 0},
        {"l2": 0.0},
        {"max_items": -1},
        {"rebuy_min_purchases": 1},
        {"rebuy_max_overdue": 0.5},
    ],
)
def test_bad_parameters(params):
    with pytest.raises(ConfigError):
        Recommender(**params).fit(SMALL)


def test_bad_inputs():
    with pytest.raises(SchemaError, match="product_id"):
        Recommender().fit(SMALL.drop(columns="product_id"))
    with pytest.raises(SchemaError, match="no purchase lines"):
        Recommender().fit(SMALL.iloc[:0])
    with pytest.raises(SchemaError, match="segment"):
        Recommender().fit(SMALL, pd.DataFrame({"customer_id": ["c1"]}))
    with pytest.raises(SchemaError, match="more than one segment"):
        Recommender().fit(SMALL, pd.DataFrame({"customer_id": ["c1", "c1"], "segment": ["x", "y"]}))
    rec = Recommender().fit(SMALL)
    with pytest.raises(ConfigError, match="mode"):
        rec.recommend(mode="later")
    with pytest.raises(ConfigError, match="k"):
        rec.recommend(k=0)


def test_empty_customer_list():
    got = Recommender().fit(SMALL).recommend([])
    assert got.empty and list(got.columns) == [
        "customer_id",
        "rank",
        "product_id",
        "score",
        "reason",
        "because",
    ]
