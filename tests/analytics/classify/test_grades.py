"""Tobacco-style grades, starting grades and published grades."""

from __future__ import annotations

import json

import ibis
import numpy as np
import pandas as pd
import pytest

from kehu.analytics.classify import Grade, apply_published, starting_grade
from kehu.exceptions import ConfigError, NotFittedError, SchemaError


def _mon(values) -> ibis.Table:
    ids = [f"c{i}" for i in range(len(values))]
    return ibis.memtable(pd.DataFrame({"customer_id": ids, "monetary": values}))


def _grades(clf: Grade, t: ibis.Table) -> list[int]:
    out = clf.fit(t).transform(t).to_pandas().sort_values("customer_id")
    return list(out.grade)


def test_three_grades_with_ties():
    # score = percent rank of monetary: ranks 0, 1, 1, 3, 4, 5 (of n - 1 = 5).
    # Equal shares: grade 1 while rank < 2, grade 2 while rank < 4, else 3;
    # the two 20s tie at rank 1 and share grade 1.
    clf = Grade(n_grades=3, weights={"monetary": 1})
    assert _grades(clf, _mon([10.0, 20.0, 20.0, 30.0, 40.0, 50.0])) == [1, 1, 1, 2, 3, 3]
    out = clf.transform(_mon([10.0, 20.0, 20.0, 30.0, 40.0, 50.0])).to_pandas()
    assert sorted(out.grade_score) == pytest.approx([0, 0.2, 0.2, 0.6, 0.8, 1.0])
    assert clf.thresholds()["score_cuts"] == [0.6, 0.8]


def test_custom_shares():
    # shares 0.5, 0.25, 0.25 -> grade 1 while rank < 3, grade 2 while rank < 4.5
    clf = Grade(n_grades=3, weights={"monetary": 1}, shares=[0.5, 0.25, 0.25])
    assert _grades(clf, _mon([10.0, 20.0, 20.0, 30.0, 40.0, 50.0])) == [1, 1, 1, 2, 2, 3]
    assert clf.thresholds()["customers_per_grade"] == {"1": 3, "2": 2, "3": 1}


FOUR = pd.DataFrame(
    {
        "customer_id": ["c1", "c2", "c3", "c4"],
        "quantity": [10.0, 20.0, 30.0, 40.0],
        "monetary": [100.0, 300.0, 200.0, 400.0],
        "distinct_products": [1, 1, 3, 2],
        "premium_share": [0.0, 0.5, None, 0.2],
    }
)


def test_default_weights_score():
    # percent ranks (rank / 3): quantity 0, 1/3, 2/3, 1; monetary 0, 2/3, 1/3, 1;
    # distinct 0, 0, 1, 2/3; premium (null lowest) 1/3, 1, 0, 2/3.
    # score = .3q + .4m + .2d + .1p
    t = ibis.memtable(FOUR)
    clf = Grade(n_grades=2)
    out = clf.fit(t).transform(t).to_pandas().set_index("customer_id")
    assert out.grade_score.to_dict() == pytest.approx(
        {"c1": 0.1 / 3, "c2": 0.1 + 0.8 / 3 + 0.1, "c3": 0.2 + 0.4 / 3 + 0.2, "c4": 0.9}
    )
    assert out.grade.to_dict() == {"c1": 1, "c2": 1, "c3": 2, "c4": 2}
    assert clf.thresholds()["dropped"] == []
    ex = clf.explain({"customer_id": "c4", **out.loc["c4"].to_dict()})
    assert ex.label == 2
    assert "0.9000" in ex.reason and "monetary 40%" in ex.reason and "monetary 400" in ex.reason
    assert "第 2 档" in ex.reason_zh
    json.dumps(clf.record())


def test_missing_components_are_dropped_and_renormalised():
    df = FOUR.assign(premium_share=None).drop(columns=["distinct_products"])
    t = ibis.memtable(df.astype({"premium_share": "float64"}))
    clf = Grade(n_grades=2).fit(t)
    th = clf.thresholds()
    assert th["dropped"] == ["distinct_products", "premium_share"]
    assert th["weights"] == pytest.approx({"quantity": 3 / 7, "monetary": 4 / 7})
    # c1 0, c2 (3/7)(1/3) + (4/7)(2/3), c3 (3/7)(2/3) + (4/7)(1/3), c4 1
    out = clf.transform(t).to_pandas().set_index("customer_id")
    assert out.grade_score["c2"] == pytest.approx(11 / 21)
    assert out.grade_score["c3"] == pytest.approx(10 / 21)
    assert out.grade.to_dict() == {"c1": 1, "c2": 2, "c3": 1, "c4": 2}


