"""Interactions and tasks: bodies and responses."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from kehu.api.schemas.common import Date, Id, Key, LongText, Name, Short, UtcDateTime

InteractionKind = Literal["call", "visit", "wechat", "email", "complaint", "other"]
TaskStatus = Literal["open", "done", "cancelled"]


class InteractionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Key
    kind: InteractionKind
    occurred_at: UtcDateTime | None = Field(default=None, description="default: now (UTC)")
    notes: LongText | None = None
    outcome: Short | None = None
    task_id: Id | None = Field(default=None, description="the task it answers")
    complete_task: StrictBool = Field(default=False, description="mark that task done")


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
    occurred_at: UtcDateTime
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
    title: Name(200)
    kind: InteractionKind | None = None
    due_date: Date | None = None
    owner_id: Id | None = Field(default=None, description="user id; default the customer's rep")


class TaskPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Name(200) | None = None
    kind: InteractionKind | None = None
    due_date: Date | None = None
    owner_id: Id | None = None
    status: TaskStatus | None = Field(
        default=None, description="open -> done | cancelled; done | cancelled -> open"
    )


class TaskOut(BaseModel):
    id: int
    customer_id: str
    owner_id: int | None
    title: str
    kind: str | None
    due_date: Date | None
    status: str
    done_at: UtcDateTime | None
    source: str | None = Field(description="manual (null) or revisit:<rule>:<customer>:<run>")
    overdue: bool
    created_at: UtcDateTime
    updated_at: UtcDateTime


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
    oldest_due: Date | None
    tasks: list[TaskOut]


class RevisitRuleOut(BaseModel):
    classifier: str
    class_name: str
    kind: str
    due_days: int
    title: str
