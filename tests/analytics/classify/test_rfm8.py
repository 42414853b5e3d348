"""The Chinese 8-class RFM model against hand-computed classes."""

from __future__ import annotations

import json

import ibis
import pandas as pd
import pytest

from kehu.analytics.classify import RFM8
from kehu.exceptions import ConfigError, NotFittedError


def _table(rows: list[tuple]) -> ibis.Table:
    df = pd.DataFrame(
        rows, columns=["customer_id", "recency_days", "orders", "monetary", "avg_order_value"]
    )
    return ibis.memtable(df)


# Eight customers, one per class, plus c9 exactly at the mean of everyone:
# recency sum 4*10 + 4*90 = 400, so with c9 = 50 the mean is 450 / 9 = 50;
# orders 4*9 + 4*1 = 40 -> c9 = 5 gives 45 / 9 = 5; monetary 4*2000 + 4*100 = 8400
# -> c9 = 1050 gives 9450 / 9 = 1050.
NINE = [
    ("c1", 10, 9, 2000.0, 222.0),  # R high, F high, M high -> 重要价值客户
    ("c2", 10, 1, 2000.0, 2000.0),  # H L H -> 重要发展客户
    ("c3", 90, 9, 2000.0, 222.0),  # L H H -> 重要保持客户
    ("c4", 90, 1, 2000.0, 2000.0),  # L L H -> 重要挽留客户
    ("c5", 10, 9, 100.0, 11.0),  # H H L -> 一般价值客户
    ("c6", 10, 1, 100.0, 100.0),  # H L L -> 一般发展客户
    ("c7", 90, 9, 100.0, 11.0),  # L H L -> 一般保持客户
    ("c8", 90, 1, 100.0, 100.0),  # L L L -> 一般挽留客户
    ("c9", 50, 5, 1050.0, 210.0),  # equal to every mean -> all low -> 一般挽留客户
]

# Four customers where mean and median differ:
# recency 1, 2, 3, 100: mean 26.5, lower median 2
# orders 1, 2, 3, 10: mean 4, lower median 2
# monetary 10, 20, 30, 1000: mean 265, lower median 20
# avg_order_value 10, 10, 10, 100: mean 32.5, lower median 10
FOUR = [
    ("w", 1, 1, 10.0, 10.0),
    ("x", 2, 2, 20.0, 10.0),
    ("y", 3, 3, 30.0, 10.0),
    ("z", 100, 10, 1000.0, 100.0),
]


def _labels(clf: RFM8, rows: list[tuple]) -> dict[str, str]:
    t = _table(rows)
    out = clf.fit(t).transform(t).to_pandas()
    return dict(zip(out.customer_id, out.rfm8, strict=True))


def test_all_eight_classes_and_the_mean_is_low():
    clf = RFM8()
    got = _labels(clf, NINE)
    assert got == {
        "c1": "重要价值客户",
        "c2": "重要发展客户",
        "c3": "重要保持客户",
        "c4": "重要挽留客户",
        "c5": "一般价值客户",
        "c6": "一般发展客户",
        "c7": "一般保持客户",
        "c8": "一般挽留客户",
        "c9": "一般挽留客户",
    }
    th = clf.thresholds()
    assert (th["recency_days"], th["orders"], th["monetary"]) == (50.0, 5.0, 1050.0)


def test_english_labels():
    t = _table(NINE)
    out = RFM8().fit_transform(t).to_pandas().set_index("customer_id")
    assert out.loc["c1", "rfm8_en"] == "Important value"
    assert out.loc["c4", "rfm8_en"] == "Important win-back"
    assert out.loc["c7", "rfm8_en"] == "General retention"
    assert set(out.rfm8_en) <= set(RFM8.labels_zh)


def test_mean_vs_median():
    # mean: R high w, x, y; F high z (10 > 4); M high z (1000 > 265)
    assert _labels(RFM8(), FOUR) == {
        "w": "一般发展客户",
        "x": "一般发展客户",
        "y": "一般发展客户",
        "z": "重要保持客户",
    }
    # median: R high only w (x is at the median 2 -> low); F high y, z (> 2); M high y, z (> 20)
    clf = RFM8(threshold="median")
    assert _labels(clf, FOUR) == {
        "w": "一般发展客户",
        "x": "一般挽留客户",
        "y": "重要保持客户",
        "z": "重要保持客户",
    }
    assert clf.thresholds()["recency_days"] == 2.0
    assert clf.thresholds()["monetary"] == 20.0


