"""What an import writes from its staged rows: orders, customers, products, rejects, summary."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.analytics.schema import CUSTOMER_COLUMNS, PRODUCT_COLUMNS
from kehu.warehouse.options import ImportOptions
from kehu.warehouse.staging import _count, _file_name, _Staged
from kehu.warehouse.summary import FileSummary, ImportSummary

ORDER_TYPES = {
    "customer_id": "string",
    "order_id": "string",
    "order_time": "timestamp(6)",  # what DuckDB reports for a stored TIMESTAMP
    "product_id": "string",
    "quantity": "float64",
    "price": "float64",
    "amount": "float64",
    "is_return": "boolean",
    "status": "string",
    "channel": "string",
    "store_id": "string",
}


REJECT_COLUMNS = ("file", "row", "column", "reason", "value")


def _rejects_expr(st: _Staged, keyed: bool = False) -> ir.Table:
    f = st.final
    f = f.filter(f.__reason.notnull())
    cols: dict[str, ir.Value] = {}
    if keyed:
        lines = st.kind == "orders"
        id_field = {"orders": "order_id", "customers": "customer_id"}.get(st.kind, "product_id")
        cols = {
            "kind": ibis.literal(st.kind),
            "key": f[id_field].cast("string"),
            "customer_id": f.customer_id if lines else ibis.null("string"),
            "order_time": f.order_time.cast("timestamp") if lines else ibis.null("timestamp"),
        }
    return f.select(
        **cols,
        file=_file_name(f.__file, st.sources),
        row=f.__row,
        column=f.__column,
        reason=f.__reason,
        value=f.__value,
    )


def _kept(st: _Staged) -> ir.Table:
    return st.final.filter(st.final.__reason.isnull())


def _orders_expr(st: _Staged, summary: ImportSummary) -> ir.Table:
    # When the summary shows that every row was kept, the filter is left out:
    # each later read of lazy orders then skips the rule tests it depends on.
    kept = st.final if summary.rows_kept == summary.rows_read else _kept(st)
    return kept.select(**{c: kept[c].cast(t) for c, t in ORDER_TYPES.items()})


def _entities_expr(st: _Staged) -> ir.Table:
    kept = _kept(st)
    cols = CUSTOMER_COLUMNS if st.kind == "customers" else PRODUCT_COLUMNS
    return kept.select([c for c in cols if c in kept.columns])


def _summarise(st: _Staged, options: ImportOptions) -> ImportSummary:
    counts = st.counts if st.counts is not None else _count(st.final, st.kind)[0]
    files = [
        FileSummary(str(s.path), s.kind, 0, 0, {}, dict(m), s.encoding)
        for s, m in zip(st.sources, st.matches, strict=True)
    ]
    kept: dict[str, int] = {}
    set_aside: dict[str, int] = {}
    stamps: list[Any] = []
    for r in counts:
        fs = files[r["__file"]]
        fs.rows_read += r["n"]
        if r["__reason"] is None:
            fs.rows_kept += r["n"]
            stamps += [t for t in (r["first"], r["last"]) if t is not None]
            if st.kind == "orders":
                for key, col in (("return", "ret"), ("no_customer", "nocust")):
                    kept[key] = kept.get(key, 0) + int(r[col] or 0)
                if options.non_product == "keep":
                    kept["non_product"] = kept.get("non_product", 0) + int(r["np"] or 0)
                if options.zero_price == "keep":
                    kept["zero_price"] = kept.get("zero_price", 0) + int(r["zp"] or 0)
        else:
            fs.set_aside[r["__reason"]] = fs.set_aside.get(r["__reason"], 0) + r["n"]
            set_aside[r["__reason"]] = set_aside.get(r["__reason"], 0) + r["n"]
    return ImportSummary(
        kind=st.kind,
        rows_read=sum(fs.rows_read for fs in files),
        rows_kept=sum(fs.rows_kept for fs in files),
        set_aside=set_aside,
        kept=kept,
        files=files,
        first_order=min(stamps, default=None),
        last_order=max(stamps, default=None),
        options={
            "returns": options.returns,
            "non_product": options.non_product,
            "zero_price": options.zero_price,
            "duplicates": options.duplicates,
        },
    )
