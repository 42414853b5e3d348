"""The API over real HTTP: uvicorn on a free localhost port."""

from __future__ import annotations

import httpx


def test_real_http_round_trip(server, login):
    with httpx.Client(base_url=server, timeout=30) as http:
        assert http.get("/health").json()["status"] == "ok"
        r = login(http, "wang")
        assert r.status_code == 200
        h = {"Authorization": f"Bearer {r.json()['access_token']}"}
        page = http.get("/customers", params={"sort": "-monetary"}, headers=h).json()
        assert [i["customer_id"] for i in page["items"]] == ["C1", "C2"]
        view = http.get("/customers/C1", headers=h).json()
        assert {c["classifier"]: c["label"] for c in view["classes"]}["rfm8"] == "重要价值客户"
        assert http.get("/customers/C3", headers=h).json()["error"]["code"] == "not_found"
        order = {
            "order_id": "H1",
            "customer_id": "C1",
            "order_time": "2024-07-03T10:00:00+08:00",
            "lines": [{"product_id": "P2", "quantity": 1, "price": 100}],
        }
        assert http.post("/orders", json=order, headers=h).status_code == 201
        assert http.post("/orders", json=order, headers=h).status_code == 200
        got = http.get("/orders/H1", headers=h).json()
        assert got["order_time"] == "2024-07-03T10:00:00"  # wall-clock time kept


# --- exports: a cell is data, never a formula ---------------------------------------------------

#: names a spreadsheet would run as formulas (OWASP CSV injection)
FORMULAS = {"F1": '=HYPERLINK("http://x","y")', "F2": "+1", "F3": "@SUM(1)", "F4": "-2+3"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _no_formulas(content: bytes) -> dict[str, str]:
    """Every cell of every sheet is a value; returns customer id -> name of the first sheet."""
    import io

    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content))
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                assert cell.data_type != "f", (sheet.title, cell.coordinate, cell.value)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    col = rows[0].index("name")
    return {r[0]: r[col] for r in rows[1:]}


def _csv_names(content: bytes) -> dict[str, str]:
    import csv
    import io

    rows = list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))
    return {r["customer_id"]: r["name"] for r in rows}


def test_exports_never_write_formulas(server, login):
    with httpx.Client(base_url=server, timeout=30) as http:
        h = {"Authorization": f"Bearer {login(http, 'admin').json()['access_token']}"}
        for code, name in FORMULAS.items():
            body = {"customer_id": code, "name": name, "tags": ["fx"]}
            assert http.post("/customers", json=body, headers=h).status_code == 201
            consent = {"purpose": "marketing_sms", "granted": True}
            assert http.post(f"/customers/{code}/consents", json=consent, headers=h).is_success

        r = http.get("/customers/export", params={"tag": "fx"}, headers=h)
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        assert _csv_names(r.content) == {c: "'" + n for c, n in FORMULAS.items()}
        r = http.get("/customers/export", params={"tag": "fx", "format": "xlsx"}, headers=h)
        assert r.headers["content-type"] == XLSX
        assert _no_formulas(r.content) == FORMULAS

        target = {"tags": ["fx"]}
        camp = {"name": "fx", "channel": "sms", "target": target, "control_share": 0}
        cid = http.post("/campaigns", json=camp, headers=h).json()["id"]
        assert http.post(f"/campaigns/{cid}/audience", headers=h).json()["members"] == 4
        url = f"/campaigns/{cid}/export"
        r = http.get(url, params={"group": "all"}, headers=h)
        assert r.headers["content-type"] == "text/csv; charset=utf-8"
        assert _csv_names(r.content) == {c: "'" + n for c, n in FORMULAS.items()}
        r = http.get(url, params={"group": "all", "format": "xlsx"}, headers=h)
        assert r.headers["content-type"] == XLSX
        assert _no_formulas(r.content) == FORMULAS


# --- the OpenAPI contract ------------------------------------------------------------------------


