"""DuckDB expressions that staging and writing share: row digests, batch numbers, order keys."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ibis
import ibis.expr.types as ir


def _digest(t: ir.Table, columns: Sequence[str]) -> ir.StringValue:
    """MD5 of the columns' text forms; NULL is distinct from any ordinary text."""
    # printable stand-ins (SYMBOL FOR NULL / UNIT SEPARATOR): control characters
    # do not survive SQL rendering on every engine
    parts = [t[c].cast("string").fill_null("\u2400") for c in columns]
    if not parts:
        return ibis.literal("").hexdigest("md5")
    return ibis.literal("\u241f").join(parts).hexdigest("md5")


def _batched(t: ir.Table, key: str, batch_size: int) -> ir.Table:
    return t.mutate(__batch=(ibis.row_number().over(order_by=t[key]) // batch_size).cast("int64"))


def _order_no(order_id: ir.StringValue, customer_id: ir.StringValue, when) -> ir.StringValue:
    """The order's key: its id, or ``<customer>@<time>`` for lines without one."""
    ts = when.strftime("%Y-%m-%dT%H:%M:%S")
    return ibis.coalesce(order_id, customer_id.fill_null("") + ibis.literal("@") + ts)


def _count_batches(con, name: str) -> int:
    got = con.table(name).__batch.max().execute()
    return 0 if got is None else int(got) + 1


def _rows(t: ir.Table) -> list[dict[str, Any]]:
    return t.to_pyarrow().to_pylist()
