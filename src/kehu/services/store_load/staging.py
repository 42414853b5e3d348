"""Import the files and stage every kind in DuckDB, with a batch number, before writing."""

from __future__ import annotations

from typing import Any

import ibis
import ibis.expr.types as ir

from kehu.names import IMPORTED_CUSTOMER_FIELDS, store_name
from kehu.services.store_load.exprs import _batched, _count_batches, _digest, _order_no
from kehu.services.store_load.rejects import _stage_rejects
from kehu.warehouse import import_customers, import_orders, import_products
from kehu.warehouse.rules import (
    MAX_AMOUNT,
)
from kehu.warehouse.summary import REJECT_REASONS

#: canonical customer column -> store column (only those present in the files are written)
CUSTOMER_FIELDS = {f: store_name(f) for f in IMPORTED_CUSTOMER_FIELDS}


PRODUCT_FIELDS = {
    "name": "name",
    "category": "category",
    "brand": "brand",
    "price": "price",
    "pack_size": "pack_size",
}


ORDER_HEADER = ("customer_code", "order_time", "channel", "store_id", "status", "amount")


LINE_FIELDS = ("product_code", "quantity", "price", "amount", "is_return", "status")


def _import(orders, customers, products, options) -> tuple[dict[str, Any], dict[str, Any]]:
    if orders is not None:
        res = import_orders(
            orders, options=options, customers=customers, products=products, keyed_rejects=True
        )
        summary = res.summary.to_dict()
        return {
            "con": res.con,
            "orders": res.orders,
            "customers": res.customers,
            "products": res.products,
            "rejects": res.keyed_rejects,
        }, summary
    out: dict[str, Any] = {"orders": None, "customers": None, "products": None}
    summary: dict[str, Any] = {}
    rejects = []
    con = None
    for kind, arg, importer in (
        ("customers", customers, import_customers),
        ("products", products, import_products),
    ):
        if arg is None:
            continue
        res = importer(arg, con=con, options=options)
        con, out[kind] = res.con, getattr(res, kind)
        summary[kind] = res.summary.to_dict()
        r = res.rejects
        rejects.append(
            r.select(
                kind=ibis.literal(kind),
                # the row's id is known here only when it is the value quoted
                key=(r.reason == "duplicate_id").ifelse(r.value, ibis.null("string")),
                customer_id=ibis.null("string"),
                order_time=ibis.null("timestamp"),
                file=r.file,
                row=r.row,
                column=r.column,
                reason=r.reason,
                value=r.value,
            )
        )
    out["con"] = con
    out["rejects"] = ibis.union(*rejects) if rejects else None
    return out, summary


def _plan(con, imported: dict[str, Any], batch_size: int) -> list[tuple[str, int]]:
    """Stage every kind as a DuckDB table with a batch number; return (kind, batches).

    Orders are staged first (their rejects decide which orders are left out,
    and their customers must exist), but written last.
    """
    _stage_rejects(con, imported["rejects"])
    plan = []
    order_batches = None
    order_customers = None
    if imported["orders"] is not None:
        order_batches = _stage_orders(con, imported["orders"], batch_size)
        lines = con.table("__load_lines_kept")
        order_customers = (
            lines.filter(lines.customer_id.notnull()).select(code=lines.customer_id).distinct()
        )
    for kind, fields, key in (
        ("customers", CUSTOMER_FIELDS, "customer_id"),
        ("products", PRODUCT_FIELDS, "product_id"),
    ):
        t = imported[kind]
        extra = order_customers if kind == "customers" else None
        if t is None and extra is None:
            continue
        _stage_entities(con, kind, t, fields, key, extra, batch_size)
        plan.append((kind, _count_batches(con, f"__load_{kind}")))
    if order_batches is not None:
        con.drop_table("__load_lines_kept", force=True)
        plan.append(("orders", order_batches))
    return plan


def _stage_entities(con, kind, t, fields, key, extra, batch_size) -> None:
    """``__load_<kind>``: the file's rows, plus (``__idonly``) ids only known from orders."""
    cols: dict[str, ir.Value] = {}
    staged = None
    if t is not None:
        t = t.filter(t[key].notnull())
        cols = {store: t[src] for src, store in fields.items() if src in t.columns}
        if kind == "customers" and "region" not in cols:
            # the sales region defaults to the province (as the analytics do)
            region = [c for c in ("province", "country") if c in cols]
            if region:
                cols["region"] = ibis.coalesce(*[cols[c] for c in region])
        staged = t.select(code=t[key].cast("string"), **cols, __idonly=ibis.literal(False))
    if extra is not None:
        types = staged.schema() if staged is not None else {}
        missing = extra if staged is None else extra.anti_join(staged, "code")
        missing = missing.select(
            code=missing.code.cast("string"),
            **{c: ibis.null(types[c]) for c in cols},
            __idonly=ibis.literal(True),
        )
        staged = missing if staged is None else ibis.union(staged, missing)
    staged = staged.mutate(__digest=_digest(staged, sorted(cols)))
    con.create_table(f"__load_{kind}", _batched(staged, "code", batch_size), overwrite=True)
    con.create_table(
        f"__load_{kind}_fields",
        ibis.memtable({"f": sorted(cols)}, schema={"f": "string"}),
        overwrite=True,
    )


