"""The API over real HTTP: uvicorn on a free localhost port."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from kehu.api import create_app


@pytest.fixture
def server(api_settings):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(api_settings), host="127.0.0.1", port=port, log_level="warning"
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):  # wait until it listens (bounded, not a timing assertion)
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


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
