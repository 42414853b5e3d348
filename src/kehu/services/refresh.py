"""Refresh: classify every customer from the store's orders and record the run.

The store's orders are read through Ibis (``ibis.sqlite`` / ``ibis.postgres``
on the store's own database), copied once into an in-process DuckDB, and fed to
the same analytics as ``kehu analyze`` (:func:`kehu.analytics.features.customer_features`
and :func:`kehu.analytics.classify.classify`).  A run records:

* every customer's classes, scores and feature values (so that the
  explanation of a class can be rebuilt later, see :func:`explain_result`);
* each classifier's rule version, parameters, thresholds and fitted state;
* the migration of the main class (``rfm8``) from the previous run, and alerts
  for customers whose move needs attention (:data:`ALERT_RULES`);
* when the settings ask for predictions and the history is long enough
  (:data:`MIN_HISTORY_DAYS`, :data:`MIN_PREDICTION_CUSTOMERS`), each
  customer's CLV, probability alive, expected purchases and churn probability
  with its reasons (:func:`kehu.services.predictions.predict`, as in
  ``kehu analyze``) in ``scores``; otherwise, or when a model cannot run, a
  note in the run's ``settings["notes"]`` says why;
* follow-up tasks from the revisit rules (:mod:`kehu.services.followups`),
  idempotent: a customer with an open task from the same rule gets no other.

A run starts as ``running``; its results are written in one transaction with
the switch to ``succeeded``.  If anything fails the run becomes ``failed``
with an error that says which step failed in words fit for every reader (the
technical detail, which may quote customer data, goes to the ``kehu.refresh``
log only), and the previous succeeded run stays the current one.

One refresh runs at a time, across processes and hosts: a unique index allows
one ``running`` row, and the loser of a race gets :class:`RefreshRunningError`.
A running run records its ``owner`` (``host:pid``) and a heartbeat; one whose
heartbeat stopped or whose process is gone (``kill -9``) is marked failed,
:data:`INTERRUPTED`, by the next refresh and by the API server at start.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
from sqlalchemy import Engine, insert, select, update
from sqlalchemy.exc import DataError, IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kehu.config import Settings
from kehu.exceptions import ConflictError, KehuError, NotFoundError, SchemaError
from kehu.names import CLASS_COLUMNS
from kehu.services import audit
from kehu.services.access import SYSTEM, Actor, require
from kehu.services.scope import scope_customers
from kehu.store.engine import analyse
from kehu.store.models import (
    Alert,
    ClassificationResult,
    ClassificationRun,
    Customer,
    utcnow,
)

#: (classifier, from classes, to classes, alert kind, message template)
ALERT_RULES = (
    (
        "rfm8",
        ("重要价值客户", "重要保持客户", "重要发展客户"),
        ("重要挽留客户",),
        "important_customer_slipping",
        "{code} 从 {old} 变为 {new}：重要客户正在流失，请尽快回访",
    ),
    (
        "rfm8",
        ("重要价值客户",),
        ("一般价值客户", "一般保持客户", "一般发展客户", "一般挽留客户"),
        "value_customer_dropped",
        "{code} 从 {old} 降为 {new}：消费金额明显下降",
    ),
    (
        "lifecycle",
        ("active", "new", "won_back"),
        ("at_risk",),
        "customer_at_risk",
        "{code} lifecycle {old} -> {new}: at risk of lapsing",
    ),
)
#: columns of ClassificationResult filled from the classified table
RESULT_COLUMNS = (
    *CLASS_COLUMNS,
    "recency_days",
    "orders",
    "monetary",
    "avg_order_value",
    "r_score",
    "f_score",
    "m_score",
    "last_purchase",
)
#: optional model outputs kept as scores when a classifier or model produced them
SCORE_COLUMNS = (
    "grade_score",
    "clv",
    "churn_probability",
    "churn_reasons",
    "churn_reasons_zh",
    "churn_reasons_en",
    "p_alive",
    "expected_purchases",
    "recommended_products",
)
#: prediction column -> score name in the run's results
PREDICTION_SCORES = {
    "clv": "clv",
    "p_alive": "p_alive",
    "expected_purchases_90d": "expected_purchases",
    "churn_risk": "churn_probability",
    "churn_reasons": "churn_reasons",
    "churn_reasons_zh": "churn_reasons_zh",
    "churn_reasons_en": "churn_reasons_en",
    "recommendations": "recommended_products",
}
#: the CLV and churn models need this much history (churn is checked out of time
#: on the last two 90-day horizons) and this many customers; below, they are skipped
MIN_HISTORY_DAYS = 270
MIN_PREDICTION_CUSTOMERS = 50
MIGRATION_CLASS = "rfm8"

log = logging.getLogger("kehu.refresh")

#: a running run touches its heartbeat this often; one silent for STALE_AFTER was interrupted
HEARTBEAT_SECONDS = 30
STALE_AFTER = dt.timedelta(minutes=5)
#: the error of a run whose process stopped before it finished (kill -9, crash, power loss)
INTERRUPTED = "interrupted: the process doing the run stopped before it finished"
#: what each step does, for the message of a run that failed in it
STEP_FAILURES = {
    "read": "the store's orders could not be read",
    "classify": "the classes could not be computed",
    "predict": "the predictions could not be computed",
    "write": "the results could not be written",
}
#: tests only (with KEHU_ENV=test): ``<step>:<seconds>`` to sleep before a step
TEST_PAUSE_ENV = "KEHU_TEST_REFRESH_PAUSE"
#: ids of the runs this process is doing now
_ACTIVE_RUNS: set[int] = set()


@dataclass
class RefreshResult:
    """A finished run: its id, size, migration and alerts raised.

    ``interrupted`` lists the runs this refresh found left ``running`` by a process
    that stopped, and marked failed; ``skipped_lines`` counts the order lines left
    out (the notes say why).
    """

    run_id: int
    status: str
    as_of: dt.date | None
    customers: int
    alerts: int
    previous_run_id: int | None
    migration: list[dict[str, Any]]
    tasks: int = 0
    notes: list[str] = field(default_factory=list)
    interrupted: list[int] = field(default_factory=list)
    skipped_lines: int = 0


class RefreshRunningError(ConflictError):
    """Another refresh is running: one at a time, across processes and hosts."""

    def __init__(self, run: ClassificationRun):
        self.run_id = run.id
        self.started_at = run.started_at
        self.heartbeat_at = run.heartbeat_at
        super().__init__(
            f"a refresh is already running (run {run.id}, started "
            f"{run.started_at:%Y-%m-%d %H:%M:%S} UTC); try again when it has finished"
        )


class RefreshFailedError(KehuError, RuntimeError):
    """A refresh failed for a reason that is not the user's (database, engine, bug).

    The message is safe to show; the technical detail is in the log.
    """

    def __init__(self, message: str, run_id: int):
        super().__init__(message)
        self.run_id = run_id


def refresh(
    factory: sessionmaker[Session],
    *,
    actor: Actor = SYSTEM,
    settings: Settings | None = None,
    as_of: dt.date | None = None,
    names: tuple[str, ...] | None = None,
    on_step: Callable[[str], None] | None = None,
    revisit_rules: Sequence[Any] | None = None,
) -> RefreshResult:
    """Classify every customer from the store's orders and record a run.

    Parameters
    ----------
    factory
        Session factory of the store.
    actor
        Who runs it (needs ``refresh.run``).
    settings
        Analysis settings (classifier parameters, window, custom segments), as
        for ``kehu analyze``.
    as_of
        The date classes are computed at; default the day after the last order.
    names
        Classifiers to run; default the rule classifiers (plus custom segments
        when the settings define some).
    on_step
        Called with each step's name (``read``, ``classify``, ``predict``,
        ``write``, ``done``) as it starts.
    revisit_rules
        :class:`~kehu.services.followups.RevisitRule` s that create tasks for
        the run's classes; default the settings' ``revisit`` section, else
        :data:`~kehu.services.followups.DEFAULT_REVISIT_RULES`; ``()`` for none.

    Raises
    ------
    RefreshRunningError
        Another refresh is running (nothing is recorded).
    KehuError
        After recording the run as failed (the previous results stay current).
        The run's ``error`` and the exception's message name the step that
        failed and never carry database errors (their SQL parameters hold
        customer data); the detail goes to the ``kehu.refresh`` log.
    """
    require(actor, "refresh.run")
    settings = settings or Settings()
    if revisit_rules is None and settings.revisit is not None:
        from kehu.services.followups import revisit_rules_from_config

        # checked before the run is recorded: a bad rule stops the refresh at once
        revisit_rules = revisit_rules_from_config(settings.revisit, "revisit")
    interrupted = mark_interrupted(factory)
    run_id, prev_id = _claim(factory, actor, settings)
    engine = factory.kw["bind"]
    current = "read"
    notes: list[str] = []
    skipped: dict[str, int] = {}

    def step(name: str) -> None:
        nonlocal current
        current = name
        _touch(engine, run_id)
        _test_pause(name)
        if on_step is not None:
            on_step(name)

    heartbeat = _Heartbeat(engine, run_id)
    try:
        step("read")
        duck, skipped = read_store(engine)
        notes.extend(_skip_notes(skipped))
        step("classify")
        table, fitted, day = _classify(duck, settings, as_of, names)
        rows = table.to_pyarrow().to_pylist()
        step("predict")
        predicted, predict_notes = _predict(duck, day, settings, run_id)
        notes.extend(predict_notes)
        for r in rows:
            r.update(predicted.get(r["customer_id"], ()))
        step("write")
        with factory() as session, session.begin():
            result, values = _write(session, run_id, prev_id, rows, fitted, day, actor)
            result.tasks = _revisit(session, run_id, revisit_rules)
            extra = {"notes": notes, "skipped": skipped, "revisit_tasks": result.tasks}
            _finish(session, run_id, values, extra)
        try:  # SQLite plans the lists over the new results knowing their sizes
            analyse(engine)
        except SQLAlchemyError:  # the run has succeeded; the plans are only slower
            log.warning("refresh run %s: ANALYZE failed", run_id, exc_info=True)
        result.notes = notes
        result.interrupted = interrupted
        result.skipped_lines = sum(skipped.values())
        step("done")
        return result
    except Exception as exc:
        message = _failure_message(current, exc, run_id)
        if _user_facing(exc):  # the user's to fix (no orders, bad settings): not a server fault
            log.info("refresh run %s failed in the %s step: %s", run_id, current, exc)
        else:
            log.exception("refresh run %s failed in the %s step", run_id, current)
        _record_failure(factory, run_id, message, notes, skipped)
        if _user_facing(exc):
            raise
        raise RefreshFailedError(message, run_id) from exc
    except BaseException:  # Ctrl-C, SystemExit: the run stops here, say so at once
        _record_failure(factory, run_id, INTERRUPTED, notes, skipped)
        raise
    finally:
        heartbeat.stop()
        _ACTIVE_RUNS.discard(run_id)


def current_run(session: Session) -> ClassificationRun | None:
    """The latest succeeded run: the one whose classes are current."""
    return session.scalar(
        select(ClassificationRun)
        .where(ClassificationRun.status == "succeeded")
        .order_by(ClassificationRun.id.desc())
        .limit(1)
    )


def list_runs(session: Session, *, actor: Actor, limit: int = 50) -> list[ClassificationRun]:
    """The latest runs.  Every role with ``runs.read`` sees them: a run holds no customer's
    data, only counts and a clean error (see :func:`run_detail` for what is scoped)."""
    require(actor, "runs.read")
    stmt = select(ClassificationRun).order_by(ClassificationRun.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def get_run(session: Session, *, actor: Actor, run_id: int) -> ClassificationRun:
    require(actor, "runs.read")
    run = session.get(ClassificationRun, run_id)
    if run is None:
        raise NotFoundError(f"no classification run {run_id}")
    return run


def run_detail(session: Session, *, actor: Actor, run_id: int) -> dict[str, Any]:
    """A run with its classifiers and migration, as far as the actor may see them.

    Someone who reads every customer gets the whole record.  A rep gets the
    migration of their own customers only, and each classifier's name, version
    and parameters without its fitted thresholds and state: cut points are other
    customers' values (a spend tier's cut is one customer's total) and with few
    customers a mean gives the others' totals away.
    """
    run = get_run(session, actor=actor, run_id=run_id)
    if actor.sees_all_customers:
        return {"run": run, "classifiers": run.classifiers, "migration": run.migration}
    classifiers = [
        {k: c.get(k) for k in ("classifier", "version", "params")} for c in run.classifiers
    ]
    migration: list[dict[str, Any]] = []
    if run.status == "succeeded" and run.previous_run_id is not None:
        mine = scope_customers(select(Customer.id), actor)
        migration = _migration(session, run.previous_run_id, run.id, customers=mine)
    return {"run": run, "classifiers": classifiers, "migration": migration}


def shown_error(run: ClassificationRun) -> str | None:
    """The run's error as users may read it.

    Errors written by this module are clean (a step in words, or interrupted);
    anything else is an error stored by an earlier version, which kept the raw
    database message with its SQL parameters, and is replaced by a plain line.
    """
    error = run.error
    if error is None or error.startswith("interrupted") or " step failed: " in error:
        return error
    return f"the refresh failed (see the server log, run {run.id})"


def run_alerts(session: Session, *, actor: Actor, run_id: int, limit: int = 500) -> list[Alert]:
    """The alerts of a run, restricted to the actor's customers."""
    require(actor, "runs.read")
    stmt = (
        select(Alert)
        .join(Customer, Customer.id == Alert.customer_id)
        .where(Alert.run_id == run_id)
        .order_by(Alert.id)
        .limit(limit)
    )
    return list(session.scalars(scope_customers(stmt, actor)))


