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


# --- predictions and revisit tasks in the run ---------------------------------------------------


def test_short_history_skips_predictions_with_a_note(loaded_store):
    got = refresh(loaded_store, as_of=AS_OF)
    # the sample spans 2024-01-01 .. 2024-07-01: 182 days, 4 customers
    assert got.notes == [
        "predictions: skipped (182 days of history and 4 customers; "
        "CLV and churn need 270 days and 50 customers)"
    ]
    with loaded_store() as s:
        assert s.get(ClassificationRun, got.run_id).settings["notes"] == got.notes
        assert all("clv" not in r.scores for r in s.scalars(select(ClassificationResult)))
    off = refresh(loaded_store, as_of=AS_OF, settings=Settings(predictions=False))
    assert off.notes == ["predictions: off in the settings"]


def _history_csv(folder):
    """60 customers over 18 months: S* buy weekly to the end, Q* stop after three months."""
    rows = ["订单号,客户编号,下单时间,商品编码,数量,单价,金额"]
    start = dt.datetime(2023, 1, 2, 10)
    for i in range(60):
        code = f"S{i:02d}" if i % 2 == 0 else f"Q{i:02d}"
        gap = 7 + i % 5
        last = dt.datetime(2024, 6, 28) if code[0] == "S" else dt.datetime(2023, 4, 1)
        day, n = start + dt.timedelta(days=i % 7), 0
        while day < last:
            amount = 50.0 + 10 * (i % 7) + n % 3
            product = "P1" if n % 2 else "P2"
            rows.append(f"{code}-{n},{code},{day:%Y-%m-%d %H:%M:%S},{product},1,{amount},{amount}")
            day += dt.timedelta(days=gap)
            n += 1
    path = folder / "history.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    codes = sorted({r.split(",")[1] for r in rows[1:]})
    people = folder / "people.csv"
    people.write_text("客户编号,业务员\n" + "".join(f"{c},王伟\n" for c in codes), encoding="utf-8")
    return path, people


def test_refresh_scores_clv_and_churn_with_enough_history(store_factory, tmp_path):
    from kehu.services.store_load import load_files

    orders, people = _history_csv(tmp_path)
    load_files(store_factory, orders=orders, customers=people)
    # as of the day after the last order, so that churn's last horizon is fully observed
    got = refresh(store_factory, revisit_rules=())
    assert got.customers == 60
    assert got.notes == []
    with store_factory() as s:
        scores = dict(
            s.execute(
                select(Customer.code, ClassificationResult.scores).join(
                    ClassificationResult, ClassificationResult.customer_id == Customer.id
                )
            ).all()
        )
    assert len(scores) == 60
    for code, sc in scores.items():
        print(code, sc)
        assert 0.0 <= sc["p_alive"] <= 1.0 and 0.0 <= sc["churn_probability"] <= 1.0
        assert sc["clv"] >= 0.0
    steady = [scores[c] for c in scores if c[0] == "S"]
    stopped = [scores[c] for c in scores if c[0] == "Q"]
    # weekly buyers up to the end are alive; those silent for 15 months are not
    assert min(s["p_alive"] for s in steady) > max(s["p_alive"] for s in stopped)
    assert min(s["clv"] for s in steady) > max(s["clv"] for s in stopped)
    # nobody churns inside the churn model's training horizons here, so its risk is flat;
    # it is checked for range only (the churn model has its own tests)
    assert all(isinstance(s["churn_reasons"], str) for s in steady + stopped)


def test_no_personalised_marketing_gets_the_non_personal_list(store_factory, tmp_path):
    from kehu.services.store_load import load_files

    orders, people = _history_csv(tmp_path)
    load_files(store_factory, orders=orders, customers=people)
    with store_factory() as s, s.begin():
        flagged = list(s.scalars(select(Customer).order_by(Customer.code)))
        flagged = [flagged[0], flagged[-1]]  # a steady buyer and one who stopped
        for c in flagged:
            c.no_personalised_marketing = True
        codes = [c.code for c in flagged]
    refresh(store_factory, revisit_rules=())
    with store_factory() as s:
        rows = dict(
            s.execute(
                select(Customer.code, ClassificationResult.scores).join(
                    ClassificationResult, ClassificationResult.customer_id == Customer.id
                )
            ).all()
        )
    lists = [rows[c]["recommended_products"] for c in codes]
    # different histories, the same non-personal list: nothing was made from their purchases
    assert lists[0] and lists[0] == lists[1]
