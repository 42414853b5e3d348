"""Campaigns over the API: roles, consent exclusion, members masked by role, export,
webhook sending to a local server, launch, attribution of API orders and the report."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def _error(r, status, code):
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    return r.json()["error"]


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        self.server.calls.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    srv.calls = []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv, f"http://127.0.0.1:{srv.server_address[1]}/sms"
    srv.shutdown()
    srv.server_close()


def test_campaign_flow_per_role(client, auth, webhook):
    hook, url = webhook
    for code in ("C1", "C2", "C4"):
        r = client.post(
            f"/customers/{code}/consents",
            json={"purpose": "marketing_sms", "granted": True},
            headers=auth["kefu"],
        )
        assert r.status_code == 201
    # C4 opts out of personalised marketing; C3 never consented
    client.patch("/customers/C4", json={"no_personalised_marketing": True}, headers=auth["boss"])
    body = {
        "name": "回流短信",
        "channel": "sms",
        "target": {"classes": {"rfm8": ["重要价值客户", "一般挽留客户", "重要保持客户"]}},
        "control_share": 0.5,
        "seed": 3,
        "response_days": 10,
        "webhook_url": url,
    }
    for who in ("wang", "kefu", "ana"):
        _error(client.post("/campaigns", json=body, headers=auth[who]), 403, "forbidden")
    bad = {**body, "target": {"filter": "orders >> 3"}}
    _error(client.post("/campaigns", json=bad, headers=auth["boss"]), 422, "filter_syntax")
    _error(
        client.post("/campaigns", json={**body, "target": {}}, headers=auth["boss"]),
        422,
        "validation_error",
    )
    r = client.post("/campaigns", json=body, headers=auth["boss"])
    assert r.status_code == 201 and r.json()["status"] == "draft"
    cid = r.json()["id"]
    _error(client.get(f"/campaigns/{cid}/report", headers=auth["ana"]), 409, "conflict")
    _error(client.post(f"/campaigns/{cid}/audience", headers=auth["ana"]), 403, "forbidden")

    aud = client.post(f"/campaigns/{cid}/audience", headers=auth["boss"]).json()
    assert (aud["targeted"], aud["excluded_no_marketing"], aud["excluded_no_consent"]) == (3, 1, 0)
    assert (aud["members"], aud["treatment"], aud["control"]) == (2, 1, 1)
    members = client.get(f"/campaigns/{cid}/members", headers=auth["ana"]).json()
    assert sorted(m["customer_id"] for m in members["items"]) == ["C1", "C2"]
    assert all("****" in m["phone"] for m in members["items"])  # the analyst sees masked phones
    _error(client.get(f"/campaigns/{cid}/members", headers=auth["wang"]), 403, "forbidden")
    csv_text = client.get(f"/campaigns/{cid}/export?group=all", headers=auth["boss"]).text
    assert csv_text.lstrip("\ufeff").startswith("customer_id,name,phone")
    assert len(csv_text.strip().splitlines()) == 3

    sent = client.post(f"/campaigns/{cid}/send", json={}, headers=auth["boss"]).json()
    assert sent == {"sent": 1, "failed": 0, "batches": 1}
    treated = hook.calls[0]["members"][0]["customer_id"]
    assert (
        client.post(f"/campaigns/{cid}/send", json={}, headers=auth["boss"]).json()["batches"] == 0
    )
    got = client.get(f"/campaigns/{cid}", headers=auth["ana"]).json()
    assert got["status"] == "sent" and got["launched_at"]
    _error(client.post(f"/campaigns/{cid}/audience", headers=auth["boss"]), 409, "conflict")

    # an order of the treated customer inside the window (posted by the customer's rep)
    rep = "wang"
    order = {
        "order_id": "CAMP-1",
        "customer_id": treated,
        "order_time": got["launched_at"],
        "lines": [{"product_id": "P2", "quantity": 3, "price": 100}],
    }
    assert client.post("/orders", json=order, headers=auth[rep]).status_code == 201
    rep_out = client.get(f"/campaigns/{cid}/report", headers=auth["ana"]).json()
    assert rep_out["groups"]["treatment"]["converted"] == 1
    assert rep_out["groups"]["treatment"]["revenue"] == 300
    assert rep_out["groups"]["control"]["converted"] == 0
    assert rep_out["conversion_uplift"]["estimate"] == 1.0
    assert rep_out["revenue_uplift"]["low"] is None  # one member a group: no variance
    _error(client.get("/campaigns/999", headers=auth["boss"]), 404, "not_found")
    _error(
        client.get(f"/campaigns/{cid}/report?confidence=2", headers=auth["ana"]),
        422,
        "validation_error",
    )
