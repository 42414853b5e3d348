"""Performance from the store, against numbers computed by hand on the sample.

The sample's orders (src/kehu/store/testing.py): C1 (王伟, 超市) four orders of ¥1,000 in
June 2024; C2 (王伟) ¥50 in January; C3 (李娜, 餐饮) ¥100 on 28 June; C4 (李娜, 批发商)
¥800 on 1, 10, 20 January and 1, 10 February 2024.
"""

from __future__ import annotations

import datetime as dt

import pytest

from kehu.exceptions import ForbiddenError, SchemaError
from kehu.services import performance, targets
from kehu.services.access import SYSTEM, Actor
from kehu.services.refresh import refresh

BOSS = Actor(user_id=None, username="boss", role="manager")
WANG = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")
LI = Actor(user_id=None, username="li", role="rep", rep_name="李娜")
JUNE = dt.date(2024, 6, 1)


def by_month(rows):
    return {r["month"]: r for r in rows}


def test_monthly_kpis_by_hand(loaded_store):
    with loaded_store() as s:
        rows = performance.monthly_kpis(s, actor=BOSS, month=JUNE)
    assert len(rows) == 12 and rows[-1]["month"] == JUNE and rows[0]["month"] == dt.date(2023, 7, 1)
    got = by_month(rows)
    june, jan, feb = got[JUNE], got[dt.date(2024, 1, 1)], got[dt.date(2024, 2, 1)]
    assert (june["sales"], june["orders"], june["active"], june["new"]) == (4100, 5, 2, 2)
    assert june["repeat_rate"] == 0.5  # C1 ordered 4 times, C3 once
    assert june["aov"] == 820 and june["revenue_per_customer"] == 2050
    assert (jan["sales"], jan["active"], jan["new"], jan["repeat_rate"]) == (2450, 2, 2, 0.5)
    assert (feb["sales"], feb["active"], feb["new"]) == (1600, 1, 0)
    assert feb["growth"] == pytest.approx(1600 / 2450 - 1)
    assert got[dt.date(2024, 3, 1)]["sales"] == 0 and got[dt.date(2024, 3, 1)]["growth"] == -1
    assert got[dt.date(2024, 5, 1)]["growth"] is None  # nothing sold in April


def test_a_rep_gets_only_their_own_customers(loaded_store):
    with loaded_store() as s:
        wang = by_month(performance.monthly_kpis(s, actor=WANG, month=JUNE))
        table = performance.group_table(s, actor=WANG, dimension="channel", month=JUNE)
    assert (wang[JUNE]["sales"], wang[JUNE]["active"]) == (4000, 1)
    assert wang[dt.date(2024, 1, 1)]["sales"] == 50
    assert {r["name"] for r in table["rows"]} == {"超市", "便利店"}
    assert table["total"]["sales"] == 4000 and table["total"]["customers"] == 2


def test_group_table_with_targets_by_hand(loaded_store):
    with loaded_store() as s:
        targets.set_targets(
            s,
            actor=SYSTEM,
            rows=[
                {
                    "month": "2024-06",
                    "dimension": "rep",
                    "name": "王伟",
                    "sales": 5000,
                    "active_customers": 2,
                },
                {"month": "2024-06", "dimension": "rep", "name": "李娜", "sales": 1000},
            ],
        )
        s.commit()
        t = performance.group_table(s, actor=BOSS, dimension="rep", month=JUNE)
        feb = performance.group_table(s, actor=BOSS, dimension="rep", month=dt.date(2024, 2, 1))
        li = performance.group_table(s, actor=LI, dimension="rep", month=JUNE)
    rows = {r["name"]: r for r in t["rows"]}
    wang = rows["王伟"]
    assert (wang["sales"], wang["active"], wang["new"], wang["customers"]) == (4000, 1, 1, 2)
    assert wang["coverage"] == 0.5 and wang["repeat_rate"] == 1.0
    assert wang["attainment_sales"] == 0.8 and wang["attainment_active"] == 0.5
    assert wang["growth"] is None  # nothing in May
    assert rows["李娜"]["attainment_sales"] == 0.1 and rows["李娜"]["target_active"] is None
    assert t["total"]["sales"] == 4100 and t["total"]["target_sales"] == 6000
    f = {r["name"]: r for r in feb["rows"]}
    assert f["李娜"]["growth"] == pytest.approx(1600 / 2400 - 1)
    assert f["李娜"]["coverage"] == 0.5 and f["李娜"]["target_sales"] is None
    assert [r["name"] for r in li["rows"]] == ["李娜"]
    assert li["rows"][0]["target_sales"] == 1000


def test_unknown_dimension_is_refused(loaded_store):
    with loaded_store() as s, pytest.raises(SchemaError):
        performance.group_table(s, actor=BOSS, dimension="city", month=JUNE)


def test_revenue_by_class_and_alerts(loaded_store):
    refresh(loaded_store, as_of=dt.date(2024, 7, 1))
    with loaded_store() as s:
        classes = performance.revenue_by_class(s, actor=BOSS)
        mine = performance.revenue_by_class(s, actor=WANG)
        assert performance.latest_alerts(s, actor=WANG) == []  # one run: no moves yet
    assert sum(c["customers"] for c in classes) == 4
    assert sum(c["revenue"] for c in classes) == 4000 + 50 + 100 + 4000
    assert {c["value"] for c in mine} == {"重要价值客户", "一般挽留客户"}
    analyst = Actor(user_id=None, username="x", role="nobody")
    with loaded_store() as s, pytest.raises(ForbiddenError):
        performance.latest_alerts(s, actor=analyst)


def test_figures_are_kept_until_the_data_change(loaded_store):
    """The month's aggregates are computed once per store version and scope."""
    from kehu.services.customers import update_customer
    from kehu.services.store_load import add_order

    def june(actor):
        with loaded_store() as s:
            return by_month(performance.monthly_kpis(s, actor=actor, month=JUNE))[JUNE]

    assert june(BOSS)["sales"] == 4100 and june(WANG)["sales"] == 4000
    assert june(BOSS)["sales"] == 4100  # from the kept figures
    with loaded_store() as s, s.begin():  # a new order through the API's service
        add_order(
            s,
            actor=SYSTEM,
            order_no="O999",
            customer_code="C2",
            order_time=dt.datetime(2024, 6, 15, 9),
            lines=[{"product_id": "P1", "quantity": 1, "price": 70.0}],
        )
    assert june(BOSS)["sales"] == 4170 and june(WANG)["sales"] == 4070
    with loaded_store() as s, s.begin():  # C2 moves to 李娜: the reps' figures follow
        update_customer(s, actor=SYSTEM, code="C2", sales_rep="李娜")
    assert june(WANG)["sales"] == 4000 and june(LI)["sales"] == 170
    with loaded_store() as s:
        table = performance.group_table(s, actor=BOSS, dimension="rep", month=JUNE)
    assert {r["name"]: r["sales"] for r in table["rows"]} == {"王伟": 4000, "李娜": 170}
