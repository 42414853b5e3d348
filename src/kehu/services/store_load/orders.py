"""One order through the API: checked against the bounds, idempotent by order id."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kehu.exceptions import ConflictError, NotFoundError, SchemaError
from kehu.services import audit, sales_months
from kehu.services.access import Actor, require
from kehu.services.scope import in_scope, taken
from kehu.store.models import Customer, Order, OrderLine
from kehu.warehouse.rules import (
    MAX_AMOUNT,
    MAX_CUSTOMER_ID,
    MAX_LENGTHS,
    MAX_ORDER_ID,
    check_key,
    check_line,
    check_order_time,
)


@dataclass
class OrderResult:
    """An order posted through the API; ``created`` is false for a repeated post."""

    order: Order
    created: bool


#: attempts of :func:`add_order` when concurrent requests race on the same keys
RACE_ATTEMPTS = 3


def add_order(
    session: Session,
    *,
    actor: Actor,
    order_no: str,
    customer_code: str,
    order_time: dt.datetime,
    lines: Sequence[dict[str, Any]],
    channel: str | None = None,
    store_id: str | None = None,
    status: str | None = None,
) -> OrderResult:
    """Add one order, idempotently by ``order_no``.

    Posting the same order again returns the stored one (``created=False``).
    An order id already taken by a different order -- different content, or
    an order of a customer outside the actor's scope -- is a
    :class:`ConflictError` worded the same in both cases
    (:func:`kehu.services.scope.taken`).  An unknown customer is created (for
    a rep, as their own customer); a customer id outside the actor's scope is
    taken, as for ``create_customer``.  Values are checked against the bounds
    of :mod:`kehu.warehouse.rules`.

    Concurrent posts race on the unique order id (and customer id): the
    loser's insert fails, the session is **rolled back**, and the stored order
    is read again and compared, so an identical post still answers as a
    repeat.  Call this first in its transaction.
    """
    require(actor, "orders.write")
    order_no = check_key(order_no, "order_id", max_length=MAX_ORDER_ID)
    customer_code = check_key(customer_code, "customer_id", max_length=MAX_CUSTOMER_ID)
    order_time = check_order_time(order_time)
    limits = MAX_LENGTHS["orders"]
    for name, value in (("channel", channel), ("store_id", store_id), ("status", status)):
        _check_length(value, name, limits[name])
    norm = _checked_lines(order_no, lines)
    total = sum(x["amount"] for x in norm)
    if abs(total) > MAX_AMOUNT:
        raise SchemaError(f"order {order_no}: the total {total:g} is beyond ±{MAX_AMOUNT:g}")
    norm.sort(key=lambda x: json.dumps(x, sort_keys=True, default=str))
    digest = hashlib.md5(
        json.dumps(
            [customer_code, order_time.isoformat(), channel, store_id, status, norm],
            sort_keys=True,
            default=str,
        ).encode(),
        usedforsecurity=False,
    ).hexdigest()
    values = {
        "order_no": order_no,
        "order_time": order_time,
        "channel": channel,
        "store_id": store_id,
        "status": status,
        "amount": total,
        "source": "api",
        "content_hash": digest,
    }
    for _attempt in range(RACE_ATTEMPTS):
        try:
            return _add_order_once(session, actor, customer_code, values, norm)
        except IntegrityError:
            # another request stored this order id or customer id first: start again,
            # and the stored order is found and compared
            session.rollback()
    raise ConflictError(f"order id {order_no!r} is being written by other requests; retry")


def _checked_lines(order_no: str, lines: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The order's lines checked against the bounds, with their amounts and return flags."""
    limits = MAX_LENGTHS["orders"]
    if not lines:
        raise SchemaError(f"order {order_no}: at least one line is needed")
    norm = []
    for i, ln in enumerate(lines, start=1):
        where = f"order {order_no} line {i}"
        amount = check_line(ln.get("quantity"), ln.get("price"), ln.get("amount"), where)
        _check_length(ln.get("product_code"), f"{where}: product_id", limits["product_id"])
        _check_length(ln.get("status"), f"{where}: status", limits["status"])
        norm.append(
            {
                "product_code": ln.get("product_code"),
                "quantity": ln.get("quantity"),
                "price": ln.get("price"),
                "amount": amount,
                "discount": ln.get("discount"),
                "is_return": bool(ln.get("is_return", False) or amount < 0),
                "status": ln.get("status"),
            }
        )
    return norm


def _check_length(value: str | None, name: str, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise SchemaError(f"{name} has {len(value)} characters; at most {limit} are allowed")


def _add_order_once(
    session: Session, actor: Actor, code: str, values: dict[str, Any], norm: list[dict]
) -> OrderResult:
    order_no = values["order_no"]
    # the customer first: the answer about a customer id must not depend on the order id
    customer = session.scalar(select(Customer).where(Customer.code == code))
    if customer is not None and not in_scope(customer, actor):
        raise taken("customer id", code)
    existing = session.scalar(select(Order).where(Order.order_no == order_no))
    if existing is not None:
        owner = session.get(Customer, existing.customer_id) if existing.customer_id else None
        visible = actor.sees_all_customers or (owner is not None and in_scope(owner, actor))
        if visible and existing.content_hash == values["content_hash"]:
            return OrderResult(existing, created=False)
        # out of scope or different: the same answer, naming nothing but the id given
        raise taken("order id", order_no)
    if customer is None:
        require(actor, "customers.write")
        customer = Customer(
            code=code, sales_rep=None if actor.sees_all_customers else actor.rep_name
        )
        session.add(customer)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="customer.create",
            entity="customer",
            entity_id=code,
            changes={"source": "order"},
        )
    order = Order(
        **values,
        customer_id=customer.id,
        lines=[OrderLine(line_no=i, **x) for i, x in enumerate(norm, start=1)],
    )
    session.add(order)
    session.flush()
    sales_months.recount(session, [customer.id])
    audit.record(
        session,
        actor=actor,
        action="order.create",
        entity="order",
        entity_id=order_no,
        changes={"customer": code, "amount": order.amount, "lines": len(norm)},
    )
    return OrderResult(order, created=True)


def get_order(session: Session, *, actor: Actor, order_no: str) -> Order:
    """One order, if its customer is in the actor's scope."""
    order = session.scalar(select(Order).where(Order.order_no == order_no))
    if order is None:
        raise NotFoundError(f"no order {order_no!r}")
    if not actor.sees_all_customers:
        owner = session.get(Customer, order.customer_id) if order.customer_id else None
        if owner is None or owner.sales_rep != actor.rep_name or not actor.rep_name:
            raise NotFoundError(f"no order {order_no!r}")
    return order
