"""The REST API through TestClient: errors, roles, scoping, orders, customers, runs."""

from __future__ import annotations

ORDER = {
    "order_id": "API-1",
    "customer_id": "C1",
    "order_time": "2024-07-02T09:30:00",
    "lines": [{"product_id": "P1", "quantity": 2, "price": 50}],
}


def _error(r, status, code):
    assert r.status_code == status, r.text
    body = r.json()["error"]
    assert body["code"] == code and body["message"]
    return body


def test_health_and_openapi(client):
    assert client.get("/health").json()["status"] == "ok"
    paths = client.get("/openapi.json").json()["paths"]
    expected = {"/customers", "/customers/{customer_id}", "/orders", "/runs"}
    assert {f"/api/v1{p}" for p in expected} <= set(paths)


def test_authentication(client, login):
    _error(client.get("/customers"), 401, "unauthenticated")
    r = client.get("/customers", headers={"Authorization": "Bearer kehu_nope"})
    _error(r, 401, "unauthenticated")
    _error(login(client, "wang", "wrong password"), 401, "unauthenticated")
    r = login(client, "wang")
    me = client.get("/auth/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"})
    assert me.json()["role"] == "rep" and me.json()["rep_name"] == "王伟"


def test_login_rate_limit(client, login):
    for _ in range(5):
        login(client, "li", "bad guess")
    r = login(client, "li")
    _error(r, 429, "rate_limited")
    assert int(r.headers["Retry-After"]) > 0


def test_api_tokens(client, auth):
    r = client.post("/auth/tokens", json={"name": "etl"}, headers=auth["ana"])
    assert r.status_code == 201
    token = r.json()["token"]
    got = client.get("/customers", headers={"Authorization": f"Bearer {token}"})
    assert got.status_code == 200
    listed = client.get("/auth/tokens", headers=auth["ana"]).json()
    assert [t["name"] for t in listed] == ["etl"] and "token" not in listed[0]
    assert client.delete(f"/auth/tokens/{listed[0]['id']}", headers=auth["ana"]).status_code == 204
    _error(
        client.get("/customers", headers={"Authorization": f"Bearer {token}"}),
        401,
        "unauthenticated",
    )


def _codes(r):
    assert r.status_code == 200, r.text
    return [i["customer_id"] for i in r.json()["items"]]


def test_rep_cannot_reach_another_reps_customer_by_any_endpoint(client, auth):
    h = auth["wang"]  # 王伟: C1, C2.  C3 belongs to 李娜.
    assert _codes(client.get("/customers", headers=h)) == ["C1", "C2"]
    assert _codes(client.get("/customers", params={"rep": "李娜"}, headers=h)) == []
    assert (
        _codes(client.get("/customers", params={"filter": "customer_id = 'C3'"}, headers=h)) == []
    )
    export = client.get("/customers/export", headers=h)
    assert export.status_code == 200 and "C3" not in export.text and "C1" in export.text
    for method, path, body in (
        ("GET", "/customers/C3", None),
        ("PATCH", "/customers/C3", {"name": "x"}),
        ("PUT", "/customers/C3/tags", {"tags": ["x"]}),
        ("GET", "/customers/C3/consents", None),
        ("POST", "/customers/C3/consents", {"purpose": "marketing_sms", "granted": True}),
        ("GET", "/orders/O301", None),
    ):
        r = client.request(method, path, json=body, headers=h)
        _error(r, 404, "not_found")
    # creating under a taken customer id answers the same whoever holds it (issue 9)
    r = client.post("/orders", json={**ORDER, "order_id": "W-1", "customer_id": "C3"}, headers=h)
    same = client.post("/customers", json={"customer_id": "C3"}, headers=h).json()["error"]
    assert _error(r, 409, "conflict")["message"] == same["message"]
    for method, path, body in (
        ("GET", "/customers/C3/personal-data", None),
        ("POST", "/customers/C3/anonymise", {}),
        ("GET", "/audit", None),
        ("GET", "/users", None),
    ):
        _error(client.request(method, path, json=body, headers=h), 403, "forbidden")
    run_id = client.get("/runs", headers=h).json()[0]["id"]
    assert client.get(f"/runs/{run_id}/alerts", headers=h).status_code == 200
    # and their own customers work
    assert client.get("/customers/C1", headers=h).json()["profile"]["phone"] == "13812345678"
    assert client.get("/orders/O101", headers=h).status_code == 200


