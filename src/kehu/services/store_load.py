"""Bring customer, product and order files into the store, idempotently.

The files go through the same importers as ``kehu analyze``
(:mod:`kehu.warehouse`); the rows they keep are then written to the store by
natural key -- customer id, product id, order id:

* a key not in the store is **inserted**;
* a key whose values equal those of the last load is **unchanged** (so
  re-running a load changes nothing, even after people edited the customer in
  the application since);
* a key whose values changed is **updated** -- unless the stored customer or
  product was also edited in the application since the last load, or an order
  moved to another customer: that is a **conflict**, reported and left as it is;
* a row the import cannot read or that breaks the bounds of
  :mod:`kehu.warehouse.rules` (dates, amounts, text lengths) is **rejected**,
  and so is, whole, every order that had such a line: a load never rewrites a
  stored order from part of its lines, the stored version is kept.

Orders name their customer: a customer id the store does not have yet is
created with the order (as ``POST /orders`` does), so no order is stored
unlinked; an order stored unlinked by an older load is linked by the next load
once its customer exists.

Every rejected or set-aside row is listed, with file, row, column, reason and
value, in the load's rejects file (``rejects_dir``) and counted per reason in
the summary.

Rows are compared by digests computed in DuckDB (one expression for the file
side and the store side).  The work is split into batches of ``batch_size``
keys, each written in its own transaction together with the load's progress
(:class:`~kehu.store.models.LoadRun`), so an interrupted load resumes from its
first unfinished batch when run again with the same files and options.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ibis
import ibis.expr.types as ir
import pyarrow as pa
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kehu.atomic import atomic_path
from kehu.exceptions import ConflictError, DataImportError, NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import SYSTEM, Actor, require
from kehu.services.scope import in_scope, taken
from kehu.store.models import Customer, LoadRun, Order, OrderLine, Product, utcnow
from kehu.warehouse import ImportOptions, import_customers, import_orders, import_products
from kehu.warehouse.rules import (
    MAX_AMOUNT,
    MAX_CUSTOMER_ID,
    MAX_LENGTHS,
    MAX_ORDER_ID,
    check_key,
    check_line,
    check_order_time,
)
from kehu.warehouse.summary import REJECT_REASONS

PathArg = str | Path | Sequence[str | Path]
Progress = Callable[[str, int, int], None]

#: canonical customer column -> store column (only those present in the files are written)
CUSTOMER_FIELDS = {
    "name": "name",
    "phone": "phone",
    "country": "country",
    "province": "province",
    "city": "city",
    "district": "district",
    "area_type": "area_type",
    "channel": "channel",
    "gender": "gender",
    "age_band": "age_band",
    "income_band": "income_band",
    "sales_rep": "sales_rep",
    "distributor_id": "distributor",
    "signup_date": "signup_date",
}
PRODUCT_FIELDS = {
    "name": "name",
    "category": "category",
    "brand": "brand",
    "price": "price",
    "pack_size": "pack_size",
}
ORDER_HEADER = ("customer_code", "order_time", "channel", "store_id", "status", "amount")
LINE_FIELDS = ("product_code", "quantity", "price", "amount", "is_return", "status")
COUNT_KEYS = ("inserted", "updated", "unchanged", "conflicts")
#: conflicts kept in the load record (the counts are always complete)
MAX_CONFLICTS_KEPT = 1000
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


@dataclass
class LoadSummary:
    """What a load did.

    ``counts[kind]`` has ``inserted``, ``updated``, ``unchanged`` and
    ``conflicts`` for ``customers``, ``products`` and ``orders``; ``conflicts``
    lists (up to 1,000 of) them with their reason; ``resumed_batches`` is the
    number of batches a previous interrupted run had already written.

    ``rejected[kind]`` counts the keys of that kind not written because they
    were rejected (orders left out whole, unreadable customer or product rows);
    ``reject_counts[kind][reason]`` counts every row not written, by reason
    (kinds ``order``, ``order_line``, ``customer``, ``product``; set-aside rows
    such as duplicates too); ``rejects`` lists up to 1,000 of them
    (:data:`REJECT_COLUMNS`) and ``rejects_file`` is the CSV file with all of
    them, when one was written.
    """

    load_id: int
    status: str
    batches: int
    resumed_batches: int
    counts: dict[str, dict[str, int]]
    conflicts: list[dict[str, Any]]
    import_summary: dict[str, Any] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    reject_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    rejects: list[dict[str, Any]] = field(default_factory=list)
    rejects_file: str | None = None

    def describe(self, lang: str = "en") -> list[str]:
        """One line per kind, then the rejects per reason and their file, in Chinese or English."""
        zh = lang == "zh"
        lines = []
        for kind, c in self.counts.items():
            c = {**c, "rejected": self.rejected.get(kind, 0)}
            if zh:
                name = {"customers": "客户", "products": "商品", "orders": "订单"}[kind]
                lines.append(
                    f"{name}：新增 {c['inserted']:,}，更新 {c['updated']:,}，"
                    f"未变 {c['unchanged']:,}，冲突 {c['conflicts']:,}，"
                    f"拒绝 {c['rejected']:,}"
                )
            else:
                lines.append(
                    f"{kind}: {c['inserted']:,} inserted, {c['updated']:,} updated, "
                    f"{c['unchanged']:,} unchanged, {c['conflicts']:,} conflicts, "
                    f"{c['rejected']:,} rejected"
                )
        for kind, reasons in self.reject_counts.items():
            if zh:
                parts = "，".join(
                    f"{_REASON_ZH.get(r, r)} {n:,}（{r}）" for r, n in reasons.items()
                )
                lines.append(f"未写入的{_KIND_ZH.get(kind, kind)}：{parts}")
            else:
                parts = ", ".join(f"{r} {n:,}" for r, n in reasons.items())
                lines.append(f"{kind} rows not written: {parts}")
        if self.reject_counts.get("order"):
            lines.append(
                "被拒绝的订单整单未写入，库中已有的版本保持不变。"
                if zh
                else "rejected orders were left out whole; their stored versions are kept."
            )
        if self.rejects_file:
            lines.append(
                f"拒绝清单：{self.rejects_file}" if zh else f"rejects file: {self.rejects_file}"
            )
        if self.resumed_batches:
            lines.append(
                f"续传：跳过已完成的 {self.resumed_batches} 批"
                if zh
                else f"resumed: skipped {self.resumed_batches} batches already written"
            )
        return lines

    def reject_lines(self, limit: int = 20) -> list[str]:
        """The first ``limit`` rejected rows and orders, one line each (set-aside rows left out)."""
        reasons = (*REJECT_REASONS, *ORDER_REJECT_REASONS)
        rows = [r for r in self.rejects if r["reason"] in reasons]
        total = sum(
            n for counts in self.reject_counts.values() for r, n in counts.items() if r in reasons
        )
        out = []
        for r in rows[:limit]:
            value = "" if r["value"] is None else f" {str(r['value'])[:60]!r}"
            where = ""
            if r["file"]:
                column = f" {r['column']}" if r["column"] else ""
                where = f" ({r['file']} row {r['row']}{column})"
            out.append(f"rejected {r['kind']} {r['key'] or ''}: {r['reason']}{value}{where}")
        if total > len(out):
            more = f" in {self.rejects_file}" if self.rejects_file else ""
            out.append(f"... {total - len(out):,} more{more}")
        return out


def load_files(
    factory: sessionmaker[Session],
    *,
    orders: PathArg | None = None,
    customers: PathArg | None = None,
    products: PathArg | None = None,
    options: ImportOptions | None = None,
    batch_size: int = 2000,
    actor: Actor = SYSTEM,
    progress: Progress | None = None,
    rejects_dir: str | Path | None = None,
) -> LoadSummary:
    """Import files and write them into the store in transactional batches.

    Parameters
    ----------
    factory
        Session factory of the store (each batch gets its own session).
    orders, customers, products
        Files, folders or globs; at least one.  With ``orders``, the customer
        and product files are imported together with it and the attributes
        carried by order lines fill their gaps.
    options
        Import options (column mapping and row rules), as for ``kehu analyze``.
    batch_size
        Keys per transaction.
    actor
        Who loads (recorded in the audit log).
    progress
        Called as ``progress(step, done, total)``.
    rejects_dir
        Folder for the rejects file ``load-<id>-rejects.csv`` (written when a
        row was rejected or set aside); ``None`` writes none.

    Returns
    -------
    LoadSummary

    Raises
    ------
    DataImportError
        Nothing to load, an unreadable file, or a batch the database refused
        (the load is recorded as failed; run it again to resume).
    """
    require(actor, "customers.write")
    require(actor, "customers.read_all")
    if orders is None and customers is None and products is None:
        raise DataImportError("nothing to load: give an orders, customers or products file")
    if batch_size < 1:
        raise SchemaError(f"batch size must be positive, got {batch_size}")
    options = options or ImportOptions()
    progress = progress or (lambda *_: None)
    fingerprint, files = _fingerprint(orders, customers, products, options, batch_size)

    progress("import", 0, 1)
    imported, summary = _import(orders, customers, products, options)
    progress("import", 1, 1)
    con = imported["con"]
    try:
        con.raw_sql("SET enable_progress_bar = false")  # progress goes to ``progress``
        plan = _plan(con, imported, batch_size)
        reject_counts, rejected, shown = _reject_summary(con)
    except BaseException:
        _drop_work_tables(con)
        raise
    total = sum(n for _, n in plan)

    with factory() as session:
        run = session.scalar(
            select(LoadRun)
            .where(LoadRun.fingerprint == fingerprint, LoadRun.status != "done")
            .order_by(LoadRun.id.desc())
        )
        resumed = 0
        if run is not None and run.batches_total == total:
            resumed = run.batches_done
            run.status = "running"
            run.error = None
        else:
            run = LoadRun(
                fingerprint=fingerprint,
                files=files,
                batches_total=total,
                counts={k: dict.fromkeys(COUNT_KEYS, 0) for k, _ in plan},
                import_summary={**summary, "load_rejects": reject_counts},
                user_id=actor.user_id,
            )
            session.add(run)
        session.commit()
        run_id = run.id

    rejects_file = None
    batch = 0
    try:
        if rejects_dir is not None and reject_counts:
            rejects_file = _write_rejects(
                con, Path(rejects_dir).resolve() / f"load-{run_id}-rejects.csv"
            )
        for kind, n in plan:
            for i in range(n):
                if batch >= resumed:
                    _write_batch(factory, con, run_id, kind, i, n, batch)
                batch += 1
                progress(f"write {kind}", i + 1, n)
    except BaseException as exc:
        with factory() as session, session.begin():
            run = session.get(LoadRun, run_id)
            run.status = "failed"
            run.error = f"{type(exc).__name__}: {exc}"[:2000]
        raise
    finally:
        _drop_work_tables(con)

    with factory() as session, session.begin():
        run = session.get(LoadRun, run_id)
        run.status = "done"
        run.finished_at = utcnow()
        audit.record(
            session,
            actor=actor,
            action="load",
            entity="load_run",
            entity_id=run_id,
            changes={"counts": run.counts, "files": files, "rejects": reject_counts},
        )
        return LoadSummary(
            load_id=run_id,
            status=run.status,
            batches=total,
            resumed_batches=resumed,
            counts=dict(run.counts),
            conflicts=list(run.conflicts),
            import_summary=summary,
            rejected=rejected,
            reject_counts=reject_counts,
            rejects=shown,
            rejects_file=str(rejects_file) if rejects_file else None,
        )


def _write_batch(factory, con, run_id: int, kind: str, i: int, n: int, batch: int) -> None:
    """One batch and the load's progress in one transaction.

    Rows were checked against the store's bounds before, so a refusal by the
    database is unexpected; it is reported in one line, and the load resumes
    from this batch when run again.
    """
    try:
        with factory() as session, session.begin():
            run = session.get(LoadRun, run_id, with_for_update=True)
            counts, conflicts = _WRITERS[kind](session, con, i)
            _add_counts(run, kind, counts, conflicts)
            run.batches_done = batch + 1
    except DBAPIError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
        raise DataImportError(
            f"load {run_id}: the database refused {kind} batch {i + 1} of {n} "
            f"(nothing of it was written): {reason[:300]}; run the same load again to resume"
        ) from None


# --- import and staging in DuckDB ------------------------------------------------------------


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


def _count_batches(con, name: str) -> int:
    got = con.table(name).__batch.max().execute()
    return 0 if got is None else int(got) + 1


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
    import pyarrow.csv as pcsv

    data = _sorted_rejects(con.table("__load_rejects")).to_pyarrow()
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        fh.write("\ufeff".encode())
        pcsv.write_csv(data, fh)
    return path


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


# --- writing one batch ---------------------------------------------------------------------


def _rows(t: ir.Table) -> list[dict[str, Any]]:
    return t.to_pyarrow().to_pylist()


def _write_entities(session: Session, con, batch: int, *, kind: str, model) -> tuple:
    fields = [r["f"] for r in _rows(con.table(f"__load_{kind}_fields"))]
    staged = con.table(f"__load_{kind}")
    rows = _rows(staged.filter(staged.__batch == batch).drop("__batch"))
    codes = [r["code"] for r in rows]
    cols = [model.id, model.code, model.source_hash, *[getattr(model, f) for f in fields]]
    stored = {r.code: r for r in session.execute(select(*cols).where(model.code.in_(codes)))}
    current = _stored_digests(con, staged, stored, fields)
    counts = dict.fromkeys(COUNT_KEYS, 0)
    conflicts = []
    inserts, updates = [], []
    for r in rows:
        old = stored.get(r["code"])
        values = {f: r[f] for f in fields}
        if old is None:
            # a customer known only from orders has no file values to remember
            digest = None if r["__idonly"] else r["__digest"]
            inserts.append({"code": r["code"], "source_hash": digest, **values})
            counts["inserted"] += 1
        elif r["__idonly"] or not fields:
            # ids only (customers known from order lines): nothing to compare or update
            counts["unchanged"] += 1
        elif r["__digest"] in (old.source_hash, current[r["code"]]):
            # same as last load (app edits are kept), or the app already has it
            if old.source_hash != r["__digest"]:
                updates.append({"id": old.id, "source_hash": r["__digest"]})
            counts["unchanged"] += 1
        elif old.source_hash is None or current[r["code"]] == old.source_hash:
            updates.append({"id": old.id, "source_hash": r["__digest"], **values})
            counts["updated"] += 1
        else:
            counts["conflicts"] += 1
            conflicts.append(
                {
                    "kind": kind,
                    "key": r["code"],
                    "reason": "changed in the file and edited in kehu since the last load; "
                    "kept the edit",
                }
            )
    if inserts:
        session.execute(insert(model), inserts)
    if updates:
        session.execute(update(model), updates)
    return counts, conflicts


def _stored_digests(con, staged: ir.Table, stored: dict, fields: list[str]) -> dict[str, str]:
    """Digests of the stored values, computed by the same DuckDB expression as the file's."""
    if not stored or not fields:
        return {}
    schema = staged.schema()
    data = {
        "code": [r.code for r in stored.values()],
        **{f: [getattr(r, f) for r in stored.values()] for f in fields},
    }
    arrow = pa.table({k: pa.array(v, type=schema[k].to_pyarrow()) for k, v in data.items()})
    t = con.create_table("__load_stored", arrow, overwrite=True)
    got = t.select("code", d=_digest(t, sorted(fields))).to_pyarrow().to_pylist()
    return {r["code"]: r["d"] for r in got}


