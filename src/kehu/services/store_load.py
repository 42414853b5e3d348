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
  moved to another customer: that is a **conflict**, reported and left as it is.

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
from sqlalchemy.orm import Session, sessionmaker

from kehu.exceptions import ConflictError, DataImportError, NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import SYSTEM, Actor, require
from kehu.services.scope import scoped_customer
from kehu.store.models import Customer, LoadRun, Order, OrderLine, Product, utcnow
from kehu.warehouse import ImportOptions, import_customers, import_orders, import_products

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


@dataclass
class LoadSummary:
    """What a load did.

    ``counts[kind]`` has ``inserted``, ``updated``, ``unchanged`` and
    ``conflicts`` for ``customers``, ``products`` and ``orders``; ``conflicts``
    lists (up to 1,000 of) them with their reason; ``resumed_batches`` is the
    number of batches a previous interrupted run had already written.
    """

    load_id: int
    status: str
    batches: int
    resumed_batches: int
    counts: dict[str, dict[str, int]]
    conflicts: list[dict[str, Any]]
    import_summary: dict[str, Any] = field(default_factory=dict)

    def describe(self, lang: str = "en") -> list[str]:
        """One line per kind, in Chinese or English."""
        lines = []
        for kind, c in self.counts.items():
            if lang == "zh":
                name = {"customers": "客户", "products": "商品", "orders": "订单"}[kind]
                lines.append(
                    f"{name}：新增 {c['inserted']:,}，更新 {c['updated']:,}，"
                    f"未变 {c['unchanged']:,}，冲突 {c['conflicts']:,}"
                )
            else:
                lines.append(
                    f"{kind}: {c['inserted']:,} inserted, {c['updated']:,} updated, "
                    f"{c['unchanged']:,} unchanged, {c['conflicts']:,} conflicts"
                )
        if self.resumed_batches:
            lines.append(
                f"续传：跳过已完成的 {self.resumed_batches} 批"
                if lang == "zh"
                else f"resumed: skipped {self.resumed_batches} batches already written"
            )
        return lines


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

    Returns
    -------
    LoadSummary
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
    con.raw_sql("SET enable_progress_bar = false")  # progress goes to ``progress``
    plan = _plan(con, imported, batch_size)
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
                import_summary=summary,
                user_id=actor.user_id,
            )
            session.add(run)
        session.commit()
        run_id = run.id

    batch = 0
    try:
        for kind, n in plan:
            for i in range(n):
                if batch >= resumed:
                    with factory() as session, session.begin():
                        run = session.get(LoadRun, run_id, with_for_update=True)
                        counts, conflicts = _WRITERS[kind](session, con, i)
                        _add_counts(run, kind, counts, conflicts)
                        run.batches_done = batch + 1
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
            changes={"counts": run.counts, "files": files},
        )
        return LoadSummary(
            load_id=run_id,
            status=run.status,
            batches=total,
            resumed_batches=resumed,
            counts=dict(run.counts),
            conflicts=list(run.conflicts),
            import_summary=summary,
        )


# --- import and staging in DuckDB ------------------------------------------------------------


def _import(orders, customers, products, options) -> tuple[dict[str, Any], dict[str, Any]]:
    if orders is not None:
        res = import_orders(orders, options=options, customers=customers, products=products)
        summary = res.summary.to_dict()
        return {
            "con": res.con,
            "orders": res.orders,
            "customers": res.customers,
            "products": res.products,
        }, summary
    out: dict[str, Any] = {"orders": None, "customers": None, "products": None}
    summary: dict[str, Any] = {}
    con = None
    if customers is not None:
        res = import_customers(customers, options=options)
        con, out["customers"] = res.con, res.customers
        summary["customers"] = res.summary.to_dict()
    if products is not None:
        res = import_products(products, con=con, options=options)
        con, out["products"] = res.con, res.products
        summary["products"] = res.summary.to_dict()
    out["con"] = con
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


def _plan(con, imported: dict[str, Any], batch_size: int) -> list[tuple[str, int]]:
    """Stage every kind as a DuckDB table with a batch number; return (kind, batches)."""
    plan = []
    for kind, fields, key in (
        ("customers", CUSTOMER_FIELDS, "customer_id"),
        ("products", PRODUCT_FIELDS, "product_id"),
    ):
        t = imported[kind]
        if t is None:
            continue
        t = t.filter(t[key].notnull())
        cols = {store: t[src] for src, store in fields.items() if src in t.columns}
        if kind == "customers" and "region" not in cols:
            # the sales region defaults to the province (as the analytics do)
            region = [c for c in ("province", "country") if c in cols]
            if region:
                cols["region"] = ibis.coalesce(*[cols[c] for c in region])
        staged = t.select(code=t[key].cast("string"), **cols)
        staged = staged.mutate(__digest=_digest(staged, sorted(cols)))
        con.create_table(f"__load_{kind}", _batched(staged, "code", batch_size), overwrite=True)
        con.create_table(
            f"__load_{kind}_fields",
            ibis.memtable({"f": sorted(cols)}, schema={"f": "string"}),
            overwrite=True,
        )
        plan.append((kind, _count_batches(con, f"__load_{kind}")))
    if imported["orders"] is not None:
        plan.append(("orders", _stage_orders(con, imported["orders"], batch_size)))
    return plan


