"""Reading the recorded runs: the current one, the list, one run's detail and alerts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.exceptions import NotFoundError
from kehu.services.access import Actor, require
from kehu.services.refresh.results import _migration
from kehu.services.scope import scope_customers
from kehu.store.models import (
    Alert,
    ClassificationRun,
    Customer,
)


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