def _write_customers(session, con, batch):
    return _write_entities(session, con, batch, kind="customers", model=Customer)


def _write_products(session, con, batch):
    return _write_entities(session, con, batch, kind="products", model=Product)


def _write_orders(session: Session, con, batch: int) -> tuple:
    h, lt = con.table("__load_orders"), con.table("__load_lines")
    heads = _rows(h.filter(h.__batch == batch).drop("__batch"))
    lines: dict[str, list[dict]] = {}
    for r in _rows(lt.filter(lt.__batch == batch).drop("__batch")):
        lines.setdefault(r.pop("order_no"), []).append(r)
    nos = [r["order_no"] for r in heads]
    stored = {
        r.order_no: r
        for r in session.execute(
            select(Order.id, Order.order_no, Order.customer_id, Order.content_hash).where(
                Order.order_no.in_(nos)
            )
        )
    }
    codes = {r["customer_code"] for r in heads if r["customer_code"] is not None}
    cust = dict(
        session.execute(select(Customer.code, Customer.id).where(Customer.code.in_(codes))).all()
    )
    counts = dict.fromkeys(COUNT_KEYS, 0)
    conflicts, new, changed, linked = [], [], [], []
    for r in heads:
        old = stored.get(r["order_no"])
        if r["n_customers"] > 1:
            counts["conflicts"] += 1
            conflicts.append(
                {"kind": "orders", "key": r["order_no"], "reason": "lines of several customers"}
            )
            continue
        values = {
            "order_no": r["order_no"],
            "customer_id": cust.get(r["customer_code"]),
            "order_time": r["order_time"],
            "channel": r["channel"],
            "store_id": r["store_id"],
            "status": r["status"],
            "amount": r["amount"],
            "content_hash": r["__digest"],
            "source": "file",
        }
        if old is None:
            new.append(values)
        elif old.customer_id is not None and old.customer_id != values["customer_id"]:
            counts["conflicts"] += 1
            conflicts.append(
                {
                    "kind": "orders",
                    "key": r["order_no"],
                    "reason": "the order belongs to another customer in the store",
                }
            )
        elif old.content_hash == r["__digest"]:
            if old.customer_id is None and values["customer_id"] is not None:
                # stored unlinked by an older load: its customer exists now
                linked.append({"id": old.id, "customer_id": values["customer_id"]})
                counts["updated"] += 1
            else:
                counts["unchanged"] += 1
        else:
            changed.append({"id": old.id, **values})
    ids: dict[str, int] = {}
    if new:
        got = session.execute(insert(Order).returning(Order.id, Order.order_no), new)
        ids.update({no: i for i, no in got.all()})
        counts["inserted"] += len(new)
    if changed:
        session.execute(delete(OrderLine).where(OrderLine.order_id.in_([c["id"] for c in changed])))
        session.execute(update(Order), changed)
        ids.update({c["order_no"]: c["id"] for c in changed})
        counts["updated"] += len(changed)
    if linked:
        session.execute(update(Order), linked)
    line_rows = [{"order_id": ids[no], **ln} for no in ids for ln in lines.get(no, [])]
    if line_rows:
        session.execute(insert(OrderLine), line_rows)
    return counts, conflicts


