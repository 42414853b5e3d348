"""The monthly rows kept as orders are written (customer_months) always equal the orders:
after a load, a reload with a changed order, an orders-only load of an unknown customer, an
order posted through the service, and the migration's fill of an existing store."""

from __future__ import annotations

import datetime as dt
import importlib
from collections import defaultdict

from alembic.operations import Operations
from alembic.runtime.migration import MigrationContext
from sqlalchemy import delete, select

from kehu.services import sales_months
from kehu.services.access import SYSTEM
from kehu.services.store_load import add_order, load_files
from kehu.store.models import CustomerMonth, Order


def _from_orders(s) -> dict:
    """(customer id, month) -> (sales, orders, first month), computed here from the orders."""
    per: dict = defaultdict(lambda: [0.0, 0])
    for cid, when, amount in s.execute(select(Order.customer_id, Order.order_time, Order.amount)):
        if cid is not None:
            row = per[cid, f"{when:%Y-%m}"]
            row[0] += amount
            row[1] += 1
    first = {}
    for cid, month in per:
        first[cid] = min(first.get(cid, month), month)
    return {(c, m): (v[0], v[1], first[c] == m) for (c, m), v in per.items()}


def _kept(s) -> dict:
    rows = s.execute(select(CustomerMonth)).scalars()
    return {(r.customer_id, r.month): (r.sales, r.orders, r.first_month) for r in rows}


def test_kept_rows_follow_every_write_of_orders(store_factory, sample_files, tmp_path):
    load_files(store_factory, **sample_files)
    with store_factory() as s:
        kept = _kept(s)
        assert kept == _from_orders(s) and len(kept) == 5  # C1 Jun, C2 Jan, C3 Jun, C4 Jan+Feb
    orders = sample_files["orders"]
    orders.write_text(  # C3's order moves to July and doubles
        orders.read_text("utf-8").replace(
            "O301,C3,2024-06-28 12:00:00,P2,1,100.00,100.00",
            "O301,C3,2024-07-02 12:00:00,P2,2,100.00,200.00",
        ),
        "utf-8",
    )
    load_files(store_factory, orders=orders)
    late = tmp_path / "late.csv"  # an orders-only load: C9 is created by it
    late.write_text(
        "order_id,customer_id,order_time,product_id,quantity,price,amount\n"
        "O901,C9,2024-03-03 10:00:00,P1,1,10.00,10.00\n"
        "O902,C9,2024-05-03 10:00:00,P1,2,10.00,20.00\n",
        "utf-8",
    )
    load_files(store_factory, orders=late)
    with store_factory() as s, s.begin():
        add_order(
            s,
            actor=SYSTEM,
            order_no="N1",
            customer_code="C4",
            order_time=dt.datetime(2023, 12, 30, 9),  # before C4's first order: a new first month
            lines=[{"product_code": "P1", "quantity": 1, "price": 5.0}],
        )
    with store_factory() as s:
        kept = _kept(s)
        assert kept == _from_orders(s)
        months = {m: first for (_c, m), (*_, first) in kept.items()}
        assert months["2023-12"] and "2024-07" in months and "2024-03" in months
        c4 = s.scalar(select(Order.customer_id).where(Order.order_no == "N1"))
        assert kept[c4, "2024-01"][2] is False  # no longer C4's first month


def test_the_migration_fills_the_rows_of_a_store_with_orders(
    store_factory, store_engine, sample_files
):
    load_files(store_factory, **sample_files)
    with store_factory() as s, s.begin():
        s.execute(delete(CustomerMonth))
    migration = importlib.import_module("kehu.store.migrations.versions.0007_customer_months")
    with store_engine.begin() as con, Operations.context(MigrationContext.configure(con)):
        migration.fill()
    with store_factory() as s:
        filled = _kept(s)
        assert filled == _from_orders(s) and filled
    with store_factory() as s, s.begin():
        sales_months.recount(s)
    with store_factory() as s:
        assert _kept(s) == filled
