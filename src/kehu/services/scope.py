"""The rep-scoping rule, in one place: a sales rep reaches only their own customers.

Every service that reads or writes a customer, or anything hanging off one,
goes through :func:`scoped_customer` or :func:`scope_customers`.  A customer
outside the actor's scope is reported exactly like a missing one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from kehu.exceptions import NotFoundError
from kehu.services.access import Actor
from kehu.store.models import Customer


def scope_customers(stmt: Select[Any], actor: Actor) -> Select[Any]:
    """Restrict a statement over :class:`Customer` to the actor's customers."""
    if actor.sees_all_customers:
        return stmt
    if not actor.rep_name:
        return stmt.where(false())
    return stmt.where(Customer.sales_rep == actor.rep_name)


def in_scope(customer: Customer, actor: Actor) -> bool:
    return actor.sees_all_customers or (
        bool(actor.rep_name) and customer.sales_rep == actor.rep_name
    )


def scoped_customer(
    session: Session, *, actor: Actor, code: str, for_update: bool = False
) -> Customer:
    """The customer with id ``code`` if the actor may reach it; else :class:`NotFoundError`."""
    stmt = scope_customers(select(Customer).where(Customer.code == str(code)), actor)
    if for_update:
        stmt = stmt.with_for_update()
    customer = session.scalar(stmt)
    if customer is None:
        raise NotFoundError(f"no customer {code!r}")
    return customer
