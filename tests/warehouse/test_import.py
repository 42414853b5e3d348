"""Importing hand-made order, customer and product files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from kehu.exceptions import DataImportError, SchemaError
from kehu.report.outputs import import_files
from kehu.warehouse import ImportOptions, connect, import_customers, import_orders, tables

HEADER = ["客户编号", "单据编号", "下单时间", "商品编码", "商品名称", "数量", "单价", "实付金额",
          "品类", "省份", "渠道", "状态"]  # fmt: skip
# Spreadsheet row numbers (header = row 1) in the comments.
ROWS = [
    ["0001", "A1", "2024-01-02", "P01", "牛奶", "2", "3.5", "7", "乳品", "浙江", "超市", ""],  # 2
    [
        "0001",
        "A1",
        "2024-01-02",
        "P01",
        "牛奶",
        "2",
        "3.5",
        "7",
        "乳品",
        "浙江",
        "超市",
        "",
    ],  # 3 dup
    ["0002", "A2", "2024/1/2 8:05:09", "P02", "面包", "1", "5", "5", "烘焙", "江苏", "便利店", ""],
    ["", "A3", "2024年1月2日", "P01", "牛奶", "1", "3.5", "3.5", "乳品", "", "", ""],  # 5 anonymous
    ["0002", "A4", "45292", "P02", "面包", "1", "5", "5", "烘焙", "江苏", "便利店", "退货"],  # 6
    ["0003", "A5", "不是日期", "P01", "牛奶", "1", "3.5", "3.5", "乳品", "上海", "超市", ""],  # 7
    ["0003", "A6", "2024-01-03 13:05", "YF", "运费", "1", "10", "10", "", "上海", "超市", ""],
    ["0003", "A7", "2024-01-03", "P03", "赠品", "1", "0", "0", "乳品", "上海", "超市", ""],  # 9
    ["0003", "A8", "2024-01-04", "P01", "牛奶", "1", "3.5", "abc", "乳品", "上海", "超市", ""],
]


def write_csv(path: Path, header, rows, encoding="utf-8") -> Path:
    text = "\n".join(",".join(r) for r in [header, *rows]) + "\n"
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(path: Path, header, rows) -> Path:
    import openpyxl

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header)
    for r in rows:
        cells: list[object] = []
        for h, v in zip(header, r, strict=True):
            if h in ("数量", "单价") and v:
                cells.append(float(v))  # real numbers, as Excel users type them
            elif h == "下单时间" and v == "2024-01-02":
                cells.append(dt.datetime(2024, 1, 2))  # a real date cell
            elif h == "下单时间" and v == "45292":
                cells.append(45292)  # an Excel serial typed as a number
            else:
                cells.append(v or None)
        ws.append(cells)
    wb.save(path)
    return path


def write_parquet(path: Path, header, rows) -> Path:
    cols = {h: [r[i] or None for r in rows] for i, h in enumerate(header)}
    pq.write_table(pa.table(cols), path)
    return path


WRITERS = {
    "gbk.csv": lambda p: write_csv(p, HEADER, ROWS, "gbk"),
    "bom.csv": lambda p: write_csv(p, HEADER, ROWS, "utf-8-sig"),
    "plain.xlsx": lambda p: write_xlsx(p, HEADER, ROWS),
    "plain.parquet": lambda p: write_parquet(p, HEADER, ROWS),
}


@pytest.fixture(params=list(WRITERS))
def orders_file(request, tmp_path) -> Path:
    return WRITERS[request.param](tmp_path / f"订单_{request.param}")


def test_chinese_file_in_every_format(orders_file):
    res = import_orders(orders_file)
    s = res.summary
    assert (s.rows_read, s.rows_kept) == (9, 4)
    assert s.set_aside == {
        "duplicate": 1, "bad_date": 1, "non_product": 1, "zero_price": 1, "bad_amount": 1,
    }  # fmt: skip
    assert s.kept == {"return": 1, "no_customer": 1}
    orders = res.orders.order_by(["order_id"]).to_pyarrow().to_pylist()
    assert [o["customer_id"] for o in orders] == ["0001", "0002", None, "0002"]  # zeros kept
    assert [o["order_time"] for o in orders] == [
        dt.datetime(2024, 1, 2),
        dt.datetime(2024, 1, 2, 8, 5, 9),
        dt.datetime(2024, 1, 2),
        dt.datetime(2024, 1, 1),  # Excel serial 45292
    ]
    assert [o["amount"] for o in orders] == [7.0, 5.0, 3.5, -5.0]  # the return is negative
    assert [o["quantity"] for o in orders] == [2.0, 1.0, 1.0, -1.0]
    assert [o["is_return"] for o in orders] == [False, False, False, True]
    assert orders[0]["channel"] == "超市" and orders[3]["status"] == "退货"

    rejects = res.rejects.order_by("row").to_pyarrow().to_pylist()
    name = str(orders_file)
    assert rejects == [
        {"file": name, "row": 3, "column": None, "reason": "duplicate",
         "value": f"duplicate of {name} row 2"},
        {"file": name, "row": 7, "column": "下单时间", "reason": "bad_date", "value": "不是日期"},
        {"file": name, "row": 8, "column": "商品编码", "reason": "non_product", "value": "YF"},
        {"file": name, "row": 9, "column": "单价", "reason": "zero_price", "value": "0"},
        {"file": name, "row": 10, "column": "实付金额", "reason": "bad_amount", "value": "abc"},
    ]  # fmt: skip


def test_attributes_split_into_customers_and_products(tmp_path):
    res = import_orders(WRITERS["bom.csv"](tmp_path / "o.csv"))
    customers = res.customers.order_by("customer_id").to_pyarrow().to_pylist()
    assert customers == [
        {"customer_id": "0001", "province": "浙江", "channel": "超市"},
        {"customer_id": "0002", "province": "江苏", "channel": "便利店"},
    ]
    products = res.products.order_by("product_id").to_pyarrow().to_pylist()
    assert products == [
        {"product_id": "P01", "name": "牛奶", "category": "乳品"},
        {"product_id": "P02", "name": "面包", "category": "烘焙"},
    ]


def test_most_frequent_attribute_and_merge_with_customer_file(tmp_path):
    orders = write_csv(
        tmp_path / "o.csv",
        ["会员号", "日期", "金额", "城市"],
        [["7", "2024-01-01", "1", "杭州"], ["7", "2024-01-02", "1", "宁波"],
         ["7", "2024-01-03", "1", "宁波"], ["8", "2024-01-03", "1", "苏州"],
         ["8", "2024-01-04", "1", "南京"], ["9", "2024-01-04", "1", ""]],
    )  # fmt: skip
    res = import_orders(orders)
    got = {r["customer_id"]: r["city"] for r in res.customers.to_pyarrow().to_pylist()}
    assert got == {"7": "宁波", "8": "南京", "9": None}  # a tie takes the smallest value
    cust = write_csv(
        tmp_path / "c.csv",
        ["客户编号", "客户名称", "城市"],
        [["8", "八号店", "无锡"], ["10", "十号店", ""], ["", "无编号", "x"], ["8", "重复", "y"]],
    )
    res = import_orders(orders, customers=cust)
    rows = res.customers.order_by("customer_id").to_pyarrow().to_pylist()
    assert rows == [
        {"customer_id": "10", "name": "十号店", "city": None},
        {"customer_id": "7", "name": None, "city": "宁波"},
        {"customer_id": "8", "name": "八号店", "city": "无锡"},  # the file wins
        {"customer_id": "9", "name": None, "city": None},
    ]
    other = res.summary.others["customers"]
    assert other.set_aside == {"missing_id": 1, "duplicate_id": 1} and other.rows_kept == 2
    reasons = {(r["file"], r["row"], r["reason"]) for r in res.rejects.to_pyarrow().to_pylist()}
    assert reasons == {(str(cust), 4, "missing_id"), (str(cust), 5, "duplicate_id")}


def test_mapping_and_amount_from_price_times_quantity(tmp_path):
    f = write_csv(
        tmp_path / "o.csv",
        ["会员卡", "交易日期", "单价", "数量", "实收金额"],
        [["1", "2024-01-02", "2.5", "4", "9"], ["2", "2024-01-03", "x", "1", "1"]],
    )
    res = import_orders(f, options=ImportOptions.from_strings(["customer_id=会员卡"]))
    # 实收金额 is not a recognised header: amount = price x quantity; 'x' rejects row 3.
    assert res.orders.amount.to_pyarrow().to_pylist() == [10.0]
    (rej,) = res.rejects.to_pyarrow().to_pylist()
    assert (rej["row"], rej["column"], rej["reason"], rej["value"]) == (
        3,
        "单价",
        "bad_amount",
        "x",
    )
    res = import_orders(
        f, options=ImportOptions.from_strings(["customer_id=会员卡", "amount=实收金额"])
    )
    assert res.orders.amount.to_pyarrow().to_pylist() == [9.0]
    assert res.summary.set_aside == {"bad_price": 1}


def test_returns_netted_or_excluded_and_c_invoices(tmp_path):
    f = write_csv(
        tmp_path / "retail.csv",
        ["InvoiceNo", "StockCode", "Quantity", "InvoiceDate", "UnitPrice", "CustomerID"],
        [["536365", "85123A", "6", "12/1/2010 8:26", "2.55", "17850"],
         ["C536379", "85123A", "-1", "12/1/2010 9:41", "2.55", "17850"],
         ["C536380", "85123A", "2", "12/1/2010 9:42", "2.55", "17850"]],
    )  # fmt: skip
    net = import_orders(f)
    rows = net.orders.order_by("order_id").to_pyarrow().to_pylist()
    assert [(r["is_return"], r["quantity"], r["amount"]) for r in rows] == [
        (False, 6.0, pytest.approx(15.3)),
        (True, -1.0, -2.55),
        (True, -2.0, -5.1),  # C prefix alone marks a cancellation
    ]
    assert rows[0]["order_time"] == dt.datetime(2010, 12, 1, 8, 26)
    assert net.summary.kept == {"return": 2, "no_customer": 0}
    ex = import_orders(f, options=ImportOptions(returns="exclude"))
    assert ex.orders.count().execute() == 1 and ex.summary.set_aside == {"return": 2}
    # the time range of the kept lines (the excluded returns were later)
    assert ex.summary.first_order == ex.summary.last_order == dt.datetime(2010, 12, 1, 8, 26)
    assert net.summary.to_dict()["last_order"] == "2010-12-01T09:42:00"
    got = {(r["row"], r["column"], r["value"]) for r in ex.rejects.to_pyarrow().to_pylist()}
    assert got == {(3, "Quantity", "-1"), (4, "InvoiceNo", "C536380")}


def test_duplicates_need_an_order_id_unless_asked(tmp_path):
    f = write_csv(
        tmp_path / "cd.csv",
        ["customer_id", "date", "num_cds", "dollar_value"],
        [["1", "19970101", "1", "9.99"], ["1", "19970101", "1", "9.99"]],
    )
    assert import_orders(f).summary.rows_kept == 2  # two real purchases on one day
    res = import_orders(f, options=ImportOptions(duplicates="drop"))
    assert res.summary.set_aside == {"duplicate": 1}
    g = write_csv(
        tmp_path / "o.csv", ["订单号", "客户", "日期", "金额"], [["1", "a", "2024-1-1", "1"]] * 3
    )
    assert import_orders(g).summary.set_aside == {"duplicate": 2}
    assert import_orders(g, options=ImportOptions(duplicates="keep")).summary.rows_kept == 3


def test_duplicates_across_files_keep_the_first(tmp_path):
    rows = [["1", "a", "2024-01-01", "1"]]
    a = write_csv(tmp_path / "a.csv", ["订单号", "客户", "日期", "金额"], rows)
    b = write_csv(tmp_path / "b.csv", ["订单号", "客户", "日期", "金额"], rows)
    res = import_orders(tmp_path)  # a folder
    (rej,) = res.rejects.to_pyarrow().to_pylist()
    assert rej["file"] == str(b) and rej["row"] == 2
    assert rej["value"] == f"duplicate of {a} row 2"
    assert [f.rows_kept for f in res.summary.files] == [1, 0]


def test_non_product_and_zero_price_can_be_kept(tmp_path):
    f = write_csv(
        tmp_path / "o.csv",
        ["客户", "日期", "商品编码", "商品名称", "单价", "数量"],
        [["1", "2024-01-01", "POST", "POSTAGE", "18", "1"],
         ["1", "2024-01-01", "gift_0001_20", "voucher", "20", "1"],
         ["1", "2024-01-01", "X9", "邮费补差", "5", "1"],
         ["1", "2024-01-01", "X1", "free", "0", "1"],
         ["1", "2024-01-01", "X2", "cup", "2", "1"]],
    )  # fmt: skip
    res = import_orders(f)
    assert res.summary.set_aside == {"non_product": 3, "zero_price": 1}
    assert res.orders.product_id.to_pyarrow().to_pylist() == ["X2"]
    keep = ImportOptions(non_product="keep", zero_price="keep")
    res = import_orders(f, options=keep)
    assert res.summary.rows_kept == 5
    assert res.summary.kept == {"return": 0, "no_customer": 0, "non_product": 3, "zero_price": 1}


def test_integer_ids_in_parquet_become_text(tmp_path):
    f = tmp_path / "o.parquet"
    pq.write_table(
        pa.table({
            "CustomerID": pa.array([17850, None], pa.int32()),
            "StockCode": pa.array([1.0, 2.5]),
            "InvoiceDate": pa.array([dt.datetime(2011, 1, 1), dt.datetime(2011, 1, 2)]),
            "Amount": [1.0, 2.0],
        }),
        f,
    )  # fmt: skip
    rows = import_orders(f).orders.order_by("amount").to_pyarrow().to_pylist()
    assert [(r["customer_id"], r["product_id"]) for r in rows] == [("17850", "1"), (None, "2.5")]


def test_missing_required_column_message(tmp_path):
    f = write_csv(tmp_path / "o.csv", ["客户编号", "数量"], [["1", "2"]])
    with pytest.raises(SchemaError) as err:
        import_orders(f)
    msg = str(err.value)
    assert str(f) in msg and "Columns found: 客户编号, 数量" in msg
    assert "order_time (accepted names: 下单时间, 订单日期, 交易日期" in msg
    assert "amount (a line total: 实付金额" in msg and "单价" in msg


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [("a.json", b"{}", "unsupported file type .json"), ("e.csv", b"", "file is empty"),
     ("h.csv", "客户,日期,金额\n".encode(), "no data rows"), ("missing.csv", None, "not found")],
)  # fmt: skip
def test_bad_files(tmp_path, name, content, match):
    f = tmp_path / name
    if content is not None:
        f.write_bytes(content)
    with pytest.raises(DataImportError, match=match) as err:
        import_orders(f)
    assert name in str(err.value)


def test_empty_folder_and_glob(tmp_path):
    with pytest.raises(DataImportError, match="folder has no CSV"):
        import_orders(tmp_path)
    with pytest.raises(DataImportError, match="no CSV, Excel or Parquet file matches"):
        import_orders(str(tmp_path / "*.csv"))


def test_glob_and_write_rejects(tmp_path):
    write_csv(tmp_path / "x1.csv", HEADER, ROWS)
    write_csv(tmp_path / "x2.csv", HEADER, ROWS[:1])
    res = import_orders(str(tmp_path / "x*.csv"))
    assert res.summary.rows_read == 10 and len(res.summary.files) == 2
    assert res.summary.set_aside["duplicate"] == 2  # x2's only row repeats x1's row 2
    out = import_files(res, tmp_path)["rejects"]
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    lines = raw.decode("utf-8-sig").splitlines()
    assert lines[0] == '"file","row","column","reason","value"' and len(lines) == 7
    assert "不是日期" in raw.decode("utf-8-sig")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_idempotent_reimport(tmp_path):
    db = tmp_path / "shop.duckdb"
    f = WRITERS["gbk.csv"](tmp_path / "o.csv")

    def snapshot():
        con = connect(db)
        res = import_orders(f, con=con)
        out = {
            name: con.table(name).to_pyarrow().sort_by([(c, "ascending") for c in cols[:2]])
            for name, cols in [("orders", ["order_id", "order_time"]),
                               ("import_rejects", ["row", "reason"]),
                               ("customers", ["customer_id", "province"])]
        }  # fmt: skip
        out["summary"] = res.summary.to_dict()
        con.disconnect()
        return out

    first, second = snapshot(), snapshot()
    assert first == second
    assert first["orders"].num_rows == 4


def test_failed_import_leaves_previous_tables(tmp_path, monkeypatch):
    con = connect(tmp_path / "shop.duckdb")
    good = WRITERS["bom.csv"](tmp_path / "good.csv")
    import_orders(good, con=con)
    before = con.table("orders").to_pyarrow()
    bad = write_csv(tmp_path / "bad.csv", ["客户编号", "数量"], [["1", "2"]])
    with pytest.raises(SchemaError):
        import_orders(bad, con=con)
    other = write_csv(tmp_path / "other.csv", ["客户", "日期", "金额"], [["9", "2024-1-1", "1"]])
    real_build, calls = tables.build, []

    def failing_build(con_, name, expr, temp=False):
        calls.append(name)
        if name == "import_rejects":  # after the new orders table was built
            raise RuntimeError("disk full")
        return real_build(con_, name, expr, temp=temp)

    monkeypatch.setattr(tables, "build", failing_build)
    with pytest.raises(RuntimeError, match="disk full"):
        import_orders(other, con=con)
    assert "orders" in calls
    assert con.table("orders").to_pyarrow().equals(before)
    left = tables.run(
        con, "SELECT table_name FROM information_schema.tables WHERE table_name LIKE '%__kehu%'"
    )
    assert left == []


def test_lazy_orders_over_parquet(tmp_path):
    f = WRITERS["plain.parquet"](tmp_path / "o.parquet")
    con = connect(None)
    steps = []
    res = import_orders(f, con=con, materialize=False, progress=lambda *a: steps.append(a))
    assert tables.object_type(con, "orders") is None  # nothing copied
    assert res.orders.count().execute() == 4 and res.summary.rows_kept == 4
    assert res.orders.schema() == import_orders(f).orders.schema()
    assert ("read orders", 1, 1) in steps and steps[-1][0] == "write"


def test_import_customers_file(tmp_path):
    f = write_xlsx(
        tmp_path / "客户.xlsx",
        ["会员号", "姓名", "性别", "注册日期"],
        [["007", "王", "女", "2023年5月1日"], ["008", "李", "男", "bad"]],
    )
    res = import_customers(f)
    rows = res.customers.order_by("customer_id").to_pyarrow().to_pylist()
    assert rows == [
        {"customer_id": "007", "name": "王", "gender": "女", "signup_date": dt.date(2023, 5, 1)},
        {"customer_id": "008", "name": "李", "gender": "男", "signup_date": None},
    ]
    assert res.summary.rows_read == 2 and res.orders is None
