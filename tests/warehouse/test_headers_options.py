"""Header recognition, mapping and option parsing."""

from __future__ import annotations

import pytest

from kehu.exceptions import ConfigError, SchemaError
from kehu.warehouse import ImportOptions, match_columns, normalize_header


@pytest.mark.parametrize(
    "header", ["CustomerID", "Customer ID", "customer_id", "CUSTOMER-ID", "ＣｕｓｔｏｍｅｒＩＤ"]
)
def test_forgiving_header_match(header):
    assert normalize_header(header) == "customerid"
    assert match_columns([header, "date", "amount"], "orders")["customer_id"] == header


def test_bracketed_unit_is_ignored():
    assert match_columns(["会员号", "交易日期", "金额（元）"], "orders") == {
        "customer_id": "会员号",
        "order_time": "交易日期",
        "amount": "金额（元）",
    }


def test_online_retail_headers():
    cols = ["InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
            "CustomerID", "Country"]  # fmt: skip
    assert match_columns(cols, "orders") == {
        "order_id": "InvoiceNo",
        "product_id": "StockCode",
        "product_name": "Description",
        "quantity": "Quantity",
        "order_time": "InvoiceDate",
        "price": "UnitPrice",
        "customer_id": "CustomerID",
        "country": "Country",
    }


def test_cdnow_headers():
    m = match_columns(["customer_id", "date", "num_cds", "dollar_value"], "orders")
    assert m == {
        "customer_id": "customer_id",
        "order_time": "date",
        "quantity": "num_cds",
        "amount": "dollar_value",
    }


def test_chinese_order_headers_with_attributes():
    cols = ["客户编号", "单据编号", "下单时间", "商品编码", "商品名称", "数量", "单价", "销售额",
            "品类", "品牌", "省份", "城市", "区县", "业态"]  # fmt: skip
    m = match_columns(cols, "orders")
    assert m["order_id"] == "单据编号" and m["amount"] == "销售额" and m["price"] == "单价"
    assert m["channel"] == "业态" and m["district"] == "区县" and m["product_name"] == "商品名称"
    assert m["category"] == "品类" and m["brand"] == "品牌"


def test_mapping_wins_and_bad_mapping_target():
    m = match_columns(["客户编号", "日期", "实收金额", "金额"], "orders", {"amount": "实收金额"})
    assert m["amount"] == "实收金额"
    with pytest.raises(SchemaError, match=r"no column '实付'.*columns found: 客户编号"):
        match_columns(["客户编号"], "orders", {"amount": "实付"})
    with pytest.raises(ConfigError, match="not a orders field"):
        match_columns(["a"], "orders", {"amout": "a"})


def test_customers_name_field():
    m = match_columns(["会员号", "客户名称", "手机", "城乡"], "customers")
    assert m == {"customer_id": "会员号", "name": "客户名称", "phone": "手机", "area_type": "城乡"}


def test_from_strings():
    opts = ImportOptions.from_strings(["amount=实收金额", " customer_id = 会员卡 "])
    assert opts.mapping == {"amount": "实收金额", "customer_id": "会员卡"}
    for bad in ["amount", "=x", "amount="]:
        with pytest.raises(ConfigError, match="expected canonical_name=source header"):
            ImportOptions.from_strings([bad])


def test_bad_choice_and_file(tmp_path):
    with pytest.raises(ConfigError, match="returns='keep'"):
        ImportOptions(returns="keep")
    cfg = tmp_path / "import.yaml"
    cfg.write_text("map:\n  amount: 实收金额\nreturns: exclude\n", encoding="utf-8")
    opts = ImportOptions.from_file(cfg)
    assert opts.mapping == {"amount": "实收金额"} and opts.returns == "exclude"
    cfg.write_text("colour: red\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown option"):
        ImportOptions.from_file(cfg)