def test_every_roles_access(client, auth):
    matrix = {
        # user: (list, 360 of C3, patch C3, post order, export, refresh, audit, users)
        "admin": (4, 200, 200, 201, 200, 201, 200, 200),
        "boss": (4, 200, 200, 201, 200, 201, 200, 403),
        "li": (2, 200, 200, 201, 200, 403, 403, 403),
        "kefu": (4, 200, 403, 403, 403, 403, 403, 403),
        "ana": (4, 200, 403, 403, 200, 201, 403, 403),
    }
    for i, (user, expected) in enumerate(matrix.items()):
        h = auth[user]
        got = (
            len(_codes(client.get("/customers", headers=h))),
            client.get("/customers/C3", headers=h).status_code,
            client.patch("/customers/C3", json={"size": "大"}, headers=h).status_code,
            client.post(
                "/orders", json={**ORDER, "order_id": f"R{i}", "customer_id": "C3"}, headers=h
            ).status_code,
            client.get("/customers/export", headers=h).status_code,
            client.post("/runs", json={"as_of": "2024-07-01"}, headers=h).status_code,
            client.get("/audit", headers=h).status_code,
            client.get("/users", headers=h).status_code,
        )
        assert got == expected, user


def test_masking_by_role(client, auth):
    item = client.get("/customers", params={"sort": "customer_id"}, headers=auth["ana"]).json()
    assert item["items"][0]["phone"] == "138****5678"
    assert (
        client.get("/customers/C1", headers=auth["ana"]).json()["profile"]["phone"] == "138****5678"
    )
    assert (
        client.get("/customers/C1", headers=auth["kefu"]).json()["profile"]["phone"]
        == "13812345678"
    )


def test_orders_are_idempotent(client, auth):
    h = auth["boss"]
    first = client.post("/orders", json=ORDER, headers=h)
    assert first.status_code == 201 and first.json()["created"] and first.json()["amount"] == 100
    again = client.post("/orders", json=ORDER, headers=h)
    assert again.status_code == 200 and not again.json()["created"]
    changed = {**ORDER, "lines": [{"product_id": "P1", "amount": 10}]}
    _error(client.post("/orders", json=changed, headers=h), 409, "conflict")
    got = client.get("/orders/API-1", headers=h).json()
    assert got["lines"][0]["amount"] == 100 and got["customer_id"] == "C1"
    # a new customer is created on the fly
    new = client.post(
        "/orders", json={**ORDER, "order_id": "API-2", "customer_id": "N9"}, headers=h
    )
    assert new.status_code == 201
    assert client.get("/customers/N9", headers=h).json()["orders_summary"]["orders"] == 1


BAD_ORDERS = [
    {**ORDER, "lines": []},
    {**ORDER, "order_id": ""},
    {**ORDER, "order_time": "yesterday"},
    {**ORDER, "customer_id": "C\x001"},
    {**ORDER, "lines": [{"quantity": 1e300}]},
    {**ORDER, "lines": [{"product_id": "P1"}]},
    {**ORDER, "unknown": 1},
    [],
]


def test_bad_orders_are_422(client, auth):
    for body in BAD_ORDERS:
        r = client.post("/orders", json=body, headers=auth["admin"])
        _error(r, 422, "validation_error")
    assert client.get("/orders/API-1", headers=auth["admin"]).status_code == 404


def test_customer_list_filters_and_errors(client, auth):
    h = auth["boss"]
    assert _codes(client.get("/customers", params={"rfm8": "重要价值客户"}, headers=h)) == ["C1"]
    r = client.get("/customers", params={"filter": "orders >= 4", "sort": "-orders"}, headers=h)
    assert _codes(r) == ["C4", "C1"] and r.json()["total"] == 2
    r = client.get("/customers", params={"page": 2, "page_size": 3}, headers=h)
    assert _codes(r) == ["C4"] and r.json()["total"] == 4
    body = _error(
        client.get("/customers", params={"filter": "orders >>= 4"}, headers=h), 422, "filter_syntax"
    )
    assert body["details"]["position"] == 8
    _error(client.get("/customers", params={"sort": "nope"}, headers=h), 422, "validation_error")
    _error(client.get("/customers", params={"page_size": 0}, headers=h), 422, "validation_error")
    _error(client.get("/customers/NOPE", headers=h), 404, "not_found")


