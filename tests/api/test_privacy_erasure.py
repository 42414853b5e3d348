"""Erasure that erases: after ``POST /customers/{id}/anonymise`` none of the person's values is
left anywhere -- not in any table (the audit log included), not in the database files' freed
space or write-ahead log, not in the workspace's files -- on SQLite and on PostgreSQL.

The person's values go in through the API the way an operator would put them in (a file load,
changes, notes, feedback, surveys, loyalty, a campaign, an export); contacts have no endpoint,
so they are written to the store directly.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import zipfile
from pathlib import Path

import httpx
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from kehu.services import privacy
from kehu.services.refresh import refresh
from kehu.services.store_load import load_files
from kehu.store.engine import make_engine
from kehu.store.models import AuditLog, Contact, Customer, LoadRun

NAME_OLD, NAME_NEW = "张三丰测试", "张君宝测试"
PHONE_OLD, PHONE_NEW = "13912345678", "13987654321"
EMAIL_OLD, EMAIL_NEW = "zsf.old@example.com", "zsf.new@example.org"
DISTRICT, SIGNUP, BIRTHDAY = "武当山特区", "2001-09-09", "1977-07-17"
CONTACT = {
    "name": "俞莲舟测试",
    "phone": "13611112222",
    "email": "ylz.contact@example.net",
    "wechat": "wx_zsf_2024",
}
VALUES = [
    NAME_OLD,
    NAME_NEW,
    PHONE_OLD,
    PHONE_NEW,
    EMAIL_OLD,
    EMAIL_NEW,
    DISTRICT,
    SIGNUP,
    BIRTHDAY,
    *CONTACT.values(),
]


def _forms(value: str) -> set[bytes]:
    """The bytes a value can be stored as: UTF-8, JSON-escaped, UTF-32 (a NumPy text array, as
    a saved model keeps its vocabulary), a phone with separators."""
    out = {value.encode(), json.dumps(value)[1:-1].encode(), value.encode("utf-32-le")}
    if value.isdigit():
        out |= {f"{value[:3]}{s}{value[3:7]}{s}{value[7:]}".encode() for s in "- "}
    return out


def _found(blob: bytes) -> set[str]:
    return {v for v in VALUES if any(f in blob for f in _forms(v))}


def _database_bytes(url: str) -> dict[str, bytes]:
    """Every byte the database keeps, by where: SQLite's files, or every PostgreSQL table's
    rows (``SELECT t::text``) and the raw pages of its files (where dead row versions lie)."""
    engine = make_engine(url)
    out = {}
    try:
        if engine.dialect.name == "sqlite":
            path = Path(make_url(url).database)
            for p in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm"))):
                out[p.name] = p.read_bytes() if p.exists() else b""
            return out
        with engine.connect() as con:
            tables = con.scalars(
                text("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ).all()
            for t in tables:
                rows = con.scalars(text(f'SELECT t::text FROM "{t}" t')).all()
                out[t] = "\n".join(rows).replace("\\\\", "\\").encode()
            con.exec_driver_sql("CHECKPOINT")  # pages on disk, so the files can be read
            files = con.execute(
                text(
                    "SELECT c.relname, pg_relation_filepath(c.oid) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i') "
                    "UNION SELECT c.relname || ' (toast)', pg_relation_filepath(c.reltoastrelid) "
                    "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE n.nspname = 'public' AND c.reltoastrelid <> 0"
                )
            ).all()
            for name, p in files:
                raw = con.scalar(text("SELECT pg_read_binary_file(:p)"), {"p": p})
                out[f"{name} (file)"] = bytes(raw)
            return out
    finally:
        engine.dispose()


def _found_in_database(url: str) -> dict[str, set[str]]:
    return {k: got for k, blob in _database_bytes(url).items() if (got := _found(blob))}


def _workspace_bytes(folder: Path) -> bytes:
    """Every workspace file's content, unpacked (gzip, and the zip of a saved model)."""
    blob = b""
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        data = path.read_bytes()
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                data = b"".join(archive.read(name) for name in archive.namelist())
        blob += data
    return blob


def _ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json() if r.content else {}


