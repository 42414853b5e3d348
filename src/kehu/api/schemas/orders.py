from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field

from kehu.api.schemas.common import Text

Amount = float


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: Text(64) | None = None
    quantity: float | None = Field(default=None, allow_inf_nan=False, ge=-1e9, le=1e9)
    price: float | None = Field(default=None, allow_inf_nan=False, ge=-1e9, le=1e9)
    amount: float | None = Field(
        default=None,
        allow_inf_nan=False,
        ge=-1e12,
        le=1e12,
        description="net line amount; default price x quantity",
    )
    discount: float | None = Field(default=None, allow_inf_nan=False, ge=-1e12, le=1e12)
    is_return: bool = False
    status: Text(32) | None = None


class OrderIn(BaseModel):
    """An order; posting the same ``order_id`` again with the same content is harmless."""

    model_config = ConfigDict(extra="forbid")

    order_id: Text(128, 1)
    customer_id: Text(64, 1)
    order_time: dt.datetime = Field(description="local wall-clock time; an offset is ignored")
    channel: Text(64) | None = None
    store_id: Text(64) | None = None
    status: Text(32) | None = None
    lines: list[OrderLineIn] = Field(min_length=1, max_length=1000)


class OrderLineOut(BaseModel):
    line_no: int
    product_id: str | None
    quantity: float | None
    price: float | None
    amount: float
    is_return: bool
    status: str | None


class OrderOut(BaseModel):
    order_id: str
    customer_id: str | None
    order_time: dt.datetime
    channel: str | None
    store_id: str | None
    status: str | None
    amount: float
    source: str
    created: bool = Field(description="false when the same order had been posted before")
    lines: list[OrderLineOut]
