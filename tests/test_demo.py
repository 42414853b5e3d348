"""The demo data set: files, headers, encodings, and the behaviour it simulates."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from kehu.demo import (
    CUSTOMER_HEADERS,
    ORDER_HEADERS,
    PRODUCT_HEADERS,
    SPRING_FESTIVAL,
    generate_demo,
)
from kehu.exceptions import ConfigError


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> dict[str, pd.DataFrame]:
    """The default-size data set, read back as an analyst would (ids as text)."""
    files = generate_demo(tmp_path_factory.mktemp("demo"))
    orders = pd.read_csv(
        files["orders"], encoding="gbk", dtype={"客户编号": str, "订单号": str, "商品编码": str}
    )
    orders["下单时间"] = pd.to_datetime(orders["下单时间"], format="%Y-%m-%d %H:%M:%S")
    return {
        "files": files,
        "orders": orders,
        "customers": pd.read_csv(files["customers"], encoding="utf-8-sig", dtype=str),
        "products": pd.read_csv(files["products"], encoding="utf-8-sig", dtype={"商品编码": str}),
    }


def test_files_and_headers(demo):
    assert sorted(demo["files"]) == ["customers", "orders", "products"]
    assert tuple(demo["customers"].columns) == CUSTOMER_HEADERS
    assert tuple(demo["products"].columns) == PRODUCT_HEADERS
    assert tuple(demo["orders"].columns) == ORDER_HEADERS
    assert "客户编号" in CUSTOMER_HEADERS and "订单状态" in ORDER_HEADERS


def test_encodings(demo):
    raw_orders = demo["files"]["orders"].read_bytes()
    assert not raw_orders.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):  # really GBK, not UTF-8
        raw_orders.decode("utf-8")
    assert raw_orders.decode("gbk").splitlines()[0] == ",".join(ORDER_HEADERS)
    for name in ("customers", "products"):
        raw = demo["files"][name].read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, as Excel wants it
        raw.decode("utf-8")


def test_gbk_round_trip_keeps_chinese_text(demo):
    statuses = set(demo["orders"]["订单状态"])
    assert statuses == {"已完成", "已取消", "退货"}
    head = demo["files"]["orders"].read_bytes().split(b"\n", 1)[0]
    assert head.decode("gbk").encode("gbk") == head


def test_size_and_ids(demo):
    orders, customers, products = demo["orders"], demo["customers"], demo["products"]
    assert 100_000 <= len(orders) <= 200_000
    assert len(customers) == 3000 and customers["客户编号"].is_unique
    assert customers["客户编号"].str.fullmatch(r"\d{6}").all()
    assert customers["客户编号"].iloc[0] == "000001"  # leading zeros survive as text
    assert 60 <= len(products) <= 120 and products["商品编码"].str.fullmatch(r"SP\d{5}").all()
    known = set(customers["客户编号"])
    sold = orders["客户编号"].dropna()
    assert set(sold) <= known
    assert set(orders["商品编码"]) <= set(products["商品编码"])


def test_master_data_values(demo):
    c = demo["customers"]
    assert set(c["城乡类型"]) == {"城市", "郊区", "农村"}
    assert set(c["渠道"]) == {"超市", "便利店", "食杂店", "批发商", "餐饮", "电商"}
    assert c["省份"].nunique() >= 10 and c["城市"].nunique() >= 20
    assert c["联系电话"].str.fullmatch(r"1[3-9]\d{9}").all()
    assert c["性别"].isna().any() and set(c["性别"].dropna()) == {"男", "女"}
    assert set(demo["products"]["品类"]) >= {"饮料", "零食", "乳制品", "粮油", "日化", "酒类"}


def test_amounts_are_quantity_times_price(demo):
    o = demo["orders"]
    assert np.allclose(o["金额"], (o["数量"] * o["单价"]).round(2), atol=0.006)
    returns = o[o["订单状态"] == "退货"]
    assert (returns["数量"] < 0).all() and (returns["金额"] < 0).all()
    assert (o.loc[o["订单状态"] != "退货", "数量"] > 0).all()
    # cancellations and returns together are about 1% of the lines
    assert 0.005 < (o["订单状态"] != "已完成").mean() < 0.02


def test_messy_rows_are_there(demo):
    o = demo["orders"]
    walk_in = o["客户编号"].isna()
    assert 0 < walk_in.mean() < 0.02
    dups = o.duplicated().sum()
    assert 0 < dups < 0.005 * len(o)


def test_spring_festival_build_up(demo):
    o = demo["orders"]
    kept = o[o["订单状态"] == "已完成"]
    day = kept["下单时间"].dt.normalize()
    revenue = kept.groupby(day)["金额"].sum()
    average = revenue.mean()
    for year in (2023, 2024):
        ny = pd.Timestamp(SPRING_FESTIVAL[year])
        build_up = revenue[(revenue.index >= ny - pd.Timedelta(days=21)) & (revenue.index < ny)]
        holiday = revenue[(revenue.index >= ny) & (revenue.index < ny + pd.Timedelta(days=7))]
        assert build_up.mean() > 1.3 * average, year
        assert holiday.mean() < 0.6 * average, year


def test_weekly_pattern_by_channel(demo):
    o = demo["orders"].merge(demo["customers"][["客户编号", "渠道"]], on="客户编号")
    orders = o.drop_duplicates("订单号")
    weekday = orders["下单时间"].dt.day_of_week
    retail = weekday[orders["渠道"].isin(["超市", "便利店"])]
    b2b = weekday[orders["渠道"] == "批发商"]
    assert (retail >= 5).mean() > 2 / 7  # retail restocks for the weekend
    assert (b2b >= 5).mean() < 2 / 7 * 0.7  # wholesalers order on weekdays


def test_customers_churn_join_and_come_back(demo):
    o, c = demo["orders"], demo["customers"]
    kept = o[(o["订单状态"] == "已完成") & o["客户编号"].notna()]
    per = kept.groupby("客户编号")["下单时间"].agg(["min", "max", "count"])
    end = kept["下单时间"].max()
    churned = per[(per["count"] >= 5) & (per["max"] < end - pd.Timedelta(days=180))]
    assert len(churned) >= 50
    signup = pd.to_datetime(c["注册日期"])
    assert (signup >= "2023-01-01").sum() >= 300  # new customers join over the period
    assert (signup < "2023-01-01").sum() >= 1500
    # won back: a pause of four months or more, then several more orders
    days = kept[["客户编号", "下单时间"]].sort_values(["客户编号", "下单时间"])
    gap = days.groupby("客户编号")["下单时间"].diff()
    after = days[gap > pd.Timedelta(days=120)]
    assert after["客户编号"].nunique() >= 10


def test_heterogeneous_customers(demo):
    o = demo["orders"]
    kept = o[o["订单状态"] == "已完成"].dropna(subset=["客户编号"])
    revenue = kept.groupby("客户编号")["金额"].sum().sort_values(ascending=False)
    assert revenue.iloc[:5].sum() > 0.1 * revenue.sum()  # a few very large wholesalers
    counts = kept.groupby("客户编号")["订单号"].nunique()
    assert counts.max() > 20 * counts.median()


def test_deterministic_with_seed(tmp_path):
    a = generate_demo(tmp_path / "a", customers=150, days=120, seed=3)
    b = generate_demo(tmp_path / "b", customers=150, days=120, seed=3)
    c = generate_demo(tmp_path / "c", customers=150, days=120, seed=4)
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes()
    assert a["orders"].read_bytes() != c["orders"].read_bytes()


def test_start_and_days(tmp_path):
    files = generate_demo(tmp_path, customers=100, start=dt.date(2025, 1, 1), days=60, seed=1)
    o = pd.read_csv(files["orders"], encoding="gbk", dtype=str)
    t = pd.to_datetime(o["下单时间"])
    assert t.min() >= pd.Timestamp("2025-01-01") and t.max() < pd.Timestamp("2025-03-03")
    assert o["订单号"].str.fullmatch(r"(DD|TH)\d{13}").all()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"customers": 0}, "customers"),
        ({"customers": 2.5}, "customers"),
        ({"days": 3}, "days"),
        ({"start": "2023-13-01"}, "start"),
    ],
)
def test_bad_arguments(tmp_path, kwargs, message):
    with pytest.raises(ConfigError, match=message):
        generate_demo(tmp_path, **kwargs)


@pytest.mark.parametrize(
    ("lang", "words"), [("zh", "在演示数据上打开网页应用"), ("en", "To open the web application")]
)
def test_demo_command_tells_how_to_open_the_application(tmp_path, monkeypatch, capsys, lang, words):
    """``kehu demo`` ends with the commands that open the web application on its data."""
    import kehu.cli.analyze
    from kehu.cli.main import main

    analyzed = []  # the analysis itself is tested elsewhere: only the message is checked here
    monkeypatch.setattr(kehu.cli.analyze, "analyze_cmd", lambda *a, **kw: analyzed.append(kw))
    out_dir = tmp_path / "kehu demo"
    args = ["demo", "--customers", "50", "--out", str(out_dir), "--lang", lang]
    assert main(args) == 0
    assert analyzed and analyzed[0]["lang"] == lang
    text = capsys.readouterr().out
    assert words in text
    lines = [line.strip() for line in text.splitlines()]
    assert f"cd '{out_dir}'" in lines  # quoted: the folder has a space
    for command in ("kehu init", "kehu refresh", "kehu serve"):
        assert command in lines
    assert "kehu users add admin --role admin --password password-123" in lines
    load = next(line for line in lines if line.startswith("kehu load "))
    # the files the load command names are the ones the demo wrote, relative to its folder
    named = [w for w in load.split() if w.endswith(".csv")]
    assert len(named) == 3 and all((out_dir / w).is_file() for w in named)
    assert "http://127.0.0.1:8000/" in text


def test_demo_command_checks_the_language_first(tmp_path, capsys):
    from kehu.cli.main import main

    assert main(["demo", "--out", str(tmp_path / "d"), "--lang", "fr"]) != 0
    assert not (tmp_path / "d").exists()  # refused before generating anything
