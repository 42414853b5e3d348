"""Refresh: classes from the store's orders, migration, alerts, failures."""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import socket
import threading

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.exc import DBAPIError

from kehu.config import Settings
from kehu.exceptions import ConflictError, ForbiddenError, KehuError, SchemaError
from kehu.services import refresh as refresh_mod
from kehu.services.access import SYSTEM, Actor
from kehu.services.customers import customer_360
from kehu.services.refresh import current_run, refresh, run_alerts
from kehu.services.store_load import add_order
from kehu.store.models import ClassificationResult, ClassificationRun, Customer, utcnow
from kehu.testing import SAMPLE_CLASSES

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
    with pytest.raises(KehuError, match="the classify step failed") as raised:
        refresh(loaded_store, as_of=AS_OF)
    # the exception's own text may quote data: the run names the step, the log has the text
    assert "engine exploded" not in str(raised.value)
    with loaded_store() as s:
        runs = s.scalars(select(ClassificationRun).order_by(ClassificationRun.id)).all()
        assert [r.status for r in runs] == ["succeeded", "failed"]
        assert runs[1].error == (
            "the classify step failed: the classes could not be computed "
            f"(RuntimeError; see the server log, run {runs[1].id})"
        )
        assert current_run(s).id == first.run_id
        view = customer_360(s, actor=SYSTEM, code="C1")
        assert view["run"]["run_id"] == first.run_id
        assert {c["classifier"]: c["label"] for c in view["classes"]}["rfm8"] == "重要价值客户"


def test_refresh_gives_sqlite_the_table_sizes(loaded_store):
    """SQLite's planner gets the sizes of the new results (ANALYZE); PostgreSQL's own."""
    refresh(loaded_store, as_of=AS_OF)
    engine = loaded_store.kw["bind"]
    with loaded_store() as s:
        if engine.dialect.name == "sqlite":
            tables = set(s.scalars(text("SELECT DISTINCT tbl FROM sqlite_stat1")))
            assert {"classification_results", "customers", "orders"} <= tables
        else:
            assert refresh_mod.analyse(engine) is False


def test_a_failed_analyze_does_not_fail_the_refresh(loaded_store, monkeypatch, caplog):
    def locked(engine):
        raise DBAPIError("ANALYZE", {}, Exception("database is locked"))

    monkeypatch.setattr(refresh_mod, "analyse", locked)
    got = refresh(loaded_store, as_of=AS_OF)
    assert got.status == "succeeded"
    with loaded_store() as s:
        assert current_run(s).id == got.run_id
    assert "ANALYZE failed" in caplog.text


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
    # the reasons are kept worded in both languages, for the pages of either
    han = re.compile(r"[\u4e00-\u9fff]")
    for sc in steady + stopped:
        assert sc["churn_reasons_zh"] == sc["churn_reasons"]  # the settings' language: zh
        assert not han.search(sc["churn_reasons_en"])
        assert bool(sc["churn_reasons_zh"]) == bool(sc["churn_reasons_en"])


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


# --- issue 9: clean errors, interrupted runs, one run at a time, unreadable order times ---------


def _double_rows(monkeypatch):
    """Make the write step insert one customer's results twice: the database refuses them
    with an error whose SQL parameters hold customers' classes and amounts."""
    real = refresh_mod._write

    def doubled(session, run_id, prev_id, rows, *args):
        return real(session, run_id, prev_id, rows + rows[:1], *args)

    monkeypatch.setattr(refresh_mod, "_write", doubled)


def test_a_database_error_stays_in_the_log(loaded_store, monkeypatch, caplog):
    first = refresh(loaded_store, as_of=AS_OF)
    _double_rows(monkeypatch)
    caplog.set_level(logging.INFO, logger="kehu.refresh")
    with pytest.raises(refresh_mod.RefreshFailedError) as raised:
        refresh(loaded_store, as_of=AS_OF)
    run_id = raised.value.run_id
    clean = (
        "the write step failed: the database refused the results "
        f"(see the server log, run {run_id})"
    )
    assert str(raised.value) == clean
    with loaded_store() as s:
        run = s.get(ClassificationRun, run_id)
        assert (run.status, run.error) == ("failed", clean)
        assert current_run(s).id == first.run_id
    # the technical detail, with its traceback, went to the server log only
    logged = [r for r in caplog.records if r.name == "kehu.refresh" and r.exc_info]
    assert len(logged) == 1 and f"run {run_id} failed in the write step" in logged[0].getMessage()
    assert isinstance(logged[0].exc_info[1], DBAPIError)
    assert "重要" in str(logged[0].exc_info[1])  # the leak that the run no longer stores


def test_a_kehu_error_wrapping_another_error_is_not_shown(loaded_store, monkeypatch):
    def wrapping(*args, **kwargs):
        try:
            raise ValueError("C1 spent 4000.0")
        except ValueError as exc:
            raise SchemaError(f"bad features: {exc}") from exc

    monkeypatch.setattr(refresh_mod, "_classify", wrapping)
    with pytest.raises(refresh_mod.RefreshFailedError) as raised:
        refresh(loaded_store, as_of=AS_OF)
    assert "C1" not in str(raised.value) and "(SchemaError;" in str(raised.value)


def _running_row(factory, *, owner, heartbeat_age=dt.timedelta(0)) -> int:
    """A run left 'running' by ``owner``, whose last heartbeat is ``heartbeat_age`` old."""
    beat = utcnow() - heartbeat_age
    with factory() as s, s.begin():
        return s.execute(
            insert(ClassificationRun)
            .values(status="running", owner=owner, started_at=beat, heartbeat_at=beat)
            .returning(ClassificationRun.id)
        ).scalar_one()


