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


def test_top_decile_lift_is_fair_to_tied_scores():
    # 30 customers, top 3: one clear top (churned), then 5 tied (3 churned) for the two
    # places left: 1 + 2 x 3/5 = 2.2 expected churners, against 5/30 overall
    y = np.array([1, 1, 1, 1, 0, 0] + [0] * 23 + [1])
    step = np.array([0.95] + [0.8] * 5 + [0.1] * 24)  # e.g. isotonic steps
    expected = (2.2 / 3) / (5 / 30)  # 4.4
    assert top_decile_lift(y, step) == pytest.approx(expected)
    # the order of the customers (and so of the tied ones) does not matter
    rng = np.random.default_rng(0)
    for _ in range(5):
        i = rng.permutation(len(y))
        assert top_decile_lift(y[i], step[i]) == pytest.approx(expected)
    # a strictly increasing map of the score (e.g. sigmoid calibration) keeps the lift
    assert top_decile_lift(y, 1 / (1 + np.exp(-7 * step))) == pytest.approx(expected)
    # breaking the tie in favour of the churners is what a lucky order would give
    lucky = step + np.r_[0, 0.01, 0.01, [0] * 27]
    assert top_decile_lift(y, lucky) == pytest.approx(1 / (5 / 30))


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


def _assert_beats_baselines(result, *, lift: bool = True):
    m = result["metrics"]
    for base in ("recency", "bgnbd"):
        assert m["model"]["roc_auc"] > m[base]["roc_auc"], base
        assert m["model"]["pr_auc"] > m[base]["pr_auc"], base
        if lift:
            assert m["model"]["top_decile_lift"] > m[base]["top_decile_lift"], base
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
    # 48% churn: the top decile of every score is all churners, so the lift is at its
    # cap 1 / 0.48 for all three and cannot tell them apart (see bench/README.md)
    _assert_beats_baselines(r, lift=False)
    m = r["metrics"]
    cap = 1 / r["test_churn_rate"]
    assert m["model"]["top_decile_lift"] >= max(m["recency"]["top_decile_lift"], 0.99 * cap)
    assert r["metrics"]["model"]["roc_auc"] > 0.9
    # the known truth: customers already gone at the test cut-off get the higher risks
    s = r["scores"].merge(truth, on="customer_id")
    gone = s["churned_at"] < np.datetime64("2024-06-01")
    assert s.loc[gone, "model"].mean() > s.loc[~gone, "model"].mean() + 0.5
    # calibrated: mean predicted risk within 5 points of the observed churn rate
    assert abs(s["model"].mean() - r["test_churn_rate"]) < 0.05


def test_beats_both_baselines_on_simulated_low_churn(simulated_low):
    orders, _ = simulated_low
    r = evaluate_churn(orders, train_cutoff="2024-03-01", test_cutoff="2024-06-01", horizon_days=90)
    assert 0.15 < r["test_churn_rate"] < 0.25  # lift cap about 4.7: room to differ
    _assert_beats_baselines(r)
    assert r["metrics"]["model"]["roc_auc"] > 0.85


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
