"""What interactions and tasks share: the kinds of contact, a row of the actor's customers by id."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.exceptions import NotFoundError, SchemaError
from kehu.services.access import Actor
from kehu.services.scope import scope_customers
from kehu.store.models import Customer
from kehu.store.models.engagement import INTERACTION_KINDS


def _check_kind(kind: str) -> str:
    if kind not in INTERACTION_KINDS:
        raise SchemaError(f"interaction kind {kind!r} is not one of {', '.join(INTERACTION_KINDS)}")
    return kind


def _scoped(session: Session, actor: Actor, model, row_id: int, what: str):
    stmt = scope_customers(
        select(model, Customer.code)
        .join(Customer, Customer.id == model.customer_id)
        .where(model.id == row_id),
        actor,
    )
    got = session.execute(stmt).first()
    if got is None:
        raise NotFoundError(f"no {what} {row_id}")
    return got
