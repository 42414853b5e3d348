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
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from kehu.config import Settings
from kehu.exceptions import KehuError, SchemaError
from kehu.services.access import SYSTEM, Actor, require
from kehu.services.refresh.claim import (
    _ACTIVE_RUNS,
    HEARTBEAT_SECONDS,
    INTERRUPTED,
    STALE_AFTER,
    TEST_PAUSE_ENV,
    RefreshRunningError,
    _claim,
    _failure_message,
    _Heartbeat,
    _record_failure,
    _test_pause,
    _touch,
    _user_facing,
    mark_interrupted,
    recover_interrupted,
)
from kehu.services.refresh.results import (
    ALERT_RULES,
    PREDICTION_SCORES,
    RESULT_COLUMNS,
    SCORE_COLUMNS,
    RefreshResult,
    _finish,
    _revisit,
    _write,
    classifier_state,
)
from kehu.services.refresh.runs import (
    current_run,
    get_run,
    list_runs,
    run_alerts,
    run_detail,
    shown_error,
)
from kehu.services.refresh.source import _skip_notes, read_store, store_backend, store_tables
from kehu.store.engine import analyse

__all__ = [
    "ALERT_RULES",
    "HEARTBEAT_SECONDS",
    "INTERRUPTED",
    "RESULT_COLUMNS",
    "SCORE_COLUMNS",
    "STALE_AFTER",
    "TEST_PAUSE_ENV",
    "RefreshFailedError",
    "RefreshResult",
    "RefreshRunningError",
    "classifier_state",
    "current_run",
    "get_run",
    "list_runs",
    "mark_interrupted",
    "read_store",
    "recover_interrupted",
    "refresh",
    "run_alerts",
    "run_detail",
    "shown_error",
    "store_backend",
    "store_tables",
]

#: the CLV and churn models need this much history (churn is checked out of time
#: on the last two 90-day horizons) and this many customers; below, they are skipped
MIN_HISTORY_DAYS = 270
MIN_PREDICTION_CUSTOMERS = 50


log = logging.getLogger("kehu.refresh")


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

    ``factory`` is the store's session factory; ``actor`` needs ``refresh.run``.
    ``settings`` are the analysis settings, as for ``kehu analyze``; ``as_of`` defaults
    to the day after the last order; ``names`` to the rule classifiers (plus custom
    segments when the settings define some).  ``on_step`` is called with each step's
    name (``read``, ``classify``, ``predict``, ``write``, ``done``) as it starts.
    ``revisit_rules`` (:class:`~kehu.services.followups.RevisitRule`) create tasks for
    the run's classes: default the settings' ``revisit`` section, else
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
    revisit_rules = _revisit_rules(settings, revisit_rules)
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

    heartbeat = _Heartbeat(engine, run_id, every=HEARTBEAT_SECONDS)
    try:
        step("read")
        duck, found = read_store(engine)
        skipped.update(found)
        notes.extend(_skip_notes(skipped))
        step("classify")
        rows, fitted, day = _classified_rows(duck, settings, as_of, names)
        step("predict")
        _add_predictions(rows, duck, day, settings, run_id, notes)
        step("write")
        written = (rows, fitted, day)
        result = _record(factory, run_id, prev_id, written, actor, revisit_rules, notes, skipped)
        result.interrupted = interrupted
        step("done")
        return result
    except Exception as exc:
        error = _failed(factory, run_id, current, exc, notes, skipped)
        if error is exc:
            raise
        raise error from exc
    except BaseException:  # Ctrl-C, SystemExit: the run stops here, say so at once
        _record_failure(factory, run_id, INTERRUPTED, notes, skipped)
        raise
    finally:
        heartbeat.stop()
        _ACTIVE_RUNS.discard(run_id)


def _revisit_rules(settings: Settings, given: Sequence[Any] | None) -> Sequence[Any] | None:
    """The rules given, else the settings' ``revisit`` section (checked before the run is
    recorded: a bad rule stops the refresh at once), else the default (``None``)."""
    if given is None and settings.revisit is not None:
        from kehu.services.followups import revisit_rules_from_config

        return revisit_rules_from_config(settings.revisit, "revisit")
    return given


def _record(factory, run_id, prev_id, written, actor, revisit_rules, notes, skipped):
    """Write the run's results and switch it to succeeded, in one transaction."""
    rows, fitted, day = written
    with factory() as session, session.begin():
        result, values = _write(session, run_id, prev_id, rows, fitted, day, actor)
        result.tasks = _revisit(session, run_id, revisit_rules)
        extra = {"notes": notes, "skipped": skipped, "revisit_tasks": result.tasks}
        _finish(session, run_id, values, extra)
    try:  # SQLite plans the lists over the new results knowing their sizes
        analyse(factory.kw["bind"])
    except SQLAlchemyError:  # the run has succeeded; the plans are only slower
        log.warning("refresh run %s: ANALYZE failed", run_id, exc_info=True)
    result.notes = notes
    result.skipped_lines = sum(skipped.values())
    return result


def _failed(factory, run_id: int, step: str, exc: Exception, notes, skipped) -> Exception:
    """Record the run as failed; the exception to raise (the user's own, or a safe one)."""
    message = _failure_message(step, exc, run_id)
    if _user_facing(exc):  # the user's to fix (no orders, bad settings): not a server fault
        log.info("refresh run %s failed in the %s step: %s", run_id, step, exc)
    else:
        log.exception("refresh run %s failed in the %s step", run_id, step)
    _record_failure(factory, run_id, message, notes, skipped)
    return exc if _user_facing(exc) else RefreshFailedError(message, run_id)


def _classified_rows(duck, settings: Settings, as_of, names) -> tuple[list[dict], list, dt.date]:
    """Every customer's classes as rows, the fitted classifiers and the as-of date."""
    table, fitted, day = _classify(duck, settings, as_of, names)
    return table.to_pyarrow().to_pylist(), fitted, day


def _add_predictions(rows, duck, day: dt.date, settings: Settings, run_id: int, notes) -> None:
    """Each row gets its customer's prediction scores; what was skipped goes to ``notes``."""
    predicted, predict_notes = _predict(duck, day, settings, run_id)
    notes.extend(predict_notes)
    for r in rows:
        r.update(predicted.get(r["customer_id"], ()))


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
