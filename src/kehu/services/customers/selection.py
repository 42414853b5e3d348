"""The customer list's selection: the columns, the filters and the sort order.

Campaign audiences select with the same query (:mod:`kehu.services.campaigns`), so a
target is exactly the list a person sees with the same filters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, aliased

from kehu.exceptions import SchemaError
from kehu.names import CLASS_COLUMNS, LABELLED_CLASS_COLUMNS, STORE_CUSTOMER_FIELDS
from kehu.services.access import Actor
from kehu.services.refresh import RESULT_COLUMNS, current_run
from kehu.services.scope import scope_customers
from kehu.services.sql_filter import compile_sql_filter
from kehu.store.models import ClassificationResult, Customer, CustomerTag, LoyaltyAccount


def _columns(result, account) -> dict[str, tuple[ColumnElement[Any], str]]:
    """The columns lists can be filtered and sorted on, with their kinds."""
    cols: dict[str, tuple[ColumnElement[Any], str]] = {
        "customer_id": (Customer.code, "string"),
        "code": (Customer.code, "string"),
        "signup_date": (Customer.signup_date, "date"),
        "tier": (account.tier, "string"),
        "points": (account.balance, "number"),
        "no_personalised_marketing": (Customer.no_personalised_marketing, "boolean"),
    }
    # every stored field but the contacts (personal data, masked by role) and the date
    for name in (f for f in STORE_CUSTOMER_FIELDS if f not in ("phone", "email", "signup_date")):
        cols[name] = (getattr(Customer, name), "string")
    for name in RESULT_COLUMNS:
        kind = (
            "date"
            if name == "last_purchase"
            else "string"
            if name in LABELLED_CLASS_COLUMNS
            else "number"
        )
        cols[name] = (getattr(result, name), kind)
    return cols


def _base_query(session: Session, actor: Actor):
    run = current_run(session)
    result = aliased(ClassificationResult)
    account = aliased(LoyaltyAccount)
    stmt = (
        select(Customer, result, account)
        .outerjoin(
            result,
            (result.customer_id == Customer.id) & (result.run_id == (run.id if run else -1)),
        )
        .outerjoin(account, account.customer_id == Customer.id)
    )
    return scope_customers(stmt, actor), _columns(result, account)


def filtered(
    session: Session,
    actor: Actor,
    *,
    classes: dict[str, Sequence[str]] | None = None,
    region: str | None = None,
    channel: str | None = None,
    rep: str | None = None,
    tier: str | None = None,
    tags: Sequence[str] | None = None,
    filter: str | None = None,
    sort: str | None = None,
):
    """The scoped ``(statement, order)`` of customers with their current result and account."""
    stmt, cols = _base_query(session, actor)
    for name, values in (classes or {}).items():
        if name not in CLASS_COLUMNS:
            raise SchemaError(f"unknown classifier {name!r}; known: {', '.join(CLASS_COLUMNS)}")
        if values:
            col = cols[name][0]
            if name == "grade":
                try:
                    values = [int(v) for v in values]
                except ValueError:
                    raise SchemaError(f"grade must be whole numbers, got {values!r}") from None
            stmt = stmt.where(col.in_(list(values)))
    for value, name in ((region, "region"), (channel, "channel"), (rep, "sales_rep")):
        if value:
            stmt = stmt.where(cols[name][0] == value)
    if tier:
        stmt = stmt.where(cols["tier"][0] == tier)
    for tag in tags or ():
        has = select(CustomerTag.id).where(
            CustomerTag.customer_id == Customer.id, CustomerTag.tag == tag
        )
        stmt = stmt.where(has.exists())
    if filter and filter.strip():
        stmt = stmt.where(compile_sql_filter(filter, cols))
    order = _order_by(sort, cols)
    return stmt, order


def _order_by(sort: str | None, cols) -> list[Any]:
    """``"monetary"`` ascending, ``"-monetary"`` descending; ties by customer id."""
    out = []
    for part in (sort or "customer_id").split(","):
        part = part.strip()
        desc = part.startswith("-")
        name = part.lstrip("-+")
        if name not in cols:
            raise SchemaError(f"cannot sort by {name!r}; sortable: {', '.join(sorted(cols))}")
        col = cols[name][0]
        out.append(col.desc().nulls_last() if desc else col.asc().nulls_last())
    out.append(Customer.code.asc())
    return out
