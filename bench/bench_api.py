"""API and refresh benchmark of the team store, on SQLite and PostgreSQL.

For each backend: generate customers and order lines straight into a fresh
store (bulk inserts, or ``COPY`` on PostgreSQL: the loader's file import is not
what is measured here), time a refresh over them, then start ``uvicorn`` on
127.0.0.1 and measure the customer 360 call (``GET /customers/{id}``) from a
few concurrent clients over real HTTP, a bounded number of requests each.

    python bench/bench_api.py                                  # 100k customers, 2M lines
    python bench/bench_api.py --customers 2000 --lines 40000   # a quick check
    python bench/bench_api.py --backends sqlite --requests 500

PostgreSQL is reached at ``KEHU_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``); a throwaway database is
created and dropped.  Results print as a Markdown table.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from sqlalchemy import text
from sqlalchemy.orm import Session

from kehu.services import sales_months
from kehu.services.access import SYSTEM
from kehu.services.refresh import refresh
from kehu.services.users import create_user
from kehu.store.engine import make_engine, session_factory
from kehu.store.migrate import upgrade

PG = os.environ.get("KEHU_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-key-0123456789abcdef"
START = dt.datetime(2023, 1, 1)
DAYS = 730
LINES_PER_ORDER = 4
PRODUCTS = 500
BATCH = 50_000


def generate(engine, customers: int, lines: int, seed: int = 0) -> dict[str, float]:
    """Write customers, products, orders and lines; return counts and the load time."""
    rng = np.random.default_rng(seed)
    t0 = time.perf_counter()
    orders = lines // LINES_PER_ORDER
    # skewed buyers: a few customers have many orders, the median a handful
    buyer = np.minimum((customers * rng.random(orders) ** 2).astype(np.int64), customers - 1) + 1
    seconds = np.sort(rng.integers(0, DAYS * 86400, orders))
    reps = [f"业务员{i:02d}" for i in range(50)]
    cust_rows = [
        (i, f"C{i:07d}", f"客户{i}", f"138{i:08d}"[:11], reps[i % 50], "超市", "华东")
        for i in range(1, customers + 1)
    ]
    prod_rows = [
        (i, f"P{i:04d}", f"商品{i}", f"品类{i % 20}", 10.0 + i % 90) for i in range(1, PRODUCTS + 1)
    ]
    now = dt.datetime.now()
    with engine.begin() as con:
        raw = con.connection.driver_connection
        cur = raw.cursor()
        _bulk(
            engine,
            cur,
            "customers",
            "id, code, name, phone, sales_rep, channel, region, no_personalised_marketing, "
            "created_at, updated_at",
            ((*r, False, now, now) for r in cust_rows),
        )
        _bulk(
            engine,
            cur,
            "products",
            "id, code, name, category, price, created_at, updated_at",
            ((*r, now, now) for r in prod_rows),
        )
        _bulk(
            engine,
            cur,
            "orders",
            "id, order_no, customer_id, order_time, amount, source, content_hash, "
            "created_at, updated_at",
            (
                (
                    k + 1,
                    f"O{k + 1:09d}",
                    int(buyer[k]),
                    START + dt.timedelta(seconds=int(seconds[k])),
                    0.0,
                    "bench",
                    "x",
                    now,
                    now,
                )
                for k in range(orders)
            ),
        )
        product = rng.integers(1, PRODUCTS + 1, orders * LINES_PER_ORDER)
        qty = rng.integers(1, 10, orders * LINES_PER_ORDER)
        _bulk(
            engine,
            cur,
            "order_lines",
            "id, order_id, line_no, product_code, quantity, price, amount, is_return",
            (
                (
                    j + 1,
                    j // LINES_PER_ORDER + 1,
                    j % LINES_PER_ORDER + 1,
                    f"P{int(product[j]):04d}",
                    float(qty[j]),
                    10.0 + int(product[j]) % 90,
                    float(qty[j]) * (10.0 + int(product[j]) % 90),
                    False,
                )
                for j in range(orders * LINES_PER_ORDER)
            ),
        )
        # written around the services: the monthly totals are rebuilt as the loader keeps them
        sales_months.recount(Session(bind=con))
        if engine.dialect.name == "postgresql":  # identities continue after the explicit ids
            for table in ("customers", "products", "orders", "order_lines"):
                con.execute(
                    text(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                        f"(SELECT max(id) FROM {table}))"
                    )
                )
            con.execute(text("ANALYZE"))
    return {
        "customers": customers,
        "orders": orders,
        "lines": orders * LINES_PER_ORDER,
        "load_s": time.perf_counter() - t0,
    }


def _bulk(engine, cur, table: str, columns: str, rows) -> None:
    if engine.dialect.name == "postgresql":
        with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns.split(",")))
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) >= BATCH:
            cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch)
            batch = []
    if batch:
        cur.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", batch)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(url: str, workspace: Path):
    """``uvicorn`` on 127.0.0.1 over the store at ``url``; yields the base URL."""
    import httpx

    port = _free_port()
    env = {
        **os.environ,
        "KEHU_DATABASE_URL": url,
        "KEHU_SECRET_KEY": SECRET,
        "KEHU_ENV": "production",
        "KEHU_WORKSPACE": str(workspace),
    }
    cmd = [
        sys.executable,
        "-m",
        "uvicorn",
        "kehu.api:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    proc = subprocess.Popen(cmd, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        else:
            raise RuntimeError("uvicorn did not come up")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def hammer(base: str, token: str, codes: list[str], clients: int, requests: int) -> dict:
    """``requests`` customer-360 calls spread over ``clients`` threads; throughput and latency."""
    import httpx

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    per = requests // clients

    def work(seed: int) -> None:
        rnd = random.Random(seed)
        mine, bad = [], 0
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
            for _ in range(per):
                t = time.perf_counter()
                r = c.get(f"/customers/{rnd.choice(codes)}")
                mine.append(time.perf_counter() - t)
                bad += r.status_code != 200
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    # warm up (imports, playbook, connection pool)
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}) as c:
        for code in codes[:20]:
            c.get(f"/customers/{code}")
    threads = [threading.Thread(target=work, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    latencies.sort()
    return {
        "requests": len(latencies),
        "errors": errors[0],
        "rps": len(latencies) / wall,
        "p50_ms": 1000 * statistics.median(latencies),
        "p95_ms": 1000 * latencies[int(0.95 * (len(latencies) - 1))],
    }


def run_backend(name: str, args) -> dict:
    folder = Path(tempfile.mkdtemp(prefix="kehu-bench-"))
    admin = None
    if name == "sqlite":
        url = f"sqlite:///{folder / 'kehu.db'}"
    else:
        admin = make_engine(PG, isolation_level="AUTOCOMMIT")
        db = f"kehu_bench_{secrets.token_hex(4)}"
        with admin.connect() as con:
            con.execute(text(f'CREATE DATABASE "{db}"'))
        url = admin.url.set(database=db).render_as_string(hide_password=False)
    engine = make_engine(url)
    try:
        upgrade(engine)
        out = {"backend": name, **generate(engine, args.customers, args.lines)}
        factory = session_factory(engine)
        t0 = time.perf_counter()
        got = refresh(factory, revisit_rules=None)
        out["refresh_s"] = time.perf_counter() - t0
        out["refresh_customers"] = got.customers
        out["revisit_tasks"] = got.tasks
        out["notes"] = "; ".join(got.notes)
        with factory() as s, s.begin():
            create_user(s, actor=SYSTEM, username="bench", password="bench-password", role="admin")
        rnd = random.Random(1)
        codes = [f"C{rnd.randint(1, args.customers):07d}" for _ in range(5000)]
        with serve(url, folder) as base:
            import httpx

            token = httpx.post(
                f"{base}/auth/token", data={"username": "bench", "password": "bench-password"}
            ).json()["access_token"]
            out.update(hammer(base, token, codes, args.clients, args.requests))
        return out
    finally:
        engine.dispose()
        if admin is not None:
            with admin.connect() as con:
                con.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            admin.dispose()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--lines", type=int, default=2_000_000)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--clients", type=int, default=4)
    p.add_argument("--requests", type=int, default=2000, help="customer-360 calls in total")
    args = p.parse_args()
    rows = [run_backend(b.strip(), args) for b in args.backends.split(",") if b.strip()]
    print(
        "| backend | customers | order lines | load (s) | refresh (s) | revisit tasks "
        "| 360 req/s | p50 (ms) | p95 (ms) | errors |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['backend']} | {r['customers']:,} | {r['lines']:,} | {r['load_s']:.1f} "
            f"| {r['refresh_s']:.1f} | {r['revisit_tasks']:,} | {r['rps']:.0f} "
            f"| {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['errors']} |"
        )
    for r in rows:
        if r["notes"]:
            print(f"\n{r['backend']}: {r['notes']}")


if __name__ == "__main__":
    main()
