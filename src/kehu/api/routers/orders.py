"""Incremental orders, idempotent by order id."""

from __future__ import annotations

from fastapi import APIRouter, Response

from kehu.api.deps import CurrentUser, SessionDep
from kehu.api.schemas.common import ERRORS, Text
from kehu.api.schemas.orders import OrderIn, OrderLineOut, OrderOut
from kehu.services import store_load
from kehu.store.models import Customer, Order

router = APIRouter(prefix="/orders", tags=["orders"], responses=ERRORS)


def _out(session, order: Order, created: bool) -> OrderOut:
    customer = session.get(Customer, order.customer_id) if order.customer_id else None
    return OrderOut(
        order_id=order.order_no,
        customer_id=customer.code if customer else None,
        order_time=order.order_time,
        channel=order.channel,
        store_id=order.store_id,
        status=order.status,
        amount=order.amount,
        source=order.source,
        created=created,
        lines=[
            OrderLineOut(
                line_no=ln.line_no,
                product_id=ln.product_code,
                quantity=ln.quantity,
                price=ln.price,
                amount=ln.amount,
                is_return=ln.is_return,
                status=ln.status,
            )
            for ln in order.lines
        ],
    )


@router.post("", response_model=OrderOut, status_code=201, responses={200: {"model": OrderOut}})
def post_order(
    body: OrderIn, actor: CurrentUser, session: SessionDep, response: Response
) -> OrderOut:
    """Add an order. The same order posted again returns 200 with the stored order;
    different content under a known order id is a 409 conflict."""
    result = store_load.add_order(
        session,
        actor=actor,
        order_no=body.order_id,
        customer_code=body.customer_id,
        order_time=body.order_time.replace(tzinfo=None),
        lines=[
            {**ln.model_dump(exclude={"product_id"}), "product_code": ln.product_id}
            for ln in body.lines
        ],
        channel=body.channel,
        store_id=body.store_id,
        status=body.status,
    )
    if not result.created:
        response.status_code = 200
    return _out(session, result.order, result.created)


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: Text(128, 1), actor: CurrentUser, session: SessionDep) -> OrderOut:
    order = store_load.get_order(session, actor=actor, order_no=order_id)
    return _out(session, order, created=False)
