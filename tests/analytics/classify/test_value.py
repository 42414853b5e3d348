"""ABC (Pareto) classes and value deciles."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from kehu.analytics.classify import ABC
from kehu.exceptions import ConfigError

# Positive revenue 500 + 200 + 100 + 100 + 50 + 30 + 20 = 1000.
# Revenue of customers with strictly more: 500 -> 0, 200 -> 500, both 100s -> 700
# (< 800: A, though together they reach 900), 50 -> 900 (< 950: B),
# 30 -> 950 (not < 950: C), 20 -> 980 (C); 0 and -10 are always C.
MONETARY = {
    "a": 500.0,
    "b": 200.0,
    "c1": 100.0,
    "c2": 100.0,
    "d": 50.0,
    "e": 30.0,
    "f": 20.0,
    "g": 0.0,
    "h": -10.0,
}


def _table() -> ibis.Table:
    return ibis.memtable(
        pd.DataFrame({"customer_id": list(MONETARY), "monetary": list(MONETARY.values())})
    )


def _run(clf: ABC) -> pd.DataFrame:
    t = _table()
    return clf.fit(t).transform(t).to_pandas().set_index("customer_id")


def test_abc_with_ties_crossing_80_percent():
    clf = ABC()
    out = _run(clf)
    assert out.abc.to_dict() == {
        "a": "A",
        "b": "A",
        "c1": "A",
        "c2": "A",
        "d": "B",
        "e": "C",
        "f": "C",
        "g": "C",
        "h": "C",
    }
    th = clf.thresholds()
    assert th["total_positive_revenue"] == 1000.0
    assert th["a_min_monetary"] == 100.0
    assert th["b_min_monetary"] == 50.0


def test_abc_custom_cuts():
    # 50%: 500 (prior 0) is A; 200 has prior 500, not < 500 -> B; 100s prior 700 < 900 -> B;
    # 50 has prior 900, not < 900 -> C
    out = _run(ABC(cuts=(0.5, 0.9)))
    assert out.abc.to_dict() == {
        "a": "A",
        "b": "B",
        "c1": "B",
        "c2": "B",
        "d": "C",
        "e": "C",
        "f": "C",
        "g": "C",
        "h": "C",
    }


def test_value_deciles():
    # n = 9; 0-based min rank ascending: -10:0, 0:1, 20:2, 30:3, 50:4, 100:5 (both),
    # 200:7, 500:8; decile = min(1 + rank * 10 // 8, 10)
    out = _run(ABC())
    assert out.value_decile.to_dict() == {
        "h": 1,
        "g": 2,
        "f": 3,
        "e": 4,
        "d": 6,
        "c1": 7,
        "c2": 7,
        "b": 9,
        "a": 10,
    }


def test_explain():
    t = _table()
    clf = ABC().fit(t)
    ex = clf.explain({"customer_id": "d", "monetary": 50.0, "value_decile": 6})
    assert ex.label == "B"
    assert "50.00" in ex.reason and "100.00" in ex.reason and "value decile 6" in ex.reason
    assert ex.reason_zh.endswith("价值十分位 6")
    assert clf.explain({"customer_id": "h", "monetary": -10.0}).label == "C"


def test_empty_and_all_non_positive():
    t = _table()
    clf = ABC().fit(t.filter(t.monetary > 1e9))
    assert clf.thresholds()["a_min_monetary"] is None
    assert len(clf.transform(t.filter(t.monetary > 1e9)).to_pandas()) == 0
    neg = t.filter(t.monetary <= 0)
    out = ABC().fit_transform(neg).to_pandas()
    assert set(out.abc) == {"C"}


@pytest.mark.parametrize("cuts", [(0.9, 0.8), (0, 0.5), (0.8,), "ab", (0.8, 1.2)])
def test_bad_cuts(cuts):
    with pytest.raises(ConfigError, match="abc: cuts"):
        ABC(cuts=cuts)
