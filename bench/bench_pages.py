"""Server time of every web page at 100k customers / 2M order lines, SQLite and PostgreSQL.

    python bench/bench_pages.py                                   # 100k customers, 2M lines
    python bench/bench_pages.py --customers 2000 --lines 40000    # a quick check
    python bench/bench_pages.py --backends sqlite --requests 50 --profile
    python bench/bench_pages.py --pages "^/(channels)?$"                  # some pages only
    python bench/bench_pages.py --cold --requests 5 --pages "^/(channels|classes)?$"  # first views

For each backend a store is built once and cached: customers, products, orders and
lines written in bulk (``bench_api.generate``: ``executemany`` on SQLite, ``COPY`` on
PostgreSQL; no ORM object per row), then the refresh service (what ``kehu refresh``
runs) classifies them, and a manager and a rep are created with the users service;
then what people add by hand is added through the services (``ensure_activity``:
interactions, feedback, loyalty members with points, a launched campaign).
The SQLite store stays in ``bench/data/pages-C-L/kehu.db`` (git-ignored), the
PostgreSQL one in the database ``kehu_bench_pages_C_L`` at ``KEHU_TEST_POSTGRES_URL``
(default ``postgresql+psycopg://postgres@127.0.0.1:5432/test``); a second run reuses
both (``--rebuild`` builds them again).

The pages are found in the application's routes: every GET page route (name
``web_*``) without path parameters, plus, for each route with path parameters,
the links to it that those pages show (a customer's page from the list, a
campaign from the campaigns page, its result from the campaign's page ...), so pages
added later are measured too; a loyalty member's page, which is reached by typing a
customer id, is given its URLs.  A route for which no URL is found is named on
stderr as not measured.  Each page is requested ``--requests`` times, after three
warm-up requests (fewer, at least 20, when they add up to over ``--page-seconds``),
in process through the ASGI app (``starlette.testclient``: the whole server stack,
routing, session cookie, services, SQL and templates, but no network), signed in
as the manager and as the rep; the median and p95 are reported, with the status
codes.  The customer list is also timed with a filter-language query and with a
class filter.  ``--profile`` lists, for each page over its goal, the slowest SQL
statements of one request (SQLAlchemy cursor events).

Goals (issue 10): p95 < 300 ms for every page, the customer list's filters < 500 ms.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import math
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from sqlalchemy import event, text
from sqlalchemy.engine import Engine

sys.path.insert(0, str(Path(__file__).parent))

from bench_api import PG, generate

from kehu.exceptions import ConflictError
from kehu.services.access import SYSTEM
from kehu.services.refresh import refresh
from kehu.services.users import create_user
from kehu.store.engine import make_engine, session_factory
from kehu.store.migrate import upgrade

DATA = Path(__file__).parent / "data"
SECRET = "bench-pages-secret-0123456789abcdef"
PASSWORD = "bench-password-123"
#: the users measured: (user name, role, rep name)
USERS = (("bench_boss", "manager", None), ("bench_rep", "rep", "业务员07"))
PAGE_GOAL_MS = 300.0
FILTER_GOAL_MS = 500.0
#: a filter-language query and a class filter of the customer list
FILTER_QUERY = "monetary > 1000 and orders >= 5"
CLASS_FILTER = ("rfm8", None)  # the value: the most common rfm8 class of the store
#: page routes that change state, leave the pages or download files
SKIP = re.compile(
    r"^/(static|static-vendor|api|lang|logout|login)\b|/export\b|/download\b"
    r"|\.xlsx$|/report\.html$"
)
#: the campaign's launch: two months before the generated orders end, so that its
#: 30-day response window has orders
LAUNCH = dt.datetime(2024, 11, 1, 9)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
HREF = re.compile(r'href="([^"#]+)"')


# --- the stores ---------------------------------------------------------------------------


def _sqlite_store(data: Path, customers: int, lines: int, rebuild: bool) -> str:
    folder = data / f"pages-{customers}-{lines}"
    ready = folder / "ready.json"
    if ready.is_file() and not rebuild:
        return f"sqlite:///{(folder / 'kehu.db').resolve()}"
    folder.mkdir(parents=True, exist_ok=True)
    for f in folder.glob("kehu.db*"):
        f.unlink()
    url = f"sqlite:///{(folder / 'kehu.db').resolve()}"
    info = _build(url, customers, lines)
    ready.write_text(json.dumps(info, indent=1), encoding="utf-8")
    return url


def _pg_store(data: Path, customers: int, lines: int, rebuild: bool) -> str:
    admin = make_engine(PG, isolation_level="AUTOCOMMIT")
    db = f"kehu_bench_pages_{customers}_{lines}"
    url = admin.url.set(database=db).render_as_string(hide_password=False)
    try:
        with admin.connect() as con:
            exists = con.scalar(text("SELECT 1 FROM pg_database WHERE datname = :d"), {"d": db})
        if exists and not rebuild:
            engine = make_engine(url)
            try:
                with engine.connect() as con:
                    done = con.scalar(
                        text("SELECT count(*) FROM classification_runs WHERE status = 'succeeded'")
                    )
            except Exception:
                done = 0
            finally:
                engine.dispose()
            if done:
                return url
        with admin.connect() as con:
            con.execute(text(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'))
            con.execute(text(f'CREATE DATABASE "{db}"'))
    finally:
        admin.dispose()
    _build(url, customers, lines)
    return url


def _build(url: str, customers: int, lines: int) -> dict:
    """Schema, data in bulk, a refresh and the users; returns the build times."""
    engine = make_engine(url)
    try:
        upgrade(engine)
        info = generate(engine, customers, lines)
        factory = session_factory(engine)
        t0 = time.perf_counter()
        got = refresh(factory)
        info["refresh_s"] = time.perf_counter() - t0
        info["classified"] = got.customers
        with factory() as s, s.begin():
            for name, role, rep in USERS:
                with contextlib.suppress(ConflictError):
                    create_user(
                        s, actor=SYSTEM, username=name, password=PASSWORD, role=role, rep_name=rep
                    )
        print(
            f"built {engine.url.get_backend_name()}: {info['lines']:,} lines in "
            f"{info['load_s']:.0f} s, refresh {info['refresh_s']:.0f} s",
            file=sys.stderr,
        )
        return info
    finally:
        engine.dispose()


FEEDBACK = (
    (5, "送货很及时，品类齐全，业务员服务热情"),
    (2, "上次到货有两箱破损，希望改进包装"),
    (4, "价格比较合适，希望多一些促销活动"),
    (1, "配送太慢了，等了三天才到"),
    (3, "新品口味一般，希望能换货"),
)


def ensure_activity(url: str, workspace: Path, customers: int) -> dict[str, int]:
    """What people add by hand, through the services, once per store: an interaction and a
    piece of feedback for every 50th customer, loyalty members (every 100th, with the points
    of their last three orders; all of them the measured rep's customers, as are the
    interactions and feedback), and a campaign launched at :data:`LAUNCH` over the largest
    rfm8 class of recent buyers (nine in ten of them with an SMS consent, written in bulk).

    Without them the campaign and member pages have nothing to show and the follow-up,
    feedback and loyalty pages read empty tables.  Returns the row counts."""
    from sqlalchemy import func, insert, select

    from kehu.services import campaigns, feedback, followups, loyalty
    from kehu.services.users import actor_for
    from kehu.store.models import Campaign, ClassificationResult, Consent, Customer, Order, User

    engine = make_engine(url)
    factory = session_factory(engine)
    try:
        with factory() as s, s.begin():
            if not s.scalar(select(func.count()).select_from(Campaign)):
                boss = actor_for(s.scalar(select(User).where(User.username == USERS[0][0])))
                # customer i belongs to rep i % 50 (bench_api.generate): 7 is the measured rep
                codes = [f"C{i:07d}" for i in range(1, customers + 1)]
                for i, code in enumerate(codes[6::50]):
                    followups.record_interaction(
                        s,
                        actor=boss,
                        code=code,
                        kind=("call", "visit", "wechat")[i % 3],
                        occurred_at=dt.datetime(2024, 12, 1 + i % 28, 10),
                        notes="电话回访，客户反馈春节备货需求",
                        outcome="跟进中",
                    )
                    rating, body = FEEDBACK[i % len(FEEDBACK)]
                    feedback.record_feedback(
                        s,
                        actor=boss,
                        workspace=workspace,
                        code=code,
                        rating=rating,
                        text=body,
                        received_at=dt.datetime(2024, 12, 1 + i % 28, 11),
                    )
                for code in codes[6::100]:
                    loyalty.enroll(s, actor=boss, code=code)
                    for order_no in s.scalars(
                        select(Order.order_no)
                        .join(Customer, Customer.id == Order.customer_id)
                        .where(Customer.code == code)
                        .order_by(Order.order_time.desc())
                        .limit(3)
                    ):
                        loyalty.earn_for_order(s, actor=boss, order_no=order_no)
                run = s.scalar(text("SELECT max(id) FROM classification_runs"))
                top = s.scalar(
                    select(ClassificationResult.rfm8)
                    .where(ClassificationResult.run_id == run)
                    .where(ClassificationResult.rfm8.is_not(None))
                    .group_by(ClassificationResult.rfm8)
                    .having(func.avg(ClassificationResult.recency_days) < 90)
                    .order_by(func.count().desc(), ClassificationResult.rfm8)
                    .limit(1)
                )
                audience = s.scalars(
                    select(ClassificationResult.customer_id).where(
                        ClassificationResult.run_id == run, ClassificationResult.rfm8 == top
                    )
                ).all()
                consents = [
                    {"customer_id": cid, "purpose": "marketing_sms", "granted": True,
                     "source": "bench", "recorded_at": dt.datetime(2024, 1, 1)}
                    for i, cid in enumerate(audience)
                    if i % 10 != 9
                ]  # fmt: skip
                for start in range(0, len(consents), 5000):
                    s.execute(insert(Consent), consents[start : start + 5000])
                campaign = campaigns.create_campaign(
                    s,
                    actor=boss,
                    name="国庆促销短信",
                    channel="sms",
                    target={"classes": {"rfm8": [top]}} if top else {},
                    control_share=0.2,
                )
                campaigns.build_audience(s, actor=boss, campaign_id=campaign.id)
                campaigns.launch(s, actor=boss, campaign_id=campaign.id, at=LAUNCH)
            return {
                table: s.scalar(text(f"SELECT count(*) FROM {table}"))
                for table in (
                    "interactions",
                    "tasks",
                    "feedback",
                    "loyalty_accounts",
                    "loyalty_ledger",
                    "campaign_members",
                )
            }
    finally:
        engine.dispose()


# --- discovering and timing the pages -----------------------------------------------------


def all_routes(routes, prefix: str = ""):
    """(path, name, methods) of every route, through included routers at any depth."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from all_routes(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif hasattr(route, "methods") and hasattr(route, "path"):
            yield prefix + route.path, route.name or "", route.methods or set()


