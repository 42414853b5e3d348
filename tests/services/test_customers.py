"""Customer list, filters, 360 view, export and changes, with the rep-scoping rule."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from kehu.exceptions import (
    ConflictError,
    FilterSyntaxError,
    ForbiddenError,
    NotFoundError,
    SchemaError,
)
from kehu.services import customers as svc
from kehu.services.access import SYSTEM, Actor
from kehu.services.refresh import refresh
from kehu.store.models import AuditLog

WANG = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")
ANALYST = Actor(user_id=None, username="ana", role="analyst")
NOBODY = Actor(user_id=None, username="norep", role="rep", rep_name=None)


@pytest.fixture
def store(loaded_store):
    refresh(loaded_store, as_of=dt.date(2024, 7, 1))
    return loaded_store


def _codes(page):
    return [i["customer_id"] for i in page.items]


def test_list_filters_sort_and_pages(store):
    with store() as s:
        assert _codes(svc.list_customers(s, actor=SYSTEM)) == ["C1", "C2", "C3", "C4"]
        got = svc.list_customers(
            s, actor=SYSTEM, classes={"rfm8": ["重要价值客户", "重要保持客户"]}
        )
        assert _codes(got) == ["C1", "C4"] and got.total == 2
        assert _codes(svc.list_customers(s, actor=SYSTEM, region="浙江省")) == ["C1", "C3"]
        assert _codes(svc.list_customers(s, actor=SYSTEM, channel="餐饮")) == ["C3"]
        assert _codes(svc.list_customers(s, actor=SYSTEM, rep="李娜")) == ["C3", "C4"]
        # C1 and C4 both spent 4,000: ties broken by customer id
        assert _codes(svc.list_customers(s, actor=SYSTEM, sort="-monetary")) == [
            "C1",
            "C4",
            "C3",
            "C2",
        ]
        assert _codes(svc.list_customers(s, actor=SYSTEM, sort="recency_days")) == [
            "C3",
            "C1",
            "C4",
            "C2",
        ]
        page2 = svc.list_customers(s, actor=SYSTEM, sort="customer_id", page=2, page_size=3)
        assert (_codes(page2), page2.total) == (["C4"], 4)


def test_list_with_the_filter_language(store):
    with store() as s:

        def f(text):
            return _codes(svc.list_customers(s, actor=SYSTEM, filter=text))

        assert f("frequency >= 4") == ["C1", "C4"]
        assert f("频次 >= 4 and 区域 = '浙江省'") == ["C1"]
        assert f("monetary between 100 and 4000 and not channel = '超市'") == ["C3", "C4"]
        assert f("name contains '便利'") == ["C2"]
        assert f("last_purchase < '2024-03-01'") == ["C2", "C4"]
        assert f("rfm8 in ('一般发展客户', '一般挽留客户')") == ["C2", "C3"]
        assert f("tier is null") == ["C1", "C2", "C3", "C4"]
        # two-valued logic: a customer with an unknown channel is kept by !=
        svc.update_customer(s, actor=SYSTEM, code="C2", channel=None)
        assert f("channel != '超市'") == ["C2", "C3", "C4"]
        assert f("channel = '超市' or not channel = '超市'") == ["C1", "C2", "C3", "C4"]
        with pytest.raises(FilterSyntaxError, match="unknown column"):
            f("colour = 'red'")
        with pytest.raises(FilterSyntaxError, match="cannot compare"):
            f("orders = 'many'")
        with pytest.raises(FilterSyntaxError, match="not a valid date"):
            f("last_purchase < 'yesterday'")
        with pytest.raises(SchemaError, match="cannot sort"):
            svc.list_customers(s, actor=SYSTEM, sort="password")
        with pytest.raises(SchemaError, match="page_size"):
            svc.list_customers(s, actor=SYSTEM, page_size=0)


def test_tags_filter(store):
    with store() as s:
        svc.set_tags(s, actor=SYSTEM, code="C1", tags=["VIP", "春节"])
        svc.set_tags(s, actor=SYSTEM, code="C3", tags=["VIP"])
        s.commit()
        assert _codes(svc.list_customers(s, actor=SYSTEM, tags=["VIP"])) == ["C1", "C3"]
        assert _codes(svc.list_customers(s, actor=SYSTEM, tags=["VIP", "春节"])) == ["C1"]
        assert svc.set_tags(s, actor=SYSTEM, code="C1", tags=["春节", " 新店 "]) == ["新店", "春节"]
        s.commit()
        assert svc.list_customers(s, actor=SYSTEM, tags=["春节"]).items[0]["tags"] == [
            "新店",
            "春节",
        ]


def test_rep_sees_only_own_customers(store):
    with store() as s:
        assert _codes(svc.list_customers(s, actor=WANG)) == ["C1", "C2"]
        assert _codes(svc.list_customers(s, actor=WANG, rep="李娜")) == []
        assert _codes(svc.list_customers(s, actor=WANG, filter="orders >= 0")) == ["C1", "C2"]
        assert svc.list_customers(s, actor=NOBODY).total == 0
        for call in (
            lambda: svc.customer_360(s, actor=WANG, code="C3"),
            lambda: svc.update_customer(s, actor=WANG, code="C4", name="x"),
            lambda: svc.set_tags(s, actor=WANG, code="C3", tags=["x"]),
            lambda: svc.get_customer(s, actor=NOBODY, code="C1"),
        ):
            with pytest.raises(NotFoundError):
                call()
        data, _ = svc.export_customers(s, actor=WANG, format="csv")
        assert "C3" not in data.decode("utf-8-sig") and "C1" in data.decode("utf-8-sig")
        with pytest.raises(ForbiddenError, match="sales rep"):
            svc.update_customer(s, actor=WANG, code="C1", sales_rep="李娜")


def test_customer_360(store):
    with store() as s:
        v = svc.customer_360(s, actor=WANG, code="C1")
        assert v["profile"]["phone"] == "13812345678"  # a rep sees their own customer's phone
        classes = {c["classifier"]: c for c in v["classes"]}
        assert classes["rfm8"]["label"] == "重要价值客户"
        assert classes["rfm8"]["version"] == "rfm8/1"
        assert "重要价值客户" in classes["rfm8"]["reason"]
        assert classes["rfm8"]["inputs"] == {"recency_days": 6, "orders": 4, "monetary": 4000.0}
        assert v["scores"]["orders"] == 4
        assert [o["order_id"] for o in v["recent_orders"]] == ["O104", "O103", "O102", "O101"]
        assert v["recent_orders"][-1]["lines"] == 2
        assert v["orders_summary"]["amount"] == pytest.approx(4000.0)
        assert any(r["classifier"] == "rfm8" for r in v["recommendations"])
        assert v["loyalty"] is None and v["consents"] == {}
        # the refresh's revisit rule for 重要价值客户: a visit within 30 days
        assert [t["title"] for t in v["open_tasks"]] == ["每月回访重要价值客户"]
        masked = svc.customer_360(s, actor=ANALYST, code="C1")
        assert masked["profile"]["phone"] == "138****5678"


def test_export_csv_and_excel(store):
    with store() as s:
        data, media = svc.export_customers(s, actor=ANALYST, format="csv", region="浙江省")
        text = data.decode("utf-8-sig").splitlines()
        assert media.startswith("text/csv") and len(text) == 3
        assert text[0].startswith("customer_id,name,phone")
        assert "138****5678" in text[1]  # masked for the analyst
        xlsx, _ = svc.export_customers(s, actor=SYSTEM, format="xlsx")
        import openpyxl

        sheet = openpyxl.load_workbook(io.BytesIO(xlsx)).active
        assert (
            sheet.max_row == 5 and sheet["A2"].value == "C1" and sheet["C2"].value == "13812345678"
        )
        with pytest.raises(Exception, match="csv or xlsx"):
            svc.export_customers(s, actor=SYSTEM, format="pdf")
        with pytest.raises(ForbiddenError):
            svc.export_customers(s, actor=Actor(None, "svc", "service"))
        s.commit()
        assert s.scalars(select(AuditLog.action)).all().count("customers.export") == 2


def test_create_and_update_are_audited(store):
    with store() as s:
        c = svc.create_customer(s, actor=WANG, code="C9", name="新店", sales_rep="李娜")
        assert c.sales_rep == "王伟"  # a rep's new customer is their own
        with pytest.raises(ConflictError):
            svc.create_customer(s, actor=SYSTEM, code="C9")
        with pytest.raises(SchemaError, match="unknown customer field"):
            svc.update_customer(s, actor=SYSTEM, code="C9", password="x")
        svc.update_customer(s, actor=WANG, code="C9", name="新店2", phone="13000000000")
        s.commit()
        row = s.scalars(select(AuditLog).where(AuditLog.action == "customer.update")).one()
        assert row.username == "wang" and row.entity_id == "C9"
        assert row.changes == {"name": ["新店", "新店2"], "phone": [None, "13000000000"]}
        with pytest.raises(ForbiddenError):
            svc.update_customer(s, actor=ANALYST, code="C1", name="x")
