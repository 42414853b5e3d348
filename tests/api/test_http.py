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