def page_routes(app) -> tuple[list[str], dict[str, re.Pattern]]:
    """GET page paths without parameters, and the paths with parameters with their regex."""
    from starlette.routing import compile_path

    plain, templated = set(), {}
    for path, name, methods in all_routes(app.routes):
        if not name.startswith("web_") or "GET" not in methods or SKIP.search(path):
            continue
        if "{" in path:
            templated[path] = compile_path(path)[0]
        else:
            plain.add(path)
    return sorted(plain), templated


def signed_in(app, user: str):
    from fastapi.testclient import TestClient

    client = TestClient(app, base_url="http://testserver", raise_server_exceptions=False)
    client.__enter__()
    client.cookies.set("kehu_lang", "zh")
    token = CSRF.search(client.get("/login").text).group(1)
    r = client.post(
        "/login",
        data={"username": user, "password": PASSWORD, "csrf_token": token, "next": "/"},
        follow_redirects=False,
    )
    if r.status_code != 303:
        raise RuntimeError(f"sign-in of {user} failed: {r.status_code}")
    return client


def linked_pages(client, plain: list[str], templated: dict, per_route: int) -> dict[str, list]:
    """For each route with parameters, up to ``per_route`` URLs linked from the plain pages
    or from the first page found of another route (a campaign's result from the campaign)."""
    found: dict[str, list[str]] = defaultdict(list)

    def crawl(pages: list[str]) -> None:
        for page in pages:
            r = client.get(page)
            if r.status_code != 200:
                continue
            for href in HREF.findall(r.text):
                url = urlsplit(href)
                if url.netloc not in ("", "testserver") or SKIP.search(url.path):
                    continue
                for route, regex in templated.items():
                    if regex.match(url.path):
                        urls = found[route]
                        if url.path not in urls and len(urls) < per_route:
                            urls.append(url.path)
                        break

    crawl(plain)
    crawl([urls[0] for urls in list(found.values()) if urls])
    return found


