"""Purchase-frequency and spend tiers."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from kehu.analytics.classify import FrequencyTier, SpendTier
from kehu.exceptions import ConfigError, NotFittedError

# (id, orders, tenure_days, expected); rate over max(tenure, 28) days
FREQ = [
    ("a", 8, 28, "high"),  # 8 * 7 / 28 = 2.0 a week: at the threshold -> high
    ("b", 7, 28, "medium"),  # 1.75 a week; 7 * 30 / 28 = 7.5 a month
    ("c", 2, 30, "medium"),  # 2 * 30 / 30 = 2.0 a month: at the threshold -> medium
    ("d", 1, 30, "low"),  # 1 a month
    ("e", 2, 3, "medium"),  # new: over 28 days 0.5 a week, 2.14 a month (not 4.7 a week)
    ("f", 26, 91, "high"),  # 26 * 7 / 91 = 2.0 exactly
    ("g", 12, 365, "low"),  # 12 * 30 / 365 = 0.99 a month
]


def _freq() -> ibis.Table:
    df = pd.DataFrame([r[:3] for r in FREQ], columns=["customer_id", "orders", "tenure_days"])
    return ibis.memtable(df)


def test_frequency_tiers():
    out = FrequencyTier().fit_transform(_freq()).to_pandas()
    assert dict(zip(out.customer_id, out.freq_tier, strict=True)) == {r[0]: r[3] for r in FREQ}


def test_frequency_params():
    out = FrequencyTier(high_per_week=1.5, medium_per_month=8).fit_transform(_freq()).to_pandas()
    got = dict(zip(out.customer_id, out.freq_tier, strict=True))
    assert got["b"] == "high"  # 1.75 >= 1.5
    assert got["c"] == "low"  # 2 a month < 8


def test_frequency_explain():
    clf = FrequencyTier().fit(_freq())
    ex = clf.explain({"customer_id": "e", "orders": 2, "tenure_days": 3})
    assert ex.label == "medium"
    assert "2 orders over 28 days" in ex.reason
    assert "2.14 a month >= 2" in ex.reason
    assert ex.reason_zh.endswith("中频")


@pytest.mark.parametrize(
    "params", [{"high_per_week": 0}, {"medium_per_month": "two"}, {"min_days": -1}]
)
def test_frequency_bad_params(params):
    with pytest.raises(ConfigError):
        FrequencyTier(**params)


SPEND = [100.0, 90.0, 90.0, 80.0, 70.0, 60.0, 50.0, 40.0, 30.0, 20.0]


def _spend() -> ibis.Table:
    ids = [f"s{i}" for i in range(len(SPEND))]
    return ibis.memtable(pd.DataFrame({"customer_id": ids, "monetary": SPEND}))


def _tiers(clf, t) -> list[str]:
    out = clf.fit(t).transform(t).to_pandas().sort_values("customer_id")
    return list(out.spend_tier)


def test_spend_shares_with_a_tie_at_the_boundary():
    # n = 10: high = rank < 2, medium = rank < 5; rank = customers with more spend.
    # 100 rank 0, 90 and 90 rank 1 (both high: the tie joins the higher tier),
    # 80 rank 3 and 70 rank 4 medium, the rest low.
    clf = SpendTier()
    assert _tiers(clf, _spend()) == ["high"] * 3 + ["medium"] * 2 + ["low"] * 5
    th = clf.thresholds()
    assert th["high_min_monetary"] == 90.0
    assert th["medium_min_monetary"] == 70.0
    assert th["n"] == 10


def test_spend_fixed():
    clf = SpendTier(fixed={"high": 80, "medium": 50})
    assert _tiers(clf, _spend()) == ["high"] * 4 + ["medium"] * 3 + ["low"] * 3


def test_spend_explain_and_empty():
    t = _spend()
    clf = SpendTier().fit(t)
    ex = clf.explain({"customer_id": "s3", "monetary": 80.0})
    assert ex.label == "medium"
    assert "80.00" in ex.reason and "90.00" in ex.reason and "70.00" in ex.reason
    assert ex.reason_zh.endswith("中消费")
    empty = t.filter(t.monetary < 0)
    clf = SpendTier().fit(empty)
    assert clf.thresholds()["high_min_monetary"] is None
    assert len(clf.transform(empty).to_pandas()) == 0
    with pytest.raises(NotFittedError):
        SpendTier().thresholds()


@pytest.mark.parametrize(
    "params",
    [
        {"high_share": 1.2},
        {"high_share": 0.6, "medium_share": 0.5},
        {"fixed": {"high": 10}},
        {"fixed": {"high": 10, "medium": 20}},
    ],
)
def test_spend_bad_params(params):
    with pytest.raises(ConfigError, match="spend_tier"):
        SpendTier(**params)
