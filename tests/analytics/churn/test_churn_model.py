"""ChurnModel: fit, risk, reasons in words, persistence and errors."""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest

from kehu.analytics.churn import REASON_GROUPS, ChurnModel, churn_dataset, simulate_churn
from kehu.analytics.churn.reasons import top_reasons
from kehu.analytics.recommend import Recommender
from kehu.exceptions import ConfigError, KehuError, ModelFileError, NotFittedError, SchemaError

CUT = "2024-03-01"


@pytest.fixture(scope="module")
def small():
    orders, truth = simulate_churn(1500, seed=7)
    return orders, truth


@pytest.fixture(scope="module")
def fitted(small):
    return ChurnModel(horizon_days=90).fit(small[0], cutoff=CUT)


def test_fit_records_the_split(fitted, small):
    assert str(fitted.cutoff_) == CUT
    data = churn_dataset(small[0], cutoff=CUT, horizon_days=90)
    # the cut-off's customers; the rows also count the snapshots of 30 and 60 days before
    assert fitted.n_customers_ == len(data)
    earlier = [
        len(churn_dataset(small[0], cutoff=c, horizon_days=90))
        for c in ("2024-01-31", "2024-01-01")
    ]
    assert fitted.n_rows_ == len(data) + sum(earlier)
    assert fitted.churn_rate_ == pytest.approx(data["churned"].mean())
    # no product master: categories are never known, so the model drops them
    assert "distinct_categories" not in fitted.features_
    assert {"recency_days", "last_spend_ratio", "recency_max_ratio"} <= set(fitted.features_)
    assert fitted.reference_["recency_days"] == data["recency_days"].median()


def test_snapshots_before_the_first_order_are_skipped(small):
    # the data start on 2022-01-01: of cut-offs 2022-03-01, 2021-12-01 and 2021-09-01 one is left
    m = ChurnModel(horizon_days=30, snapshot_days=90, cv=3).fit(small[0], cutoff="2022-03-01")
    assert m.n_rows_ == m.n_customers_
    one = ChurnModel(horizon_days=30, snapshots=1, cv=3).fit(small[0], cutoff="2022-03-01")
    assert one.n_rows_ == one.n_customers_ == m.n_customers_


def test_calibration_folds_keep_a_customer_together(small):
    data = pd.concat(
        [
            churn_dataset(small[0], cutoff=c, horizon_days=90).assign(snapshot=pd.Timestamp(c))
            for c in ("2024-02-01", CUT)
        ],
        ignore_index=True,
    )
    m = ChurnModel(horizon_days=90).fit_dataset(data, cutoff=CUT)
    ids = data["customer_id"].to_numpy()
    for train, test in m.estimator_.cv:
        assert not set(ids[train]) & set(ids[test])
    assert m.n_customers_ == (data["snapshot"] == pd.Timestamp(CUT)).sum() < m.n_rows_


def test_predict_ranks_customers_who_already_dropped_out_higher(fitted, small):
    orders, truth = small
    pred = fitted.predict(orders, as_of="2024-06-01")
    assert list(pred.columns) == ["customer_id", "churn_risk", "churn_reasons"]
    assert pred["churn_risk"].between(0, 1).all()
    assert pred["churn_risk"].is_monotonic_decreasing
    dead = truth.set_index("customer_id")["churned_at"] < pd.Timestamp("2024-06-01")
    risk = pred.set_index("customer_id")["churn_risk"]
    gone = dead.reindex(risk.index)
    assert risk[gone].mean() > risk[~gone].mean() + 0.4


def test_reasons_in_both_languages(fitted, small):
    orders = small[0]
    en = fitted.predict(orders, as_of="2024-06-01")
    zh = fitted.predict(orders, as_of="2024-06-01", language="zh", max_reasons=2)
    assert (en["customer_id"] == zh["customer_id"]).all()
    top = en.iloc[0]
    assert top["churn_risk"] > 0.9
    assert "days since" in top["churn_reasons"]
    # the falling baskets of the customers who started to drift away, in words
    assert en["churn_reasons"].str.contains("% of the usual").any()
    assert zh["churn_reasons"].str.contains("平常的").any()
    assert "距" in zh.iloc[0]["churn_reasons"] or "概率" in zh.iloc[0]["churn_reasons"]
    assert all(r.count("；") <= 1 for r in zh["churn_reasons"])
    # the high-risk customers get reasons; risk-lowering groups are never named
    assert (en.loc[en["churn_risk"] > 0.5, "churn_reasons"] != "").all()


def test_contributions_point_the_right_way(fitted, small):
    f = churn_dataset(small[0], cutoff="2024-06-01", horizon_days=90)
    c = fitted.contributions(f)
    assert set(c.columns) <= set(REASON_GROUPS) and len(c) == len(f)
    # long silence raises the risk through the recency group, recent buyers lower it
    long_silent = f["recency_days"] > 300
    recent = f["recency_days"] < 15
    assert c.loc[long_silent, "recency"].mean() > 0.05
    assert c.loc[recent, "recency"].mean() < 0


