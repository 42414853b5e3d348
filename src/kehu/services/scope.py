"""The rep-scoping rule, in one place: a sales rep reaches only their own customers.

Every service that reads or writes a customer, or anything hanging off one,
goes through :func:`scoped_customer` or :func:`scope_customers`.

What a rep learns about what is outside their scope
-----------------------------------------------------
1. **Reaching** a customer (reading it, changing it, or creating something that
   hangs off it: an interaction, a task, feedback, a survey answer, a loyalty
   enrolment or posting, a campaign's audience) answers for a customer outside
   the scope exactly as for one that does not exist: :class:`NotFoundError`
   ``no customer '<id>'``, naming only the id the caller sent.  The same holds
   for the things themselves (``no order ...``, ``no task ...``).
2. **Creating** under a natural key -- a customer id (``POST /customers``, or
   the customer ``POST /orders`` creates on the fly) or an order id
   (``POST /orders``) -- that is already taken answers :func:`taken`:
   :class:`ConflictError` ``<customer|order> id '<id>' is already taken ...``,
   the same status and the same words whether the holder is in the caller's
   scope or not, and nothing else (no owner, rep, name or content).  Ids are
   one namespace shared by everyone: that an id is taken cannot be hidden
   without storing two records under it, so it is the one thing a create
   tells; whose it is, is never told.  An order id posted again with the same
   content is a repeat (the stored order) only for a caller who can see it.
3. Checks run in an order that keeps answers independent of what the caller
   cannot see: ``POST /orders`` settles the customer id before the order id,
   so the answer about a customer does not depend on whether the order id
   exists.  Nothing out of scope is ever changed by a refused request.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, false, select
from sqlalchemy.orm import Session

from kehu.exceptions import ConflictError, NotFoundError
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
    if "\x00" in str(code):  # no stored id has one (PostgreSQL refuses it in a query)
        raise NotFoundError(f"no customer {code!r}")
    stmt = scope_customers(select(Customer).where(Customer.code == str(code)), actor)
    if for_update:
        stmt = stmt.with_for_update()
    customer = session.scalar(stmt)
    if customer is None:
        raise NotFoundError(f"no customer {code!r}")
    return customer


#: what follows the words of :func:`taken`, per kind of id
_TAKEN_HINT = {
    "customer id": "use another id",
    "order id": "an order id can be posted again only with exactly the same content",
}


def taken(what: str, key: str) -> ConflictError:
    """The one answer to creating ``what`` (``"customer id"``, ``"order id"``) under a taken key.

    Worded the same whoever holds the key (rule 2 above); it names only ``key``.
    """
    hint = _TAKEN_HINT.get(what, "use another id")
    return ConflictError(f"{what} {key!r} is already taken; {hint}")