def typed_pages(url: str, per_route: int) -> dict[str, list[str]]:
    """Pages reached by typing a customer id, not by a link: loyalty members."""
    engine = make_engine(url)
    try:
        with engine.connect() as con:
            codes = con.scalars(
                text(
                    "SELECT c.code FROM loyalty_accounts a JOIN customers c "
                    "ON c.id = a.customer_id ORDER BY c.code LIMIT :n"
                ),
                {"n": per_route},
            ).all()
    finally:
        engine.dispose()
    return {"/loyalty/members/{code}": [f"/loyalty/members/{c}" for c in codes]}


@dataclass
class Timing:
    page: str
    samples: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def p50(self) -> float:
        return 1000 * statistics.median(self.samples)

    @property
    def p95(self) -> float:
        """Nearest rank: the smallest sample with at least 95% of the samples at or below it."""
        s = sorted(self.samples)
        return 1000 * s[max(0, math.ceil(0.95 * len(s)) - 1)]


def time_page(
    client,
    label: str,
    urls: list[str],
    requests: int,
    budget: float = math.inf,
    *,
    cold: bool = False,
) -> Timing:
    """``requests`` requests, or fewer (at least 20) when they take over ``budget`` seconds.

    ``cold``: every request is the first after a change to the store (the figures kept per
    store version, :mod:`kehu.services.memo`, are forgotten before it).
    """
    from kehu.services import memo

    t = Timing(label)
    for url in urls[:3]:
        client.get(url)  # warm up: imports, templates, caches, pool
    for i in range(requests):
        if i >= 20 and sum(t.samples) > budget:
            break
        url = urls[i % len(urls)]
        if cold:
            memo.forget()
        t0 = time.perf_counter()
        r = client.get(url)
        t.samples.append(time.perf_counter() - t0)
        t.statuses[r.status_code] = t.statuses.get(r.status_code, 0) + 1
    return t


