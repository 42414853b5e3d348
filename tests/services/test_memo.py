"""Figures kept per store version (services/memo.py): never older than the store, and a
figure over one run's results is not recomputed for every order posted."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from kehu.services import memo, performance
from kehu.services.access import SYSTEM, Actor
from kehu.services.store_load import add_order
from kehu.store.models import Customer

BOSS = Actor(user_id=None, username="boss", role="manager")
WANG = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")
JUNE = dt.date(2024, 6, 1)


def _june(session, actor):
    return performance.monthly_kpis(session, actor=actor, month=JUNE)[-1]


def _post(store, no, code, amount):
    with store() as s, s.begin():
        add_order(
            s,
            actor=SYSTEM,
            order_no=no,
            customer_code=code,
            order_time=dt.datetime(2024, 6, 30, 9),
            lines=[{"product_code": "P1", "quantity": 1, "price": amount}],
        )


def test_figures_follow_orders_and_scope(loaded_store):
    memo.forget()
    with loaded_store() as s:
        assert _june(s, BOSS)["sales"] == 4100 and _june(s, WANG)["sales"] == 4000
    _post(loaded_store, "N1", "C3", 50.0)  # 李娜's customer
    with loaded_store() as s:
        assert _june(s, BOSS)["sales"] == 4150 and _june(s, WANG)["sales"] == 4000
    with loaded_store() as s, s.begin():  # C3 moves to 王伟
        s.scalar(select(Customer).where(Customer.code == "C3")).sales_rep = "王伟"
    with loaded_store() as s:
        assert _june(s, WANG)["sales"] == 4150 and _june(s, WANG)["active"] == 2


def test_a_figure_over_results_waits_for_customers_not_orders(loaded_store):
    memo.forget()
    calls = {"results": 0, "orders": 0}

    def figure(kind, on):
        def compute():
            calls[kind] += 1
            return calls[kind]

        with loaded_store() as s:
            return memo.remembered(s, BOSS, ("test", kind), compute, on=on)

    def both():
        figure("results", memo.RESULTS_DEPEND_ON)
        figure("orders", tuple(memo.PARTS))

    both()
    both()
    assert calls == {"results": 1, "orders": 1}
    _post(loaded_store, "N2", "C1", 10.0)
    both()
    assert calls == {"results": 1, "orders": 2}
    with loaded_store() as s, s.begin():
        s.scalar(select(Customer).where(Customer.code == "C1")).name = "新名字"
    both()
    assert calls == {"results": 2, "orders": 3}
