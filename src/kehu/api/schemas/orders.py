from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator, model_validator

from kehu.api.schemas.common import Text, WallClock
from kehu.api.schemas.keys import (
    AMOUNT_BOUND,
    ORDER_TIME_RANGE,
    CustomerKey,
    Money,
    OrderKey,
    Price,
    ProductKey,
    Quantity,
    check_amount,
    check_order_time,
)

Amount = float


class OrderLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    product_id: ProductKey | None = None
    quantity: Quantity | None = None
    price: Price | None = None
    amount: Money | None = Field(
        default=None,
        description=f"net line amount; default price x quantity, which must be {AMOUNT_BOUND}",
    )
    discount: Money | None = None
    is_return: StrictBool = False
    status: Text(32) | None = None

    @model_validator(mode="after")
    def _bounded_product(self) -> OrderLineIn:
        if self.price is not None and self.quantity is not None:
            check_amount(self.price * self.quantity, "price x quantity")
        return self


class OrderIn(BaseModel):
    """An order; posting the same ``order_id`` again with the same content is harmless."""

    model_config = ConfigDict(extra="forbid")

    order_id: OrderKey
    customer_id: CustomerKey
    order_time: WallClock = Field(
        description=f"local wall-clock time, {ORDER_TIME_RANGE}; an offset is ignored"
    )
    channel: Text(64) | None = None
    store_id: Text(64) | None = None
    status: Text(32) | None = None
    lines: list[OrderLineIn] = Field(
        min_length=1, max_length=1000, description=f"the total must be {AMOUNT_BOUND}"
    )

    _in_years = field_validator("order_time")(check_order_time)

    @model_validator(mode="after")
    def _bounded_total(self) -> OrderIn:
        total = 0.0
        for ln in self.lines:
            if ln.amount is not None:
                total += ln.amount
            elif ln.price is not None and ln.quantity is not None:
                total += ln.price * ln.quantity
        check_amount(total, "the order total")
        return self


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
    order_time: WallClock
    channel: str | None
    store_id: str | None
    status: str | None
    amount: float
    source: str
    created: bool = Field(description="false when the same order had been posted before")
    lines: list[OrderLineOut]