def test_thirty_grades_on_simulated_customers():
    rng = np.random.default_rng(7)
    n = 3000
    df = pd.DataFrame(
        {
            "customer_id": [f"c{i}" for i in range(n)],
            "quantity": rng.gamma(2.0, 50.0, n),
            "monetary": rng.lognormal(6.0, 1.0, n),
            "distinct_products": rng.integers(1, 40, n),
            "premium_share": rng.uniform(0, 1, n),
        }
    )
    t = ibis.memtable(df)
    clf = Grade().fit(t)
    out = clf.transform(t).to_pandas()
    counts = out.grade.value_counts().sort_index()
    assert list(counts.index) == list(range(1, 31))
    # 3000 / 30 = 100 a grade, give or take a tie straddling a boundary: the percent
    # ranks are multiples of 1/2999, so weighted sums of them do tie now and then
    assert counts.sum() == n
    assert ((counts - 100).abs() <= 3).all()
    assert (counts == 100).sum() >= 20
    # customers below grade g number at least (g - 1) * 100 and ties never split
    below = counts.cumsum().shift(fill_value=0)
    assert (below.values >= np.arange(30) * 100).all()
    assert (out.groupby("grade_score").grade.nunique() == 1).all()
    # the grade is monotone in the score
    by_grade = out.groupby("grade").grade_score.agg(["min", "max"])
    assert (by_grade["max"].values[:-1] < by_grade["min"].values[1:]).all()


def test_from_record_reuses_published_cuts():
    t = _mon([10.0, 20.0, 20.0, 30.0, 40.0, 50.0])
    clf = Grade(n_grades=3, weights={"monetary": 1}).fit(t)
    again = Grade.from_record(json.loads(json.dumps(clf.record())))
    assert _grades_only(again, t) == [1, 1, 1, 2, 3, 3]
    with pytest.raises(ConfigError, match="score cuts"):
        Grade.from_record({"params": {"n_grades": 5}, "thresholds": clf.record()["thresholds"]})


def _grades_only(clf: Grade, t: ibis.Table) -> list[int]:
    return list(clf.transform(t).to_pandas().sort_values("customer_id").grade)


def test_apply_published():
    graded = ibis.memtable(pd.DataFrame({"customer_id": ["a", "b", "c"], "grade": [3, 5, 7]}))
    published = ibis.memtable(pd.DataFrame({"customer_id": ["b", "x"], "grade": [9, 1]}))
    out = apply_published(graded, published).to_pandas().set_index("customer_id")
    assert out.grade.to_dict() == {"a": 3, "b": 9, "c": 7}
    assert out.grade_locked.to_dict() == {"a": False, "b": True, "c": False}


def test_starting_grade():
    established = pd.DataFrame(
        {
            "channel": ["超市"] * 4 + ["便利店"] * 2,
            "area_type": ["城市"] * 4 + ["农村"] * 2,
            "grade": [10, 20, 30, 40, 5, 7],
        }
    )
    new = pd.DataFrame(
        {
            "customer_id": ["n1", "n2", "n3", "n4"],
            "channel": ["超市", "便利店", "餐饮", "超市"],
            "area_type": ["城市", "农村", "城市", None],
        }
    )
    out = starting_grade(ibis.memtable(established), ibis.memtable(new)).to_pandas()
    out = out.set_index("customer_id")
    # peers: 超市/城市 10, 20, 30, 40 -> lower median 20; 便利店/农村 5, 7 -> 5;
    # overall 5, 7, 10, 20, 30, 40 -> 10 for n3 (no peers) and n4 (null area type)
    assert out.starting_grade.to_dict() == {"n1": 20, "n2": 5, "n3": 10, "n4": 10}
    assert out.starting_grade_basis.to_dict() == {
        "n1": "peers",
        "n2": "peers",
        "n3": "overall",
        "n4": "overall",
    }
    with pytest.raises(SchemaError, match="region"):
        starting_grade(ibis.memtable(established), ibis.memtable(new), by=("region",))


def test_empty_and_not_fitted():
    t = _mon([1.0])
    empty = t.filter(t.monetary < 0)
    clf = Grade(n_grades=3).fit(empty)
    assert clf.thresholds()["score_cuts"] == [None, None]
    assert len(clf.transform(empty).to_pandas()) == 0
    with pytest.raises(NotFittedError):
        Grade().transform(t)
    # one customer: grade 1
    assert _grades(Grade(n_grades=3, weights={"monetary": 1}), t) == [1]


@pytest.mark.parametrize(
    "params",
    [
        {"n_grades": 0},
        {"weights": {"monetary": -1}},
        {"weights": {"monetary": 0}},
        {"n_grades": 3, "shares": [0.5, 0.5]},
        {"n_grades": 2, "shares": [0.5, 0.6]},
    ],
)
def test_bad_params(params):
    with pytest.raises(ConfigError, match="grade"):
        Grade(**params)


def test_no_usable_component():
    t = ibis.memtable(pd.DataFrame({"customer_id": ["a"], "orders": [1]}))
    with pytest.raises(ConfigError, match="none of the weighted columns"):
        Grade().fit(t)
