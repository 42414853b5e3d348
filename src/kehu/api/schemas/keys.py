"""Natural keys and order values as the API takes them.

The bounds are those of :mod:`kehu.warehouse.rules` (the same numbers the import
and ``kehu load`` apply), declared as pydantic constraints so that the OpenAPI
document shows them (``minLength``/``maxLength``/``pattern``, ``minimum``/``maximum``).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import BeforeValidator, Field, StringConstraints

from kehu.api.schemas.common import NOT_BLANK
from kehu.warehouse.rules import (
    END_ORDER_TIME,
    FIRST_ORDER_TIME,
    MAX_AMOUNT,
    MAX_CUSTOMER_ID,
    MAX_ORDER_ID,
    MAX_PRICE,
    MAX_PRODUCT_ID,
    MAX_QUANTITY,
)


def NaturalKey(max_length: int):
    """An id as stored: surrounding spaces trimmed, not blank, at most ``max_length`` characters.

    The length is checked before the trim too, as the schema's ``maxLength`` says.
    """

    def sent_length(value):
        if isinstance(value, str) and len(value) > max_length:
            raise ValueError(f"String should have at most {max_length} characters")
        return value

    return Annotated[
        str,
        StringConstraints(
            strip_whitespace=True, min_length=1, max_length=max_length, pattern=NOT_BLANK
        ),
        BeforeValidator(sent_length),
    ]


CustomerKey = NaturalKey(MAX_CUSTOMER_ID)
OrderKey = NaturalKey(MAX_ORDER_ID)
ProductKey = NaturalKey(MAX_PRODUCT_ID)


def _json_number(value):
    """A number as JSON writes it: ``false`` and ``"5"`` (pydantic alone takes them) are refused."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


def _bounded(bound: float):
    # the constraints before the validator, so that the JSON schema states them
    return Annotated[
        float, Field(allow_inf_nan=False, ge=-bound, le=bound), BeforeValidator(_json_number)
    ]


Quantity = _bounded(MAX_QUANTITY)
Price = _bounded(MAX_PRICE)
Money = _bounded(MAX_AMOUNT)

#: the accepted order times, in words (JSON Schema has no range keyword for a date-time)
ORDER_TIME_RANGE = (
    f"from {FIRST_ORDER_TIME:%Y-%m-%d} up to, not including, {END_ORDER_TIME:%Y-%m-%d}"
)
#: the bound on a line's price x quantity and on an order's total, in words
AMOUNT_BOUND = f"at most {MAX_AMOUNT:g} either way"


def check_order_time(value: dt.datetime) -> dt.datetime:
    """A validator: the order time (offset dropped) within :data:`ORDER_TIME_RANGE`."""
    value = value.replace(tzinfo=None)
    if not FIRST_ORDER_TIME <= value < END_ORDER_TIME:
        raise ValueError(f"an order time must be {ORDER_TIME_RANGE}")
    return value


def check_amount(value: float, what: str) -> float:
    """A validator: ``value`` (a product or a sum) within :data:`MAX_AMOUNT`."""
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"{what} must be {AMOUNT_BOUND}, got {value:g}")
    return value
