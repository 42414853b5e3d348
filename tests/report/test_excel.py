"""Excel and table exports, read back with openpyxl."""

from __future__ import annotations

import pandas as pd
import pytest
from openpyxl import load_workbook

from kehu.analytics.playbook import Playbook
from kehu.exceptions import ConfigError
from kehu.report.excel import write_customers_xlsx, write_table


def test_customers_workbook(tmp_path, full_report_data):
    d = full_report_data
    path = write_customers_xlsx(
        d.customers, tmp_path / "c.xlsx", "zh", profiles=d.profiles, playbook=d.playbook
    )
    wb = load_workbook(path)
    assert wb.sheetnames[0] == "客户明细"
    assert "策略手册" in wb.sheetnames
    assert "画像-RFM八类" in wb.sheetnames and "画像-客户分群" in wb.sheetnames
    ws = wb["客户明细"]
    headers = [c.value for c in ws[1]]
    for h in (
        "客户编号",
        "最近购买距今天数",
        "订单数",
        "消费金额",
        "客单价",
        "RFM八类",
        "客户分群",
        "购买频次档",
        "消费档",
        "ABC分类",
        "生命周期",
        "档位",
    ):
        assert h in headers, h
    assert ws.max_row == len(d.customers) + 1
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref.startswith("A1:")
    col = {h: i for i, h in enumerate(headers)}
    values = {
        name: {r[col[name]] for r in ws.iter_rows(min_row=2, values_only=True)}
        for name in ("客户分群", "购买频次档", "ABC分类", "生命周期")
    }
    assert values["客户分群"] <= {
        "冠军客户",
        "忠诚客户",
        "潜在忠诚客户",
        "新客户",
        "有潜力客户",
        "需要关注客户",
        "即将沉睡客户",
        "有流失风险客户",
        "不能失去的客户",
        "休眠客户",
        "已流失客户",
    }
    assert values["购买频次档"] == {"高频", "中频", "低频"}
    assert values["ABC分类"] == {"A类(核心)", "B类(重要)", "C类(一般)"}
    assert "Champions" not in values["客户分群"]
    # a date column is a real date, and widths follow the content
    first = ws.cell(row=2, column=col["首次购买日期"] + 1).value
    assert hasattr(first, "year")
    assert ws.column_dimensions["A"].width >= 8
    pb = wb["策略手册"]
    assert [c.value for c in pb[1]] == ["分类方法", "类别", "建议措施", "渠道", "频率", "优惠/权益"]
    assert pb.max_row == 1 + 33


def test_customers_workbook_in_english_without_extras(tmp_path):
    df = pd.DataFrame(
        {"customer_id": ["a", "b"], "segment": ["Champions", None], "monetary": [1.5, 2.0]}
    )
    wb = load_workbook(write_customers_xlsx(df, tmp_path / "c.xlsx", "en"))
    assert wb.sheetnames == ["Customers"]
    ws = wb["Customers"]
    assert [c.value for c in ws[1]] == ["Customer ID", "Segment", "Spend"]
    assert [ws.cell(row=r, column=2).value for r in (2, 3)] == ["Champions", "(none)"]


def test_playbook_sheet_in_english(tmp_path):
    df = pd.DataFrame({"customer_id": ["a"]})
    wb = load_workbook(
        write_customers_xlsx(df, tmp_path / "c.xlsx", "en", playbook=Playbook.default())
    )
    rows = list(wb["Playbook"].iter_rows(values_only=True))
    assert rows[0] == ("Classifier", "Class", "Action", "Channel", "Cadence", "Offer")
    assert rows[1][:2] == ("RFM 8-class", "Important value")


def test_write_table_by_extension(tmp_path):
    df = pd.DataFrame({"customer_id": ["a", "b"], "orders": [3, 1], "segment": ["Lost", "New"]})
    csv = write_table(df, tmp_path / "t.csv", "zh")
    raw = csv.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # BOM so that Excel reads UTF-8
    back = pd.read_csv(csv, encoding="utf-8-sig")
    assert list(back.columns) == ["客户编号", "订单数", "客户分群"]
    assert back["客户分群"].tolist() == ["Lost", "New"]  # values kept unless asked

    csv2 = write_table(df, tmp_path / "t2.csv", "zh", translate_values=True)
    assert pd.read_csv(csv2, encoding="utf-8-sig")["客户分群"].tolist() == ["已流失客户", "新客户"]

    pq = write_table(df, tmp_path / "t.parquet", "zh")
    assert list(pd.read_parquet(pq).columns) == ["customer_id", "orders", "segment"]

    xl = load_workbook(write_table(df, tmp_path / "t.xlsx", "en"))
    assert [c.value for c in xl.active[1]] == ["Customer ID", "Orders", "Segment"]

    with pytest.raises(ConfigError, match="extension"):
        write_table(df, tmp_path / "t.json", "zh")
    with pytest.raises(ConfigError, match="language"):
        write_table(df, tmp_path / "t.csv", "fr")
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "t.csv",
        "t.parquet",
        "t.xlsx",
        "t2.csv",
    ]  # no temporary files left behind


def test_no_formulas_in_the_analysts_files(tmp_path):
    """A formula-like text is a value in the workbook and quoted in CSV; numbers stay numbers."""
    names = ['=HYPERLINK("http://x","y")', "+1", "@SUM(1)", "-2+3"]
    df = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c", "d"],
            "name": names,
            "segment": ["Champions", "=1+1", None, "Lost"],
            "monetary": [-1.5, 2.0, 3.0, -4.0],
        }
    )
    wb = load_workbook(write_customers_xlsx(df, tmp_path / "c.xlsx", "en"))
    ws = wb["Customers"]
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    headers = [c.value for c in ws[1]]
    rows = list(ws.iter_rows(min_row=2, values_only=True))
    assert [r[headers.index("Name")] for r in rows] == names
    assert [r[headers.index("Spend")] for r in rows] == [-1.5, 2.0, 3.0, -4.0]
    assert ws.cell(row=2, column=headers.index("Name") + 1).quotePrefix  # stays text if edited

    book = load_workbook(write_table(df, tmp_path / "t.xlsx", "en"))
    assert all(c.data_type != "f" for row in book.active.iter_rows() for c in row)
    back = pd.read_csv(write_table(df, tmp_path / "t.csv", "en"), encoding="utf-8-sig")
    assert back["Name"].tolist() == ["'" + n for n in names]
    assert back["Segment"].tolist()[:2] == ["Champions", "'=1+1"]
    assert back["Spend"].tolist() == [-1.5, 2.0, 3.0, -4.0]  # a negative number is a number
