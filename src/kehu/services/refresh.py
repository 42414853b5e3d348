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
with its error, and the previous succeeded run stays the current one.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import ibis
import ibis.expr.types as ir
from sqlalchemy import Engine, insert, select
from sqlalchemy.orm import Session, sessionmaker

from kehu.config import Settings
from kehu.exceptions import KehuError, NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import SYSTEM, Actor, require
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
    "rfm8",
    "segment",
    "freq_tier",
    "spend_tier",
    "abc",
    "lifecycle",
    "grade",
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
    "recommendations": "recommended_products",
}
#: the CLV and churn models need this much history (churn is checked out of time
#: on the last two 90-day horizons) and this many customers; below, they are skipped
MIN_HISTORY_DAYS = 270
MIN_PREDICTION_CUSTOMERS = 50
MIGRATION_CLASS = "rfm8"


@dataclass
class RefreshResult:
    """A finished run: its id, size, migration and alerts raised."""

    run_id: int
    status: str
    as_of: dt.date | None
    customers: int
    alerts: int
    previous_run_id: int | None
    migration: list[dict[str, Any]]
    tasks: int = 0
    notes: list[str] = field(default_factory=list)


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
    revisit_rules
        :class:`~kehu.services.followups.RevisitRule` s that create tasks for
        the run's classes; default the settings' ``revisit`` section, else
        :data:`~kehu.services.followups.DEFAULT_REVISIT_RULES`; ``()`` for none.

    Raises
    ------
    KehuError
        After recording the run as failed (the previous results stay current).
    """
    require(actor, "refresh.run")
    settings = settings or Settings()
    if revisit_rules is None and settings.revisit is not None:
        from kehu.services.followups import revisit_rules_from_config

        # checked before the run is recorded: a bad rule stops the refresh at once
        revisit_rules = revisit_rules_from_config(settings.revisit, "revisit")
    step = on_step or (lambda _s: None)
    with factory() as session, session.begin():
        previous = current_run(session)
        run = ClassificationRun(
            status="running",
            triggered_by=actor.user_id,
            previous_run_id=previous.id if previous else None,
            settings=settings.model_dump(mode="json", by_alias=True),
        )
        session.add(run)
        session.flush()
        run_id = run.id
        prev_id = previous.id if previous else None
    try:
        step("read")
        engine = factory.kw["bind"]
        duck = _read_store(engine)
        step("classify")
        table, fitted, day = _classify(duck, settings, as_of, names)
        rows = table.to_pyarrow().to_pylist()
        step("predict")
        predicted, notes = _predict(duck, day, settings)
        for r in rows:
            r.update(predicted.get(r["customer_id"], ()))
        step("write")
        with factory() as session, session.begin():
            result = _write(session, run_id, prev_id, rows, fitted, day, actor)
            result.tasks = _revisit(session, run_id, revisit_rules)
            result.notes = notes
            run = session.get(ClassificationRun, run_id)
            run.settings = {**run.settings, "notes": notes, "revisit_tasks": result.tasks}
        step("done")
        return result
    except Exception as exc:
        with factory() as session, session.begin():
            run = session.get(ClassificationRun, run_id)
            run.status = "failed"
            run.finished_at = utcnow()
            run.error = f"{type(exc).__name__}: {exc}"[:4000]
        if isinstance(exc, KehuError):
            raise
        raise KehuError(f"refresh run {run_id} failed: {type(exc).__name__}: {exc}") from exc


def current_run(session: Session) -> ClassificationRun | None:
    """The latest succeeded run: the one whose classes are current."""
    return session.scalar(
        select(ClassificationRun)
        .where(ClassificationRun.status == "succeeded")
        .order_by(ClassificationRun.id.desc())
        .limit(1)
    )


def list_runs(session: Session, *, actor: Actor, limit: int = 50) -> list[ClassificationRun]:
    require(actor, "runs.read")
    stmt = select(ClassificationRun).order_by(ClassificationRun.id.desc()).limit(limit)
    return list(session.scalars(stmt))


def get_run(session: Session, *, actor: Actor, run_id: int) -> ClassificationRun:
    require(actor, "runs.read")
    run = session.get(ClassificationRun, run_id)
    if run is None:
        raise NotFoundError(f"no classification run {run_id}")
    return run


def run_alerts(session: Session, *, actor: Actor, run_id: int, limit: int = 500) -> list[Alert]:
    """The alerts of a run, restricted to the actor's customers."""
    from kehu.services.scope import scope_customers

    require(actor, "runs.read")
    stmt = (
        select(Alert)
        .join(Customer, Customer.id == Alert.customer_id)
        .where(Alert.run_id == run_id)
        .order_by(Alert.id)
        .limit(limit)
    )
    return list(session.scalars(scope_customers(stmt, actor)))


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