def _count_batches(con, name: str) -> int:
    got = con.table(name).__batch.max().execute()
    return 0 if got is None else int(got) + 1


def _stage_orders(con, lines: ir.Table, batch_size: int) -> int:
    ts = lines.order_time.strftime("%Y-%m-%dT%H:%M:%S")
    lines = lines.mutate(
        order_no=ibis.coalesce(
            lines.order_id, lines.customer_id.fill_null("") + ibis.literal("@") + ts
        ),
        product_code=lines.product_id,
    )
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
    return _count_batches(con, "__load_orders")


def _drop_work_tables(con) -> None:
    if con is None:
        return
    for kind in ("customers", "products"):
        con.drop_table(f"__load_{kind}", force=True)
        con.drop_table(f"__load_{kind}_fields", force=True)
    for name in ("__load_orders", "__load_lines", "__load_lines_all", "__load_stored"):
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
            inserts.append({"code": r["code"], "source_hash": r["__digest"], **values})
            counts["inserted"] += 1
        elif not fields:
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
    if not stored:
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
    conflicts, new, changed = [], [], []
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
        elif old.content_hash == r["__digest"]:
            counts["unchanged"] += 1
        elif old.customer_id is not None and old.customer_id != values["customer_id"]:
            counts["conflicts"] += 1
            conflicts.append(
                {
                    "kind": "orders",
                    "key": r["order_no"],
                    "reason": "the order belongs to another customer in the store",
                }
            )
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

    Posting the same order again returns the stored one (``created=False``);
    posting different content under a known order number is a
    :class:`ConflictError`.  An unknown customer is created (for a rep, as
    their own customer); a customer outside a rep's scope is *not found*.
    """
    require(actor, "orders.write")
    order_no = (order_no or "").strip()
    if not order_no:
        raise SchemaError("order_no must not be empty")
    if not lines:
        raise SchemaError(f"order {order_no}: at least one line is needed")
    norm = []
    for i, ln in enumerate(lines, start=1):
        amount = ln.get("amount")
        if amount is None:
            if ln.get("price") is None or ln.get("quantity") is None:
                raise SchemaError(f"order {order_no} line {i}: give amount, or price and quantity")
            amount = float(ln["price"]) * float(ln["quantity"])
        norm.append(
            {
                "product_code": ln.get("product_code"),
                "quantity": ln.get("quantity"),
                "price": ln.get("price"),
                "amount": float(amount),
                "discount": ln.get("discount"),
                "is_return": bool(ln.get("is_return", False) or float(amount) < 0),
                "status": ln.get("status"),
            }
        )
    norm.sort(key=lambda x: json.dumps(x, sort_keys=True, default=str))
    digest = hashlib.md5(
        json.dumps(
            [customer_code, order_time.isoformat(), channel, store_id, status, norm],
            sort_keys=True,
            default=str,
        ).encode(),
        usedforsecurity=False,
    ).hexdigest()
    existing = session.scalar(select(Order).where(Order.order_no == order_no))
    if existing is not None:
        owner = session.get(Customer, existing.customer_id) if existing.customer_id else None
        if owner is not None:
            scoped_customer(session, actor=actor, code=owner.code)  # not found if out of scope
        if existing.content_hash == digest:
            return OrderResult(existing, created=False)
        raise ConflictError(
            f"order {order_no} already exists with different content; "
            "an order id can be posted only once"
        )
    try:
        customer = scoped_customer(session, actor=actor, code=customer_code)
    except NotFoundError:
        if session.scalar(select(Customer.id).where(Customer.code == customer_code)):
            raise  # exists but outside the rep's scope: say nothing more
        require(actor, "customers.write")
        customer = Customer(
            code=customer_code, sales_rep=None if actor.sees_all_customers else actor.rep_name
        )
        session.add(customer)
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="customer.create",
            entity="customer",
            entity_id=customer_code,
            changes={"source": "order"},
        )
    order = Order(
        order_no=order_no,
        customer_id=customer.id,
        order_time=order_time.replace(tzinfo=None) if order_time.tzinfo else order_time,
        channel=channel,
        store_id=store_id,
        status=status,
        amount=sum(x["amount"] for x in norm),
        source="api",
        content_hash=digest,
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
        changes={"customer": customer_code, "amount": order.amount, "lines": len(norm)},
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