def _fill(http: httpx.Client, store, tmp_path: Path, workspace: Path) -> None:
    """The person, as an operator would record them, and mentions of them elsewhere."""
    # the rejects file a load keeps in the workspace (``kehu load``): rows quote the cells
    (workspace / "load-1-rejects.csv").write_text(
        "\ufeffkind,key,file,row,column,reason,value\n"
        f"customers,E1,customers.csv,3,客户名称,duplicate,{NAME_OLD}\n"
        f"customers,C9,customers.csv,4,备注,too_long,介绍人 {PHONE_OLD}\n",
        encoding="utf-8",
    )
    src = tmp_path / "source"
    src.mkdir()
    (src / "customers.csv").write_text(
        f"客户编号,客户名称,联系电话,省份,城市,渠道,业务员\nE1,{NAME_OLD},{PHONE_OLD},湖北省,十堰市,超市,王伟\n",
        encoding="utf-8",
    )
    load_files(store, customers=src / "customers.csv")
    with store() as s, s.begin():
        e1 = s.scalar(select(Customer.id).where(Customer.code == "E1"))
        s.add(Contact(customer_id=e1, role="owner", **CONTACT))
        # a load that failed on a cell of the person's (an importer's message quotes the cell)
        s.add(LoadRun(fingerprint="f" * 64, status="failed", error=f"row 2: bad {PHONE_OLD}"))

    line = {"product_id": "P1", "quantity": 2, "price": 50}
    order = {"order_id": "E1-O1", "customer_id": "E1", "order_time": "2024-06-15T10:00:00"}
    _ok(http.post("/orders", json={**order, "lines": [line]}), 201)
    changes = {"phone": PHONE_NEW, "email": EMAIL_OLD, "district": DISTRICT, "gender": "男"}
    _ok(http.patch("/customers/E1", json={**changes, "signup_date": SIGNUP}))
    _ok(http.patch("/customers/E1", json={"name": NAME_NEW, "email": EMAIL_NEW}))
    _ok(http.put("/loyalty/accounts/E1", json={"birthday": BIRTHDAY}))
    reason = f"补偿 {NAME_OLD} {PHONE_OLD}"
    _ok(http.post("/loyalty/accounts/E1/adjustments", json={"points": 100, "reason": reason}), 201)
    consent = {"purpose": "marketing_sms", "granted": True, "note": f"{PHONE_NEW} 电话同意"}
    _ok(http.post("/customers/E1/consents", json=consent), 201)

    call = {"customer_id": "E1", "kind": "call", "notes": f"给 {NAME_OLD} 打电话 {PHONE_OLD}"}
    got = _ok(http.post("/interactions", json={**call, "outcome": f"邮件 {EMAIL_NEW}"}), 201)
    _ok(http.patch(f"/interactions/{got['id']}", json={"notes": f"{NAME_NEW} 新号 {PHONE_NEW}"}))
    other = f"C1 老板介绍了 {NAME_NEW} ({PHONE_NEW}), 微信 {CONTACT['wechat']}"
    _ok(
        http.post("/interactions", json={"customer_id": "C1", "kind": "visit", "notes": other}), 201
    )
    _ok(
        http.post("/tasks", json={"customer_id": "E1", "title": f"回访 {NAME_NEW} {PHONE_NEW}"}),
        201,
    )
    _ok(http.post("/tasks", json={"customer_id": "C1", "title": f"问 {CONTACT['name']}"}), 201)
    answer = {"survey": "nps", "score": 9, "customer_id": "E1", "comment": f"{NAME_NEW}: 很好"}
    _ok(http.post("/surveys/answers", json=answer), 201)
    anonymous = {"survey": "csat", "score": 5, "comment": f"{EMAIL_OLD} 推荐"}
    _ok(http.post("/surveys/answers", json=anonymous), 201)

    # labelled feedback (English, so that whole values become words of the category model)
    labelled = [
        ("E1", f"{NAME_OLD} called from {PHONE_NEW} about the late delivery", "delivery_speed"),
        ("E1", f"{EMAIL_NEW} wrote: delivery took a week", "delivery_speed"),
        (None, f"customer {PHONE_OLD} says the price is too high", "price"),
    ]
    labelled += [
        ("C1", f"the delivery was late again, day {i}", "delivery_speed") for i in range(6)
    ]
    labelled += [("C2", f"the price is too high for item {i}", "price") for i in range(6)]
    for code, body, category in labelled:
        fb = {"text": body, "category": category, "customer_id": code}
        _ok(http.post("/feedback", json={k: v for k, v in fb.items() if v}), 201)
    _ok(
        http.post("/feedback", json={"customer_id": "C2", "text": f"{CONTACT['wechat']} 推荐的"}),
        201,
    )
    _ok(http.post("/feedback/model"), 201)

    target = {"filter": f"name = '{NAME_NEW}'"}
    campaign = {"name": "回访", "description": f"给 {NAME_NEW} 的活动", "channel": "sms"}
    _ok(http.post("/campaigns", json={**campaign, "target": target}), 201)
    exported = http.get("/customers/export", params={"filter": f"name contains '{NAME_NEW}'"})
    assert exported.status_code == 200 and NAME_NEW in exported.text
    refresh(store, as_of=dt.date(2024, 7, 1))  # E1's attributes in the classification results


