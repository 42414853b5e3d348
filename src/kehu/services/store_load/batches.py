"""Writing one batch of staged rows into the store, by natural key, with the load's progress."""

from __future__ import annotations

import ibis.expr.types as ir
import pyarrow as pa
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from kehu.exceptions import DataImportError
from kehu.services import sales_months
from kehu.services.store_load.exprs import _digest, _rows
from kehu.store.models import Customer, LoadRun, Order, OrderLine, Product

COUNT_KEYS = ("inserted", "updated", "unchanged", "conflicts")


#: conflicts kept in the load record (the counts are always complete)
MAX_CONFLICTS_KEPT = 1000


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
    sales_months.recount(session, [r["customer_id"] for r in (*new, *changed, *linked)])
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
