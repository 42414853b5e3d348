"""Screenshots of every page of the web application, in Chinese and in English.

    python docs/screenshots.py                       # into docs/screenshots/<lang>/<page>.png
    python docs/screenshots.py --workspace /tmp/ws   # where the demo store is built (or reused;
                                                     # default: kehu-screenshots in the temp folder)

1. The store (built once, reused while ``ready.json`` is in the workspace): the demo
   data of ``kehu demo`` (:func:`kehu.demo.generate_demo`, 600 customers), then the
   commands of the README, ``kehu init``, ``kehu load``, ``kehu refresh`` and
   ``kehu users add`` (admin, the manager ``boss``, three reps named after the three
   reps with most customers), then, through the services as those users: follow-up
   tasks and interactions, feedback, loyalty members with points, and a campaign
   launched on 2024-10-01 so that it has a result.
2. ``kehu serve`` on a free port of 127.0.0.1.
3. Debian chromium (Playwright) signs in as the manager (``admin`` for the admin
   page) and photographs every page found in the application's routes (GET page
   routes without path parameters, plus a page of each route with parameters
   linked from them: a customer, a campaign, a run ...), 1280 px wide, in both
   languages; and the customer page at 390 px as a rep (``customer-phone``).

PNGs are reduced to a 256-colour palette when Pillow is installed.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).parents[1]
OUT = Path(__file__).parent / "screenshots"
PASSWORD = "password-123"
CHROMIUM = "/usr/bin/chromium"
LANGS = ("zh", "en")
LOCALES = {"zh": "zh-CN", "en": "en-US"}
DESKTOP, PHONE = 1280, 390
#: the longest page kept (px): longer pages are cut there
MAX_HEIGHT = 3600
SKIP = re.compile(
    r"^/(static|static-vendor|api|lang|logout|login)\b|/export\b|/download\b|\.(xlsx|csv|html)$"
)
#: a campaign's launch in the demo's history, so that its response window has orders
LAUNCH = dt.datetime(2024, 10, 1, 9, 0)


@dataclass(frozen=True)
class Shot:
    lang: str
    name: str
    url: str
    width: int = DESKTOP
    user: str = "boss"


# --- which pages ------------------------------------------------------------------------------


def all_routes(routes, prefix: str = ""):
    """(path, name, methods) of every route, through included routers at any depth."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            context = getattr(route, "include_context", None)
            yield from all_routes(inner.routes, prefix + (getattr(context, "prefix", "") or ""))
        elif hasattr(route, "methods") and hasattr(route, "path"):
            yield prefix + route.path, route.name or "", route.methods or set()


def page_routes(app) -> tuple[dict[str, str], dict[str, tuple[str, re.Pattern]]]:
    """Plain page paths -> route name; paths with parameters -> (route name, regex)."""
    from starlette.routing import compile_path

    plain, templated = {}, {}
    for path, name, methods in all_routes(app.routes):
        if not name.startswith("web_") or "GET" not in methods or SKIP.search(path):
            continue
        if "{" in path:
            templated[path] = (name, compile_path(path)[0])
        else:
            plain[path] = name
    return plain, templated


def shot_name(path: str, route_name: str) -> str:
    if path == "/":
        return "workbench"
    return route_name.removeprefix("web_").replace("_", "-")


def plan(app, links: dict[str, str], phone: str | None = None) -> list[Shot]:
    """The screenshots: every plain page and each linked page, per language, plus the phone.

    ``phone``: the customer page the rep opens on the phone (default: the linked one).
    """
    plain, templated = page_routes(app)
    shots = []
    for lang in LANGS:
        for path, name in sorted(plain.items()):
            user = "admin" if path.startswith("/admin") else "boss"
            shots.append(Shot(lang, shot_name(path, name), path, user=user))
        for path, (name, _) in sorted(templated.items()):
            if path in links:
                shots.append(Shot(lang, shot_name(path, name), links[path]))
        phone_url = phone or links.get("/customers/{code}")
        if phone_url:
            shots.append(Shot(lang, "customer-phone", phone_url, width=PHONE, user="wang"))
    return shots


# --- the demo store ---------------------------------------------------------------------------


