"""The bounds of order data (issue 9): defined once in warehouse.rules, applied by the import."""

from __future__ import annotations

import datetime as dt

import pytest

from kehu.exceptions import SchemaError
from kehu.services.store_load import CUSTOMER_FIELDS, PRODUCT_FIELDS
from kehu.store.models import Customer, Order, OrderLine, Product
from kehu.warehouse import import_customers, import_orders, import_products
from kehu.warehouse.rules import (
    MAX_LENGTHS,
    check_key,
    check_line,
    check_order_time,
)

HEADER = "订单号,客户编号,下单时间,商品编码,数量,单价,金额,渠道\n"


def _length(column) -> int:
    return column.property.columns[0].type.length


def test_the_length_limits_are_the_store_columns():
    """Every limit is the length of the store column(s) the field is written to."""
    attrs = {
        a: getattr(Customer, CUSTOMER_FIELDS[a])
        for a in CUSTOMER_FIELDS
        if a in MAX_LENGTHS["orders"] and a != "channel"
    }
    stores = {
        "orders": {
            "customer_id": [Customer.code],
            "order_id": [Order.order_no],
            "product_id": [OrderLine.product_code, Product.code],
            "status": [Order.status, OrderLine.status],
            "channel": [Order.channel, Customer.channel],
            "store_id": [Order.store_id],
            "customer_name": [Customer.name],
            "product_name": [Product.name],
            "category": [Product.category],
            "brand": [Product.brand],
            **{a: [c] for a, c in attrs.items()},
        },
        "customers": {
            "customer_id": [Customer.code],
            **{
                f: [getattr(Customer, CUSTOMER_FIELDS[f])]
                for f in MAX_LENGTHS["customers"]
                if f != "customer_id"
            },
        },
        "products": {
            "product_id": [Product.code],
            **{
                f: [getattr(Product, PRODUCT_FIELDS[f])]
                for f in MAX_LENGTHS["products"]
                if f != "product_id"
            },
        },
    }
    for kind, limits in MAX_LENGTHS.items():
        assert set(limits) == set(stores[kind]), kind
        for f, limit in limits.items():
            assert [_length(c) for c in stores[kind][f]] == [limit] * len(stores[kind][f]), f


def test_import_rejects_rows_beyond_the_bounds(tmp_path):
    rows = [
        "A1,C1,2024-01-02 10:00:00,P1,2,5,10,超市",  # good
        "A2,C1,0001-01-01 10:00:00,P1,1,5,5,超市",  # year 1
        "A3,C1,2100-01-01 00:00:00,P1,1,5,5,超市",  # year 2100
        f"{'O' * 129},C1,2024-01-02,P1,1,5,5,超市",  # order id too long
        f"A5,{'C' * 65},2024-01-02,P1,1,5,5,超市",  # customer id too long
        "A6,C1,2024-01-02,P1,1000000000,1000000000,5,超市",  # price x quantity 1e18
        "A7,C1,2024-01-02,P1,1,5,10000000000000,超市",  # amount 1e13
        "A8,C1,2024-01-02,P1,inf,5,5,超市",  # infinite quantity
        f"A9,C1,2024-01-02,P1,1,5,5,{'渠' * 65}",  # channel too long
        "A10,C1,2024-01-02,P1,1,2000000000,5,超市",  # price 2e9
    ]
    f = tmp_path / "o.csv"
    f.write_text(HEADER + "\n".join(rows) + "\n", encoding="utf-8")
    res = import_orders(f)
    assert res.orders.order_id.to_pyarrow().to_pylist() == ["A1"]
    got = [
        (r["row"], r["column"], r["reason"])
        for r in res.rejects.order_by("row").to_pyarrow().to_pylist()
    ]
    assert got == [
        (3, "下单时间", "bad_date"),
        (4, "下单时间", "bad_date"),
        (5, "订单号", "too_long"),
        (6, "客户编号", "too_long"),
        (7, "数量", "bad_amount"),
        (8, "金额", "bad_amount"),
        (9, "数量", "bad_quantity"),
        (10, "渠道", "too_long"),
        (11, "单价", "bad_price"),
    ]
    assert res.summary.rejected == {
        "bad_date": 2,
        "too_long": 3,
        "bad_amount": 2,
        "bad_quantity": 1,
        "bad_price": 1,
    }
    assert any("超过允许的长度" in line for line in res.summary.describe("zh"))


def test_amount_from_price_and_quantity_is_bounded_too(tmp_path):
    f = tmp_path / "o.csv"
    f.write_text(
        "订单号,客户编号,下单时间,数量,单价\nB1,C1,2024-01-02,2,5\nB2,C1,2024-01-02,1e9,1e9\n",
        encoding="utf-8",
    )
    res = import_orders(f)
    assert res.orders.order_id.to_pyarrow().to_pylist() == ["B1"]
    (rej,) = res.rejects.to_pyarrow().to_pylist()
    assert (rej["row"], rej["reason"]) == (3, "bad_amount")


def test_master_files_reject_long_texts_and_prices(tmp_path):
    c = tmp_path / "c.csv"
    c.write_text(
        f"客户编号,客户名称\nC1,好店\n{'X' * 65},长编号\nC3,{'名' * 201}\n", encoding="utf-8"
    )
    res = import_customers(c)
    assert res.customers.customer_id.to_pyarrow().to_pylist() == ["C1"]
    got = [(r["row"], r["column"], r["reason"]) for r in res.rejects.to_pyarrow().to_pylist()]
    assert sorted(got) == [(3, "客户编号", "too_long"), (4, "客户名称", "too_long")]
    p = tmp_path / "p.csv"
    p.write_text("商品编码,商品名称,单价\nP1,水,2\nP2,金条,5000000000\n", encoding="utf-8")
    res = import_products(p)
    assert res.products.product_id.to_pyarrow().to_pylist() == ["P1"]
    assert [r["reason"] for r in res.rejects.to_pyarrow().to_pylist()] == ["bad_price"]


def test_the_python_checks_use_the_same_bounds():
    assert check_key("  C1 ", "customer_id", max_length=64) == "C1"
    for bad in ("   ", "", None, "x" * 65):
        with pytest.raises(SchemaError, match="customer_id"):
            check_key(bad, "customer_id", max_length=64)
    assert check_order_time(dt.datetime(2024, 1, 1, tzinfo=dt.UTC)) == dt.datetime(2024, 1, 1)
    for bad in (dt.datetime(1, 1, 1), dt.datetime(2100, 1, 1), dt.datetime(1899, 12, 31)):
        with pytest.raises(SchemaError, match="outside"):
            check_order_time(bad)
    assert check_line(2, 50.0, None, "line 1") == 100.0
    for q, p, a in ((1e9, 1e9, None), (1e10, 1, None), (1, 1, 1e13), (1, float("nan"), 1)):
        with pytest.raises(SchemaError, match="line 1"):
            check_line(q, p, a, "line 1")
