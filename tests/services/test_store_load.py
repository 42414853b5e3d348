"""Loads into the store are idempotent by natural key, batched and resumable."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from kehu.exceptions import (
    ConflictError,
    DataImportError,
    ForbiddenError,
    NotFoundError,
    SchemaError,
)
from kehu.services import store_load
from kehu.services.access import SYSTEM, Actor
from kehu.services.customers import update_customer
from kehu.services.store_load import add_order, get_order, load_files
from kehu.store.models import AuditLog, Customer, LoadRun, Order, OrderLine, Product

REP = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")


def _load(factory, files, **kw):
    return load_files(
        factory,
        orders=files["orders"],
        customers=files["customers"],
        products=files["products"],
        **kw,
    )


def _count(factory, model):
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_first_load_inserts_everything(store_factory, sample_files):
    got = _load(store_factory, sample_files, batch_size=3)
    assert got.counts["customers"] == {"inserted": 4, "updated": 0, "unchanged": 0, "conflicts": 0}
    assert got.counts["products"]["inserted"] == 2
    assert got.counts["orders"]["inserted"] == 11
    assert got.batches == 2 + 1 + 4  # ceil(4/3) + ceil(2/3) + ceil(11/3)
    with store_factory() as s:
        c1 = s.scalar(select(Customer).where(Customer.code == "C1"))
        assert (c1.name, c1.phone, c1.province, c1.region, c1.sales_rep) == (
            "杭州联华超市",
            "13812345678",
            "浙江省",
            "浙江省",
            "王伟",
        )
        o = s.scalar(select(Order).where(Order.order_no == "O101"))
        assert o.customer_id == c1.id and o.amount == pytest.approx(1000.0)
        assert o.order_time == dt.datetime(2024, 6, 1, 10)
        assert sorted((ln.product_code, ln.amount) for ln in o.lines) == [
            ("P1", 600.0),
            ("P2", 400.0),
        ]
        assert s.scalar(select(Product.price).where(Product.code == "P2")) == 100.0
    assert _count(store_factory, OrderLine) == 12


def test_reload_changes_nothing(store_factory, sample_files):
    _load(store_factory, sample_files)
    with store_factory() as s:
        before = s.execute(select(Order.id, Order.updated_at)).all()
    again = _load(store_factory, sample_files)
    for kind, n in (("customers", 4), ("products", 2), ("orders", 11)):
        assert again.counts[kind] == {"inserted": 0, "updated": 0, "unchanged": n, "conflicts": 0}
    with store_factory() as s:
        assert s.execute(select(Order.id, Order.updated_at)).all() == before
    assert _count(store_factory, OrderLine) == 12


def test_changed_rows_are_updated(store_factory, sample_files):
    _load(store_factory, sample_files)
    files = sample_files
    files["customers"].write_text(
        files["customers"].read_text("utf-8").replace("南京便利店", "南京好邻居便利店"), "utf-8"
    )
    files["orders"].write_text(
        files["orders"]
        .read_text("utf-8")
        .replace(
            "O301,C3,2024-06-28 12:00:00,P2,1,100.00,100.00",
            "O301,C3,2024-06-28 12:00:00,P2,2,100.00,200.00",
        ),
        "utf-8",
    )
    got = _load(store_factory, files)
    assert got.counts["customers"] == {"inserted": 0, "updated": 1, "unchanged": 3, "conflicts": 0}
    assert got.counts["orders"] == {"inserted": 0, "updated": 1, "unchanged": 10, "conflicts": 0}
    with store_factory() as s:
        assert s.scalar(select(Customer.name).where(Customer.code == "C2")) == "南京好邻居便利店"
        o = s.scalar(select(Order).where(Order.order_no == "O301"))
        assert o.amount == 200.0 and [ln.quantity for ln in o.lines] == [2.0]
    assert _count(store_factory, OrderLine) == 12


def test_app_edit_is_kept_and_a_changed_file_row_is_a_conflict(store_factory, sample_files):
    _load(store_factory, sample_files)
    with store_factory() as s, s.begin():
        update_customer(s, actor=SYSTEM, code="C1", name="联华超市(湖滨店)")
    # the same file again: the edit stays, nothing is reported
    again = _load(store_factory, sample_files)
    assert again.counts["customers"]["unchanged"] == 4
    # the file now changes C1 too: a conflict, the edit still stays
    f = sample_files["customers"]
    f.write_text(f.read_text("utf-8").replace("杭州联华超市", "杭州联华"), "utf-8")
    got = _load(store_factory, sample_files)
    assert got.counts["customers"]["conflicts"] == 1
    assert got.conflicts[0]["key"] == "C1" and "edited" in got.conflicts[0]["reason"]
    with store_factory() as s:
        assert s.scalar(select(Customer.name).where(Customer.code == "C1")) == "联华超市(湖滨店)"


def test_order_moved_to_another_customer_is_a_conflict(store_factory, sample_files):
    _load(store_factory, sample_files)
    f = sample_files["orders"]
    f.write_text(f.read_text("utf-8").replace("O201,C2", "O201,C3"), "utf-8")
    got = _load(store_factory, sample_files)
    assert got.counts["orders"]["conflicts"] == 1
    assert got.conflicts == [
        {
            "kind": "orders",
            "key": "O201",
            "reason": "the order belongs to another customer in the store",
        }
    ]


def test_interrupted_load_resumes(store_factory, sample_files, monkeypatch):
    real = store_load._WRITERS["orders"]
    calls = []

    def flaky(session, con, batch):
        calls.append(batch)
        if batch == 2:
            raise RuntimeError("disk full")
        return real(session, con, batch)

    monkeypatch.setitem(store_load._WRITERS, "orders", flaky)
    with pytest.raises(RuntimeError, match="disk full"):
        _load(store_factory, sample_files, batch_size=3)
    with store_factory() as s:
        run = s.scalar(select(LoadRun))
        assert (run.status, run.batches_done, run.batches_total) == ("failed", 5, 7)
        assert "disk full" in run.error
    assert _count(store_factory, Order) == 6  # two order batches of 3 were committed
    monkeypatch.setitem(store_load._WRITERS, "orders", real)
    got = _load(store_factory, sample_files, batch_size=3)
    assert got.resumed_batches == 5 and got.load_id == run.id
    assert got.counts["orders"] == {"inserted": 11, "updated": 0, "unchanged": 0, "conflicts": 0}
    assert _count(store_factory, Order) == 11


def test_customers_only_and_bad_input(store_factory, sample_files, tmp_path):
    got = load_files(store_factory, customers=sample_files["customers"])
    assert list(got.counts) == ["customers"] and got.counts["customers"]["inserted"] == 4
    with pytest.raises(DataImportError, match="nothing to load"):
        load_files(store_factory)
    with pytest.raises(DataImportError):
        load_files(store_factory, orders=tmp_path / "missing.csv")
    with pytest.raises(ForbiddenError):
        load_files(store_factory, customers=sample_files["customers"], actor=REP)
    with store_factory() as s:
        assert s.scalar(select(func.count()).select_from(AuditLog)) == 1


def test_post_order_is_idempotent(loaded_store):
    lines = [{"product_code": "P1", "quantity": 2, "price": 50.0}]
    when = dt.datetime(2024, 7, 2, 9)
    with loaded_store() as s, s.begin():
        first = add_order(
            s, actor=SYSTEM, order_no="N1", customer_code="C1", order_time=when, lines=lines
        )
        assert first.created and first.order.amount == 100.0
    with loaded_store() as s, s.begin():
        again = add_order(
            s, actor=SYSTEM, order_no="N1", customer_code="C1", order_time=when, lines=lines
        )
        assert not again.created and again.order.id == first.order.id
    with loaded_store() as s, pytest.raises(ConflictError, match="N1"):
        add_order(
            s,
            actor=SYSTEM,
            order_no="N1",
            customer_code="C1",
            order_time=when,
            lines=[{"product_code": "P1", "amount": 99.0}],
        )
    with loaded_store() as s:
        assert s.scalar(select(func.count()).where(Order.order_no == "N1")) == 1


def test_post_order_respects_the_reps_scope(loaded_store):
    when = dt.datetime(2024, 7, 2, 9)
    lines = [{"amount": 10.0}]
    with loaded_store() as s, pytest.raises(NotFoundError):
        add_order(s, actor=REP, order_no="X1", customer_code="C3", order_time=when, lines=lines)
    with loaded_store() as s, s.begin():
        got = add_order(
            s, actor=REP, order_no="X2", customer_code="NEW1", order_time=when, lines=lines
        )
        assert got.created
        assert s.scalar(select(Customer.sales_rep).where(Customer.code == "NEW1")) == "王伟"
    with loaded_store() as s, pytest.raises(NotFoundError):
        get_order(s, actor=REP, order_no="O301")  # 李娜's customer
    with loaded_store() as s:
        assert get_order(s, actor=REP, order_no="O101").order_no == "O101"
    with loaded_store() as s, pytest.raises(SchemaError, match="amount"):
        add_order(
            s,
            actor=SYSTEM,
            order_no="X3",
            customer_code="C1",
            order_time=when,
            lines=[{"product_code": "P1"}],
        )
