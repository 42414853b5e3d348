"""snapshot/restore of kehu.testing: the fixtures' shortcut puts rows and id counters back."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from kehu.store.models import LoadRun, Order
from kehu.testing import load_sample, restore, snapshot


def test_restore_puts_rows_and_id_counters_back(store_factory, sample_files):
    engine = store_factory.kw["bind"]
    load_sample(store_factory, sample_files)
    with store_factory() as s:
        orders = s.execute(select(Order.id, Order.order_no).order_by(Order.id)).all()
        top = s.execute(select(func.max(LoadRun.id))).scalar_one()
    snap = snapshot(engine)

    load_sample(store_factory, sample_files)  # a second load run, then lose every order
    with store_factory() as s, s.begin():
        s.execute(delete(Order))
    restore(engine, snap)

    with store_factory() as s:
        assert s.execute(select(Order.id, Order.order_no).order_by(Order.id)).all() == orders
        assert s.execute(select(func.max(LoadRun.id))).scalar_one() == top
    load_sample(store_factory, sample_files)  # the next id is the one after the snapshot's
    with store_factory() as s:
        assert s.execute(select(func.max(LoadRun.id))).scalar_one() == top + 1
