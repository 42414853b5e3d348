"""Interactions and tasks: bodies and responses."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kehu.api.schemas.common import Key, LongText, Short, Text

InteractionKind = Literal["call", "visit", "wechat", "email", "complaint", "other"]
TaskStatus = Literal["open", "done", "cancelled"]


class InteractionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Key
    kind: InteractionKind
    occurred_at: dt.datetime | None = Field(default=None, description="default: now (UTC)")
    notes: LongText | None = None
    outcome: Short | None = None
    task_id: int | None = Field(default=None, ge=1, le=2**62, description="the task it answers")
    complete_task: bool = Field(default=False, description="mark that task done")


class InteractionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: InteractionKind | None = None
    notes: LongText | None = None
    outcome: Short | None = None


class InteractionOut(BaseModel):
    id: int
    customer_id: str
    user_id: int | None
    kind: str
    occurred_at: dt.datetime
    notes: str | None
    outcome: str | None
    task_id: int | None


class InteractionPage(BaseModel):
    items: list[InteractionOut]
    total: int
    page: int
    page_size: int


class TaskIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Key
    title: Text(200, 1)
    kind: InteractionKind | None = None
    due_date: dt.date | None = None
    owner_id: int | None = Field(
        default=None, ge=1, le=2**62, description="user id; default the customer's rep"
    )


class TaskPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Text(200, 1) | None = None
    kind: InteractionKind | None = None
    due_date: dt.date | None = None
    owner_id: int | None = Field(default=None, ge=1, le=2**62)
    status: TaskStatus | None = Field(
        default=None, description="open -> done | cancelled; done | cancelled -> open"
    )


class TaskOut(BaseModel):
    id: int
    customer_id: str
    owner_id: int | None
    title: str
    kind: str | None
    due_date: dt.date | None
    status: str
    done_at: dt.datetime | None
    source: str | None = Field(description="manual (null) or revisit:<rule>:<customer>:<run>")
    overdue: bool
    created_at: dt.datetime
    updated_at: dt.datetime


class TaskPage(BaseModel):
    items: list[TaskOut]
    total: int
    page: int
    page_size: int


class OverdueGroup(BaseModel):
    owner_id: int | None
    username: str | None
    rep_name: str | None
    overdue: int
    oldest_due: dt.date | None
    tasks: list[TaskOut]


class RevisitRuleOut(BaseModel):
    classifier: str
    class_name: str
    kind: str
    due_days: int
    title: str
