"""Targets over the API: set, read, delete, upload; bad input and roles."""

from __future__ import annotations

API = "/targets"
ROWS = [
    {"month": "2024-06", "dimension": "rep", "name": "王伟", "sales": 5000, "active_customers": 2},
    {"month": "2024-06", "dimension": "channel", "name": "超市", "sales": 3000},
]


def test_manager_sets_reads_updates_and_deletes(client, auth):
    r = client.put(API, json={"targets": ROWS}, headers=auth["boss"])
    assert r.status_code == 200, r.text
    assert {t["name"] for t in r.json()["items"]} == {"王伟", "超市"}
    again = client.put(
        API, json={"targets": [ROWS[0] | {"sales": 6000}]}, headers=auth["boss"]
    )  # the same month again: an update
    assert again.status_code == 200
    got = client.get(API, params={"month": "2024-06"}, headers=auth["admin"]).json()["items"]
    assert {(t["name"], t["sales"]) for t in got} == {("王伟", 6000.0), ("超市", 3000.0)}
    assert got[0]["set_by"] == "boss"
    r = client.delete(
        API,
        params={"month": "2024-06", "dimension": "channel", "name": "超市"},
        headers=auth["boss"],
    )
    assert r.status_code == 204
    r = client.delete(
        API,
        params={"month": "2024-06", "dimension": "channel", "name": "超市"},
        headers=auth["boss"],
    )
    assert r.status_code == 404
    audit = client.get("/audit", params={"entity": "target"}, headers=auth["admin"])
    assert audit.status_code == 200
    assert {e["action"] for e in audit.json()} >= {"create", "update", "delete"}


def test_a_rep_reads_only_their_own_targets_and_may_not_set(client, auth):
    client.put(
        API,
        json={
            "targets": [*ROWS, {"month": "2024-06", "dimension": "rep", "name": "李娜", "sales": 1}]
        },
        headers=auth["boss"],
    )
    mine = client.get(API, headers=auth["wang"]).json()["items"]
    assert [(t["dimension"], t["name"]) for t in mine] == [("rep", "王伟")]
    assert client.put(API, json={"targets": ROWS}, headers=auth["wang"]).status_code == 403
    for user in ("kefu", "ana"):
        assert client.get(API, headers=auth[user]).status_code == 403
    r = client.delete(
        API, params={"month": "2024-06", "dimension": "rep", "name": "王伟"}, headers=auth["li"]
    )
    assert r.status_code == 403


def test_bad_input_is_422_and_writes_nothing(client, auth):
    bad = [
        {"month": "2024-13", "dimension": "rep", "name": "王伟", "sales": 1},
        {"month": "2024-06", "dimension": "city", "name": "王伟", "sales": 1},
        {"month": "2024-06", "dimension": "rep", "name": "nobody", "sales": 1},
        {"month": "2024-06", "dimension": "rep", "name": "王伟", "sales": -1},
        {"month": "2024-06", "dimension": "rep", "name": "王伟", "sales": "many"},
        {"month": "2024-06", "dimension": "rep", "name": "王伟"},
        {"month": "2024-06", "dimension": "rep", "name": "王伟", "active_customers": 1.5},
    ]
    for row in bad:
        r = client.put(API, json={"targets": [ROWS[1], row]}, headers=auth["boss"])
        assert r.status_code == 422, (row, r.text)
    assert client.get(API, headers=auth["boss"]).json()["items"] == []


def test_upload_csv_all_or_nothing_with_row_and_column(client, auth):
    good = (
        "月份,维度,名称,销售目标,活跃客户目标\n"
        "2024-06,业务员,王伟,5000,2\n2024-06,渠道,超市,3000,\n"
    )
    r = client.post(
        f"{API}/upload",
        files={"file": ("t.csv", good.encode(), "text/csv")},
        headers=auth["boss"],
    )
    assert r.status_code == 200, r.text
    assert len(r.json()["items"]) == 2
    again = client.post(
        f"{API}/upload",
        files={"file": ("t.csv", good.encode(), "text/csv")},
        headers=auth["boss"],
    )
    assert again.status_code == 200  # idempotent
    bad = "month,dimension,name,sales\n2024-07,rep,王伟,100\n2024-07,rep,王伟,abc\n"
    r = client.post(
        f"{API}/upload",
        files={"file": ("bad.csv", bad.encode(), "text/csv")},
        headers=auth["boss"],
    )
    assert r.status_code == 422
    message = r.json()["error"]["message"]
    assert "bad.csv" in message and "row 3" in message and "column sales" in message
    assert client.get(API, params={"month": "2024-07"}, headers=auth["boss"]).json()["items"] == []
    junk = client.post(
        f"{API}/upload",
        files={"file": ("x.xlsx", b"not excel", "application/octet-stream")},
        headers=auth["boss"],
    )
    assert junk.status_code == 422
    assert (
        client.post(
            f"{API}/upload",
            files={"file": ("t.csv", good.encode(), "text/csv")},
            headers=auth["wang"],
        ).status_code
        == 403
    )