def _dead_pid() -> int:
    """The pid of a process of this host that has exited (and was reaped)."""
    import subprocess
    import sys

    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.parametrize(
    "owner, age",
    [
        ("elsewhere:4242", dt.timedelta(minutes=10)),  # another host, silent for 10 minutes
        ("{host}:{dead}", dt.timedelta(0)),  # this host, its process is gone
    ],
)
def test_a_run_whose_process_stopped_is_marked_interrupted(loaded_store, owner, age):
    owner = owner.format(host=socket.gethostname(), dead=_dead_pid())
    stale = _running_row(loaded_store, owner=owner, heartbeat_age=age)
    got = refresh(loaded_store, as_of=AS_OF)
    assert got.status == "succeeded" and got.interrupted == [stale]
    with loaded_store() as s:
        run = s.get(ClassificationRun, stale)
        assert (run.status, run.error) == ("failed", refresh_mod.INTERRUPTED)
        assert run.finished_at is not None
        mine = s.get(ClassificationRun, got.run_id)
        assert mine.owner == f"{socket.gethostname()}:{os.getpid()}"


def test_a_live_run_elsewhere_blocks_the_refresh(loaded_store):
    live = _running_row(loaded_store, owner="elsewhere:4242", heartbeat_age=dt.timedelta(seconds=5))
    with pytest.raises(refresh_mod.RefreshRunningError, match=f"already running \\(run {live},"):
        refresh(loaded_store, as_of=AS_OF)
    with loaded_store() as s:
        runs = s.execute(select(ClassificationRun.id, ClassificationRun.status)).all()
    assert runs == [(live, "running")]  # nothing recorded for the refused refresh


def test_one_refresh_at_a_time_in_one_process(loaded_store):
    seen = {}

    def second(step):
        if step == "classify":
            with pytest.raises(refresh_mod.RefreshRunningError) as raised:
                refresh(loaded_store, as_of=AS_OF)
            seen["running"] = raised.value.run_id

    got = refresh(loaded_store, as_of=AS_OF, on_step=second)
    assert seen["running"] == got.run_id and got.interrupted == []
    assert issubclass(refresh_mod.RefreshRunningError, ConflictError)  # 409 in the API


def test_the_database_allows_one_running_run(loaded_store):
    from sqlalchemy.exc import IntegrityError

    _running_row(loaded_store, owner="elsewhere:1")
    with pytest.raises(IntegrityError):
        _running_row(loaded_store, owner="elsewhere:2")


def test_the_heartbeat_beats_while_a_step_works_and_stops_after(loaded_store, monkeypatch):
    monkeypatch.setattr(refresh_mod, "HEARTBEAT_SECONDS", 0.05)
    beats = []

    def slow(step):
        if step == "classify":
            with loaded_store() as s:
                run = s.scalar(
                    select(ClassificationRun).where(ClassificationRun.status == "running")
                )
                beats.append(run.heartbeat_at)
            threading.Event().wait(0.5)  # the step works; the thread beats meanwhile
            with loaded_store() as s:
                beats.append(s.get(ClassificationRun, run.id).heartbeat_at)

    got = refresh(loaded_store, as_of=AS_OF, on_step=slow)
    assert beats[1] > beats[0]
    assert not [t for t in threading.enumerate() if t.name == f"kehu-heartbeat-{got.run_id}"]


def test_a_run_marked_interrupted_meanwhile_does_not_succeed(loaded_store):
    def taken_for_dead(step):
        if step == "write":  # another process judged the run dead and marked it
            with loaded_store() as s, s.begin():
                run = s.scalar(
                    select(ClassificationRun).where(ClassificationRun.status == "running")
                )
                run.status = "failed"

    with pytest.raises(ConflictError, match="marked interrupted while it worked"):
        refresh(loaded_store, as_of=AS_OF, on_step=taken_for_dead)
    with loaded_store() as s:
        assert s.scalar(select(ClassificationRun.status)) == "failed"
        assert s.scalar(select(ClassificationResult.id)) is None


def test_order_times_that_are_not_dates_are_counted(loaded_store, store_backend, caplog):
    bad = text("UPDATE orders SET order_time = 'garbage-date' WHERE order_no = 'O101'")
    if store_backend[0] == "postgresql":
        # the column's type refuses the text: the refresh reads only real times
        with pytest.raises(DBAPIError), loaded_store() as s, s.begin():
            s.execute(bad)
        got = refresh(loaded_store, as_of=AS_OF)
        assert got.skipped_lines == 0 and not [n for n in got.notes if "order line" in n]
        return
    with loaded_store() as s, s.begin():  # SQLite keeps the text as it is
        s.execute(bad)
    caplog.set_level(logging.WARNING, logger="kehu.refresh")
    got = refresh(loaded_store, as_of=AS_OF)
    # O101 has two lines; C1 keeps its three other orders
    assert (got.status, got.customers, got.skipped_lines) == ("succeeded", 4, 2)
    note = "skipped 2 order lines: their order_time is not a date (the server log lists the orders)"
    assert note in got.notes
    with loaded_store() as s:
        run = s.get(ClassificationRun, got.run_id)
        assert run.settings["skipped"] == {"order_time_not_a_date": 2}
        assert note in run.settings["notes"]
        assert (
            s.scalar(
                select(ClassificationResult.orders)
                .join(Customer, Customer.id == ClassificationResult.customer_id)
                .where(Customer.code == "C1")
            )
            == 3
        )
    assert "O101" in caplog.text  # the operator can find the line; the run's readers cannot
