"""Fixtures of the page tests: the API's store and users, a real browser, signed-in clients.

- ``site``: the base URL of a real ``kehu serve`` (its own process) on 127.0.0.1.
- ``sign_in(user, lang=..., width=...)``: a Playwright page of Debian chromium, signed in there.
- ``pages(user, lang=...)``: an in-process client of the pages, signed in, with ``.csrf``
  (for fast tests of forms and their errors, and the fuzz over every form).

Users are those of ``tests/api/conftest.py``: wang and li are reps (王伟 has C1 and C2,
李娜 has C3 and C4), boss a manager, admin, kefu (service), ana (analyst).
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

#: a run of Chinese characters
HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")


def _api_fixtures():
    path = Path(__file__).parents[1] / "api" / "conftest.py"
    spec = importlib.util.spec_from_file_location("kehu_tests_api_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_api = _api_fixtures()
cheap_password_hashing = _api.cheap_password_hashing
api_store = _api.api_store
api_settings = _api.api_settings
serve_processes = _api.serve_processes
PASSWORD = _api.PASSWORD
CHROMIUM = "/usr/bin/chromium"
#: a CSRF token as the pages write it into their forms
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def browser():
    """Debian chromium (skips where it is not installed; .ci/run installs it)."""
    if shutil.which("chromium") is None:
        if os.environ.get("KEHU_REQUIRE_CHROMIUM"):  # CI installs it: a missing browser fails
            pytest.fail("Debian chromium is required (KEHU_REQUIRE_CHROMIUM) but not installed")
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


@pytest.fixture
def site(serve_processes):
    """Base URL of the pages served by ``kehu serve`` (the API is under /api/v1)."""
    return serve_processes(1).removesuffix("/api/v1")


@pytest.fixture
def sign_in(browser, site):
    """``sign_in(user, lang="zh", width=1280)`` -> a signed-in Playwright page on the workbench."""

    def go(user: str, *, lang: str = "zh", width: int = 1280):
        context = browser.new_context(
            viewport={"width": width, "height": 900},
            locale="zh-CN" if lang == "zh" else "en-US",
        )
        page = context.new_page()
        page.goto(f"{site}/login")
        page.fill("input[name=username]", user)
        page.fill("input[name=password]", PASSWORD)
        page.click("button.primary")
        page.wait_for_url(f"{site}/")
        return page

    return go


class Pages(TestClient):
    """A signed-in client of the pages; ``csrf`` is its session's form token."""

    csrf: str = ""

    def form(self, url: str, data: dict | None = None, **kwargs):
        """Post ``data`` as a form with this session's CSRF token (redirects not followed)."""
        return self.post(
            url, data={"csrf_token": self.csrf, **(data or {})}, follow_redirects=False, **kwargs
        )


@pytest.fixture
def pages(api_settings):
    """``pages(user, lang="zh")`` -> a :class:`Pages` client signed in as ``user``."""
    from kehu.api import create_app

    app = create_app(api_settings)
    opened = []

    def open_as(user: str, *, lang: str = "zh") -> Pages:
        client = Pages(app, base_url="http://testserver")
        client.__enter__()
        opened.append(client)
        client.cookies.set("kehu_lang", lang)
        token = CSRF.search(client.get("/login").text).group(1)
        r = client.post(
            "/login",
            data={"username": user, "password": PASSWORD, "csrf_token": token, "next": "/"},
            follow_redirects=False,
        )
        assert r.status_code == 303, r.text
        client.csrf = CSRF.search(client.get("/customers").text).group(1)
        return client

    yield open_as
    for client in opened:
        client.__exit__(None, None, None)


def _data_words(sessions) -> set[str]:
    """Chinese runs of the stored data (names, places, notes, labels): allowed on English pages.

    ``sessions``: the store's session factory.
    """
    import sqlalchemy as sa

    from kehu import i18n
    from kehu.services.loyalty import DEFAULT_TIERS
    from kehu.store.models import Base

    words: set[str] = set()
    with sessions() as db:
        for table in Base.metadata.sorted_tables:
            for column in table.columns:
                if isinstance(column.type, sa.String | sa.Text | sa.JSON):
                    # PostgreSQL has no equality for json: compare its text
                    values = sa.select(sa.cast(column, sa.Text)).distinct().limit(5000)
                    for value in db.execute(values).scalars():
                        words |= set(HAN_RUN.findall(str(value or "")))
    words |= {
        w for labels in i18n.LABELS_ZH.values() for v in labels.values() for w in HAN_RUN.findall(v)
    }
    # the loyalty tiers' names are the programme's own (configurable, shown as named)
    words |= {w for tier in DEFAULT_TIERS for w in HAN_RUN.findall(tier.name)}
    # the filter's example quotes a region as stored; the switch names the other language
    return words | {"华东", "中文"}


@pytest.fixture
def data_words():
    """``data_words(sessions)`` -> the Chinese words of the stored data."""
    return _data_words