def _admin(http, login) -> dict[str, str]:
    return {"Authorization": f"Bearer {login(http, 'admin').json()['access_token']}"}


def _is_utc(value: str) -> bool:
    import datetime as dt

    return value.endswith(("Z", "+00:00")) and dt.datetime.fromisoformat(value).utcoffset() == (
        dt.timedelta(0)
    )


def test_times_carry_their_offset(server, login):
    """The store keeps naive UTC; answers say so (RFC 3339), as the schema's date-time does."""
    with httpx.Client(base_url=server, timeout=30) as http:
        token = login(http, "admin").json()
        assert _is_utc(token["expires_at"])
        h = {"Authorization": f"Bearer {token['access_token']}"}
        run = http.get("/runs", headers=h).json()[0]
        assert _is_utc(run["started_at"]) and _is_utc(run["finished_at"])
        assert all(_is_utc(u["created_at"]) for u in http.get("/users", headers=h).json())
        assert all(_is_utc(a["at"]) for a in http.get("/audit", headers=h).json())
        # an input with an offset is the same instant in UTC
        body = {"customer_id": "C1", "kind": "call", "occurred_at": "2024-07-01T10:00:00+08:00"}
        made = http.post("/interactions", json=body, headers=h).json()
        assert made["occurred_at"] == "2024-07-01T02:00:00Z"
        assert http.get(f"/interactions/{made['id']}", headers=h).json() == made
        # an order's time is the shop's wall clock: no offset, declared so
        schema = http.get("/openapi.json").json()["components"]["schemas"]
        assert schema["RunOut"]["properties"]["started_at"]["format"] == "date-time"
        assert "format" not in schema["OrderOut"]["properties"]["order_time"]
        assert http.get("/orders/O101", headers=h).json()["order_time"] == "2024-06-01T10:00:00"


def test_dates_are_strings_not_numbers(server, login):
    """``as_of: 0`` once recomputed every tier as of 1970-01-01; a date is YYYY-MM-DD only."""
    with httpx.Client(base_url=server, timeout=30) as http:
        h = _admin(http, login)
        for code in ("C1", "C2", "C3", "C4"):
            assert http.put(f"/loyalty/accounts/{code}", json={}, headers=h).is_success
        for bad in (0, 20240701, "2024-07-01T00:00:00", True):
            r = http.post("/loyalty/jobs/tiers", json={"as_of": bad}, headers=h)
            assert r.status_code == 422, (bad, r.text)
            assert r.json()["error"]["details"][0]["location"] == "body.as_of"
        assert http.post("/runs", json={"as_of": 0}, headers=h).status_code == 422
        r = http.get("/feedback/report", params={"until": "0"}, headers=h)
        assert r.status_code == 422
        actions = {a["action"] for a in http.get("/audit", headers=h).json()}
        assert "loyalty.tiers" not in actions  # nothing recomputed
        assert http.post("/loyalty/jobs/tiers", json={"as_of": "2024-07-01"}, headers=h).is_success
        # integers and booleans are JSON's too: not "5", not true
        answer = {"survey": "nps", "customer_id": "C1", "score": True}
        assert http.post("/surveys/answers", json=answer, headers=h).status_code == 422
        answer["score"] = "9"
        assert http.post("/surveys/answers", json=answer, headers=h).status_code == 422
        answer["score"] = 9.0  # JSON Schema's integer
        assert http.post("/surveys/answers", json=answer, headers=h).status_code == 201
        schema = http.get("/openapi.json").json()["components"]["schemas"]
        assert schema["AsOfIn"]["properties"]["as_of"] == {
            "type": "string",
            "format": "date",
            "title": "As Of",
        }


