from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from kehu.api.schemas.common import Date, LongText, Text, UtcDateTime
from kehu.api.schemas.keys import CustomerKey

Name = Text(200)
Place = Text(64)


class CustomerFields(BaseModel):
    """Fields people may set; omitted fields are left as they are."""

    model_config = ConfigDict(extra="forbid")

    name: Name | None = None
    phone: Text(40) | None = None
    email: Name | None = None
    country: Place | None = None
    province: Place | None = None
    city: Place | None = None
    district: Place | None = None
    region: Place | None = None
    area_type: Text(16) | None = None
    channel: Place | None = None
    size: Text(32) | None = None
    gender: Text(16) | None = None
    age_band: Text(32) | None = None
    income_band: Text(32) | None = None
    sales_rep: Text(100) | None = None
    distributor: Name | None = None
    signup_date: Date | None = None
    no_personalised_marketing: StrictBool | None = None


class CustomerIn(CustomerFields):
    customer_id: CustomerKey = Field(
        description="the customer id of the source system; an id already taken, whoever "
        "holds it, is a 409 conflict"
    )
    tags: list[Text(64, 1)] = Field(default_factory=list, max_length=100)


class CustomerItem(BaseModel):
    """A customer in a list: profile (masked by role), tags, loyalty and current classes."""

    customer_id: str
    name: str | None
    phone: str | None
    email: str | None
    province: str | None
    city: str | None
    district: str | None
    region: str | None
    area_type: str | None
    channel: str | None
    sales_rep: str | None
    distributor: str | None
    tags: list[str]
    tier: str | None
    points: int | None
    rfm8: str | None
    segment: str | None
    freq_tier: str | None
    spend_tier: str | None
    abc: str | None
    lifecycle: str | None
    grade: int | None
    recency_days: int | None
    orders: int | None
    monetary: float | None
    avg_order_value: float | None
    r_score: int | None
    f_score: int | None
    m_score: int | None
    last_purchase: Date | None


class CustomerPageOut(BaseModel):
    items: list[CustomerItem]
    total: int
    page: int
    page_size: int


class ClassOut(BaseModel):
    classifier: str
    version: str | None
    label: Any
    reason: str | None
    inputs: dict[str, Any]
    thresholds: dict[str, Any]


class Customer360(BaseModel):
    """A customer's whole picture in one call."""

    profile: dict[str, Any]
    tags: list[str]
    contacts: list[dict[str, Any]]
    consents: dict[str, dict[str, Any]]
    run: dict[str, Any] | None
    classes: list[ClassOut]
    scores: dict[str, Any]
    orders_summary: dict[str, Any]
    recent_orders: list[dict[str, Any]]
    interactions: list[dict[str, Any]]
    open_tasks: list[dict[str, Any]]
    feedback: list[dict[str, Any]]
    loyalty: dict[str, Any] | None
    alerts: list[dict[str, Any]]
    recommendations: list[dict[str, Any]]


class TagsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tags: list[Text(64)] = Field(max_length=100)


Purpose = Literal["marketing_sms", "marketing_wechat", "marketing_email", "share_distributor"]


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purpose: Purpose
    granted: StrictBool = Field(description="false records a withdrawal")
    source: Text(64) | None = None
    note: LongText | None = None


class ConsentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    purpose: str
    granted: bool
    source: str | None
    note: str | None
    recorded_at: UtcDateTime


class AnonymiseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: LongText | None = None