_WRITERS = {"customers": _write_customers, "products": _write_products, "orders": _write_orders}


def _add_counts(run: LoadRun, kind: str, counts: dict, conflicts: list) -> None:
    totals = {k: dict(v) for k, v in run.counts.items()}
    for k, v in counts.items():
        totals[kind][k] = totals[kind].get(k, 0) + v
    run.counts = totals  # reassign: JSON columns track replacement, not mutation
    room = MAX_CONFLICTS_KEPT - len(run.conflicts)
    if conflicts and room > 0:
        run.conflicts = [*run.conflicts, *conflicts[:room]]


def _fingerprint(orders, customers, products, options, batch_size) -> tuple[str, list]:
    from kehu.warehouse.readers import expand_paths

    files = []
    for kind, arg in (("orders", orders), ("customers", customers), ("products", products)):
        if arg is None:
            continue
        for p in expand_paths(arg):
            st = Path(p).stat()
            files.append(
                {
                    "kind": kind,
                    "path": str(Path(p).resolve()),
                    "size": st.st_size,
                    "mtime_ns": st.st_mtime_ns,
                }
            )
    blob = json.dumps(
        {"files": files, "options": repr(options), "batch": batch_size}, sort_keys=True
    )
    return hashlib.sha256(blob.encode()).hexdigest(), files