# --- one run at a time, and runs whose process stopped ------------------------------------------


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:200]


def _alive(pid: int) -> bool:
    if os.name != "posix":  # pragma: no cover - the heartbeat timeout still applies
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # e.g. another user's process: it exists
        return True
    return True


def _stale(run: ClassificationRun, now: dt.datetime) -> str | None:
    """Why a ``running`` run is known to be dead, or None while it may still be working."""
    last = run.heartbeat_at or run.started_at
    if last is not None and now - last > STALE_AFTER:
        return f"no heartbeat since {last:%Y-%m-%d %H:%M:%S} UTC"
    host, _, pid = (run.owner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    if int(pid) == os.getpid():
        # this very process: a run it is not doing was left by an earlier life of the same pid
        # (pid 1 in a restarted container)
        return None if run.id in _ACTIVE_RUNS else "left by an earlier process with this pid"
    return None if _alive(int(pid)) else f"process {pid} on this host is gone"


def mark_interrupted(factory: sessionmaker[Session]) -> list[int]:
    """Mark ``failed`` (:data:`INTERRUPTED`) the running runs whose process stopped.

    A run is taken as stopped when its heartbeat is older than :data:`STALE_AFTER`,
    or when its owner is a process of this host that no longer exists.  Each update
    is guarded by the heartbeat that was judged, so a run that beat meanwhile is kept.
    Returns the ids marked.
    """
    now = utcnow()
    marked = []
    with factory() as session, session.begin():
        running = session.scalars(
            select(ClassificationRun).where(ClassificationRun.status == "running")
        ).all()
        for run in running:
            why = _stale(run, now)
            if why is None:
                continue
            if run.heartbeat_at is None:
                same_beat = ClassificationRun.heartbeat_at.is_(None)
            else:
                same_beat = ClassificationRun.heartbeat_at == run.heartbeat_at
            done = session.execute(
                update(ClassificationRun)
                .where(
                    ClassificationRun.id == run.id,
                    ClassificationRun.status == "running",
                    same_beat,
                )
                .values(status="failed", finished_at=now, error=INTERRUPTED)
                .execution_options(synchronize_session=False)
            )
            if done.rowcount:
                log.info("refresh run %s marked interrupted: %s (owner %s)", run.id, why, run.owner)
                marked.append(run.id)
    return marked


def recover_interrupted(factory: sessionmaker[Session]) -> list[int]:
    """:func:`mark_interrupted` for a server starting up: logs and never raises."""
    try:
        marked = mark_interrupted(factory)
    except Exception:
        log.exception("could not check for interrupted refresh runs")
        return []
    for run_id in marked:
        log.warning("refresh run %s was interrupted (its process stopped); marked failed", run_id)
    return marked


def _claim(factory, actor: Actor, settings: Settings) -> tuple[int, int | None]:
    """Record a new ``running`` run, or raise :class:`RefreshRunningError`.

    The database's unique index on running runs decides between racing processes:
    the loser's insert fails and it reports the winner.
    """
    for _attempt in range(3):
        try:
            with factory() as session, session.begin():
                previous = current_run(session)
                run = ClassificationRun(
                    status="running",
                    triggered_by=actor.user_id,
                    previous_run_id=previous.id if previous else None,
                    settings=settings.model_dump(mode="json", by_alias=True),
                    owner=_owner(),
                    heartbeat_at=utcnow(),
                )
                session.add(run)
                session.flush()
                claimed = run.id, run.previous_run_id
        except IntegrityError:
            with factory() as session:
                running = session.scalar(
                    select(ClassificationRun).where(ClassificationRun.status == "running")
                )
            if running is not None:
                raise RefreshRunningError(running) from None
            continue  # the other run finished meanwhile: try again
        _ACTIVE_RUNS.add(claimed[0])
        return claimed
    raise ConflictError("could not start the refresh: other runs kept starting; try again")


def _touch(engine: Engine, run_id: int) -> None:
    """Record that the run is alive (only while it is still running)."""
    runs = ClassificationRun.__table__
    with engine.begin() as con:
        con.execute(
            update(runs)
            .where(runs.c.id == run_id, runs.c.status == "running")
            .values(heartbeat_at=utcnow())
        )


class _Heartbeat:
    """Touches a run's heartbeat every :data:`HEARTBEAT_SECONDS` from a thread until stopped.

    Steps can take long (a big read or write); between steps the refresh touches
    the heartbeat itself.
    """

    def __init__(self, engine: Engine, run_id: int):
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._beat, args=(engine, run_id), name=f"kehu-heartbeat-{run_id}", daemon=True
        )
        self._thread.start()

    def _beat(self, engine: Engine, run_id: int) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            try:
                _touch(engine, run_id)
            except Exception:  # e.g. SQLite busy with the run's own write: try next time
                log.warning("heartbeat of refresh run %s not recorded", run_id, exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        # a beat waiting on a lock ends on its own; its update only touches a running run
        self._thread.join(timeout=5)


def _test_pause(step: str) -> None:
    """Tests only: with ``KEHU_ENV=test`` and ``KEHU_TEST_REFRESH_PAUSE=<step>:<seconds>``,
    sleep before that step, so that a test can overlap two refreshes or kill one."""
    spec = os.environ.get(TEST_PAUSE_ENV)
    if not spec or os.environ.get("KEHU_ENV") != "test":
        return
    name, _, seconds = spec.partition(":")
    if name == step:
        time.sleep(float(seconds))


# --- failures: a clean message for users, the detail for the log ---------------------------------


def _user_facing(exc: BaseException) -> bool:
    """A KehuError raised by kehu itself, not wrapping another error (whose text may hold data)."""
    seen: BaseException | None = exc
    while seen is not None:
        if not isinstance(seen, KehuError):
            return False
        seen = seen.__cause__ or (None if seen.__suppress_context__ else seen.__context__)
    return True


def _failure_message(step: str, exc: BaseException, run_id: int) -> str:
    if _user_facing(exc):
        return f"the {step} step failed: {exc}"[:2000]
    what = STEP_FAILURES.get(step, "the refresh stopped")
    if isinstance(exc, IntegrityError | DataError):
        what = "the database refused the results" if step == "write" else "the database refused it"
        return f"the {step} step failed: {what} (see the server log, run {run_id})"
    kind = "database error" if isinstance(exc, SQLAlchemyError) else type(exc).__name__
    return f"the {step} step failed: {what} ({kind}; see the server log, run {run_id})"


def _record_failure(factory, run_id: int, message: str, notes, skipped) -> None:
    """Mark the run failed (unless another process already marked it); never raises."""
    try:
        with factory() as session, session.begin():
            base = session.scalar(
                select(ClassificationRun.settings).where(ClassificationRun.id == run_id)
            )
            session.execute(
                update(ClassificationRun)
                .where(ClassificationRun.id == run_id, ClassificationRun.status == "running")
                .values(
                    status="failed",
                    finished_at=utcnow(),
                    error=message,
                    settings={**(base or {}), "notes": notes, "skipped": skipped},
                )
                .execution_options(synchronize_session=False)
            )
    except Exception:
        log.exception("refresh run %s: could not record its failure", run_id)


# --- reading the store through Ibis ----------------------------------------------------------


def store_backend(engine: Engine):
    """An Ibis backend on the store's own database."""
    url = engine.url
    if url.get_backend_name() == "sqlite":
        return ibis.sqlite.connect(url.database or ":memory:")
    return ibis.postgres.connect(
        host=url.host or "localhost",
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )


def store_tables(backend) -> dict[str, ir.Table]:
    """The store's orders, customers and products in the canonical schema of the analytics."""
    o, ln = backend.table("orders"), backend.table("order_lines")
    c, p = backend.table("customers"), backend.table("products")
    j = ln.join(o, ln.order_id == o.id).left_join(c, o.customer_id == c.id)
    orders = j.select(
        customer_id=c.code,
        order_id=o.order_no,
        order_time=o.order_time.cast("timestamp"),
        product_id=ln.product_code,
        quantity=ln.quantity.cast("float64"),
        price=ln.price.cast("float64"),
        amount=ln.amount.cast("float64"),
        is_return=ln.is_return.cast("boolean"),
        status=ln.status,
        channel=o.channel,
        store_id=o.store_id,
    )
    customers = c.select(
        customer_id=c.code,
        name=c.name,
        country=c.country,
        province=c.province,
        city=c.city,
        district=c.district,
        area_type=c.area_type,
        channel=c.channel,
        gender=c.gender,
        age_band=c.age_band,
        income_band=c.income_band,
        sales_rep=c.sales_rep,
        distributor_id=c.distributor,
        no_personalised_marketing=c.no_personalised_marketing,
    )
    products = p.select(
        product_id=p.code,
        name=p.name,
        category=p.category,
        brand=p.brand,
        price=p.price.cast("float64"),
        pack_size=p.pack_size,
    )
    return {"orders": orders, "customers": customers, "products": products}


def read_store(engine: Engine) -> tuple[dict[str, ir.Table], dict[str, int]]:
    """Copy the canonical tables once into an in-process DuckDB for the analytics.

    Also returns the order lines left out, by reason: on SQLite an ``order_time``
    is stored as text and one that is not a date reads as null.
    """
    import pyarrow.compute as pc

    from kehu.warehouse import connect

    backend = store_backend(engine)
    skipped: dict[str, int] = {}
    try:
        duck = connect(None)
        out = {}
        for name, expr in store_tables(backend).items():
            data = expr.to_pyarrow()
            if name == "orders":
                data, skipped = _drop_bad_times(data, pc)
            out[name] = duck.create_table(name, data, overwrite=True)
    finally:
        backend.disconnect()
    return out, skipped


def _drop_bad_times(data, pc):
    bad = pc.is_null(data["order_time"])
    n_bad = pc.sum(bad).as_py() or 0
    if not n_bad:
        return data, {}
    orders = sorted(set(data.filter(bad)["order_id"].to_pylist()), key=str)
    # the order numbers go to the log only: the run's notes are read by every role
    log.warning(
        "refresh: %d order lines skipped, their order_time is not a date; orders: %s%s",
        n_bad,
        ", ".join(map(str, orders[:20])),
        f" and {len(orders) - 20} more" if len(orders) > 20 else "",
    )
    return data.filter(pc.invert(bad)), {"order_time_not_a_date": n_bad}


#: reason of skipped order lines -> how the run's notes say it
SKIP_REASONS = {"order_time_not_a_date": "their order_time is not a date"}


def _skip_notes(skipped: dict[str, int]) -> list[str]:
    return [
        f"skipped {n} order line{'s' if n != 1 else ''}: {SKIP_REASONS.get(why, why)} "
        "(the server log lists the orders)"
        for why, n in skipped.items()
    ]


def _classify(duck, settings, as_of, names):
    from kehu.analytics import classify as clf
    from kehu.services.analysis import classify_orders

    orders = duck["orders"]
    if orders.count().execute() == 0:
        raise SchemaError("the store has no orders to classify; run `kehu load` first")
    return classify_orders(
        orders,
        products=duck["products"],
        customers=duck["customers"],
        settings=settings,
        names=names or clf.RULE_CLASSIFIERS,
        as_of=as_of,
    )


def _predict(
    duck, day: dt.date, settings: Settings, run_id: int
) -> tuple[dict[str, dict], list[str]]:
    """Per-customer prediction scores (keyed by customer code) and notes on what was skipped."""
    if not settings.predictions:
        return {}, ["predictions: off in the settings"]
    orders = duck["orders"]
    kept = orders.filter(orders.order_time < day)
    stats = (
        kept.aggregate(first=kept.order_time.min(), customers=kept.customer_id.nunique())
        .to_pyarrow()
        .to_pylist()[0]
    )
    days = 0 if stats["first"] is None else (day - stats["first"].date()).days
    if days < MIN_HISTORY_DAYS or stats["customers"] < MIN_PREDICTION_CUSTOMERS:
        return {}, [
            f"predictions: skipped ({days} days of history and {stats['customers']} customers; "
            f"CLV and churn need {MIN_HISTORY_DAYS} days and {MIN_PREDICTION_CUSTOMERS} customers)"
        ]
    from kehu.services.predictions import predict

    try:
        flagged = duck["customers"].filter(duck["customers"].no_personalised_marketing)
        opt_out = set(flagged.customer_id.to_pyarrow().to_pylist())
        got = predict(
            orders,
            duck["products"],
            as_of=day,
            lang=settings.lang,
            opt_out=opt_out,
            reasons_in_both=True,
        )
    except Exception as exc:  # a model must never fail the classification (recorded as a note)
        # the exception's text may quote data: the note names its type, the log has the rest
        log.exception("refresh run %s: predictions failed", run_id)
        return {}, [f"predictions: failed ({type(exc).__name__}; see the server log, run {run_id})"]
    frame = got.customers.rename(columns=PREDICTION_SCORES)
    kept_cols = [c for c in PREDICTION_SCORES.values() if c in frame.columns]
    frame = frame[["customer_id", *kept_cols]].astype(object).where(frame.notna(), None)
    scores = {r.pop("customer_id"): r for r in frame.to_dict("records")}
    return scores, list(got.notes)


def _revisit(session: Session, run_id: int, rules) -> int:
    from kehu.services.followups import DEFAULT_REVISIT_RULES, create_revisit_tasks

    rules = DEFAULT_REVISIT_RULES if rules is None else rules
    return create_revisit_tasks(session, run_id=run_id, rules=rules)


# --- writing the run ----------------------------------------------------------------------------


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return _jsonable(value.tolist())
    if isinstance(value, int | float | str | bool) or value is None:
        return value
    return str(value)


def classifier_state(c: Any) -> dict[str, Any]:
    """The fitted (trailing-underscore) attributes of a classifier, as JSON."""
    return {
        k: _jsonable(v) for k, v in vars(c).items() if k.endswith("_") and not k.startswith("_")
    }


def _as_date(value: Any) -> dt.date | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    return value


def _write(session, run_id, prev_id, rows, fitted, day, actor):
    """Insert the results, migration and alerts; the run's own values for :func:`_finish`."""
    ids = dict(session.execute(select(Customer.code, Customer.id)).all())
    results = []
    for r in rows:
        cid = ids.get(r["customer_id"])
        if cid is None:  # an order's customer vanished meanwhile
            continue
        values = _jsonable(r)
        res = {c: r.get(c) for c in RESULT_COLUMNS}
        res["last_purchase"] = _as_date(res["last_purchase"])
        for c in ("recency_days", "orders", "r_score", "f_score", "m_score", "grade"):
            if res[c] is not None:
                res[c] = int(res[c])
        for c in ("monetary", "avg_order_value"):
            res[c] = values.get(c)
        res["abc"] = res["abc"] if res["abc"] is None else str(res["abc"])
        results.append(
            {
                "run_id": run_id,
                "customer_id": cid,
                "as_of": day,
                **res,
                "scores": {c: values[c] for c in SCORE_COLUMNS if values.get(c) is not None},
                "values": values,
            }
        )
    for i in range(0, len(results), 5000):
        session.execute(insert(ClassificationResult), results[i : i + 5000])
    migration: list[dict[str, Any]] = []
    n_alerts = 0
    if prev_id is not None:
        migration = _migration(session, prev_id, run_id)
        n_alerts = _alerts(session, prev_id, run_id)
    audit.record(
        session,
        actor=actor,
        action="refresh",
        entity="classification_run",
        entity_id=run_id,
        changes={"customers": len(results), "alerts": n_alerts, "as_of": day},
    )
    values = {
        "as_of": day,
        "customers": len(results),
        "migration": migration,
        "classifiers": [{**_jsonable(c.record()), "state": classifier_state(c)} for c in fitted],
    }
    result = RefreshResult(run_id, "succeeded", day, len(results), n_alerts, prev_id, migration)
    return result, values


def _finish(session, run_id: int, values: dict[str, Any], extra: dict[str, Any]) -> None:
    """Switch the run to ``succeeded``, in the transaction of its results.

    Guarded by ``status = 'running'``: a run that another process marked interrupted
    (its heartbeat had stopped) must not come back to life beside a newer run.
    """
    base = session.scalar(select(ClassificationRun.settings).where(ClassificationRun.id == run_id))
    done = session.execute(
        update(ClassificationRun)
        .where(ClassificationRun.id == run_id, ClassificationRun.status == "running")
        .values(status="succeeded", finished_at=utcnow(), settings={**base, **extra}, **values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        raise ConflictError(
            f"run {run_id} was marked interrupted while it worked (no heartbeat); "
            "its results are dropped, run the refresh again"
        )


def _classes(session, run_id: int, column: str, customers=None) -> list[dict[str, Any]]:
    col = getattr(ClassificationResult, column)
    stmt = select(ClassificationResult.customer_id, col).where(
        ClassificationResult.run_id == run_id
    )
    if customers is not None:
        stmt = stmt.where(ClassificationResult.customer_id.in_(customers))
    return [{"customer_id": str(cid), column: v} for cid, v in session.execute(stmt)]


def _migration(session, prev_id: int, run_id: int, customers=None) -> list[dict[str, Any]]:
    """From-to matrix of the main class (:func:`kehu.analytics.migration.migration_matrix`),
    of every customer or of those selected by ``customers`` (a select of customer ids)."""
    import pyarrow as pa

    from kehu.analytics.migration import migration_matrix

    def table(rows):
        return ibis.memtable(
            pa.Table.from_pylist(
                rows,
                schema=pa.schema([("customer_id", pa.string()), (MIGRATION_CLASS, pa.string())]),
            )
        )

    before = table(_classes(session, prev_id, MIGRATION_CLASS, customers))
    after = table(_classes(session, run_id, MIGRATION_CLASS, customers))
    got = migration_matrix(before, after, MIGRATION_CLASS).to_pyarrow().to_pylist()
    return [_jsonable(r) for r in got]


def _alerts(session, prev_id: int, run_id: int) -> int:
    """Alerts for the moves listed in :data:`ALERT_RULES`."""
    codes = dict(session.execute(select(Customer.id, Customer.code)).all())
    rows = []
    for column, old_set, new_set, kind, template in ALERT_RULES:
        old = {r["customer_id"]: r[column] for r in _classes(session, prev_id, column)}
        for r in _classes(session, run_id, column):
            before = old.get(r["customer_id"])
            if before in old_set and r[column] in new_set:
                cid = int(r["customer_id"])
                rows.append(
                    {
                        "run_id": run_id,
                        "customer_id": cid,
                        "kind": kind,
                        "classifier": column,
                        "from_class": before,
                        "to_class": r[column],
                        "message": template.format(code=codes.get(cid), old=before, new=r[column]),
                    }
                )
    if rows:
        session.execute(insert(Alert), rows)
    return len(rows)
