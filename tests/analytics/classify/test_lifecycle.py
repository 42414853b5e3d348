"""Lifecycle stages against each customer's usual gap."""

from __future__ import annotations

import datetime as dt

import ibis
import pandas as pd
import pytest

from kehu.analytics.classify import Lifecycle
from kehu.exceptions import ConfigError

AS_OF = dt.date(2024, 12, 31)

# (id, recency, tenure, gap before the last purchase or None, mean_gap or None, expected)
# Defaults: new <= 60 days; active <= 1.5 x usual gap; at risk <= 3 x; won back when the
# gap before the last purchase > 3 x usual gap and > 90 days and active again;
# usual gap floored at 7. The fitted median of the known mean gaps
# 20, 20, 20, 40, 10, 40, 2 (sorted 2, 10, 20, 20, 20, 40, 40: the 4th of 7) is 20.
ROWS = [
    ("new", 40, 40, None, None, "new"),
    ("act", 25, 400, 20, 20.0, "active"),  # 25 <= 30
    ("risk", 50, 400, 20, 20.0, "at_risk"),  # 30 < 50 <= 60
    ("gone", 61, 400, 20, 20.0, "lapsed"),  # 61 > 60
    ("back", 10, 500, 150, 40.0, "won_back"),  # 150 > 120 and > 90, 10 <= 60
    ("short", 5, 300, 80, 10.0, "active"),  # 80 > 30 but not > 90 days
    ("back_risk", 70, 500, 150, 40.0, "at_risk"),  # returned long ago: 60 < 70 <= 120
    ("floor", 10, 200, 2, 2.0, "active"),  # usual gap 7 (floor): 10 <= 10.5
    ("one_old", 100, 100, None, None, "lapsed"),  # usual gap = median 20: 100 > 60
    ("one_recent", 25, 70, None, None, "active"),  # 25 <= 1.5 x 20
]


def _table(rows=ROWS) -> ibis.Table:
    recs = []
    for cid, rec, tenure, before, mean_gap, _ in rows:
        last = AS_OF - dt.timedelta(days=rec)
        recs.append(
            {
                "customer_id": cid,
                "recency_days": rec,
                "tenure_days": tenure,
                "last_purchase": last,
                "prev_purchase": None if before is None else last - dt.timedelta(days=before),
                "mean_gap_days": mean_gap,
            }
        )
    df = pd.DataFrame(recs)
    df["last_purchase"] = pd.to_datetime(df.last_purchase)
    df["prev_purchase"] = pd.to_datetime(df.prev_purchase)
    return ibis.memtable(df).mutate(
        last_purchase=lambda t: t.last_purchase.date(),
        prev_purchase=lambda t: t.prev_purchase.date(),
    )


def test_each_state():
    t = _table()
    clf = Lifecycle().fit(t)
    out = clf.transform(t).to_pandas()
    assert dict(zip(out.customer_id, out.lifecycle, strict=True)) == {r[0]: r[5] for r in ROWS}
    assert clf.thresholds()["median_gap_days"] == 20.0
    assert set(out.lifecycle) == set(Lifecycle.labels_zh)


def test_default_gap_when_nobody_has_two_purchase_days():
    # usual gap 30 (default): 40 <= 45 -> active; with default_gap_days=20: 40 <= 60 -> at risk
    rows = [("s", 40, 100, None, None, "")]
    t = _table(rows)
    assert Lifecycle().fit_transform(t).to_pandas().lifecycle[0] == "active"
    assert Lifecycle(default_gap_days=20).fit_transform(t).to_pandas().lifecycle[0] == "at_risk"
    assert Lifecycle().fit(t).thresholds()["median_gap_days"] is None


def test_explain_won_back():
    t = _table()
    clf = Lifecycle().fit(t)
    row = clf.transform(t).to_pandas().set_index("customer_id").loc["back"].to_dict()
    ex = clf.explain({"customer_id": "back", **row})
    assert ex.label == "won_back"
    assert ex.inputs["gap_before_last_days"] == 150
    assert "returned after 150 days > 3 x usual gap 40.0 days" in ex.reason
    assert ex.reason_zh.endswith("已挽回")
    one = clf.transform(t).to_pandas().set_index("customer_id").loc["one_old"].to_dict()
    ex = clf.explain({"customer_id": "one_old", **one})
    assert ex.label == "lapsed" and "population median gap" in ex.reason


def test_empty():
    t = _table()
    empty = t.filter(t.recency_days < 0)
    clf = Lifecycle().fit(empty)
    assert clf.thresholds()["median_gap_days"] is None
    assert len(clf.transform(empty).to_pandas()) == 0


@pytest.mark.parametrize(
    "params", [{"new_days": -1}, {"active_factor": 4.0}, {"min_gap_days": "7"}]
)
def test_bad_params(params):
    with pytest.raises(ConfigError, match="lifecycle"):
        Lifecycle(**params)
