"""What the report of the store's current run shows, as ``kehu analyze`` has it for files.

``kehu refresh`` classifies the team's store but keeps no report: this gathers the same
:class:`~kehu.services.understanding.ReportData` (of
:func:`~kehu.services.understanding.understand`) for the current run;
:func:`kehu.report.outputs.run_report` renders and keeps it, in Chinese or English.

* The classes are the run's own, read from the results it stored (``values`` keeps every
  column the classifiers produced), not computed again: the report says what the run said,
  and costs no classification.
* The orders behind the profiles, cohorts and monthly figures are read from the store into
  DuckDB as the refresh reads them (:func:`kehu.services.refresh.read_store`), up to the
  run's as-of date; the migration is the one the run recorded against its previous run.
* The report describes the whole business, so only an actor who reads every customer may
  have it; anyone else gets the same :class:`~kehu.exceptions.NotFoundError` as for a run
  that does not exist, which tells a rep nothing, not even that the run exists.
* Only the current run has a report (as only it has the Excel list): the store's orders
  have moved on since an older run, so its report could not be rebuilt as it was.
* The report holds per-class figures only, no customer's row.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.config import Settings
from kehu.exceptions import NotFoundError
from kehu.i18n import text
from kehu.services import refresh
from kehu.services.access import Actor
from kehu.store.models import ClassificationResult, ClassificationRun, Customer

#: date columns of the per-customer table, stored as ISO text in a result's ``values``
DATE_COLUMNS = ("first_purchase", "last_purchase", "prev_purchase", "signup_date")


def may_read_report(actor: Actor) -> bool:
    """Whether ``actor`` may have a run's report: it covers every customer."""
    return actor.can("runs.read") and actor.sees_all_customers


def reportable_run(session: Session, *, actor: Actor, run_id: int) -> ClassificationRun:
    """The current run ``run_id``, if ``actor`` may have its report.

    Raises
    ------
    NotFoundError
        No such run, or the actor may not read the report (the same answer), or the run
        is not the current one (saying so).
    """
    if not may_read_report(actor):
        raise NotFoundError(f"no classification run {run_id}")
    run = refresh.get_run(session, actor=actor, run_id=run_id)
    current = refresh.current_run(session)
    if current is None or current.id != run.id:
        raise NotFoundError(
            f"run {run_id} is not the current run; only the current run's report can be downloaded"
        )
    return run


def report_data(session: Session, run: ClassificationRun, lang: str):
    """The :class:`~kehu.services.understanding.ReportData` of a succeeded run (no access check)."""
    import ibis
    import pandas as pd

    from kehu.analytics.schema import to_table
    from kehu.services.analysis import Classified
    from kehu.services.understanding import understand
    from kehu.warehouse import ImportResult
    from kehu.warehouse.summary import ImportSummary

    settings = _settings(run, lang)
    table = _customers(session, run.id)
    duck, skipped = refresh.read_store(session.get_bind())
    orders = duck["orders"]
    before = orders.filter(
        orders.order_time < ibis.timestamp(dt.datetime.combine(run.as_of, dt.time()))
    )
    counts = (
        before.aggregate(lines=before.count(), first=before.order_time.min())
        .to_pyarrow()
        .to_pylist()[0]
    )
    summary = ImportSummary(
        kind="orders",
        rows_read=counts["lines"],
        rows_kept=counts["lines"],
        set_aside={},
        kept={},
        files=[],
        first_order=counts["first"],
    )
    rejects = ibis.memtable(
        {"file": [], "row": [], "column": [], "reason": [], "value": []},
        schema={
            "file": "string",
            "row": "int64",
            "column": "string",
            "reason": "string",
            "value": "string",
        },
    )
    imported = ImportResult(
        orders=orders,
        customers=duck["customers"],
        products=duck["products"],
        summary=summary,
        rejects=rejects,
    )
    info = {
        "as_of": run.as_of.isoformat(),
        "window_days": settings.window_days,
        "classifiers": list(run.classifiers or []),
    }
    current = Classified(
        table=to_table(table), classifiers=[], imported=imported, as_of=run.as_of, info=info
    )
    data = understand(current, table, None, settings=settings)
    lines = [
        text("store_source", lang).format(
            run=run.id, customers=len(table), lines=counts["lines"], as_of=run.as_of.isoformat()
        )
    ]
    if skipped.get("order_time_not_a_date"):
        lines.append(text("store_skipped", lang).format(n=skipped["order_time_not_a_date"]))
    data.import_summary = {**(data.import_summary or {}), "describe": lines}
    if run.migration:
        data.migration = pd.DataFrame(run.migration)
        previous = session.get(ClassificationRun, run.previous_run_id or 0)
        if previous is not None and previous.as_of is not None:
            data.migration_dates = (previous.as_of, run.as_of)
    return data


def _settings(run: ClassificationRun, lang: str) -> Settings:
    """The analysis settings the run was made with, in ``lang``.

    A run's ``settings`` also holds what the refresh noted (notes, skipped lines); those
    keys are left out.  Settings stored by an earlier version that no longer validate give
    the defaults: the report needs only the window and the playbook.
    """
    names = {f.alias or name for name, f in Settings.model_fields.items()}
    stored = {k: v for k, v in (run.settings or {}).items() if k in names}
    try:
        settings = Settings.model_validate(stored)
    except ValueError:
        settings = Settings()
    return settings.model_copy(update={"lang": lang})


def _customers(session: Session, run_id: int):
    """The run's per-customer table: every stored column, the classes from their own columns.

    The class columns and the customer's code are taken from the result's columns and the
    customer row rather than ``values``, which an erasure may have emptied.
    """
    import pandas as pd

    rows = session.execute(
        select(Customer.code, ClassificationResult)
        .join(ClassificationResult, ClassificationResult.customer_id == Customer.id)
        .where(ClassificationResult.run_id == run_id)
        .order_by(Customer.code)
    )
    records: list[dict[str, Any]] = []
    for code, result in rows:
        own = {c: getattr(result, c) for c in refresh.RESULT_COLUMNS}
        records.append({**(result.values or {}), **own, "customer_id": code})
    table = pd.DataFrame.from_records(records, columns=_columns(records))
    for column in DATE_COLUMNS:
        if column in table.columns:
            table[column] = pd.to_datetime(table[column], errors="coerce")
    for column in ("monetary", "avg_order_value"):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    return table


def _columns(records: list[dict[str, Any]]) -> list[str]:
    seen = {"customer_id": None, **dict.fromkeys(refresh.RESULT_COLUMNS)}
    for r in records:
        seen.update(dict.fromkeys(r))
    return list(seen)