def test_quantile_mode():
    # q 0.25 of 4 values -> the 1st value: thresholds 1, 1, 10 -> nobody R-high;
    # F and M high for x, y, z
    assert _labels(RFM8(threshold="quantile", quantile=0.25), FOUR) == {
        "w": "一般挽留客户",
        "x": "重要保持客户",
        "y": "重要保持客户",
        "z": "重要保持客户",
    }
    # q 0.75 -> the 3rd value: thresholds 3, 3, 30 -> R high w, x; F and M high z
    clf = RFM8(threshold="quantile", quantile=0.75)
    assert _labels(clf, FOUR) == {
        "w": "一般发展客户",
        "x": "一般发展客户",
        "y": "一般挽留客户",
        "z": "重要保持客户",
    }
    assert clf.thresholds()["orders"] == 3.0


def test_fixed_and_per_dimension_override():
    fixed = {"recency_days": 3, "orders": 1, "monetary": 15}
    # R high < 3: w, x; F high > 1: x, y, z; M high > 15: x, y, z
    assert _labels(RFM8(threshold="fixed", fixed=fixed), FOUR) == {
        "w": "一般发展客户",
        "x": "重要价值客户",
        "y": "重要保持客户",
        "z": "重要保持客户",
    }
    # mean for R (26.5) and F (4), fixed 15 for M
    clf = RFM8(fixed={"monetary": 15})
    assert _labels(clf, FOUR) == {
        "w": "一般发展客户",
        "x": "重要发展客户",
        "y": "重要发展客户",
        "z": "重要保持客户",
    }
    assert clf.thresholds()["methods"] == {
        "recency_days": "mean",
        "orders": "mean",
        "monetary": "fixed",
    }


def test_average_order_value_mode():
    # median of avg_order_value is 10: only z (100) is M-high, so y becomes 一般保持
    clf = RFM8(threshold="median", monetary="average")
    assert _labels(clf, FOUR) == {
        "w": "一般发展客户",
        "x": "一般挽留客户",
        "y": "一般保持客户",
        "z": "重要保持客户",
    }
    assert clf.thresholds()["m_column"] == "avg_order_value"


def test_renames_keep_english():
    t = _table(FOUR)
    out = RFM8(labels={"重要保持客户": "VIP 保持"}).fit_transform(t).to_pandas()
    z = out.set_index("customer_id").loc["z"]
    assert z.rfm8 == "VIP 保持"
    assert z.rfm8_en == "Important retention"


def test_explain_mentions_inputs_and_thresholds():
    t = _table(NINE)
    clf = RFM8().fit(t)
    row = clf.transform(t).to_pandas().set_index("customer_id").loc["c1"].to_dict()
    row["customer_id"] = "c1"
    ex = clf.explain(row)
    assert ex.label == "重要价值客户"
    assert ex.inputs == {"recency_days": 10, "orders": 9, "monetary": 2000.0}
    assert ex.reason == (
        "R high: 10 days since last purchase < mean 50; F high: 9 orders > mean 5; "
        "M high: 2,000.00 > mean 1,050.00 → Important value"  # English words in English (issue 12)
    )
    assert "10 天" in ex.reason_zh and "平均值 50" in ex.reason_zh and "1,050.00" in ex.reason_zh
    low = clf.explain(
        {
            "customer_id": "c9",
            **dict(
                zip(
                    ("recency_days", "orders", "monetary", "avg_order_value"),
                    NINE[8][1:],
                    strict=True,
                )
            ),
        }
    )
    assert "R low: 50 days since last purchase >= mean 50" in low.reason
    assert low.label == "一般挽留客户"
    json.dumps(clf.record())


def test_empty_input():
    t = _table(NINE)
    empty = t.filter(t.orders < 0)
    clf = RFM8().fit(empty)
    assert clf.thresholds()["monetary"] is None
    out = clf.transform(empty).to_pandas()
    assert len(out) == 0 and {"rfm8", "rfm8_en"} <= set(out.columns)
    assert RFM8(threshold="median").fit(empty).thresholds()["orders"] is None


def test_not_fitted():
    t = _table(FOUR)
    with pytest.raises(NotFittedError):
        RFM8().transform(t)
    with pytest.raises(NotFittedError):
        RFM8().explain({"customer_id": "w"})


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"threshold": "mode"}, "unknown threshold method"),
        ({"quantile": 1.5}, "between 0 and 1"),
        ({"monetary": "avg"}, "monetary"),
        ({"threshold": "fixed", "fixed": {"orders": 2}}, "needs fixed values"),
        ({"fixed": {"frequency": 2}}, "unknown fixed threshold"),
        ({"fixed": {"orders": "two"}}, "must be a number"),
        ({"labels": {"VIP": "x"}}, "unknown label"),
    ],
)
def test_bad_params(params, match):
    with pytest.raises(ConfigError, match=match):
        RFM8(**params)
