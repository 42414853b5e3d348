"""Classification runs, their per-customer results and the alerts they raised."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from kehu.store.models.base import Base, utcnow


class ClassificationRun(Base):
    """A refresh: running, succeeded or failed (with its error).

    The current classes are those of the latest succeeded run, so a failed run
    leaves the previous results in place.
    """

    __tablename__ = "classification_runs"
    #: at most one run is ``running`` at a time, across every process and host
    __table_args__ = (
        Index(
            "ux_classification_runs_one_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)
    as_of: Mapped[dt.date | None]
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[dt.datetime | None]
    error: Mapped[str | None] = mapped_column(Text, info={"personal": "mention"})
    #: classifier records: name, rule version, parameters, thresholds, fitted state
    classifiers: Mapped[list[Any]] = mapped_column(default=list)
    settings: Mapped[dict[str, Any]] = mapped_column(default=dict)
    customers: Mapped[int] = mapped_column(default=0)
    previous_run_id: Mapped[int | None] = mapped_column(
        ForeignKey("classification_runs.id", ondelete="SET NULL")
    )
    #: from-to matrix of the main class against the previous run, long format
    migration: Mapped[list[Any]] = mapped_column(default=list)
    triggered_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: ``host:pid`` of the process doing the run, and when it last said it was alive;
    #: a ``running`` run whose heartbeat is stale was interrupted (``kill -9``, crash)
    owner: Mapped[str | None] = mapped_column(String(200))
    heartbeat_at: Mapped[dt.datetime | None]


class ClassificationResult(Base):
    """One customer's classes and scores in one run.

    The main classes have their own columns (filterable); ``values`` keeps every
    column the classifiers produced, so that explanations can be rebuilt.
    """

    __tablename__ = "classification_results"
    __table_args__ = (
        Index("ix_classification_results_run_customer", "run_id", "customer_id", unique=True),
        Index("ix_classification_results_customer", "customer_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("classification_runs.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    as_of: Mapped[dt.date]
    rfm8: Mapped[str | None] = mapped_column(String(32))
    segment: Mapped[str | None] = mapped_column(String(64))
    freq_tier: Mapped[str | None] = mapped_column(String(16))
    spend_tier: Mapped[str | None] = mapped_column(String(16))
    abc: Mapped[str | None] = mapped_column(String(4))
    lifecycle: Mapped[str | None] = mapped_column(String(16))
    grade: Mapped[int | None]
    recency_days: Mapped[int | None]
    orders: Mapped[int | None]
    monetary: Mapped[float | None]
    avg_order_value: Mapped[float | None]
    r_score: Mapped[int | None]
    f_score: Mapped[int | None]
    m_score: Mapped[int | None]
    last_purchase: Mapped[dt.date | None]
    #: predicted scores when the models ran (clv, churn probability ...)
    scores: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: (the customer's attributes among them: erased with the customer's own)
    values: Mapped[dict[str, Any]] = mapped_column(default=dict, info={"personal": "text"})


class Alert(Base):
    """A customer whose move between classes needs attention (e.g. 重要价值 -> 重要挽留)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("classification_runs.id", ondelete="CASCADE"), index=True
    )
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(64))
    classifier: Mapped[str] = mapped_column(String(32))
    from_class: Mapped[str | None] = mapped_column(String(64))
    to_class: Mapped[str | None] = mapped_column(String(64))
    #: names the customer by code (the business's key, not personal data)
    message: Mapped[str] = mapped_column(Text, info={"personal": "mention"})
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[dt.datetime | None]