# --- one order through the API -----------------------------------------------------------------


@dataclass
class OrderResult:
    """An order posted through the API; ``created`` is false for a repeated post."""

    order: Order
    created: bool


#: attempts of :func:`add_order` when concurrent requests race on the same keys
RACE_ATTEMPTS = 3


def add_order(
    session: Session,
    *,
    actor: Actor,
    order_no: str,
    customer_code: str,
    order_time: dt.datetime,
    lines: Sequence[dict[str, Any]],
    channel: str | None = None,
    store_id: str | None = None,
    status: str | None = None,
) -> OrderResult:
    """Add one order, idempotently by ``order_no``.

    Posting the same order again returns the stored one (``created=False``).
    An order id already taken by a different order -- different content, or
    an order of a customer outside the actor's scope -- is a
    :class:`ConflictError` worded the same in both cases
    (:func:`kehu.services.scope.taken`).  An unknown customer is created (for
    a rep, as their own customer); a customer id outside the actor's scope is
    taken, as for ``create_customer``.  Values are checked against the bounds
    of :mod:`kehu.warehouse.rules`.

    Concurrent posts race on the unique order id (and customer id): the
    loser's insert fails, the session is **rolled back**, and the stored order
    is read again and compared, so an identical post still answers as a
    repeat.  Call this first in its transaction.
    """
    require(actor, "orders.write")
    order_no = check_key(order_no, "order_id", max_length=MAX_ORDER_ID)
    customer_code = check_key(customer_code, "customer_id", max_length=MAX_CUSTOMER_ID)
    order_time = check_order_time(order_time)
    limits = MAX_LENGTHS["orders"]
    for name, value in (("channel", channel), ("store_id", store_id), ("status", status)):
        _check_length(value, name, limits[name])
    if not lines:
        raise SchemaError(f"order {order_no}: at least one line is needed")
    norm = []
    for i, ln in enumerate(lines, start=1):
        where = f"order {order_no} line {i}"
        amount = check_line(ln.get("quantity"), ln.get("price"), ln.get("amount"), where)
        _check_length(ln.get("product_code"), f"{where}: product_id", limits["product_id"])
        _check_length(ln.get("status"), f"{where}: status", limits["status"])
        norm.append(
            {
                "product_code": ln.get("product_code"),
                "quantity": ln.get("quantity"),
                "price": ln.get("price"),
                "amount": amount,
                "discount": ln.get("discount"),
                "is_return": bool(ln.get("is_return", False) or amount < 0),
                "status": ln.get("status"),
            }
        )
    total = sum(x["amount"] for x in norm)
    if abs(total) > MAX_AMOUNT:
        raise SchemaError(f"order {order_no}: the total {total:g} is beyond ±{MAX_AMOUNT:g}")
    norm.sort(key=lambda x: json.dumps(x, sort_keys=True, default=str))
    digest = hashlib.md5(
        json.dumps(
            [customer_code, order_time.isoformat(), channel, store_id, status, norm],
            sort_keys=True,
            default=str,
        ).encode(),
        usedforsecurity=False,
    ).hexdigest()
    values = {
        "order_no": order_no,
        "order_time": order_time,
        "channel": channel,
        "store_id": store_id,
        "status": status,
        "amount": total,
        "source": "api",
        "content_hash": digest,
    }
    for _attempt in range(RACE_ATTEMPTS):
        try:
            return _add_order_once(session, actor, customer_code, values, norm)
        except IntegrityError:
            # another request stored this order id or customer id first: start again,
            # and the stored order is found and compared
            session.rollback()
    raise ConflictError(f"order id {order_no!r} is being written by other requests; retry")


