"""Creating and changing customers: fields, the rep they belong to, tags."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kehu.exceptions import SchemaError
from kehu.names import STORE_CUSTOMER_FIELDS
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.scope import scoped_customer, taken
from kehu.store.models import Customer, CustomerTag
from kehu.warehouse.rules import MAX_CUSTOMER_ID, check_key

#: customer fields people may set through the API (``sales_rep`` needs ``customers.assign``)
EDITABLE = (*STORE_CUSTOMER_FIELDS, "no_personalised_marketing")


def get_customer(session: Session, *, actor: Actor, code: str) -> Customer:
    """The customer, if in the actor's scope (else :class:`NotFoundError`)."""
    return scoped_customer(session, actor=actor, code=code)


def create_customer(session: Session, *, actor: Actor, code: str, **values: Any) -> Customer:
    """A new customer; a rep's new customers are their own.

    An id already taken answers the same whoever holds it, in the actor's scope
    or not (:func:`kehu.services.scope.taken`); so does losing a race to
    create the same id, after which the session is rolled back.
    """
    require(actor, "customers.write")
    code = check_key(code, "customer_id", max_length=MAX_CUSTOMER_ID)
    tags = values.pop("tags", None)
    unknown = sorted(set(values) - set(EDITABLE))
    if unknown:
        raise SchemaError(f"unknown customer field(s) {', '.join(unknown)}")
    if session.scalar(select(Customer.id).where(Customer.code == code)) is not None:
        raise taken("customer id", code)
    if not actor.can("customers.assign"):
        values["sales_rep"] = actor.rep_name
    customer = Customer(code=code, **values)
    session.add(customer)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()  # another request created this id meanwhile
        raise taken("customer id", code) from None
    if tags:
        set_tags(session, actor=actor, code=code, tags=tags)
    audit.record(
        session,
        actor=actor,
        action="customer.create",
        entity="customer",
        entity_id=code,
        changes=values,
    )
    return customer


def update_customer(session: Session, *, actor: Actor, code: str, **changes: Any) -> Customer:
    """Change customer fields; moving a customer to another rep needs ``customers.assign``."""
    require(actor, "customers.write")
    unknown = sorted(set(changes) - set(EDITABLE))
    if unknown:
        raise SchemaError(f"unknown customer field(s) {', '.join(unknown)}")
    c = scoped_customer(session, actor=actor, code=code, for_update=True)
    moving = "sales_rep" in changes and changes["sales_rep"] != c.sales_rep
    if moving:
        require(actor, "customers.assign")
    before = {k: getattr(c, k) for k in changes}
    for k, v in changes.items():
        setattr(c, k, v)
    session.flush()
    delta = audit.diff(before, changes)
    if delta:
        audit.record(
            session,
            actor=actor,
            action="customer.update",
            entity="customer",
            entity_id=code,
            changes=delta,
        )
    return c


def set_tags(session: Session, *, actor: Actor, code: str, tags: Sequence[str]) -> list[str]:
    """Replace a customer's tags."""
    require(actor, "customers.write")
    c = scoped_customer(session, actor=actor, code=code)
    clean = sorted({t.strip() for t in tags if t and t.strip()})
    if any(len(t) > 64 for t in clean):
        raise SchemaError("a tag has at most 64 characters")
    before = sorted(t.tag for t in c.tags)
    # remove and add the differences only: re-inserting a kept tag would collide
    for t in [t for t in c.tags if t.tag not in clean]:
        c.tags.remove(t)
    session.flush()
    c.tags.extend(CustomerTag(tag=t) for t in clean if t not in before)
    session.flush()
    if before != clean:
        audit.record(
            session,
            actor=actor,
            action="customer.tags",
            entity="customer",
            entity_id=code,
            changes={"tags": [before, clean]},
        )
    return clean
