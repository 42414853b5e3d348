"""Interactions and tasks over HTTP: scoping per rep, transitions, overdue lists, errors."""

from __future__ import annotations

from sqlalchemy import select

from kehu.store.models import User


def _error(r, status, code):
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code and r.json()["error"]["message"]
    return r.json()["error"]


def test_refresh_made_revisit_tasks(client, auth):
    # the fixture's refresh: C1 重要价值 (visit), C3 一般发展 (wechat), C4 重要保持 (call)
    got = client.get("/tasks", headers=auth["boss"]).json()
    assert got["total"] == 3
    assert {(t["customer_id"], t["kind"]) for t in got["items"]} == {
        ("C1", "visit"),
        ("C3", "wechat"),
        ("C4", "call"),
    }
    assert all(t["source"].startswith("revisit:rfm8:") for t in got["items"])
    mine = client.get("/tasks", headers=auth["wang"]).json()
    assert [t["customer_id"] for t in mine["items"]] == ["C1"]
    rules = client.get("/tasks/revisit-rules", headers=auth["wang"]).json()
    assert {k: rules[0][k] for k in ("classifier", "class_name", "kind", "due_days")} == {
        "classifier": "rfm8",
        "class_name": "重要挽留客户",
        "kind": "call",
        "due_days": 3,
    }


def test_task_lifecycle_and_overdue(client, auth, api_store):
    h = auth["wang"]
    r = client.post(
        "/tasks",
        json={"customer_id": "C2", "title": "催收货款", "kind": "call", "due_date": "2024-07-03"},
        headers=h,
    )
    assert r.status_code == 201, r.text
    task = r.json()
    assert (task["status"], task["overdue"]) == ("open", True)
    groups = client.get("/tasks/overdue", headers=auth["boss"]).json()
    assert [(g["username"], g["overdue"]) for g in groups] == [("wang", 1)]
    assert groups[0]["tasks"][0]["id"] == task["id"]
    assert client.get("/tasks/overdue", headers=auth["li"]).json() == []
    assert client.get("/tasks?overdue=true", headers=h).json()["total"] == 1
    done = client.patch(f"/tasks/{task['id']}", json={"status": "done"}, headers=h).json()
    assert done["status"] == "done" and done["done_at"]
    _error(
        client.patch(f"/tasks/{task['id']}", json={"status": "cancelled"}, headers=h),
        409,
        "conflict",
    )
    assert client.get("/tasks/overdue", headers=auth["boss"]).json() == []
    # a rep may not assign to someone else, nor reach another rep's task
    with api_store() as s:
        other = s.scalar(select(User.id).where(User.username == "li"))
    _error(
        client.patch(f"/tasks/{task['id']}", json={"owner_id": other}, headers=h),
        403,
        "forbidden",
    )
    _error(client.get(f"/tasks/{task['id']}", headers=auth["li"]), 404, "not_found")
    _error(
        client.patch(f"/tasks/{task['id']}", json={"status": "open"}, headers=auth["li"]),
        404,
        "not_found",
    )


def test_interactions(client, auth):
    h = auth["wang"]
    task = client.post("/tasks", json={"customer_id": "C1", "title": "回访"}, headers=h).json()
    body = {
        "customer_id": "C1",
        "kind": "wechat",
        "notes": "发了新品目录",
        "outcome": "下周下单",
        "task_id": task["id"],
        "complete_task": True,
    }
    r = client.post("/interactions", json=body, headers=h)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["customer_id"], got["kind"], got["task_id"]) == ("C1", "wechat", task["id"])
    assert client.get(f"/tasks/{task['id']}", headers=h).json()["status"] == "done"
    listed = client.get("/interactions?customer_id=C1", headers=h).json()
    assert listed["total"] == 1 and listed["items"][0]["notes"] == "发了新品目录"
    patched = client.patch(f"/interactions/{got['id']}", json={"outcome": "已下单"}, headers=h)
    assert patched.json()["outcome"] == "已下单"
    view = client.get("/customers/C1", headers=h).json()
    assert view["interactions"][0]["outcome"] == "已下单"
    # scoping and roles
    _error(client.get(f"/interactions/{got['id']}", headers=auth["li"]), 404, "not_found")
    _error(
        client.post("/interactions", json={**body, "customer_id": "C1"}, headers=auth["li"]),
        404,
        "not_found",
    )
    _error(
        client.post(
            "/interactions", json={"customer_id": "C1", "kind": "call"}, headers=auth["ana"]
        ),
        403,
        "forbidden",
    )
    assert client.get("/interactions", headers=auth["li"]).json()["total"] == 0
    # bad input is a 422, never a 500
    _error(
        client.post("/interactions", json={"customer_id": "C1", "kind": "fax"}, headers=h),
        422,
        "validation_error",
    )
    _error(client.get("/tasks?status=later", headers=h), 422, "validation_error")
    _error(
        client.post("/tasks", json={"customer_id": "C1", "title": ""}, headers=h),
        422,
        "validation_error",
    )
    _error(client.get("/tasks/0", headers=h), 422, "validation_error")
    _error(client.get("/interactions/999999", headers=h), 404, "not_found")
    _error(
        client.post("/tasks", json={"customer_id": "NOPE", "title": "x"}, headers=h),
        404,
        "not_found",
    )