def _check_length(value: str | None, name: str, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise SchemaError(f"{name} has {len(value)} characters; at most {limit} are allowed")


def _add_order_once(
    session: Session, actor: Actor, code: str, values: dict[str, Any], norm: list[dict]
) -> OrderResult:
    order_no = values["order_no"]
    # the customer first: the answer about a customer id must not depend on the order id
    customer = session.scalar(select(Customer).where(Customer.code == code))
    if customer is not None and not in_scope(customer, actor):
        raise taken("customer id", code)
    existing = session.scalar(select(Order).where(Order.order_no == order_no))
    if existing is not None:
        owner = session.get(Customer, existing.customer_id) if existing.customer_id else None
        visible = actor.sees_all_customers or (owner is not None and in_scope(owner, actor))
        if visible and existing.content_hash == values["content_hash"]:
            return OrderResult(existing, created=False)
        # out of scope or different: the same answer, naming nothing but the id given
        raise taken("order id", order_no)
    if customer is None:
        require(actor, "customers.write")
        customer = Customer(
            code=code, sales_rep=None if actor.sees_all_customers else actor.rep_name
        )
        session.add(customer)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="customer.create",
            entity="customer",
            entity_id=code,
            changes={"source": "order"},
        )
    order = Order(
        **values,
        customer_id=customer.id,
        lines=[OrderLine(line_no=i, **x) for i, x in enumerate(norm, start=1)],
    )
    session.add(order)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="order.create",
        entity="order",
        entity_id=order_no,
        changes={"customer": code, "amount": order.amount, "lines": len(norm)},
    )
    return OrderResult(order, created=True)


def get_order(session: Session, *, actor: Actor, order_no: str) -> Order:
    """One order, if its customer is in the actor's scope."""
    order = session.scalar(select(Order).where(Order.order_no == order_no))
    if order is None:
        raise NotFoundError(f"no order {order_no!r}")
    if not actor.sees_all_customers:
        owner = session.get(Customer, order.customer_id) if order.customer_id else None
        if owner is None or owner.sales_rep != actor.rep_name or not actor.rep_name:
            raise NotFoundError(f"no order {order_no!r}")
    return order
