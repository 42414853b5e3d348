from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kehu.api.schemas.common import Date, UtcDateTime
from kehu.services.refresh import shown_error


class RunOut(BaseModel):
    """A run as every role with ``runs.read`` sees it: status, counts and clean words.

    The run's owner (host and process) stays server-side.
    """

    model_config = ConfigDict(from_attributes=True)

    id: int
    status: str = Field(description="running, succeeded or failed")
    as_of: Date | None
    started_at: UtcDateTime
    finished_at: UtcDateTime | None
    heartbeat_at: UtcDateTime | None = Field(
        default=None, description="when a running run last said it was alive (UTC)"
    )
    error: str | None = Field(
        description="for a failed run: the step that failed, in words ('interrupted' when its "
        "process stopped); the technical detail is in the server log"
    )
    customers: int
    previous_run_id: int | None
    notes: list[str] = Field(
        default_factory=list, description="what the run left out and why (predictions, lines)"
    )
    skipped_lines: int = Field(default=0, description="order lines left out (the notes say why)")

    @classmethod
    def of(cls, run: Any) -> RunOut:
        out = cls.model_validate(run)
        out.error = shown_error(run)
        settings = run.settings or {}
        out.notes = list(settings.get("notes") or [])
        out.skipped_lines = sum((settings.get("skipped") or {}).values())
        return out


class RunDetail(RunOut):
    classifiers: list[dict[str, Any]] = Field(
        description="name, rule version and parameters; thresholds and fitted state only for "
        "roles that read every customer"
    )
    migration: list[dict[str, Any]] = Field(
        description="from-to counts of the main class; a rep's covers their own customers"
    )


class RunningRun(BaseModel):
    """The run that holds the refresh, named in a 409 answer to ``POST /runs``."""

    id: int
    status: str = "running"
    started_at: UtcDateTime
    heartbeat_at: UtcDateTime | None


class AlertOut(BaseModel):
    customer_id: str
    kind: str
    classifier: str
    from_class: str | None
    to_class: str | None
    message: str


class RefreshIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: Date | None = None
