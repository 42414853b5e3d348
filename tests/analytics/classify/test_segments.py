"""International named segments from the R x FM grid."""

from __future__ import annotations

import ibis
import pandas as pd
import pytest

from kehu.analytics.classify import NamedSegments
from kehu.exceptions import ConfigError
from kehu.i18n import LABELS_ZH

SEGMENT_ZH = LABELS_ZH["segment"]

# (id, r, f, m, expected); FM = (f + m + 1) // 2
CASES = [
    ("n", 5, 1, 1, "New"),  # FM (1+1+1)//2 = 1: top-left corner
    ("ch", 5, 5, 5, "Champions"),  # FM 5: top-right corner
    ("lost", 1, 1, 1, "Lost"),  # bottom-left corner
    ("cl", 1, 5, 5, "Cannot lose them"),  # bottom-right corner
    ("na1", 3, 2, 3, "Need attention"),  # FM (2+3+1)//2 = 3
    ("na2", 3, 3, 2, "Need attention"),  # the same FM from the other order
    ("loy", 4, 4, 3, "Loyal"),  # FM (4+3+1)//2 = 4
    ("hib", 2, 1, 2, "Hibernating"),  # FM 2
    ("ch2", 5, 3, 4, "Champions"),  # FM 4
    ("pro", 4, 1, 1, "Promising"),
    ("pl", 5, 2, 2, "Potential loyalist"),  # FM (2+2+1)//2 = 2
    ("sleep", 3, 1, 2, "About to sleep"),  # FM 2
    ("risk", 2, 4, 3, "At risk"),  # FM 4
    ("risk1", 1, 2, 3, "At risk"),  # FM 3
]


def _table() -> ibis.Table:
    df = pd.DataFrame(
        [c[:4] for c in CASES], columns=["customer_id", "r_score", "f_score", "m_score"]
    )
    return ibis.memtable(df)


def test_grid_cells():
    t = _table()
    out = NamedSegments().fit_transform(t).to_pandas()
    got = dict(zip(out.customer_id, out.segment, strict=True))
    assert got == {c[0]: c[4] for c in CASES}


def test_every_segment_has_chinese():
    assert set(SEGMENT_ZH) == set(NamedSegments.labels_zh)
    assert NamedSegments.labels_zh["Champions"] == "冠军客户"
    assert NamedSegments.labels_zh["Cannot lose them"] == "不能失去的客户"
    assert len(set(SEGMENT_ZH.values())) == 11


def test_grid_override():
    t = _table()
    clf = NamedSegments(grid={1: ["Gone", "Gone", "Gone", "Fading", "Fading"]}).fit(t)
    out = clf.transform(t).to_pandas().set_index("customer_id")
    assert out.loc["lost", "segment"] == "Gone"
    assert out.loc["cl", "segment"] == "Fading"
    assert out.loc["ch", "segment"] == "Champions"  # other rows keep the default
    assert clf.thresholds()["grid"]["1"][0] == "Gone"


def test_explain():
    t = _table()
    clf = NamedSegments().fit(t)
    ex = clf.explain({"customer_id": "na1", "r_score": 3, "f_score": 2, "m_score": 3})
    assert ex.label == "Need attention"
    assert ex.reason == "R score 3, FM score (F 2 + M 3 + 1) // 2 = 3 → Need attention"
    assert ex.reason_zh.endswith("需要关注客户")


def test_empty():
    t = _table()
    out = NamedSegments().fit_transform(t.filter(t.r_score > 9)).to_pandas()
    assert len(out) == 0 and "segment" in out.columns


@pytest.mark.parametrize(
    "grid",
    [{6: ["a"] * 5}, {1: ["a"] * 4}, {1: "abcde"}, ["x"], {"one": ["a"] * 5}],
)
def test_bad_grid(grid):
    with pytest.raises(ConfigError, match="grid"):
        NamedSegments(grid=grid)
