from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class RunOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str = Field(description="running, succeeded or failed")
    as_of: dt.date | None
    started_at: dt.datetime
    finished_at: dt.datetime | None
    error: str | None
    customers: int
    previous_run_id: int | None


class RunDetail(RunOut):
    classifiers: list[dict[str, Any]]
    migration: list[dict[str, Any]]


class AlertOut(BaseModel):
    customer_id: str
    kind: str
    classifier: str
    from_class: str | None
    to_class: str | None
    message: str


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: dt.date | None = None