class SqlLog:
    """Statements and their times while active (SQLAlchemy cursor events on every engine)."""

    def __init__(self):
        self.active = False
        self.rows: list[tuple[float, str]] = []
        event.listen(Engine, "before_cursor_execute", self._before)
        event.listen(Engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, params, context, executemany):
        conn.info["bench_t0"] = time.perf_counter()

    def _after(self, conn, cursor, statement, params, context, executemany):
        if self.active:
            self.rows.append((time.perf_counter() - conn.info.pop("bench_t0"), statement))

    def profile(self, client, url: str, cold: bool = False) -> list[tuple[float, str]]:
        from kehu.services import memo

        if cold:
            memo.forget()
        self.rows, self.active = [], True
        try:
            client.get(url)
        finally:
            self.active = False
        return sorted(self.rows, reverse=True)


def class_value(url: str) -> str | None:
    engine = make_engine(url)
    try:
        with engine.connect() as con:
            return con.scalar(
                text(
                    "SELECT rfm8 FROM classification_results WHERE run_id = "
                    "(SELECT max(id) FROM classification_runs WHERE status = 'succeeded') "
                    "AND rfm8 IS NOT NULL GROUP BY rfm8 ORDER BY count(*) DESC LIMIT 1"
                )
            )
    finally:
        engine.dispose()


def run_backend(backend: str, args, sql_log: SqlLog | None) -> list[dict]:
    from kehu.api import create_app
    from kehu.store.settings import StoreSettings

    store = _sqlite_store if backend == "sqlite" else _pg_store
    url = store(args.data, args.customers, args.lines, args.rebuild)
    engine = make_engine(url)
    try:
        upgrade(engine)  # a cached store gets the migrations added since it was built
    finally:
        engine.dispose()
    workspace = args.data / f"pages-{args.customers}-{args.lines}"
    workspace.mkdir(parents=True, exist_ok=True)
    counts = ensure_activity(url, workspace, args.customers)
    print(f"{backend}: {counts}", file=sys.stderr)
    if args.build_only:
        return []
    settings = StoreSettings(
        workspace=workspace, database_url=url, secret_key=SECRET, environment="test"
    )
    app = create_app(settings)
    plain, templated = page_routes(app)
    rfm8 = class_value(url)
    rows = []
    for user, role, _ in USERS:
        client = signed_in(app, user)
        try:
            targets = {path: [path] for path in plain}
            linked = linked_pages(client, plain, templated, args.per_route)
            for path, urls in typed_pages(url, args.per_route).items():
                linked.setdefault(path, urls)
            for path in templated:
                if linked.get(path):
                    targets[path] = linked[path]
                else:
                    print(f"{backend} {role} {path}: no link found, not measured", file=sys.stderr)
            targets["/customers?filter=…"] = ["/customers?" + urlencode({"filter": FILTER_QUERY})]
            if rfm8:
                targets["/customers?rfm8=…"] = ["/customers?" + urlencode({"rfm8": rfm8})]
            for label, urls in targets.items():
                if args.pages and not re.search(args.pages, label):
                    continue
                t = time_page(client, label, urls, args.requests, args.page_seconds, cold=args.cold)
                goal = FILTER_GOAL_MS if "?" in label else PAGE_GOAL_MS
                row = {
                    "backend": backend,
                    "role": role,
                    "page": label,
                    "urls": len(urls),
                    "requests": len(t.samples),
                    "p50": t.p50,
                    "p95": t.p95,
                    "goal": goal,
                    "statuses": t.statuses,
                    "slowest_sql": [],
                }
                if sql_log is not None and t.p95 > goal:
                    row["slowest_sql"] = [
                        (round(1000 * s, 1), " ".join(q.split())[:300])
                        for s, q in sql_log.profile(client, urls[0], args.cold)[:8]
                    ]
                rows.append(row)
                print(
                    f"{backend} {role} {label}: p50 {t.p50:.1f} ms, p95 {t.p95:.1f} ms "
                    f"{t.statuses}",
                    file=sys.stderr,
                )
        finally:
            client.__exit__(None, None, None)
    return rows


