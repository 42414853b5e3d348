"""The feedback report: counts and sentiment grouped by category, channel, class or period."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, Integer, String, and_, case, cast, func, select
from sqlalchemy.orm import Session

from kehu.exceptions import SchemaError
from kehu.names import LABELLED_CLASS_COLUMNS
from kehu.services.access import Actor
from kehu.services.refresh import current_run
from kehu.services.scope import scope_customers
from kehu.store.models import (
    ClassificationResult,
    Customer,
    Feedback,
)

PERIODS = ("day", "week", "month", "quarter", "year")


REPORT_DIMENSIONS = ("category", "sentiment", "channel", "class", "period")


CLASS_COLUMNS = LABELLED_CLASS_COLUMNS


def period_of(column, period: str, dialect: str):
    """SQL text label of the ``period`` a timestamp falls in (same labels on SQLite and PostgreSQL).

    day ``2024-07-01``, week ``2024-07-01`` (its Monday), month ``2024-07``,
    quarter ``2024-Q3``, year ``2024``.
    """
    if period not in PERIODS:
        raise SchemaError(f"period {period!r} is not one of {', '.join(PERIODS)}")
    if dialect == "sqlite":
        if period == "day":
            return func.date(column)
        if period == "week":  # 'weekday 0' moves to the next Sunday (or stays); -6 days: Monday
            return func.date(column, "weekday 0", "-6 days")
        if period == "month":
            return func.strftime("%Y-%m", column)
        if period == "year":
            return func.strftime("%Y", column)
        quarter = (cast(func.strftime("%m", column), Integer) + 2) // 3
        year = func.strftime("%Y", column, type_=String)
        return year + "-Q" + cast(quarter, String)
    fmt = {
        "day": "YYYY-MM-DD",
        "week": "YYYY-MM-DD",
        "month": "YYYY-MM",
        "quarter": 'YYYY-"Q"Q',
        "year": "YYYY",
    }
    unit = {"week": "week"}.get(period, "day")
    return func.to_char(func.date_trunc(unit, column), fmt[period])


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _class_column(classifier: str):
    if classifier not in CLASS_COLUMNS:
        raise SchemaError(f"classifier {classifier!r} is not one of {', '.join(CLASS_COLUMNS)}")
    return getattr(ClassificationResult, classifier)


def _dimensions(by: Sequence[str], allowed: Sequence[str]) -> list[str]:
    by = list(dict.fromkeys(by))
    if not by:
        raise SchemaError(f"give at least one of {', '.join(allowed)} to group by")
    bad = [b for b in by if b not in allowed]
    if bad:
        raise SchemaError(f"cannot group by {', '.join(bad)}; choose from {', '.join(allowed)}")
    return by


def _grouped(
    session: Session,
    actor: Actor,
    model,
    time_col,
    by: Sequence[str],
    dims: dict[str, Any],
    metrics: dict[str, Any],
    where: list[Any],
    period: str,
    classifier: str,
) -> list[dict[str, Any]]:
    """One ``GROUP BY`` over ``model`` joined to its customer and the current run's class."""
    cols = dict(dims)
    if "period" in by:
        cols["period"] = period_of(time_col, period, _dialect(session))
    if "class" in by:
        cols["class"] = _class_column(classifier)
    stmt = select(*[cols[b].label(b) for b in by], *[m.label(k) for k, m in metrics.items()])
    stmt = stmt.select_from(model).outerjoin(Customer, Customer.id == model.customer_id)
    if "class" in by:
        run = current_run(session)
        stmt = stmt.outerjoin(
            ClassificationResult,
            and_(
                ClassificationResult.customer_id == model.customer_id,
                ClassificationResult.run_id == (run.id if run else -1),
            ),
        )
    stmt = scope_customers(stmt.where(*where), actor)
    keys = [cols[b] for b in by]
    stmt = stmt.group_by(*keys).order_by(*keys)
    return [dict(r._mapping) for r in session.execute(stmt)]


def _time_window(col, since, until) -> list[Any]:
    out = []
    if since is not None:
        out.append(col >= _as_datetime(since))
    if until is not None:
        out.append(col < _as_datetime(until))
    return out


def _as_datetime(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time())


def feedback_report(
    session: Session,
    *,
    actor: Actor,
    by: Sequence[str] = ("category",),
    period: str = "month",
    classifier: str = "rfm8",
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Feedback counted by category, sentiment, channel, customer class and/or period.

    Each row: the grouping keys, ``feedback`` (count), ``negative`` (count),
    ``negative_share`` and ``avg_rating`` (over rated rows).  ``class`` is the
    customer's class of ``classifier`` in the current run (``None``: no
    customer or not classified).
    """
    by = _dimensions(by, REPORT_DIMENSIONS)
    negative = func.sum(case((Feedback.sentiment == "negative", 1), else_=0))
    metrics = {
        "feedback": func.count(Feedback.id),
        "negative": negative,
        "negative_share": cast(negative, Float) / func.count(Feedback.id),
        "avg_rating": func.avg(cast(Feedback.rating, Float)),
    }
    dims = {
        "category": Feedback.category,
        "sentiment": Feedback.sentiment,
        "channel": Feedback.channel,
    }
    rows = _grouped(
        session,
        actor,
        Feedback,
        Feedback.received_at,
        by,
        dims,
        metrics,
        _time_window(Feedback.received_at, since, until),
        period,
        classifier,
    )
    for r in rows:
        r["negative"] = int(r["negative"] or 0)
        r["avg_rating"] = None if r["avg_rating"] is None else float(r["avg_rating"])
    return rows
