"""Bodies and answers of the campaign endpoints."""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, field_validator

from kehu.api.schemas.common import HttpUrl, Integer, LongText, Name, Text, UtcDateTime
from kehu.services.customers import CLASS_COLUMNS

#: a grade is a number from 0 to 10000, written like the other classes as a string
GRADE = r"^(?:10000|[0-9]{1,4})$"
_GRADES = {"type": "array", "items": {"type": "string", "pattern": GRADE}}


class TargetIn(BaseModel):
    """Who is targeted: the customer list's filters, combined with *and*."""

    model_config = ConfigDict(extra="forbid")

    classes: dict[Literal[CLASS_COLUMNS], list[Text(64)]] | None = Field(
        default=None,
        description='e.g. {"rfm8": ["重要价值客户"], "grade": ["3"]}',
        max_length=10,
        json_schema_extra={
            "properties": {
                "grade": {"type": "array", "items": {"type": "string", "pattern": GRADE}}
            }
        },
    )

    @field_validator("classes")
    @classmethod
    def _grades_are_numbers(cls, classes: dict[str, list[str]] | None):
        bad = [g for g in (classes or {}).get("grade", ()) if not re.fullmatch(GRADE, g)]
        if bad:
            raise ValueError(f"grades are whole numbers from 0 to 10000, got {bad!r}")
        return classes

    filter: Text(2000) | None = Field(default=None, description="safe filter language")
    tier: Text(32) | None = None
    tags: list[Text(64)] | None = Field(default=None, max_length=50)
    region: Text(64) | None = None
    channel: Text(64) | None = None


class CampaignIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name(200)
    description: LongText | None = None
    channel: Literal["sms", "wechat", "email"] = Field(
        description="needs the customer's consent marketing_<channel>"
    )
    target: TargetIn
    control_share: StrictFloat = Field(default=0.1, ge=0, lt=1, allow_inf_nan=False)
    seed: Integer(0, 2**31 - 1) = 0
    response_days: Integer(1, 3660) = 30
    webhook_url: HttpUrl | None = Field(
        default=None, description="http(s) URL for sending; empty or null for none"
    )


class CampaignOut(BaseModel):
    id: int
    name: str
    description: str | None
    channel: str | None
    status: str = Field(description="draft, ready (audience built) or sent")
    target: dict[str, Any]
    control_share: float
    seed: int
    response_days: int
    webhook_url: str | None
    launched_at: UtcDateTime | None
    audience: dict[str, Any] | None
    created_at: UtcDateTime


class AudienceOut(BaseModel):
    targeted: int
    excluded_no_marketing: int
    excluded_no_consent: int
    members: int
    treatment: int
    control: int
    built_at: str


class MemberOut(BaseModel):
    customer_id: str
    name: str | None
    phone: str | None
    email: str | None
    group: str
    send_status: str | None
    sent_at: UtcDateTime | None
    attempts: int
    last_error: str | None


class MemberPageOut(BaseModel):
    items: list[MemberOut]
    total: int


class SendIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    batch_size: Integer(1, 1000) = 200


class SendOut(BaseModel):
    sent: int
    failed: int
    batches: int


class LaunchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    launched_at: UtcDateTime | None = Field(
        default=None, description="when the exported list went out; default now"
    )


class GroupOut(BaseModel):
    members: int
    converted: int
    orders: int
    revenue: float
    conversion_rate: float | None
    revenue_per_member: float | None


class IntervalOut(BaseModel):
    estimate: float | None
    low: float | None
    high: float | None
    confidence: float
    method: str
    df: float | None = None


class WindowOut(BaseModel):
    start: UtcDateTime
    end: UtcDateTime
    complete: bool


class ReportOut(BaseModel):
    campaign_id: int
    name: str
    window: WindowOut
    groups: dict[str, GroupOut]
    conversion_uplift: IntervalOut = Field(description="treatment minus control conversion")
    revenue_uplift: IntervalOut = Field(description="treatment minus control revenue per member")
    incremental: dict[str, float | None]
