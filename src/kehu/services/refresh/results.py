"""What a run records: each customer's classes and scores, the migration, alerts, tasks."""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass, field
from typing import Any

import ibis
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from kehu.exceptions import ConflictError
from kehu.names import CLASS_COLUMNS
from kehu.services import audit
from kehu.store.models import (
    Alert,
    ClassificationResult,
    ClassificationRun,
    Customer,
    utcnow,
)

log = logging.getLogger("kehu.refresh")


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
MIGRATION_CLASS = "rfm8"


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
