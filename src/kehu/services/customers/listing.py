"""The customer list: a page of customers with their classes, and its export."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu import writers
from kehu.exceptions import ConfigError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.customers.selection import filtered
from kehu.services.paging import check_page, fetch_page
from kehu.services.privacy import mask_customer
from kehu.services.refresh import RESULT_COLUMNS
from kehu.store.models import CustomerTag

#: fields of a list row
PROFILE_FIELDS = (
    "name",
    "phone",
    "email",
    "province",
    "city",
    "district",
    "region",
    "area_type",
    "channel",
    "sales_rep",
    "distributor",
)
MAX_EXPORT_ROWS = 200_000


@dataclass
class CustomerPage:
    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int


def list_customers(
    session: Session,
    *,
    actor: Actor,
    classes: dict[str, Sequence[str]] | None = None,
    region: str | None = None,
    channel: str | None = None,
    rep: str | None = None,
    tier: str | None = None,
    tags: Sequence[str] | None = None,
    filter: str | None = None,
    sort: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> CustomerPage:
    """A page of customers with their current classes, newest rules applied.

    ``filter`` is the safe filter language of custom segments (for example
    ``orders >= 4 and region = '浙江省'``) over the profile, the current
    classes and scores, and ``tier``/``points``.  ``sort`` is a column name,
    ``-`` in front for descending, several separated by commas.
    """
    check_page(page, page_size)
    stmt, order = filtered(
        session,
        actor,
        classes=classes,
        region=region,
        channel=channel,
        rep=rep,
        tier=tier,
        tags=tags,
        filter=filter,
        sort=sort,
    )
    rows, total = fetch_page(session, stmt, tuple(order), page=page, page_size=page_size)
    items = _items(session, actor, rows)
    return CustomerPage(items=items, total=total, page=page, page_size=page_size)


def _items(session: Session, actor: Actor, rows) -> list[dict[str, Any]]:
    ids = [c.id for c, _r, _a in rows]
    tags: dict[int, list[str]] = {}
    if ids:
        q = select(CustomerTag.customer_id, CustomerTag.tag).where(CustomerTag.customer_id.in_(ids))
        for cid, tag in session.execute(q.order_by(CustomerTag.tag)):
            tags.setdefault(cid, []).append(tag)
    out = []
    for c, r, a in rows:
        item = {"customer_id": c.code, **{f: getattr(c, f) for f in PROFILE_FIELDS}}
        item = mask_customer(item, actor)
        item["tags"] = tags.get(c.id, [])
        item["tier"] = a.tier if a else None
        item["points"] = a.balance if a else None
        for col in RESULT_COLUMNS:
            item[col] = getattr(r, col) if r is not None else None
        out.append(item)
    return out


def export_customers(
    session: Session, *, actor: Actor, format: str = "csv", **filters: Any
) -> tuple[bytes, str]:
    """The filtered list as CSV (UTF-8 with BOM, for Excel) or an Excel workbook.

    Returns the bytes and the media type.  Personal data are masked as for the
    list; the export is written to the audit log.  Cells are data, never
    formulas (:mod:`kehu.writers`).
    """
    require(actor, "customers.export")
    if format not in ("csv", "xlsx"):
        raise ConfigError(f"export format must be csv or xlsx, got {format!r}")
    stmt, order = filtered(session, actor, **filters)
    rows = session.execute(stmt.order_by(*order).limit(MAX_EXPORT_ROWS)).all()
    items = _items(session, actor, rows)
    header = ["customer_id", *PROFILE_FIELDS, "tags", "tier", "points", *RESULT_COLUMNS]
    table = [[_cell(it.get(h)) for h in header] for it in items]
    audit.record(
        session,
        actor=actor,
        action="customers.export",
        entity="customer",
        changes={"rows": len(items), "format": format, "filters": filters},
    )
    return writers.export_table(format, header, table, sheet="customers")


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return ";".join(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    return "" if value is None else value