def test_exports_declare_what_they_send(server, login):
    with httpx.Client(base_url=server, timeout=30) as http:
        h = _admin(http, login)
        paths = http.get("/openapi.json").json()["paths"]
        for path in ("/customers/export", "/campaigns/{campaign_id}/export"):
            declared = paths["/api/v1" + path]["get"]["responses"]["200"]["content"]
            assert set(declared) == {"text/csv; charset=utf-8", XLSX}, path
        for fmt, media in (("csv", "text/csv; charset=utf-8"), ("xlsx", XLSX)):
            r = http.get("/customers/export", params={"format": fmt}, headers=h)
            assert r.headers["content-type"] == media


def test_methods_are_answered_with_allow(server, login):
    with httpx.Client(base_url=server, timeout=30) as http:
        h = _admin(http, login)
        for path, allow in (
            ("/customers", "GET, OPTIONS, POST"),
            ("/customers/C1", "GET, OPTIONS, PATCH"),
            ("/tasks/overdue", "GET, OPTIONS"),
            ("/auth/tokens", "GET, OPTIONS, POST"),
        ):
            r = http.options(path)
            assert (r.status_code, r.headers["allow"]) == (204, allow), path
        r = http.delete("/customers", headers=h)
        assert (r.status_code, r.headers["allow"]) == (405, "GET, OPTIONS, POST")
        assert r.json()["error"]["code"] == "method_not_allowed"
        # /tasks/overdue is not /tasks/{task_id} with a bad id
        r = http.patch("/tasks/overdue", json={}, headers=h)
        assert (r.status_code, r.headers["allow"]) == (405, "GET, OPTIONS")
        assert http.options("/nowhere").status_code == 404
        # one value for a single-valued parameter
        r = http.get("/customers?page=1&page=2", headers=h)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["location"] == "query.page"
        assert http.get("/customers?rfm8=a&rfm8=b", headers=h).status_code == 200  # a list


def test_unreadable_bodies_are_documented_errors(server, login):
    with httpx.Client(base_url=server, timeout=30) as http:
        h = _admin(http, login)
        json_type = {**h, "Content-Type": "application/json"}
        for content, headers, status, code in (
            (b'{"customer_id": "C1", "title": ', json_type, 400, "malformed_body"),
            (b'{"customer_id": "C1", "title": "\xff"}', json_type, 400, "malformed_body"),
            (
                b'{"customer_id": "C1", "title": "x"}',
                {**h, "Content-Type": "text/plain"},
                422,
                None,
            ),
            (
                b"customer_id=C1&title=x",
                {**h, "Content-Type": "application/x-www-form-urlencoded"},
                422,
                None,
            ),
        ):
            r = http.post("/tasks", content=content, headers=headers)
            assert r.status_code == status, (content, r.text)
            assert set(r.json()["error"]) >= {"code", "message"}
            assert code is None or r.json()["error"]["code"] == code
        responses = http.get("/openapi.json").json()["paths"]["/api/v1/tasks"]["post"]["responses"]
        assert {"400", "422"} <= set(responses)


def test_rules_are_declared(server, login):
    """Non-blank names and text without NUL: in the schema, and enforced as declared."""
    import re

    with httpx.Client(base_url=server, timeout=30) as http:
        h = _admin(http, login)
        schema = http.get("/openapi.json").json()["components"]["schemas"]
        name = schema["CampaignIn"]["properties"]["name"]
        assert name["minLength"] == 1
        assert re.fullmatch(name["pattern"], "回流短信") and not re.fullmatch(
            name["pattern"], " \t"
        )
        note = schema["ConsentIn"]["properties"]["note"]["anyOf"][0]
        assert not re.fullmatch(note["pattern"], "a\x00b") and re.fullmatch(note["pattern"], "ab")
        body = {"name": " \u3000", "channel": "sms", "target": {"filter": "orders >= 1"}}
        r = http.post("/campaigns", json=body, headers=h)
        assert r.status_code == 422 and r.json()["error"]["details"][0]["location"] == "body.name"
        body = {"customer_id": "C1", "title": "a\x00b"}
        assert http.post("/tasks", json=body, headers=h).status_code == 422
