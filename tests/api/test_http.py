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
