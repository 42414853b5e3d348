"""The load's rejects: staged with their order, counted per reason, written as a CSV file."""

from __future__ import annotations

from pathlib import Path

import ibis
import ibis.expr.types as ir

from kehu.services.store_load.exprs import _order_no, _rows
from kehu.warehouse.summary import REJECT_REASONS
from kehu.writers import write_record_csv

#: rejects kept in the summary (the rejects file and the counts are complete)
MAX_REJECTS_KEPT = 1000


#: columns of the rejects file
REJECT_COLUMNS = ("kind", "key", "file", "row", "column", "reason", "value")


#: the import's kinds of rows -> kinds in the rejects file
_REJECT_KINDS = {"orders": "order_line", "customers": "customer", "products": "product"}


#: reasons of whole orders left out
ORDER_REJECT_REASONS = ("has_rejected_line", "bad_total")


_REASON_ZH = {
    "bad_date": "日期错误",
    "bad_amount": "金额错误",
    "bad_quantity": "数量错误",
    "bad_price": "单价错误",
    "missing_id": "缺编号",
    "too_long": "超长",
    "duplicate": "重复行",
    "duplicate_id": "重复编号",
    "non_product": "非商品",
    "zero_price": "零单价",
    "return": "退货",
    "has_rejected_line": "含被拒绝的行，整单未写入",
    "bad_total": "订单总额超出上限",
}


_KIND_ZH = {"order": "订单", "order_line": "订单行", "customer": "客户", "product": "商品"}


_STORE_KINDS = {"orders": "order", "customers": "customer", "products": "product"}


def _stage_rejects(con, rejects: ir.Table | None) -> None:
    """``__load_rejects``: the import's rejects with the order each order line belongs to."""
    schema = {
        "kind": "string",
        "key": "string",
        "order_no": "string",
        "file": "string",
        "row": "int64",
        "column": "string",
        "reason": "string",
        "value": "string",
    }
    if rejects is None:
        con.create_table("__load_rejects", schema=ibis.schema(schema), overwrite=True)
        return
    r = rejects
    kind = ibis.cases(*[(r.kind == k, ibis.literal(v)) for k, v in _REJECT_KINDS.items()])
    lines = r.kind == "orders"
    order_no = lines.ifelse(_order_no(r.key, r.customer_id, r.order_time), ibis.null("string"))
    staged = r.select(
        kind=kind,
        key=lines.ifelse(order_no, r.key),
        order_no=order_no,
        file=r.file,
        row=r.row.cast("int64"),
        column=r.column,
        reason=r.reason,
        value=r.value,
    )
    con.create_table("__load_rejects", staged, overwrite=True)


def _reject_summary(con) -> tuple[dict[str, dict[str, int]], dict[str, int], list[dict]]:
    """Counts per kind and reason, rejected keys per store kind, and the first rejects."""
    r = con.table("__load_rejects")
    got = r.group_by(["kind", "reason"]).aggregate(n=r.count()).to_pyarrow().to_pylist()
    order = list(_KIND_ZH)
    counts: dict[str, dict[str, int]] = {}
    for g in sorted(got, key=lambda g: (order.index(g["kind"]), -g["n"], g["reason"])):
        counts.setdefault(g["kind"], {})[g["reason"]] = g["n"]
    rejected = {}
    for store_kind, kind in _STORE_KINDS.items():
        reasons = ORDER_REJECT_REASONS if kind == "order" else REJECT_REASONS
        n = sum(v for k, v in counts.get(kind, {}).items() if k in reasons)
        if n:
            rejected[store_kind] = n
    shown = _rows(_sorted_rejects(r).limit(MAX_REJECTS_KEPT))
    return counts, rejected, shown


def _sorted_rejects(r: ir.Table) -> ir.Table:
    rank = ibis.cases(*[(r.kind == k, i) for i, k in enumerate(_KIND_ZH)], else_=9)
    return r.order_by([rank, r.file, r.row, r.key]).select(*REJECT_COLUMNS)


def _write_rejects(con, path: Path) -> Path:
    """All rejects as CSV (UTF-8 with BOM, so that Excel reads Chinese), written atomically."""
    return write_record_csv(path, _sorted_rejects(con.table("__load_rejects")).to_pyarrow())
