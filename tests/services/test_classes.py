"""Classes service: sizes, revenue shares, profiles, treatments, migration, thresholds.

Hand-computed on the sample (kehu.testing, refreshed as of 2024-07-01):
C1 重要价值客户 4 orders ¥4,000 recency 6; C2 一般挽留客户 1 order ¥50 recency 178;
C3 一般发展客户 1 order ¥100 recency 3; C4 重要保持客户 5 orders ¥4,000 recency 142.
Reps: 王伟 has C1 and C2, 李娜 has C3 and C4.  Total revenue ¥8,150.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kehu.exceptions import ForbiddenError, NotFoundError, SchemaError
from kehu.services import classes
from kehu.services.access import SYSTEM, Actor
from kehu.services.refresh import refresh

WANG = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")
LI = Actor(user_id=None, username="li", role="rep", rep_name="李娜")
ANA = Actor(user_id=None, username="ana", role="analyst")


@pytest.fixture
def api_store(loaded_store):
    refresh(loaded_store, as_of=dt.date(2024, 7, 1))
    return loaded_store


def by_class(summary):
    return {c["class"]: c for c in summary["classes"]}


def test_sizes_shares_and_profiles_of_every_customer(api_store):
    with api_store() as s:
        got = classes.class_summary(s, actor=SYSTEM, classifier="rfm8")
    assert got["customers"] == 4 and got["revenue"] == pytest.approx(8150)
    rows = by_class(got)
    assert set(rows) == {"重要价值客户", "一般挽留客户", "一般发展客户", "重要保持客户"}
    c1 = rows["重要价值客户"]
    assert c1["customers"] == 1 and c1["customer_share"] == pytest.approx(0.25)
    assert c1["revenue_share"] == pytest.approx(4000 / 8150)
    assert c1["mean_orders"] == pytest.approx(4) and c1["mean_recency_days"] == pytest.approx(6)
    assert rows["一般挽留客户"]["revenue_share"] == pytest.approx(50 / 8150)
    assert c1["mean_clv"] is None  # the sample is too small for the CLV model
    assert c1["treatment"]["cadence"] == "每月回访"
    # classes in their canonical order (重要价值 first)
    assert got["classes"][0]["class"] == "重要价值客户"
    assert got["version"] == "rfm8/1"
    assert got["thresholds"]["monetary"] == pytest.approx(2037.5)  # mean of 4000, 50, 100, 4000


def test_grouped_classes_and_english_treatments(api_store):
    with api_store() as s:
        got = classes.class_summary(s, actor=ANA, classifier="abc", lang="en")
    rows = by_class(got)
    assert rows["A"]["customers"] == 2 and rows["A"]["revenue"] == pytest.approx(8000)
    assert rows["A"]["mean_monetary"] == pytest.approx(4000)
    assert rows["C"]["customers"] == 2 and rows["C"]["revenue_share"] == pytest.approx(150 / 8150)
    assert got["thresholds"]["total_positive_revenue"] == pytest.approx(8150)
    treated = [c for c in got["classes"] if c["treatment"]]
    assert all(c["treatment"]["action"].isascii() for c in treated)


def test_a_rep_gets_their_own_numbers_and_no_thresholds(api_store):
    with api_store() as s:
        wang = classes.class_summary(s, actor=WANG, classifier="rfm8")
        li = classes.class_summary(s, actor=LI, classifier="lifecycle")
    assert wang["customers"] == 2 and wang["revenue"] == pytest.approx(4050)
    assert set(by_class(wang)) == {"重要价值客户", "一般挽留客户"}
    assert by_class(wang)["重要价值客户"]["revenue_share"] == pytest.approx(4000 / 4050)
    assert wang["thresholds"] is None and wang["version"] == "rfm8/1"
    assert li["customers"] == 2 and li["revenue"] == pytest.approx(4100)
    assert li["thresholds"] is None


def test_migration_between_two_runs(api_store):
    refresh(api_store, as_of=dt.date(2024, 9, 1))
    with api_store() as s:
        runs = classes.succeeded_runs(s, actor=WANG)
        assert runs[0]["id"] > runs[1]["id"]
        new, old = runs[0]["id"], runs[1]["id"]
        every = classes.class_migration(
            s, actor=SYSTEM, classifier="lifecycle", from_run=old, to_run=new
        )
        mine = classes.class_migration(
            s, actor=WANG, classifier="lifecycle", from_run=old, to_run=new
        )
        now = classes.class_summary(s, actor=SYSTEM, classifier="lifecycle")
    # as of 2024-07-01: C1 and C3 new, C2 and C4 lapsed; by 2024-09-01 every one has lapsed
    assert {(r["from"], r["to"]): r["customers"] for r in every["rows"]} == {
        ("new", "lapsed"): 2,
        ("lapsed", "lapsed"): 2,
    }
    assert {(r["from"], r["to"]): r["customers"] for r in mine["rows"]} == {
        ("new", "lapsed"): 1,
        ("lapsed", "lapsed"): 1,
    }
    assert mine["to_classes"] == ["lapsed"]
    assert now["run"]["id"] == new and by_class(now)["lapsed"]["customers"] == 4


def test_refusals(api_store):
    with api_store() as s:
        with pytest.raises(SchemaError):
            classes.class_summary(s, actor=SYSTEM, classifier="nope")
        with pytest.raises(NotFoundError):
            classes.class_summary(s, actor=SYSTEM, run_id=999)
        with pytest.raises(ForbiddenError):
            classes.class_summary(s, actor=Actor(user_id=None, username="x", role="nobody"))
