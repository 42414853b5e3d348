"""Loyalty over the API: roles and scoping, idempotent postings, errors as JSON, and
concurrent requests over real HTTP (uvicorn) on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx


def _error(r, status, code):
    assert r.status_code == status, r.text
    assert r.json()["error"]["code"] == code
    return r.json()["error"]["message"]


def test_earn_redeem_reverse_flow(client, auth):
    r = client.post("/loyalty/orders/O101/earn", headers=auth["wang"])
    assert r.status_code == 201, r.text
    assert (r.json()["entry"]["points"], r.json()["balance"]) == (1000, 1000)
    again = client.post("/loyalty/orders/O101/earn", headers=auth["wang"])
    assert again.status_code == 200 and again.json()["entry"]["id"] == r.json()["entry"]["id"]
    _error(client.post("/loyalty/orders/O101/earn", headers=auth["li"]), 404, "not_found")
    _error(client.post("/loyalty/orders/O101/earn", headers=auth["ana"]), 403, "forbidden")
    _error(client.post("/loyalty/orders/NOPE/earn", headers=auth["admin"]), 404, "not_found")

    url = "/loyalty/accounts/C1/redemptions"
    r = client.post(url, json={"points": 300, "request_id": "q1"}, headers=auth["kefu"])
    assert r.status_code == 201 and r.json()["balance"] == 700
    assert (
        client.post(url, json={"points": 300, "request_id": "q1"}, headers=auth["kefu"]).status_code
        == 200
    )
    assert "cannot redeem" in _error(
        client.post(url, json={"points": 701}, headers=auth["wang"]), 409, "conflict"
    )
    _error(client.post(url, json={"points": 0}, headers=auth["wang"]), 422, "validation_error")
    _error(
        client.post(url, json={"points": 1, "x": 1}, headers=auth["wang"]), 422, "validation_error"
    )

    rev = "/loyalty/orders/O101/reversals"
    _error(
        client.post(rev, json={"refund_amount": 100}, headers=auth["wang"]), 422, "validation_error"
    )
    r = client.post(rev, json={"refund_amount": 100, "refund_id": "R1"}, headers=auth["wang"])
    assert r.status_code == 201 and r.json()["entry"]["points"] == -100
    r = client.post(rev, json={"reason": "customer cancelled"}, headers=auth["wang"])
    # 900 left to reverse, 600 in the balance: 300 become debt
    assert (r.json()["entry"]["points"], r.json()["debt"], r.json()["balance"]) == (-600, 300, 0)

    acc = client.get("/loyalty/accounts/C1", headers=auth["ana"]).json()
    assert (acc["balance"], acc["debt"], acc["consistent"]) == (0, 300, True)
    _error(client.get("/loyalty/accounts/C1", headers=auth["li"]), 404, "not_found")
    page = client.get("/loyalty/accounts/C1/ledger", headers=auth["wang"]).json()
    assert page["total"] == 4
    assert [e["kind"] for e in page["items"]] == ["reverse", "reverse", "redeem", "earn"]


def test_rules_jobs_and_rewards(client, auth):
    rules = client.get("/loyalty/rules", headers=auth["wang"]).json()
    assert [t["name"] for t in rules["tiers"]] == ["普通", "银卡", "金卡", "白金", "钻石"]
    _error(client.put("/loyalty/rules", json=rules, headers=auth["wang"]), 403, "forbidden")
    bad = {**rules, "tiers": [{"name": "a", "threshold": 10}]}
    _error(client.put("/loyalty/rules", json=bad, headers=auth["boss"]), 422, "validation_error")
    r = client.put("/loyalty/rules", json={**rules, "points_per_yuan": 2}, headers=auth["boss"])
    assert r.status_code == 200 and r.json()["points_per_yuan"] == 2

    got = client.post("/loyalty/jobs/tiers", json={"as_of": "2024-07-01"}, headers=auth["boss"])
    assert got.json()["counts"]["银卡"] == 2
    _error(
        client.post("/loyalty/jobs/expiry", json={"as_of": "2024-07-01"}, headers=auth["wang"]),
        403,
        "forbidden",
    )
    r = client.post("/loyalty/orders/O301/earn", headers=auth["li"])  # C3 普通: 100 x 2
    assert r.json()["entry"]["points"] == 200
    body = {"referrer_id": "C3", "referred_id": "C4"}
    assert client.post("/loyalty/referrals", json=body, headers=auth["li"]).status_code == 201
    assert client.post("/loyalty/referrals", json=body, headers=auth["li"]).status_code == 200
    _error(client.post("/loyalty/referrals", json=body, headers=auth["wang"]), 404, "not_found")
    r = client.put("/loyalty/accounts/C3", json={"birthday": "1990-07-04"}, headers=auth["li"])
    assert r.json()["birthday"] == "1990-07-04"
    got = client.post(
        "/loyalty/jobs/birthdays", json={"as_of": "2024-07-01"}, headers=auth["admin"]
    )
    assert got.json() == {"posted": 1}
    got = client.post("/loyalty/jobs/expiry", json={"as_of": "2030-01-01"}, headers=auth["admin"])
    assert got.json() == {"accounts": 1, "points": 200 + 500 + 200}


# --- real HTTP, concurrent requests ---------------------------------------------------------------


def _parallel(n, call):
    barrier = threading.Barrier(n)

    def run(i):
        barrier.wait()
        return call(i)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_concurrent_requests_over_http(server, auth):
    with httpx.Client(base_url=server, timeout=60) as http:
        r = http.post("/loyalty/orders/O101/earn", headers=auth["wang"])  # 1,000 points
        assert r.status_code == 201

        def redeem(i):
            with httpx.Client(base_url=server, timeout=60) as c:
                body = {"points": 100, "request_id": f"h{i}"}
                return c.post("/loyalty/accounts/C1/redemptions", json=body, headers=auth["wang"])

        codes = sorted(r.status_code for r in _parallel(20, redeem))
        assert codes == [201] * 10 + [409] * 10, codes

        def earn(_i):
            with httpx.Client(base_url=server, timeout=60) as c:
                return c.post("/loyalty/orders/O102/earn", headers=auth["wang"]).status_code

        assert sorted(_parallel(8, earn)) == [200] * 7 + [201]
        acc = http.get("/loyalty/accounts/C1", headers=auth["wang"]).json()
        assert (acc["balance"], acc["consistent"]) == (1000, True)
        assert http.get("/loyalty/accounts/C1/ledger", headers=auth["wang"]).json()["total"] == 12


def test_manual_adjustment_over_the_api(client, auth):
    url = "/loyalty/accounts/C1/adjustments"
    body = {"points": 200, "reason": "goodwill: late delivery", "request_id": "adj-1"}
    _error(client.post(url, json=body, headers=auth["wang"]), 403, "forbidden")
    r = client.post(url, json=body, headers=auth["admin"])
    assert r.status_code == 201, r.text
    assert (r.json()["entry"]["kind"], r.json()["balance"]) == ("adjust", 200)
    assert client.post(url, json=body, headers=auth["admin"]).status_code == 200
    _error(client.post(url, json={"points": 5}, headers=auth["admin"]), 422, "validation_error")
    _error(
        client.post(url, json={"points": 0, "reason": "x"}, headers=auth["admin"]),
        422,
        "validation_error",
    )
    assert "cannot take away" in _error(
        client.post(url, json={"points": -201, "reason": "x"}, headers=auth["admin"]),
        409,
        "conflict",
    )
    r = client.post(url, json={"points": -50, "reason": "correction"}, headers=auth["admin"])
    assert r.status_code == 201 and r.json()["balance"] == 150
    acc = client.get("/loyalty/accounts/C1", headers=auth["ana"]).json()
    assert (acc["balance"], acc["consistent"]) == (150, True)