def _kehu(*args: str, workspace: Path) -> str:
    cmd = [sys.executable, "-m", "kehu", *args, "--workspace", str(workspace)]
    env = {k: v for k, v in os.environ.items() if k != "KEHU_DATABASE_URL"}
    done = subprocess.run(cmd, cwd=workspace, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def build_store(workspace: Path, *, customers: int = 600) -> Path:
    """The demo store in ``workspace`` (built once; ``ready.json`` marks it done)."""
    import pandas as pd

    from kehu.demo import generate_demo

    workspace = Path(workspace)
    ready = workspace / "ready.json"
    if ready.is_file():
        return workspace
    workspace.mkdir(parents=True, exist_ok=True)
    files = generate_demo(workspace / "data", customers=customers)
    reps = (
        pd.read_csv(files["customers"], dtype=str, encoding="utf-8-sig")["业务员"]
        .value_counts()
        .index[:3]
        .tolist()
    )
    loaded = workspace / "loaded.json"  # the commands ran: only the activity is left
    if not loaded.is_file():
        _commands(workspace, files, reps)
        loaded.write_text("{}", encoding="utf-8")
    _activity(workspace, reps)
    ready.write_text(json.dumps({"customers": customers, "reps": reps}), encoding="utf-8")
    return workspace


def _commands(workspace: Path, files: dict[str, Path], reps: list[str]) -> None:
    """The README's commands: init, load, refresh, users add."""
    _kehu("init", workspace=workspace)
    _kehu(
        "load",
        str(files["orders"]),
        "--customers",
        str(files["customers"]),
        "--products",
        str(files["products"]),
        workspace=workspace,
    )
    _kehu("refresh", workspace=workspace)
    users = [("admin", "admin", None), ("boss", "manager", None), ("kefu", "service", None)]
    users += [
        (login, "rep", name) for login, name in zip(("wang", "li", "zhao"), reps, strict=False)
    ]
    for login, role, rep in users:
        extra = ["--rep-name", rep] if rep else []
        _kehu("users", "add", login, "--role", role, "--password", PASSWORD, *extra,
              workspace=workspace)  # fmt: skip


def _activity(workspace: Path, reps: list[str]) -> None:
    """Tasks, interactions, feedback, loyalty and a campaign with a result, via the services."""
    from sqlalchemy import func, select

    from kehu.services import campaigns, feedback, followups, loyalty, privacy
    from kehu.services.users import actor_for
    from kehu.store.engine import make_engine, session_factory
    from kehu.store.models import ClassificationResult, Customer, Order, User
    from kehu.store.settings import StoreSettings

    engine = make_engine(StoreSettings.from_env(workspace).url)
    factory = session_factory(engine)
    try:
        with factory() as s, s.begin():
            actors = {u.username: actor_for(u) for u in s.scalars(select(User))}
            by_rep = {
                rep: list(
                    s.scalars(
                        select(Customer.code)
                        .where(Customer.sales_rep == rep)
                        .order_by(Customer.code)
                        .limit(12)
                    )
                )
                for rep in reps
            }
            today = dt.date.today()
            notes = [
                "电话回访，客户反馈春节备货需求",
                "上门拜访，补充了新品陈列",
                "微信沟通促销方案",
            ]
            for login, rep in zip(("wang", "li", "zhao"), reps, strict=False):
                for i, code in enumerate(by_rep[rep][:8]):
                    followups.create_task(
                        s,
                        actor=actors[login],
                        code=code,
                        title=["回访近期未下单客户", "确认春节备货", "介绍新品"][i % 3],
                        due_date=today + dt.timedelta(days=i - 3),
                    )
                    if i % 2 == 0:
                        followups.record_interaction(
                            s,
                            actor=actors[login],
                            code=code,
                            kind=["call", "visit", "wechat"][i % 3],
                            notes=notes[i % 3],
                            outcome="跟进中",
                        )
            texts = [
                (5, "送货很及时，饮料品类齐全，业务员服务热情"),
                (2, "上次到货有两箱破损，希望改进包装"),
                (4, "价格比较合适，希望多一些促销活动"),
                (1, "配送太慢了，等了三天才到"),
                (3, "新品口味一般，希望能换货"),
                (5, "春节备货很顺利，感谢"),
            ]
            codes = [c for rep in reps for c in by_rep[rep]]
            for i, code in enumerate(codes[:18]):
                rating, body = texts[i % len(texts)]
                feedback.record_feedback(
                    s,
                    actor=actors["kefu"],
                    workspace=workspace,
                    code=code,
                    rating=rating,
                    text=body,
                    received_at=dt.datetime(2024, 12, 1 + i % 28, 10),
                )
            for code in codes[:24]:
                loyalty.enroll(s, actor=actors["boss"], code=code)
                for order_no in s.scalars(
                    select(Order.order_no)
                    .join(Customer, Customer.id == Order.customer_id)
                    .where(Customer.code == code)
                    .order_by(Order.order_time.desc())
                    .limit(3)
                ):
                    with contextlib.suppress(Exception), s.begin_nested():
                        loyalty.earn_for_order(s, actor=actors["boss"], order_no=order_no)
            # the nightly job: members' tiers from their spend up to the data's last day
            last = s.scalar(select(func.max(Order.order_time))).date()
            loyalty.recompute_tiers(s, actor=actors["boss"], as_of=last + dt.timedelta(days=1))
            # the campaign targets the largest class of recent buyers, so that its response
            # window has orders; most of them agreed to SMS marketing (the rest are left out)
            top = s.scalar(
                select(ClassificationResult.rfm8)
                .where(ClassificationResult.rfm8.is_not(None))
                .group_by(ClassificationResult.rfm8)
                .having(func.avg(ClassificationResult.recency_days) < 60)
                .order_by(func.count().desc(), ClassificationResult.rfm8)
                .limit(1)
            )
            audience = s.scalars(
                select(Customer.code)
                .join(ClassificationResult, ClassificationResult.customer_id == Customer.id)
                .where(ClassificationResult.rfm8 == top)
                .order_by(Customer.code)
            ).all()
            for i, code in enumerate(audience):
                if i % 10 != 9:
                    privacy.record_consent(
                        s,
                        actor=actors["kefu"],
                        code=code,
                        purpose="marketing_sms",
                        granted=True,
                        source="注册时勾选",
                    )
            campaign = campaigns.create_campaign(
                s,
                actor=actors["boss"],
                name="国庆促销短信",
                channel="sms",
                target={"classes": {"rfm8": [top]}} if top else {},
                control_share=0.2,
                description="十一期间的饮料和零食满减活动",
            )
            campaigns.build_audience(s, actor=actors["boss"], campaign_id=campaign.id)
            campaigns.launch(s, actor=actors["boss"], campaign_id=campaign.id, at=LAUNCH)
            campaigns.create_campaign(
                s,
                actor=actors["boss"],
                name="春节备货提醒",
                channel="wechat",
                target={"filter": "orders >= 10"},
            )
    finally:
        engine.dispose()


def counts(workspace: Path) -> dict[str, int]:
    """Rows per table the pages show (for the tests)."""
    from sqlalchemy import text

    from kehu.store.engine import make_engine
    from kehu.store.settings import StoreSettings

    engine = make_engine(StoreSettings.from_env(workspace).url)
    tables = ("customers", "users", "campaigns", "feedback", "loyalty_accounts", "tasks")
    try:
        with engine.connect() as con:
            return {t: con.scalar(text(f"SELECT count(*) FROM {t}")) for t in tables}
    finally:
        engine.dispose()


# --- serving and photographing ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(workspace: Path):
    """``kehu serve`` on a free port; yields the base URL."""
    import httpx

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "KEHU_DATABASE_URL"}
    cmd = [sys.executable, "-m", "kehu", "serve", "--port", str(port), "--workspace",
           str(workspace)]  # fmt: skip
    log = open(workspace / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(cmd, cwd=workspace, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                    break
            if proc.poll() is not None:
                raise RuntimeError(f"kehu serve stopped: {(workspace / 'serve.log').read_text()}")
            time.sleep(0.2)
        else:
            raise RuntimeError("kehu serve did not come up")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _save(png: bytes, path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        import io

        from PIL import Image
    except ImportError:
        path.write_bytes(png)
        return len(png)
    img = Image.open(io.BytesIO(png)).convert("RGB").quantize(colors=256)
    img.save(path, optimize=True)
    return path.stat().st_size


def find_links(page, base: str, plain, templated) -> dict[str, str]:
    """A link to each page with parameters: from the plain pages, then from the pages found.

    A page below another one (``/campaigns/{id}/result``) decides the other's link, so that
    both show the same thing (the launched campaign, not the first draft of the list); a
    page linked from nowhere takes its parameters from a page found (a loyalty member is
    the customer of the customer page).
    """
    links: dict[str, str] = {}
    seen: set[str] = set()
    todo = list(plain)
    for _ in range(2):  # the plain pages, then up to three pages of each kind found there
        found: dict[str, list[str]] = {}
        for path in todo:
            if path in seen:
                continue
            seen.add(path)
            page.goto(f"{base}{path}")
            for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
                url = urlsplit(href)
                if url.netloc != urlsplit(base).netloc or SKIP.search(url.path):
                    continue
                for tpath, (_, regex) in templated.items():
                    if regex.match(url.path):
                        links.setdefault(tpath, url.path)
                        kind = found.setdefault(tpath, [])
                        if url.path not in kind and len(kind) < 3:
                            kind.append(url.path)
        todo = [path for paths in found.values() for path in paths]
    for tpath in templated:
        below = [q for q in links if q.startswith(tpath + "/")]
        if below:
            links[tpath] = "/".join(links[below[0]].split("/")[: tpath.count("/") + 1])
    for tpath in templated:
        if tpath in links:
            continue
        names = set(re.findall(r"{(\w+)}", tpath))
        for other, url in list(links.items()):
            values = templated[other][1].match(url).groupdict()
            if set(values) == names:
                links[tpath] = tpath.format(**values)
                break
    return links


def shoot(workspace: Path, out: Path) -> list[tuple[Path, int]]:
    from playwright.sync_api import sync_playwright

    from kehu.api import create_app
    from kehu.store.settings import StoreSettings

    app = create_app(StoreSettings.from_env(workspace))
    plain, templated = page_routes(app)
    written, failed, problems = [], [], []
    with serve(workspace) as base, sync_playwright() as p:
        # one browser per language: the browser's own language draws the date and month inputs
        browsers = {
            lang: p.chromium.launch(
                executable_path=CHROMIUM,
                args=["--no-sandbox", "--disable-gpu", f"--lang={LOCALES[lang]}"],
                env={**os.environ, "LANGUAGE": LOCALES[lang].replace("-", "_")},
            )
            for lang in LANGS
        }
        pages: dict[tuple[str, str, int], object] = {}

        def page_for(user: str, lang: str, width: int):
            key = (user, lang, width)
            if key not in pages:
                context = browsers[lang].new_context(
                    viewport={"width": width, "height": 900}, locale=LOCALES[lang]
                )
                host = urlsplit(base).hostname
                context.add_cookies([{"name": "kehu_lang", "value": lang, "domain": host,
                                      "path": "/"}])  # fmt: skip
                page = context.new_page()
                page.goto(f"{base}/login")
                page.fill("input[name=username]", user)
                page.fill("input[name=password]", PASSWORD)
                page.click("button.primary")
                page.wait_for_url(f"{base}/")
                pages[key] = page
            return pages[key]

        links = find_links(page_for("boss", "zh", DESKTOP), base, plain, templated)
        # the rep's phone shows one of the rep's own customers
        rep = page_for("wang", "zh", PHONE)
        rep.goto(f"{base}/customers")
        own = rep.eval_on_selector_all(
            "table a[href*='/customers/']", "els => els.map(e => e.href)"
        )
        phone = urlsplit(own[0]).path if own else None
        for shot in plan(app, links, phone=phone):
            page = page_for(shot.user, shot.lang, shot.width)
            response = page.goto(f"{base}{shot.url}")
            page.wait_for_load_state("networkidle")
            if response is None or response.status >= 400:
                failed.append(f"{shot.lang}/{shot.name} ({shot.url})")
                print(
                    f"{shot.url}: not saved, status {response and response.status}", file=sys.stderr
                )
                continue
            problems += [f"{shot.lang}/{shot.name}: {p}" for p in _check(page, shot.width)]
            height = min(MAX_HEIGHT, page.evaluate("document.documentElement.scrollHeight"))
            png = page.screenshot(
                full_page=True, clip={"x": 0, "y": 0, "width": shot.width, "height": height}
            )
            target = out / shot.lang / f"{shot.name}.png"
            written.append((target, _save(png, target)))
            print(f"{target.relative_to(out)}: {written[-1][1] / 1024:.0f} KB", file=sys.stderr)
        for browser in browsers.values():
            browser.close()
    for name in failed:
        print(f"FAILED (not saved): {name}", file=sys.stderr)
    for problem in problems:
        print(f"CHECK: {problem}", file=sys.stderr)
    if failed or problems:
        raise SystemExit(1)
    return written


def _check(page, width: int) -> list[str]:
    """What a reader would see as broken: a text key, a page wider than the screen."""
    problems = []
    keys = page.evaluate(
        "() => [...new Set(document.body.innerText.match(/\\bweb_[a-z0-9_]+/g) || [])]"
    )
    if keys:
        problems.append(f"untranslated {', '.join(keys)}")
    wide = page.evaluate("document.documentElement.scrollWidth")
    if wide > width:
        problems.append(f"{wide} px wide on a {width} px screen (horizontal scroll)")
    return problems


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument(
        "--workspace", type=Path, default=Path(tempfile.gettempdir()) / "kehu-screenshots"
    )
    p.add_argument("--customers", type=int, default=600)
    p.add_argument("--out", type=Path, default=OUT)
    args = p.parse_args(argv)
    workspace = build_store(args.workspace.resolve(), customers=args.customers)
    written = shoot(workspace, args.out)
    total = sum(size for _, size in written)
    print(f"{len(written)} screenshots, {total / 1e6:.1f} MB in {args.out}")


if __name__ == "__main__":
    main()
