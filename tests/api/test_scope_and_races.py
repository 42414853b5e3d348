"""Issue 9 over real HTTP: a rep learns nothing about other reps' customers, and identical
concurrent posts of an order all succeed (uvicorn in a thread, and two worker processes)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

ORDER = {
    "order_id": "T-1",
    "customer_id": "C1",
    "order_time": "2024-07-02T09:30:00",
    "lines": [{"product_id": "P1", "quantity": 2, "price": 50}],
}


def _headers(http, login, name):
    r = login(http, name)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _answer(r, *ids):
    """Status and body with the ids the caller sent replaced: what tells two answers apart."""
    text = r.text
    for i in ids:
        text = text.replace(i, "<id>")
    return r.status_code, text


def test_an_order_id_out_of_scope_answers_as_a_taken_one(server, login):
    with httpx.Client(base_url=server, timeout=30) as http:
        wang, admin = _headers(http, login, "wang"), _headers(http, login, "admin")
        stored = http.get("/orders/O301", headers=admin).json()  # 李娜's order, customer C3
        # 王伟 posts 李娜's order id for his own customer, and his own order id with other content
        other = http.post("/orders", json={**ORDER, "order_id": "O301"}, headers=wang)
        own = http.post("/orders", json={**ORDER, "order_id": "O101"}, headers=wang)
        # before issue 9: 404 "no customer 'C3'" -- the other rep's customer, named
        assert other.status_code == 409
        assert _answer(other, "O301") == _answer(own, "O101")
        assert "C3" not in other.text and "李娜" not in other.text
        # with a customer id not yet in the store: the same answer, and nothing is created
        new = http.post(
            "/orders", json={**ORDER, "order_id": "O301", "customer_id": "W-NEW"}, headers=wang
        )
        assert _answer(new, "O301") == _answer(own, "O101")
        assert http.get("/customers/W-NEW", headers=admin).status_code == 404
        # named with 李娜's customer: the answer any order id gets for that customer
        a = http.post(
            "/orders", json={**ORDER, "order_id": "O301", "customer_id": "C3"}, headers=wang
        )
        b = http.post(
            "/orders", json={**ORDER, "order_id": "NEVER-1", "customer_id": "C3"}, headers=wang
        )
        assert _answer(a) == _answer(b) and "O301" not in a.text
        # the other order is untouched, and 李娜 still reaches it
        assert http.get("/orders/O301", headers=admin).json() == stored
        li = _headers(http, login, "li")
        assert http.get("/orders/O301", headers=li).status_code == 200


#: create endpoints that reach an existing customer: (method, path, body) for a customer id
REACHING = [
    ("POST", "/interactions", lambda c: {"customer_id": c, "kind": "call"}),
    ("POST", "/tasks", lambda c: {"customer_id": c, "title": "回访"}),
    ("POST", "/feedback", lambda c: {"customer_id": c, "text": "送货很快", "rating": 5}),
    ("POST", "/surveys/answers", lambda c: {"survey": "nps", "score": 9, "customer_id": c}),
    ("PUT", "/loyalty/accounts/{c}", lambda c: {}),
    ("POST", "/loyalty/accounts/{c}/redemptions", lambda c: {"points": 1}),
    ("POST", "/loyalty/referrals", lambda c: {"referrer_id": "C1", "referred_id": c}),
    ("POST", "/customers/{c}/consents", lambda c: {"purpose": "marketing_sms", "granted": True}),
    (
        "POST",
        "/campaigns",
        lambda c: {"name": "回访", "channel": "sms", "target": {"filter": f"customer_id = '{c}'"}},
    ),
]


def test_creates_answer_alike_for_other_reps_and_unknown_customers(server, login):
    """The rule of services/scope.py, endpoint by endpoint."""
    with httpx.Client(base_url=server, timeout=30) as http:
        wang = _headers(http, login, "wang")
        # creating a customer id that is taken: one answer whoever holds it
        own = http.post("/customers", json={"customer_id": "C1"}, headers=wang)
        other = http.post("/customers", json={"customer_id": "C3"}, headers=wang)
        assert other.status_code == 409 and _answer(other, "C3") == _answer(own, "C1")
        assert "李娜" not in other.text and "宁波面馆" not in other.text
        # ... also when POST /orders would create it (before issue 9: 404, unlike POST /customers)
        via_order = http.post(
            "/orders", json={**ORDER, "order_id": "T-2", "customer_id": "C3"}, headers=wang
        )
        assert _answer(via_order) == _answer(other)
        spaced = http.post("/customers", json={"customer_id": "  C3 "}, headers=wang)
        assert _answer(spaced) == _answer(other)
        # reaching a customer to create something on it: out of scope answers as unknown
        for method, path, body in REACHING:
            got = []
            for code in ("C3", "NOPE-9"):
                r = http.request(method, path.replace("{c}", code), json=body(code), headers=wang)
                got.append(_answer(r, code))
            assert got[0] == got[1], path
            assert got[0][0] in (403, 404), (path, got[0])


def _race(base: str, login, n: int = 30) -> list[httpx.Response]:
    order = {
        **ORDER,
        "order_id": "RACE-1",
        "customer_id": "RACE-C",  # a new customer: its creation races too
        "lines": [{"product_id": "P1", "quantity": 3, "price": 20}],
    }
    with httpx.Client(base_url=base, timeout=60) as http:
        h = _headers(http, login, "wang")
    start = threading.Barrier(n)

    def post(_):
        with httpx.Client(base_url=base, timeout=120) as http:
            start.wait()
            return http.post("/orders", json=order, headers=h)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(post, range(n)))


def _check_race(base, login, responses):
    statuses = sorted(r.status_code for r in responses)
    # before issue 9: up to half answered 409 "... retry"
    assert statuses == [200] * (len(responses) - 1) + [201], [r.text for r in responses]
    bodies = [{**r.json(), "created": None} for r in responses]
    assert all(b == bodies[0] for b in bodies)
    with httpx.Client(base_url=base, timeout=30) as http:
        h = _headers(http, login, "admin")
        got = http.get("/customers/RACE-C", headers=h).json()
        assert got["orders_summary"]["orders"] == 1 and got["profile"]["sales_rep"] == "王伟"


def test_identical_concurrent_posts_all_succeed(server, login):
    _check_race(server, login, _race(server, login))


def test_identical_concurrent_posts_all_succeed_with_two_workers(serve_processes, login):
    base = serve_processes(2)
    _check_race(base, login, _race(base, login))


BEYOND = [
    ({"order_time": "0001-01-01T00:00:00"}, "order_time"),
    ({"order_time": "2100-01-01T00:00:00"}, "order_time"),
    ({"customer_id": "   "}, "customer_id"),
    ({"customer_id": "C" * 65}, "customer_id"),
    ({"order_id": "O" * 129}, "order_id"),
    ({"lines": [{"product_id": "P1", "quantity": 1e9, "price": 1e9}]}, "lines.0"),
    ({"lines": [{"product_id": "P1", "amount": 1e13}]}, "lines.0.amount"),
    ({"lines": [{"product_id": "P1", "amount": 9e11}] * 2}, "body"),
    ({"lines": [{"product_id": " ", "amount": 1}]}, "lines.0.product_id"),
]


def test_order_bounds_are_checked_and_declared(server, login):
    with httpx.Client(base_url=server, timeout=30) as http:
        h = _headers(http, login, "boss")
        for i, (change, where) in enumerate(BEYOND):
            body = {**ORDER, "order_id": f"B-{i}", **change}
            r = http.post("/orders", json=body, headers=h)
            # before issue 9: year 1, blank ids and 1e18 were stored
            assert r.status_code == 422, (change, r.text)
            assert r.json()["error"]["details"][0]["location"].endswith(where), r.text
        for bad in ("   ", "K" * 65):
            r = http.post("/customers", json={"customer_id": bad}, headers=h)
            assert r.status_code == 422, r.text
        # ids are trimmed as the import trims them
        r = http.post(
            "/orders", json={**ORDER, "order_id": " B-T ", "customer_id": " C1"}, headers=h
        )
        assert r.status_code == 201 and (r.json()["order_id"], r.json()["customer_id"]) == (
            "B-T",
            "C1",
        )
        schemas = http.get("/openapi.json").json()["components"]["schemas"]

    def props(name):
        (key,) = [k for k in schemas if k in (name, f"{name}-Input")]
        return schemas[key]["properties"]

    order, line, customer = props("OrderIn"), props("OrderLineIn"), props("CustomerIn")
    assert (order["customer_id"]["maxLength"], order["customer_id"]["minLength"]) == (64, 1)
    assert order["order_id"]["maxLength"] == 128 and order["customer_id"]["pattern"]
    assert "1900-01-01" in order["order_time"]["description"]
    assert customer["customer_id"]["maxLength"] == 64 and customer["customer_id"]["pattern"]
    quantity = line["quantity"]["anyOf"][0]
    assert (quantity["minimum"], quantity["maximum"]) == (-1e9, 1e9)
    assert line["amount"]["anyOf"][0]["maximum"] == 1e12
