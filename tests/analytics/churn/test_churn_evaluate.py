"""Out-of-time evaluation: the measures by hand, and the model against the baselines."""

from __future__ import annotations

import numpy as np
import pytest

from kehu.analytics.churn import calibration_bins, evaluate_churn, top_decile_lift
from kehu.exceptions import SchemaError


def test_top_decile_lift_by_hand():
    y = np.array([1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1])
    score = np.arange(20.0)[::-1]  # customer 0 has the highest score
    # top 2 of 20: both churned; rate 1.0 against 3/20 overall
    assert top_decile_lift(y, score) == pytest.approx(1.0 / (3 / 20))
    # everyone tied: the top decile has the overall rate
    assert top_decile_lift(y, np.zeros(20)) == pytest.approx(1.0)
    # 1 clear top, then 4 tied (2 churned) for the one remaining place: (1 + 0.5) / 2
    y2 = np.array([1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    s2 = np.array([9, 5, 5, 5, 5] + [0] * 15, dtype=float)
    assert top_decile_lift(y2, s2) == pytest.approx((1.5 / 2) / (3 / 20))
    assert np.isnan(top_decile_lift(np.zeros(5), np.arange(5.0)))


def test_calibration_bins_by_hand():
    y = np.array([0, 1, 1, 1, 0])
    p = np.array([0.05, 0.15, 0.95, 1.0, 0.12])
    bins = calibration_bins(y, p)
    assert [b["customers"] for b in bins] == [1, 2, 2]  # empty bins left out
    assert bins[1]["predicted"] == pytest.approx(0.135) and bins[1]["observed"] == 0.5
    assert bins[2]["bin_low"] == 0.9 and bins[2]["observed"] == 1.0


def test_overlapping_cutoffs_are_refused(simulated):
    with pytest.raises(SchemaError, match="at least 90 days after"):
        evaluate_churn(
            simulated[0], train_cutoff="2024-03-01", test_cutoff="2024-04-01", horizon_days=90
        )


def test_test_horizon_must_be_observed(simulated):
    with pytest.raises(SchemaError, match="labels would be incomplete"):
        evaluate_churn(
            simulated[0], train_cutoff="2024-06-01", test_cutoff="2024-12-01", horizon_days=90
        )


def _assert_beats_baselines(result):
    m = result["metrics"]
    for base in ("recency", "bgnbd"):
        assert m["model"]["roc_auc"] > m[base]["roc_auc"], base
        assert m["model"]["pr_auc"] > m[base]["pr_auc"], base
    assert m["recency"]["brier"] is None and m["recency"]["calibration"] is None
    assert 0 < m["model"]["brier"] < m["bgnbd"]["brier"]
    assert sum(b["customers"] for b in m["model"]["calibration"]) == result["test_customers"]


def test_beats_both_baselines_on_simulated_churn(simulated):
    orders, truth = simulated
    r = evaluate_churn(
        orders,
        train_cutoff="2024-03-01",
        test_cutoff="2024-06-01",
        horizon_days=90,
        return_scores=True,
    )
    _assert_beats_baselines(r)
    assert r["metrics"]["model"]["roc_auc"] > 0.9
    # the known truth: customers already gone at the test cut-off get the higher risks
    s = r["scores"].merge(truth, on="customer_id")
    gone = s["churned_at"] < np.datetime64("2024-06-01")
    assert s.loc[gone, "model"].mean() > s.loc[~gone, "model"].mean() + 0.5
    # calibrated: mean predicted risk within 5 points of the observed churn rate
    assert abs(s["model"].mean() - r["test_churn_rate"]) < 0.05


@pytest.mark.realdata
def test_beats_both_baselines_on_online_retail(online_retail_orders):
    r = evaluate_churn(
        online_retail_orders,
        train_cutoff="2011-06-01",
        test_cutoff="2011-09-01",
        horizon_days=90,
    )
    assert r["train_customers"] > 2500 and r["test_customers"] > 3000
    _assert_beats_baselines(r)
    assert r["metrics"]["model"]["roc_auc"] > 0.7
    assert r["metrics"]["model"]["top_decile_lift"] > 1.3