def _read_store(engine: Engine) -> dict[str, ir.Table]:
    """Copy the canonical tables once into an in-process DuckDB for the analytics."""
    from kehu.warehouse import connect

    backend = store_backend(engine)
    try:
        duck = connect(None)
        out = {}
        for name, expr in store_tables(backend).items():
            out[name] = duck.create_table(name, expr.to_pyarrow(), overwrite=True)
    finally:
        backend.disconnect()
    return out


def _classify(duck, settings, as_of, names):
    from kehu.analytics import classify as clf
    from kehu.analytics.features import customer_features
    from kehu.analytics.rfm import default_as_of
    from kehu.services.analysis import classifier_params

    orders = duck["orders"]
    if orders.count().execute() == 0:
        raise SchemaError("the store has no orders to classify; run `kehu load` first")
    day = as_of or settings.as_of or default_as_of(orders)
    features = customer_features(
        orders,
        products=duck["products"],
        customers=duck["customers"],
        as_of=day,
        window_days=settings.window_days,
    ).cache()
    params = classifier_params(settings)
    params.pop("cluster", None)
    chosen = list(names or clf.RULE_CLASSIFIERS)
    if "custom" in params and "custom" not in chosen:
        chosen.append("custom")
    table, fitted = clf.classify(features, chosen, {n: params[n] for n in chosen if n in params})
    return table, fitted, day


def _predict(duck, day: dt.date, settings: Settings) -> tuple[dict[str, dict], list[str]]:
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
        got = predict(orders, duck["products"], as_of=day, lang=settings.lang, opt_out=opt_out)
    except Exception as exc:  # a model must never fail the classification (recorded as a note)
        return {}, [f"predictions: failed ({type(exc).__name__}: {exc})"]
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


def _write(session, run_id, prev_id, rows, fitted, day, actor) -> RefreshResult:
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
    run = session.get(ClassificationRun, run_id)
    run.status = "succeeded"
    run.as_of = day
    run.finished_at = utcnow()
    run.customers = len(results)
    run.migration = migration
    run.classifiers = [{**_jsonable(c.record()), "state": classifier_state(c)} for c in fitted]
    audit.record(
        session,
        actor=actor,
        action="refresh",
        entity="classification_run",
        entity_id=run_id,
        changes={"customers": len(results), "alerts": n_alerts, "as_of": day},
    )
    return RefreshResult(run_id, "succeeded", day, len(results), n_alerts, prev_id, migration)


def _classes(session, run_id: int, column: str) -> list[dict[str, Any]]:
    col = getattr(ClassificationResult, column)
    stmt = select(ClassificationResult.customer_id, col).where(
        ClassificationResult.run_id == run_id
    )
    return [{"customer_id": str(cid), column: v} for cid, v in session.execute(stmt)]


def _migration(session, prev_id: int, run_id: int) -> list[dict[str, Any]]:
    """From-to matrix of the main class (:func:`kehu.analytics.migration.migration_matrix`)."""
    import pyarrow as pa

    from kehu.analytics.migration import migration_matrix

    def table(rows):
        return ibis.memtable(
            pa.Table.from_pylist(
                rows,
                schema=pa.schema([("customer_id", pa.string()), (MIGRATION_CLASS, pa.string())]),
            )
        )

    before = table(_classes(session, prev_id, MIGRATION_CLASS))
    after = table(_classes(session, run_id, MIGRATION_CLASS))
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
