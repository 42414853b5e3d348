"""Targets: a month's sales and active-customer targets per rep, region, channel, distributor."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from kehu.api.schemas.common import Integer, Name, UtcDateTime

Dimension = Literal["rep", "region", "channel", "distributor"]
#: a month as ``YYYY-MM``, 1900 to 2099
Month = Annotated[str, Field(pattern=r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", examples=["2024-06"])]


class TargetIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    month: Month
    dimension: Dimension
    name: Name(100)
    sales: Annotated[float, Field(ge=0, le=999_999_999_999)] | None = None
    active_customers: Integer(0, 10_000_000) | None = None


class TargetsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    targets: Annotated[list[TargetIn], Field(min_length=1, max_length=5000)]


class TargetOut(BaseModel):
    month: dt.date
    dimension: Dimension
    name: str
    sales: float | None
    active_customers: int | None
    set_by: str | None
    updated_at: UtcDateTime | None = None


class TargetList(BaseModel):
    items: list[TargetOut]