def table(rows: list[dict]) -> str:
    out = [
        "| backend | role | page | URLs | requests | median (ms) | p95 (ms) | goal (ms) | status |",
        "|---|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ok = "" if r["p95"] <= r["goal"] else " **over**"
        status = ", ".join(f"{k}×{v}" for k, v in sorted(r["statuses"].items()))
        out.append(
            f"| {r['backend']} | {r['role']} | `{r['page']}` | {r['urls']} | {r['requests']} "
            f"| {r['p50']:.1f} "
            f"| {r['p95']:.1f}{ok} | {r['goal']:.0f} | {status} |"
        )
    misses = [r for r in rows if r["p95"] > r["goal"] or set(r["statuses"]) - {200, 403}]
    if misses:
        out.append("")
        out.append("Pages that miss their goal or fail (403: the role may not see the page):")
        out.append("")
        for r in misses:
            out.append(
                f"- {r['backend']} / {r['role']} / `{r['page']}`: p95 {r['p95']:.0f} ms, "
                f"status {r['statuses']}"
            )
            for ms, q in r["slowest_sql"]:
                out.append(f"  - {ms} ms: `{q}`")
    return "\n".join(out)


def machine(load_before: tuple[float, float, float]) -> str:
    """Cores, Python, SQLite, kehu's commit and the load average before and after the run."""
    import sqlite3

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parent,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        commit = "?"
    after = os.getloadavg()
    return (
        f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLite "
        f"{sqlite3.sqlite_version}, kehu at {commit}; load average (1 min) "
        f"{load_before[0]:.2f} before, {after[0]:.2f} after"
    )


def main(argv: list[str] | None = None) -> list[dict]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--customers", type=int, default=100_000)
    p.add_argument("--lines", type=int, default=2_000_000)
    p.add_argument("--backends", default="sqlite,postgresql")
    p.add_argument("--requests", type=int, default=200, help="requests per page and role")
    p.add_argument(
        "--page-seconds",
        type=float,
        default=120.0,
        help="stop a page after this many seconds of requests (at least 20 requests)",
    )
    p.add_argument("--per-route", type=int, default=20, help="URLs per route with parameters")
    p.add_argument("--profile", action="store_true", help="slowest SQL of pages over goal")
    p.add_argument("--rebuild", action="store_true", help="build the cached stores again")
    p.add_argument("--build-only", action="store_true", help="build the stores, measure nothing")
    p.add_argument("--data", type=Path, default=DATA, help="where the SQLite stores are kept")
    p.add_argument("--json", type=Path, help="also write the rows as JSON here")
    p.add_argument("--pages", help="measure only pages matching this regular expression")
    p.add_argument(
        "--cold",
        action="store_true",
        help="each request the first after a change (figures kept per store version forgotten)",
    )
    args = p.parse_args(argv)
    os.environ.setdefault("KEHU_ENV", "test")
    sql_log = SqlLog() if args.profile else None
    started = dt.datetime.now(dt.UTC)
    load_before = os.getloadavg()
    rows = []
    for backend in (b.strip() for b in args.backends.split(",") if b.strip()):
        rows.extend(run_backend(backend, args, sql_log))
    print(
        f"{args.customers:,} customers, {args.lines:,} order lines; {args.requests} requests "
        f"per page and role; started {started:%Y-%m-%d %H:%M} UTC; {machine(load_before)}\n"
    )
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    return rows


if __name__ == "__main__":
    main()
