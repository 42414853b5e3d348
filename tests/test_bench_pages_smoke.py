"""A tiny run of the page benchmark and of the screenshot script's code paths (no timing goals)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]


def _module(path: Path, name: str):
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(path.parent))


@pytest.fixture(scope="module")
def bench_pages():
    return _module(ROOT / "bench" / "bench_pages.py", "kehu_bench_pages")


@pytest.fixture(scope="module")
def screenshots():
    return _module(ROOT / "docs" / "screenshots.py", "kehu_docs_screenshots")


def test_bench_pages_tiny_run_measures_every_page(bench_pages, tmp_path):
    args = ["--customers", "200", "--lines", "2000", "--requests", "2", "--backends", "sqlite"]
    rows = bench_pages.main([*args, "--data", str(tmp_path), "--profile"])
    pages = {(r["role"], r["page"]) for r in rows}
    for role in ("manager", "rep"):
        # the pages found from the routes, a customer's page found from the list, the filters
        for page in ("/", "/customers", "/customers/{code}", "/customers?filter=…"):
            assert (role, page) in pages
        assert ("manager", "/customers?rfm8=…") in pages
    # pages shown only once people have worked: a campaign (crawled from the list, its
    # result from it) and a loyalty member (typed, not linked)
    for page in ("/campaigns/{campaign_id}", "/campaigns/{campaign_id}/result"):
        assert ("manager", page) in pages
    for role in ("manager", "rep"):
        assert (role, "/loyalty/members/{code}") in pages
    assert all(len(r["statuses"]) and sum(r["statuses"].values()) == 2 for r in rows)
    assert all(r["p50"] > 0 and r["p95"] >= r["p50"] for r in rows)
    # the customer list answers its filters, as the manager and the rep
    for r in rows:
        if r["page"].startswith("/customers"):
            assert r["statuses"] == {200: 2}, r
    # the store is cached: a second run reuses it (no rebuild)
    db = next(tmp_path.glob("pages-200-2000/kehu.db"))
    built = db.stat().st_mtime_ns
    bench_pages.main([*args, "--data", str(tmp_path), "--requests", "1"])
    assert (tmp_path / "pages-200-2000" / "ready.json").is_file()
    assert db.stat().st_mtime_ns >= built
    assert "| sqlite | rep | `/customers` |" in bench_pages.table(rows)


def test_page_discovery_finds_page_routes_only(bench_pages):
    from kehu.api import create_app
    from kehu.store.settings import StoreSettings

    app = create_app(StoreSettings(secret_key="x" * 32, environment="test"))
    plain, templated = bench_pages.page_routes(app)
    assert "/" in plain and "/customers" in plain
    assert not any(p.startswith(("/api", "/static", "/login", "/logout")) for p in plain)
    assert "/customers/export" not in plain
    assert templated["/customers/{code}"].match("/customers/C1")


def test_screenshot_plan_covers_every_page_in_both_languages(screenshots):
    from kehu.api import create_app
    from kehu.store.settings import StoreSettings

    app = create_app(StoreSettings(secret_key="x" * 32, environment="test"))
    shots = screenshots.plan(app, links={"/customers/{code}": "/customers/000001"})
    names = {(s.lang, s.name) for s in shots}
    for lang in ("zh", "en"):
        assert (lang, "workbench") in names
        assert (lang, "customers") in names
        assert (lang, "customer") in names
        assert (lang, "customer-phone") in names
    phone = next(s for s in shots if s.name == "customer-phone")
    assert phone.width == 390 and phone.url == "/customers/000001"
    assert all(s.width == 1280 for s in shots if s.name != "customer-phone")


def test_screenshot_demo_store_has_what_the_pages_show(screenshots, tmp_path):
    """The demo store the screenshots use: several reps, tasks, a campaign, feedback, members."""
    ws = screenshots.build_store(tmp_path / "ws", customers=120)
    counts = screenshots.counts(ws)
    assert counts["customers"] >= 100
    assert counts["users"] >= 4
    assert counts["campaigns"] >= 1
    assert counts["feedback"] >= 1
    assert counts["loyalty_accounts"] >= 1
    assert counts["tasks"] >= 1
    # a second call reuses the store
    assert screenshots.build_store(tmp_path / "ws", customers=120) == ws


def test_demo_tells_how_to_open_the_application():
    from kehu.demo import open_app_message

    for lang in ("zh", "en"):
        text = open_app_message("kehu-demo", lang)
        for command in ("kehu init", "kehu load", "kehu refresh", "kehu users add", "kehu serve"):
            assert command in text
        assert "http://127.0.0.1:8000/" in text and "password-123" in text