def test_top_reasons_by_hand():
    contrib = pd.DataFrame({"recency": [0.30, -0.1, 0.005], "trend": [0.10, -0.2, 0.02]})
    texts = pd.DataFrame({"recency": ["R0", "R1", "R2"], "trend": ["T0", "T1", "T2"]})
    got = top_reasons(contrib, texts, max_reasons=3)
    assert list(got) == ["R0; T0", "", "T2"]
    assert list(top_reasons(contrib, texts, max_reasons=1)) == ["R0", "", "T2"]
    assert list(top_reasons(contrib, texts, language="zh")) == ["R0；T0", "", "T2"]


def test_save_and_load_give_the_same_predictions(fitted, small, tmp_path):
    path = fitted.save(tmp_path / "churn.pkl")
    again = ChurnModel.load(path)
    assert again.get_params() == fitted.get_params()
    f = churn_dataset(small[0], cutoff="2024-06-01", horizon_days=90)
    np.testing.assert_allclose(again.risk(f), fitted.risk(f))
    (tmp_path / "junk.pkl").write_bytes(b"not a pickle")
    with pytest.raises(KehuError, match="cannot read a saved churn model"):
        ChurnModel.load(tmp_path / "junk.pkl")
    # identical, not merely close: the same trees and calibrators
    np.testing.assert_array_equal(again.risk(f), fitted.risk(f))
    pd.testing.assert_frame_equal(again.explain(f), fitted.explain(f))
    assert (again.cutoff_, again.features_) == (fitted.cutoff_, fitted.features_)
    assert again.reference_ == pytest.approx(fitted.reference_, nan_ok=True)


def test_isotonic_round_trip_other_kinds_and_pickles(small, tmp_path):
    m = ChurnModel(horizon_days=90, calibration="isotonic", snapshots=1, cv=3)
    m.fit(small[0], cutoff=CUT)
    path = m.save(tmp_path / "churn.zip")
    f = churn_dataset(small[0], cutoff="2024-06-01", horizon_days=90)
    np.testing.assert_array_equal(ChurnModel.load(path).risk(f), m.risk(f))
    with pytest.raises(ModelFileError, match="holds a ChurnModel, not a Recommender"):
        Recommender.load(path)
    old = tmp_path / "old.pkl"  # what older versions wrote: refused, never unpickled
    old.write_bytes(pickle.dumps({"format": 1, "model": "ChurnModel"}))
    with pytest.raises(ModelFileError, match="pickle"):
        ChurnModel.load(old)


def test_a_failed_save_leaves_the_earlier_file(fitted, tmp_path, monkeypatch):
    path = fitted.save(tmp_path / "churn.zip")
    before = path.read_bytes()

    def disk_full(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", disk_full)  # fails mid-file
    with pytest.raises(OSError, match="disk full"):
        fitted.save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["churn.zip"]


def test_default_cutoff_is_the_latest_observed(small):
    m = ChurnModel(horizon_days=60, cv=3).fit(small[0])
    last = pd.Timestamp(small[0]["order_time"].max()).date()
    assert (m.cutoff_ - last).days == -59  # day after the last order, minus the horizon


def test_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted"):
        ChurnModel().predict(pd.DataFrame({"customer_id": [], "order_time": [], "amount": []}))
    with pytest.raises(NotFittedError):
        ChurnModel().save("x.pkl")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"horizon_days": 0}, SchemaError, "horizon_days must be a positive"),
        ({"horizon_days": -30}, SchemaError, "horizon_days must be a positive"),
        ({"model": "xgboost"}, ConfigError, "model must be one of hgb"),
        ({"calibration": "platt"}, ConfigError, "calibration must be one of sigmoid, isotonic"),
        ({"snapshots": 0}, ConfigError, "snapshots must be a whole number"),
        ({"snapshots": 1.5}, ConfigError, "snapshots must be a whole number"),
        ({"snapshot_days": 0}, SchemaError, "snapshot_days must be a positive"),
        ({"cv": 1}, ConfigError, "cv must be"),
    ],
)
def test_bad_parameters(small, kwargs, error, match):
    with pytest.raises(error, match=match):
        ChurnModel(**kwargs).fit(small[0], cutoff=CUT)


def test_bad_prediction_options(fitted, small):
    with pytest.raises(ConfigError, match="language"):
        fitted.predict(small[0], as_of="2024-06-01", language="fr")
    with pytest.raises(ConfigError, match="max_reasons"):
        fitted.predict(small[0], as_of="2024-06-01", max_reasons=0)


def test_nothing_to_learn_when_everyone_churns():
    orders = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(20)] + ["z"],
            "order_time": pd.to_datetime(["2024-01-01"] * 20 + ["2024-06-30"]),
            "amount": [1.0] * 21,
        }
    )
    # 20 customers at the cut-off and 20 at the snapshot 30 days before; none before that
    with pytest.raises(SchemaError, match="40 churned and 0 did not"):
        ChurnModel(horizon_days=30).fit(orders, cutoff="2024-02-01")


def test_cutoff_with_no_data(small):
    with pytest.raises(SchemaError, match="no customer bought anything before the cut-off"):
        ChurnModel().fit(small[0], cutoff="2020-01-01")