def _stage_orders(con, lines: ir.Table, batch_size: int) -> int:
    """``__load_orders`` and ``__load_lines``: the orders to write, whole; returns the batches.

    An order with a rejected line (:data:`~kehu.warehouse.summary.REJECT_REASONS`,
    not a set-aside rule such as a duplicate or a fee line) is left out whole,
    as is an order whose total is beyond the bounds; both go to the rejects.
    """
    lines = lines.mutate(
        order_no=_order_no(lines.order_id, lines.customer_id, lines.order_time),
        product_code=lines.product_id,
    )
    rej = con.table("__load_rejects")
    bad_lines = rej.filter(rej.order_no.notnull() & rej.reason.isin(list(REJECT_REASONS)))
    by_line = bad_lines.group_by("order_no").aggregate(
        n=bad_lines.count(), reason=ibis.literal("has_rejected_line")
    )
    by_line = by_line.select(
        "order_no", "reason", value=by_line.n.cast("string") + ibis.literal(" rejected line(s)")
    )
    totals = lines.group_by("order_no").aggregate(amount=lines.amount.sum())
    by_total = totals.filter(~(totals.amount.abs() <= MAX_AMOUNT).fill_null(False)).select(
        "order_no", reason=ibis.literal("bad_total"), value=totals.amount.cast("string")
    )
    left_out = ibis.union(by_line, by_total.anti_join(by_line, "order_no"))
    con.create_table("__load_left_out", left_out, overwrite=True)
    left_out = con.table("__load_left_out")
    extra = left_out.select(
        kind=ibis.literal("order"),
        key=left_out.order_no,
        order_no=left_out.order_no,
        file=ibis.null("string"),
        row=ibis.null("int64"),
        column=ibis.null("string"),
        reason=left_out.reason,
        value=left_out.value,
    )
    con.insert("__load_rejects", extra)

    lines = lines.anti_join(left_out, "order_no")
    con.create_table("__load_lines_kept", lines, overwrite=True)
    lines = con.table("__load_lines_kept")
    head = lines.group_by("order_no").aggregate(
        customer_code=lines.customer_id.max(),
        n_customers=lines.customer_id.nunique(),
        order_time=lines.order_time.min(),
        channel=lines.channel.max(),
        store_id=lines.store_id.max(),
        status=ibis.ifelse(lines.status.nunique() > 1, "mixed", lines.status.max()),
        amount=lines.amount.sum(),
    )
    w = ibis.window(group_by=lines.order_no, order_by=[lines[c] for c in LINE_FIELDS])
    numbered = lines.mutate(line_no=(ibis.row_number().over(w) + 1).cast("int64"))
    numbered = numbered.mutate(__line=_digest(numbered, ["line_no", *LINE_FIELDS]))
    con.create_table("__load_lines_all", numbered, overwrite=True)
    numbered = con.table("__load_lines_all")
    agg = numbered.group_by("order_no").aggregate(
        __lines=numbered.__line.group_concat(",", order_by=numbered.line_no)
    )
    head = head.join(agg, "order_no")
    head = head.mutate(
        __digest=_digest(head, ["customer_code", "order_time", "channel", "store_id", "__lines"])
    ).drop("__lines")
    con.create_table("__load_orders", _batched(head, "order_no", batch_size), overwrite=True)
    h = con.table("__load_orders")
    keep = numbered.join(h.select("order_no", "__batch"), "order_no")
    con.create_table(
        "__load_lines", keep.select("order_no", "__batch", "line_no", *LINE_FIELDS), overwrite=True
    )
    con.drop_table("__load_lines_all", force=True)
    con.drop_table("__load_left_out", force=True)
    return _count_batches(con, "__load_orders")


def _drop_work_tables(con) -> None:
    if con is None:
        return
    for kind in ("customers", "products"):
        con.drop_table(f"__load_{kind}", force=True)
        con.drop_table(f"__load_{kind}_fields", force=True)
    for name in (
        "__load_orders",
        "__load_lines",
        "__load_lines_all",
        "__load_lines_kept",
        "__load_left_out",
        "__load_rejects",
        "__load_stored",
    ):
        con.drop_table(name, force=True)
