"""Canonical tables and their columns.

Every importer produces these names and every analytic consumes them, so the
rest of the code never sees a source file's own headers.

``orders`` (one row per order line, after the import rules are applied):

=============  ==========  ===================================================
column         type        meaning
=============  ==========  ===================================================
customer_id    string      null for anonymous sales (kept for sales figures)
order_id       string      null when the source has none; then a distinct
                           (customer, order_time) counts as one order
order_time     timestamp   when the order was placed
product_id     string      may be null
quantity       float64     units; negative on return lines
price          float64     unit price; may be null
amount         float64     net line amount; negative on return lines
is_return      boolean     the line is a cancellation or return
status         string      optional
channel        string      optional
store_id       string      optional
=============  ==========  ===================================================
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.exceptions import SchemaError
from kehu.names import IMPORTED_CUSTOMER_FIELDS

ORDER_COLUMNS = (
    "customer_id",
    "order_id",
    "order_time",
    "product_id",
    "quantity",
    "price",
    "amount",
    "is_return",
    "status",
    "channel",
    "store_id",
)
ORDER_REQUIRED = ("customer_id", "order_time", "amount")

CUSTOMER_COLUMNS = ("customer_id", *IMPORTED_CUSTOMER_FIELDS)

PRODUCT_COLUMNS = ("product_id", "name", "category", "brand", "price", "pack_size")

#: The per-customer RFM contract (``rfm_summary`` output), in order.
RFM_COLUMNS = (
    "customer_id",
    "first_purchase",
    "last_purchase",
    "recency_days",
    "orders",
    "monetary",
    "avg_order_value",
    "r_score",
    "f_score",
    "m_score",
)


def to_table(data: Any, name: str = "data") -> ir.Table:
    """Return ``data`` as an Ibis table.

    Accepts an Ibis table (returned as is), a pandas or polars DataFrame, or a
    pyarrow Table; the latter three become in-memory tables on the default
    backend (DuckDB).
    """
    if isinstance(data, ir.Table):
        return data
    try:
        return ibis.memtable(data)
    except Exception as exc:  # ibis raises several types for unsupported inputs
        raise SchemaError(
            f"{name}: expected an Ibis table, a pandas/polars DataFrame or a pyarrow Table, "
            f"got {type(data).__name__}"
        ) from exc


def require_columns(table: ir.Table, columns: Iterable[str], what: str = "table") -> None:
    """Raise :class:`SchemaError` naming every missing column and the columns found."""
    present = set(table.columns)
    missing = [c for c in columns if c not in present]
    if missing:
        found = ", ".join(table.columns) or "(none)"
        raise SchemaError(
            f"{what} is missing column(s) {', '.join(missing)}; columns found: {found}"
        )
