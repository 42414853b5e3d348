"""Refresh: classes from the store's orders, migration, alerts, failures."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kehu.config import Settings
from kehu.exceptions import ForbiddenError, KehuError, SchemaError
from kehu.services import refresh as refresh_mod
from kehu.services.access import SYSTEM, Actor
from kehu.services.customers import customer_360
from kehu.services.refresh import current_run, refresh, run_alerts
from kehu.services.store_load import add_order
from kehu.store.models import ClassificationResult, ClassificationRun, Customer
from kehu.store.testing import SAMPLE_CLASSES

AS_OF = dt.date(2024, 7, 1)


def _classes(factory, run_id, column="rfm8"):
    with factory() as s:
        rows = s.execute(
            select(Customer.code, getattr(ClassificationResult, column))
            .join(ClassificationResult, ClassificationResult.customer_id == Customer.id)
            .where(ClassificationResult.run_id == run_id)
        )
        return dict(rows.all())


def test_refresh_classifies_from_the_store(loaded_store):
    got = refresh(loaded_store, as_of=AS_OF)
    assert (got.status, got.customers, got.as_of, got.alerts) == ("succeeded", 4, AS_OF, 0)
    assert _classes(loaded_store, got.run_id) == SAMPLE_CLASSES
    with loaded_store() as s:
        r = s.scalar(
            select(ClassificationResult)
            .join(Customer, Customer.id == ClassificationResult.customer_id)
            .where(Customer.code == "C1")
        )
        # C1: 4 orders, 4,000 in total, last on 2024-06-25 -> 6 days before 2024-07-01
        assert (r.orders, r.monetary, r.recency_days) == (4, pytest.approx(4000.0), 6)
        assert r.last_purchase == dt.date(2024, 6, 25)
        run = s.get(ClassificationRun, got.run_id)
        rfm8 = next(c for c in run.classifiers if c["classifier"] == "rfm8")
        # mean thresholds: recency (6+178+3+142)/4, orders 11/4, monetary 8,150/4
        assert rfm8["thresholds"]["recency_days"] == pytest.approx(82.25)
        assert rfm8["thresholds"]["orders"] == pytest.approx(2.75)
        assert rfm8["thresholds"]["monetary"] == pytest.approx(2037.5)


def test_second_run_records_migration_and_alerts(loaded_store):
    first = refresh(loaded_store, as_of=AS_OF)
    # C2 and C3 become frequent buyers in November; C1 and C4 stop buying
    with loaded_store() as s, s.begin():
        for code in ("C2", "C3"):
            for day in range(11, 21):
                add_order(
                    s,
                    actor=SYSTEM,
                    order_no=f"{code}-11-{day}",
                    customer_code=code,
                    order_time=dt.datetime(2024, 11, day, 10),
                    lines=[{"product_code": "P1", "amount": 100.0}],
                )
    second = refresh(loaded_store, as_of=dt.date(2024, 12, 1))
    assert second.previous_run_id == first.run_id
    now = _classes(loaded_store, second.run_id)
    # orders mean (4+11+11+5)/4 = 7.75, monetary mean 10,150/4, recency mean (159+11+11+295)/4
    assert now["C1"] == "重要挽留客户" and now["C4"] == "重要挽留客户"
    moves = {(m["from"], m["to"]): m["customers"] for m in second.migration}
    assert moves[("重要价值客户", "重要挽留客户")] == 1
    assert moves[("重要保持客户", "重要挽留客户")] == 1
    assert second.alerts == 2
    with loaded_store() as s:
        alerts = run_alerts(s, actor=SYSTEM, run_id=second.run_id)
        assert {(a.kind, a.from_class, a.to_class) for a in alerts} == {
            ("important_customer_slipping", "重要价值客户", "重要挽留客户"),
            ("important_customer_slipping", "重要保持客户", "重要挽留客户"),
        }
        # a rep sees only the alerts of their own customers (C1 is 王伟's, C4 李娜's)
        rep = Actor(user_id=None, username="w", role="rep", rep_name="王伟")
        mine = run_alerts(s, actor=rep, run_id=second.run_id)
        assert [a.from_class for a in mine] == ["重要价值客户"]
        assert current_run(s).id == second.run_id


def test_failed_refresh_keeps_previous_results(loaded_store, monkeypatch):
    first = refresh(loaded_store, as_of=AS_OF)

    def broken(*args, **kwargs):
        raise RuntimeError("engine exploded")

    monkeypatch.setattr(refresh_mod, "_classify", broken)
    with pytest.raises(KehuError, match="engine exploded"):
        refresh(loaded_store, as_of=AS_OF)
    with loaded_store() as s:
        runs = s.scalars(select(ClassificationRun).order_by(ClassificationRun.id)).all()
        assert [r.status for r in runs] == ["succeeded", "failed"]
        assert "engine exploded" in runs[1].error
        assert current_run(s).id == first.run_id
        view = customer_360(s, actor=SYSTEM, code="C1")
        assert view["run"]["run_id"] == first.run_id
        assert {c["classifier"]: c["label"] for c in view["classes"]}["rfm8"] == "重要价值客户"


def test_refresh_needs_orders_and_permission(store_factory):
    with pytest.raises(SchemaError, match="no orders"):
        refresh(store_factory)
    with store_factory() as s:
        assert s.scalar(select(ClassificationRun.status)) == "failed"
    with pytest.raises(ForbiddenError):
        refresh(store_factory, actor=Actor(user_id=None, username="s", role="service"))


def test_refresh_uses_the_settings(loaded_store):
    settings = Settings(classifiers={"rfm8": {"threshold": "median"}})
    got = refresh(loaded_store, as_of=AS_OF, settings=settings)
    with loaded_store() as s:
        run = s.get(ClassificationRun, got.run_id)
        rfm8 = next(c for c in run.classifiers if c["classifier"] == "rfm8")
        assert rfm8["params"]["threshold"] == "median"
        # the analytics take the lower (discrete) median of 1, 1, 4, 5
        assert rfm8["thresholds"]["orders"] == pytest.approx(1.0)
