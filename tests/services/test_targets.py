"""Targets: who may set and read them, validation, audit, CSV/Excel upload (all or none)."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from sqlalchemy import select

from kehu.exceptions import ForbiddenError, NotFoundError, SchemaError
from kehu.services import targets
from kehu.services.access import Actor
from kehu.store.models import AuditLog

BOSS = Actor(user_id=None, username="boss", role="manager")
WANG = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")
ANA = Actor(user_id=None, username="ana", role="analyst")
ROW = {"month": "2024-06", "dimension": "rep", "name": "王伟", "sales": 5000}


def test_set_update_list_delete_with_audit(loaded_store):
    with loaded_store() as s:
        targets.set_targets(s, actor=BOSS, rows=[ROW, ROW | {"name": "李娜", "sales": 10}])
        targets.set_targets(s, actor=BOSS, rows=[ROW | {"month": "2024-06-15", "sales": 6000}])
        got = targets.list_targets(s, actor=BOSS, month=dt.date(2024, 6, 1))
        assert [(t["name"], t["sales"]) for t in got] == [("李娜", 10.0), ("王伟", 6000.0)]
        assert got[0]["month"] == dt.date(2024, 6, 1) and got[0]["set_by"] == "boss"
        assert [t["name"] for t in targets.list_targets(s, actor=WANG)] == ["王伟"]
        with pytest.raises(ForbiddenError):
            targets.list_targets(s, actor=ANA)
        targets.delete_target(s, actor=BOSS, month="2024-06", dimension="rep", name="李娜")
        with pytest.raises(NotFoundError):
            targets.delete_target(s, actor=BOSS, month="2024-06", dimension="rep", name="李娜")
        rows = s.scalars(select(AuditLog).where(AuditLog.entity == "target").order_by(AuditLog.id))
        actions = [a.action for a in rows]
        assert actions == ["create", "create", "update", "delete"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"month": "2024-13"}, "month"),
        ({"month": ""}, "month"),
        ({"dimension": "city"}, "dimension"),
        ({"name": "nobody"}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"sales": -1}, "sales"),
        ({"sales": "abc"}, "sales"),
        ({"sales": None}, "sales"),
        ({"sales": 1, "active_customers": 1.5}, "active_customers"),
    ],
)
def test_bad_rows_are_refused_whole(loaded_store, change, field):
    with loaded_store() as s:
        with pytest.raises(SchemaError) as caught:
            targets.set_targets(s, actor=BOSS, rows=[ROW | {"name": "李娜"}, ROW | change])
        assert caught.value.field == field and caught.value.row == 1
        assert targets.list_targets(s, actor=BOSS) == []


def test_only_managers_and_admins_set_targets(loaded_store):
    with loaded_store() as s:
        for actor in (WANG, ANA, Actor(user_id=None, username="k", role="service")):
            with pytest.raises(ForbiddenError):
                targets.set_targets(s, actor=actor, rows=[ROW])


def test_excel_upload_is_idempotent_and_errors_name_row_and_column(loaded_store):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["月份", "维度", "名称", "销售目标", "活跃客户目标"])
    ws.append([dt.date(2024, 6, 1), "业务员", "王伟", 5000, 2])
    ws.append(["2024-06", "渠道", "超市", 3000, None])
    buf = io.BytesIO()
    wb.save(buf)
    with loaded_store() as s:
        for _ in range(2):
            got = targets.upload_targets(s, actor=BOSS, filename="t.xlsx", data=buf.getvalue())
            assert len(got) == 2
        assert len(targets.list_targets(s, actor=BOSS)) == 2
        ws.append(["2024-06", "渠道", "没有这个渠道", 1, None])
        buf = io.BytesIO()
        wb.save(buf)
        with pytest.raises(targets.UploadError) as caught:
            targets.upload_targets(s, actor=BOSS, filename="t.xlsx", data=buf.getvalue())
        assert (caught.value.file, caught.value.row, caught.value.column) == ("t.xlsx", 4, "name")
        with pytest.raises(targets.UploadError) as caught:
            targets.upload_targets(s, actor=BOSS, filename="t.csv", data=b"name,sales\nx,1\n")
        assert (caught.value.row, caught.value.column) == (1, "month")
        with pytest.raises(targets.UploadError):
            targets.upload_targets(s, actor=BOSS, filename="t.pdf", data=b"%PDF")
