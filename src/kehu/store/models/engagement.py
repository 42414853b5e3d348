"""Follow-ups and the customer's voice: interactions, tasks, feedback, survey answers."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kehu.store.models.base import Base, Timestamps, utcnow

INTERACTION_KINDS = ("call", "visit", "wechat", "email", "complaint", "other")
TASK_STATUSES = ("open", "done", "cancelled")


class Interaction(Base):
    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_customer_at", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    notes: Mapped[str | None] = mapped_column(Text, info={"personal": "text"})
    outcome: Mapped[str | None] = mapped_column(String(200), info={"personal": "text"})
    task_id: Mapped[int | None] = mapped_column(ForeignKey("tasks.id", ondelete="SET NULL"))


class Task(Timestamps, Base):
    __tablename__ = "tasks"
    __table_args__ = (Index("ix_tasks_owner_status_due", "owner_id", "status", "due_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    title: Mapped[str] = mapped_column(String(200), info={"personal": "text", "erased": "[erased]"})
    kind: Mapped[str | None] = mapped_column(String(32))
    due_date: Mapped[dt.date | None]
    status: Mapped[str] = mapped_column(String(16), default="open")
    done_at: Mapped[dt.datetime | None]
    #: what created it: "manual", or "revisit:<run id>:<classifier>:<class>"
    source: Mapped[str | None] = mapped_column(String(200), unique=True)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"))
    channel: Mapped[str | None] = mapped_column(String(32))
    rating: Mapped[int | None]
    text: Mapped[str | None] = mapped_column(Text, info={"personal": "text"})
    category: Mapped[str | None] = mapped_column(String(64), index=True)
    #: "model" (automatic) or "user" (set by a person)
    category_source: Mapped[str | None] = mapped_column(String(16))
    sentiment: Mapped[str | None] = mapped_column(String(16))
    sentiment_score: Mapped[float | None]
    status: Mapped[str] = mapped_column(String(16), default="open")
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    #: lang, order_no and the terms found in the text (erased with the text)
    extra: Mapped[dict[str, Any]] = mapped_column(
        default=dict, info={"personal": "text", "keys": ("terms",)}
    )


class SurveyAnswer(Base):
    """An NPS (0-10) or CSAT (1-5) answer."""

    __tablename__ = "survey_answers"
    __table_args__ = (Index("ix_survey_answers_survey_at", "survey", "answered_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int | None] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    survey: Mapped[str] = mapped_column(String(16))  # "nps" or "csat"
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(Text, info={"personal": "text"})
    answered_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
