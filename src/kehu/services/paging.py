"""Pages of a filtered query: the limits, the total, and one page of rows."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from kehu.exceptions import SchemaError

MAX_PAGE_SIZE = 500


def check_page(page: int, page_size: int) -> None:
    """Pages start at 1 and hold 1 to :data:`MAX_PAGE_SIZE` rows."""
    if page < 1:
        raise SchemaError(f"page starts at 1, got {page}")
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise SchemaError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}")


def fetch_page(
    session: Session, stmt: Select, order_by: tuple[Any, ...], *, page: int, page_size: int
) -> tuple[list[Any], int]:
    """Rows of page ``page`` of ``stmt`` in ``order_by`` order, and the total over all pages."""
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(*order_by).limit(page_size).offset((page - 1) * page_size)
    ).all()
    return rows, total