def test_customer_changes_consents_export(client, auth):
    h = auth["boss"]
    r = client.patch("/customers/C2", json={"name": "南京新店", "region": "华东"}, headers=h)
    assert r.status_code == 200 and r.json()["profile"]["region"] == "华东"
    assert client.put("/customers/C2/tags", json={"tags": ["VIP"]}, headers=h).json() == ["VIP"]
    assert _codes(client.get("/customers", params={"tag": "VIP"}, headers=h)) == ["C2"]
    r = client.post(
        "/customers/C2/consents",
        json={"purpose": "marketing_sms", "granted": False},
        headers=auth["kefu"],
    )
    assert r.status_code == 201
    assert (
        client.get("/customers/C2", headers=h).json()["consents"]["marketing_sms"]["granted"]
        is False
    )
    audit = client.get("/audit", params={"entity": "customer", "entity_id": "C2"}, headers=h).json()
    assert {a["action"] for a in audit} >= {"customer.update", "customer.tags", "consent.withdraw"}
    csv = client.get("/customers/export", params={"region": "华东"}, headers=h)
    assert csv.headers["content-type"].startswith("text/csv") and "南京新店" in csv.text
    xlsx = client.get("/customers/export", params={"format": "xlsx"}, headers=h)
    assert xlsx.content[:2] == b"PK"
    person = client.get("/customers/C2/personal-data", headers=auth["admin"]).json()
    assert person["customer"]["code"] == "C2"
    assert client.post("/customers/C2/anonymise", json={}, headers=auth["admin"]).status_code == 204
    assert client.get("/customers/C2", headers=h).json()["profile"]["phone"] is None


def test_create_customer_and_users(client, auth):
    r = client.post(
        "/customers",
        json={"customer_id": "C7", "name": "新客户", "tags": ["新"]},
        headers=auth["wang"],
    )
    assert r.status_code == 201 and r.json()["profile"]["sales_rep"] == "王伟"
    _error(
        client.post("/customers", json={"customer_id": "C7"}, headers=auth["admin"]),
        409,
        "conflict",
    )
    r = client.post(
        "/users",
        json={"username": "zhao", "password": "password-9", "role": "rep", "rep_name": "赵六"},
        headers=auth["admin"],
    )
    assert r.status_code == 201 and "password" not in str(r.json())
    _error(
        client.post(
            "/users",
            json={"username": "zhao", "password": "password-9", "role": "analyst"},
            headers=auth["admin"],
        ),
        409,
        "conflict",
    )
    _error(
        client.post(
            "/users", json={"username": "x", "password": "p", "role": "god"}, headers=auth["admin"]
        ),
        422,
        "validation_error",
    )


def test_runs(client, auth):
    h = auth["ana"]
    runs = client.get("/runs", headers=h).json()
    assert [r["status"] for r in runs] == ["succeeded"]
    detail = client.get(f"/runs/{runs[0]['id']}", headers=h).json()
    assert {c["classifier"] for c in detail["classifiers"]} >= {"rfm8", "segment", "lifecycle"}
    _error(client.get("/runs/999", headers=h), 404, "not_found")
    r = client.post("/runs", json={"as_of": "2024-07-01"}, headers=h)
    assert r.status_code == 201 and r.json()["previous_run_id"] == runs[0]["id"]


def test_free_form_answers_carry_utc_offsets(client, auth):
    """The customer page's and the personal-data export's times are RFC 3339 like typed
    fields; an order's time is its wall-clock time, without offset."""
    c = client.get("/customers/C1", headers=auth["boss"]).json()
    assert c["profile"]["created_at"].endswith("Z")
    assert c["run"]["finished_at"].endswith("Z")
    assert not c["recent_orders"][0]["order_time"].endswith("Z")
    person = client.get("/customers/C1/personal-data", headers=auth["admin"]).json()
    assert person["exported_at"].endswith("Z")
