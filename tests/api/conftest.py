"""An API over a loaded and classified store, with one user per role (SQLite and PostgreSQL)."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
import threading
import time

import pytest
import uvicorn
from fastapi.testclient import TestClient

from kehu.api import create_app
from kehu.services import memo
from kehu.services.access import SYSTEM
from kehu.services.refresh import refresh
from kehu.services.users import create_user
from kehu.store.settings import StoreSettings
from kehu.testing import load_sample, restore, snapshot

SECRET = "test-secret-key-0123456789"
PASSWORD = "password-123"
#: where the REST API lives; the web pages own the rest
API = "/api/v1"
#: user name -> (role, rep name); 王伟 has C1 and C2, 李娜 has C3 and C4
USERS = {
    "admin": ("admin", None),
    "boss": ("manager", None),
    "wang": ("rep", "王伟"),
    "li": ("rep", "李娜"),
    "kefu": ("service", None),
    "ana": ("analyst", None),
}


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """Argon2 at its smallest cost: the tests check behaviour, not hashing strength."""
    from argon2 import PasswordHasher

    monkeypatch.setattr(
        "kehu.services.users.passwords._hasher",
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )


#: per database URL, the store as ``api_store`` first built it (loaded, refreshed, users)
_BUILT: dict[str, dict] = {}


@pytest.fixture
def api_store(store_factory, store_backend, sample_files):
    """The sample loaded and refreshed as of 2024-07-01, one user per role.

    Built once per backend, then put back row for row before each test: loading and
    classifying again cost seconds per test (the build itself is what the store tests check).
    """
    engine = store_factory.kw["bind"]
    url = store_backend[1]
    memo.forget()
    if url in _BUILT:
        restore(engine, _BUILT[url])
        return store_factory
    load_sample(store_factory, sample_files)
    refresh(store_factory, as_of=dt.date(2024, 7, 1))
    with store_factory() as s, s.begin():
        for name, (role, rep) in USERS.items():
            create_user(s, actor=SYSTEM, username=name, password=PASSWORD, role=role, rep_name=rep)
    _BUILT[url] = snapshot(engine)
    return store_factory


@pytest.fixture
def api_settings(api_store, store_backend, tmp_path_factory) -> StoreSettings:
    # a workspace of its own: endpoints write files there (feedback categories, models)
    return StoreSettings(
        database_url=store_backend[1],
        secret_key=SECRET,
        environment="test",
        workspace=tmp_path_factory.mktemp("workspace"),
    )


@pytest.fixture
def client(api_settings):
    with TestClient(create_app(api_settings), base_url=f"http://testserver{API}") as c:
        yield c


def _login(client, name: str, password: str = PASSWORD):
    return client.post("/auth/token", data={"username": name, "password": password})


@pytest.fixture
def login():
    """``login(client, name, password=<the users' password>)`` -> the token response."""
    return _login


@pytest.fixture
def auth(client):
    """User name -> Authorization headers."""
    out = {}
    for name in USERS:
        r = _login(client, name)
        assert r.status_code == 200, r.text
        out[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return out


@contextlib.contextmanager
def _serving(app):
    """``app`` served by uvicorn in a thread on a free localhost port: the API's base URL."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    for _ in range(200):  # wait until it listens (bounded, not a timing assertion)
        if srv.started:
            break
        time.sleep(0.05)
    assert srv.started, "uvicorn did not start"
    try:
        yield f"http://127.0.0.1:{port}{API}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="session")
def serving():
    """``with serving(app) as base_url``: uvicorn in a thread, for fixtures of any scope."""
    return _serving


@pytest.fixture
def server(api_settings):
    """The API served by uvicorn on a free localhost port: its base URL."""
    with _serving(create_app(api_settings)) as base_url:
        yield base_url


@pytest.fixture
def serve_processes(api_settings):
    """``start(workers)`` -> base URL of ``kehu serve --workers N`` in its own processes.

    The workers open the same store as ``api_settings``; every server is stopped
    at the end of the test.
    """
    import os
    import subprocess
    import sys

    import httpx

    started = []

    def start(workers: int = 1) -> str:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        env = {
            **os.environ,
            "KEHU_DATABASE_URL": api_settings.url,
            "KEHU_SECRET_KEY": api_settings.secret_key,
            "KEHU_ENV": "test",
        }
        cmd = [sys.executable, "-m", "kehu", "serve", "--port", str(port)]
        cmd += ["--workers", str(workers), "--workspace", str(api_settings.workspace)]
        proc = subprocess.Popen(
            cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
        )
        started.append(proc)
        url = f"http://127.0.0.1:{port}{API}"
        for _ in range(600):  # wait until it answers (bounded, not a timing assertion)
            if proc.poll() is not None:
                raise AssertionError(f"kehu serve stopped: {proc.stderr.read().decode()[-2000:]}")
            try:
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    return url
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise AssertionError("kehu serve did not answer")

    yield start
    import signal

    for proc in started:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
