"""The import's fast paths give the same values as the plain expressions they replace."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from kehu.warehouse import ImportOptions, connect, import_orders, rules
from kehu.warehouse.cells import to_text

TEXTS = ["", " ", " a", "a ", "a", None, "\ta\n", "a b", "\x0c", "\x01x", "客户 ", "  ", "b\r"]


def test_to_text_equals_strip_then_null_for_empty():
    con = connect(None)
    t = con.create_table("t", pa.table({"x": pa.array(TEXTS, pa.string())}))
    got = t.select(y=to_text(t.x)).to_pyarrow().column("y").to_pylist()
    want = [None if v is None or not v.strip() else v.strip() for v in TEXTS]
    assert got == want


def _orders(tmp_path, products, names=None):
    n = len(products)
    data = {
        "customer_id": [f"c{i % 3}" for i in range(n)],
        "order_id": [f"O{i}" for i in range(n)],
        "order_time": [f"2024-01-{1 + i % 28:02d}" for i in range(n)],
        "product_id": products,
        "amount": [10.0] * n,
    }
    if names is not None:
        data["product_name"] = names
    path = tmp_path / "orders.parquet"
    pq.write_table(pa.table(data), path)
    return path


def _set_aside(tmp_path, monkeypatch, limit):
    monkeypatch.setattr(rules, "MAX_LISTED_VALUES", limit)
    products = ["POST", " post ", "p1", "GIFT_0001_20", "m", "P2", None, "运费补差", "DOTCOM", "p1"]
    names = ["x", "x", "普通", "x", "x", "Postage fee", "x", "x", "x", "快递费"]
    path = _orders(tmp_path, products, names)
    res = import_orders(path, con=connect(None), options=ImportOptions())
    rej = res.rejects.filter(res.rejects.reason == "non_product").to_pyarrow()
    return sorted(rej.column("row").to_pylist())


def test_non_product_by_distinct_values_matches_per_row_tests(tmp_path, monkeypatch):
    listed = _set_aside(tmp_path, monkeypatch, 5_000)
    per_row = _set_aside(tmp_path, monkeypatch, 0)  # too many to list: tested per row
    # rows (from 2): POST, " post " (trimmed, upper), GIFT_0001_ prefix, M, name
    # "Postage fee", 运费 in the id, and 快递费 in the name; not DOTCOM (DOT is exact)
    assert listed == per_row == [2, 3, 5, 6, 7, 9, 11]