def test_anonymise_leaves_no_trace_anywhere(
    server, auth, api_store, api_settings, store_backend, tmp_path
):
    backend, url = store_backend
    with httpx.Client(base_url=server, headers=auth["admin"], timeout=60) as http:
        _fill(http, api_store, tmp_path, api_settings.workspace)

        # what is about to be erased is really there (so the searches below mean something)
        person = _ok(http.get("/customers/E1/personal-data"))
        assert person["customer"]["name"] == NAME_NEW and person["contacts"][0]["wechat"]
        history = json.dumps(person["audit_log"], ensure_ascii=False)
        assert PHONE_OLD in history and PHONE_NEW in history and DISTRICT in history
        assert {m["table"] for m in person["mentions"]} >= {
            "interactions",
            "tasks",
            "survey_answers",
            "feedback",
            "campaigns",
            "audit_log",
            "load_runs",
        }
        assert {f["file"] for f in person["files"]} == {
            "load-1-rejects.csv",
            "feedback/category_model.json.gz",
        }
        before = _found_in_database(url)
        assert set().union(*before.values()) == set(VALUES)
        assert {NAME_OLD, PHONE_NEW, PHONE_OLD} <= _found(_workspace_bytes(api_settings.workspace))

        _ok(http.post("/customers/E1/anonymise", json={"note": "客户来电要求删除"}), 204)

        profile = _ok(http.get("/customers/E1"))["profile"]
        assert (profile["name"], profile["phone"], profile["email"]) == (
            "(已匿名 anonymised)",
            None,
            None,
        )
        assert profile["district"] is None and profile["signup_date"] is None
        c1_notes = [
            i["notes"]
            for i in _ok(http.get("/interactions", params={"customer_id": "C1"}))["items"]
        ]
        assert "C1 老板介绍了 [erased] ([erased]), 微信 [erased]" in c1_notes
        assert _ok(http.get("/orders/E1-O1"))["amount"] == 100  # the figures stay

    found_db = _found_in_database(url)
    if backend == "postgresql":
        # every row of every table is clean; PostgreSQL's VACUUM does not zero the space old
        # row versions took inside the pages, which a rewrite of the tables removes
        # (docs/privacy.md: VACUUM FULL in a maintenance window)
        assert {k: v for k, v in found_db.items() if not k.endswith("(file)")} == {}
        engine = make_engine(url)
        assert privacy.drop_old_versions(engine, full=True)["vacuumed"]
        engine.dispose()
        found_db = _found_in_database(url)
    assert found_db == {}, f"{backend}: still in the database: {found_db}"
    found_ws = _found(_workspace_bytes(api_settings.workspace))
    assert found_ws == set(), f"still in the workspace: {found_ws}"
    model = api_settings.workspace / "feedback" / "category_model.json.gz"
    assert model.is_file()  # retrained without the erased texts, not lost

    with api_store() as s:
        updates = s.scalars(
            select(AuditLog.changes)
            .where(AuditLog.action == "customer.update")
            .order_by(AuditLog.id)
        ).all()
        # who changed which field when is kept; the values are not
        assert updates[-2:] == [
            {k: "[erased]" for k in ("phone", "email", "district", "gender", "signup_date")},
            {"name": "[erased]", "email": "[erased]"},
        ]
        done = s.scalars(select(AuditLog).where(AuditLog.action == "privacy.anonymise")).one()
        assert done.note == "客户来电要求删除" and done.changes["category_model"] == "retrained"
        assert done.changes["files"] == 1
