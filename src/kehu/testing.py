"""Pytest fixtures for tests that need a store, on SQLite and on PostgreSQL.

Above every layer (it loads the sample through the services), used by tests only.

Import the fixtures into a test module or ``conftest.py``::

    from kehu.testing import store_engine, store_factory, store_backend  # noqa: F401

``store_backend`` is parametrised over ``sqlite`` and ``postgresql``; each
backend's database is created once per test session (a temporary SQLite file,
or a fresh PostgreSQL database ``kehu_test_<random>`` dropped at the end) and
migrated with Alembic.  ``store_engine`` empties every table before each test.

PostgreSQL is reached at ``KEHU_TEST_POSTGRES_URL`` (default
``postgresql+psycopg://postgres@127.0.0.1:5432/test``).  When no server
answers, its tests skip with the reason -- unless ``KEHU_REQUIRE_POSTGRES=1``
(set it in CI), which turns the skip into a failure.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from kehu.services.store_load import load_files
from kehu.store.engine import make_engine, session_factory
from kehu.store.migrate import upgrade
from kehu.store.models import Base
from kehu.writers import write_text

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
BACKENDS = ("sqlite", "postgresql")
#: tables filled by the initial migration, kept between tests
SEEDED = ("roles",)


def postgres_admin_url() -> str:
    return os.environ.get("KEHU_TEST_POSTGRES_URL", DEFAULT_PG)


def _skip_or_fail(reason: str) -> None:
    if os.environ.get("KEHU_REQUIRE_POSTGRES") == "1":
        pytest.fail(f"KEHU_REQUIRE_POSTGRES=1 but {reason}")
    pytest.skip(reason)


class _Postgres:
    """A throwaway PostgreSQL database on the test server."""

    def __init__(self) -> None:
        self.admin = make_engine(postgres_admin_url(), isolation_level="AUTOCOMMIT")
        self.name = f"kehu_test_{secrets.token_hex(6)}"
        try:
            with self.admin.connect() as con:
                con.execute(text(f'CREATE DATABASE "{self.name}"'))
        except Exception as exc:
            self.admin.dispose()
            shown = self.admin.url.render_as_string(hide_password=True)
            _skip_or_fail(f"no PostgreSQL server answers at {shown}: {type(exc).__name__}")
        self.url = self.admin.url.set(database=self.name).render_as_string(hide_password=False)

    def drop(self) -> None:
        with self.admin.connect() as con:
            con.execute(text(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))
        self.admin.dispose()


@pytest.fixture(scope="session", params=BACKENDS)
def store_backend(request, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """``(backend name, database URL)`` of a migrated, session-wide database."""
    if request.param == "sqlite":
        folder = tmp_path_factory.mktemp("kehu-store")
        url = f"sqlite:///{folder / 'kehu.db'}"
        engine = make_engine(url)
        upgrade(engine)
        engine.dispose()
        yield "sqlite", url
        return
    pg = _Postgres()
    engine = make_engine(pg.url)
    upgrade(engine)
    engine.dispose()
    try:
        yield "postgresql", pg.url
    finally:
        pg.drop()


def wipe(engine: Engine) -> None:
    """Delete every row except the seeded ones; identities restart."""
    tables = list(reversed(_kept_tables()))
    with engine.begin() as con:
        if engine.dialect.name == "postgresql":
            names = ", ".join(f'"{t.name}"' for t in tables)
            con.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        else:
            for t in tables:
                con.execute(t.delete())
            con.execute(text("DELETE FROM sqlite_sequence")) if _has_sequence(con) else None


def _has_sequence(con) -> bool:
    got = con.execute(
        text("SELECT name FROM sqlite_master WHERE type='table' AND name='sqlite_sequence'")
    )
    return got.first() is not None


def _kept_tables() -> list:
    """The store's tables but the seeded ones, parents before children."""
    return [t for t in Base.metadata.sorted_tables if t.name not in SEEDED]


def snapshot(engine: Engine) -> dict:
    """Every row (but the seeded ones) and every id counter of the store, to put back with
    :func:`restore`: a fixture can build a store once per backend and restore it per test
    instead of loading and classifying again."""
    with engine.connect() as con:
        rows = {t.name: [r._asdict() for r in con.execute(t.select())] for t in _kept_tables()}
        return {"rows": rows, "counters": _counters(con)}


def restore(engine: Engine, snap: dict) -> None:
    """Put the store back as :func:`snapshot` saw it (rows, ids and id counters)."""
    wipe(engine)
    with engine.begin() as con:
        for t in _kept_tables():
            if snap["rows"][t.name]:
                con.execute(t.insert(), snap["rows"][t.name])
        _set_counters(con, snap["counters"])


def _counters(con) -> dict:
    """Id counters: PostgreSQL sequence -> (last_value, is_called); SQLite table -> seq."""
    if con.dialect.name != "postgresql":
        if not _has_sequence(con):
            return {}
        return dict(con.execute(text("SELECT name, seq FROM sqlite_sequence")).tuples())
    found = {}
    for t in _kept_tables():
        if "id" not in t.c:
            continue
        ask = text("SELECT pg_get_serial_sequence(:t, 'id')")
        seq = con.execute(ask, {"t": f'"{t.name}"'}).scalar()
        if seq:
            found[seq] = tuple(con.execute(text(f"SELECT last_value, is_called FROM {seq}")).one())
    return found


def _set_counters(con, counters: dict) -> None:
    for name, value in counters.items():
        if con.dialect.name == "postgresql":
            last, called = value
            con.execute(text("SELECT setval(:s, :v, :c)"), {"s": name, "v": last, "c": called})
        else:  # inserting explicit ids already wrote a row per table: replace it
            con.execute(text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": name})
            put = text("INSERT INTO sqlite_sequence VALUES (:t, :v)")
            con.execute(put, {"t": name, "v": value})


@pytest.fixture
def store_engine(store_backend) -> Iterator[Engine]:
    """An engine on an empty, migrated store (SQLite and PostgreSQL)."""
    _, url = store_backend
    engine = make_engine(url)
    wipe(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def store_factory(store_engine) -> sessionmaker[Session]:
    return session_factory(store_engine)


# --- a small data set with hand-computable classes --------------------------------------------

#: as of this date (mean thresholds) the sample's rfm8 classes are
#: C1 重要价值客户, C2 一般挽留客户, C3 一般发展客户, C4 重要保持客户
SAMPLE_AS_OF = "2024-07-01"
SAMPLE_CLASSES = {
    "C1": "重要价值客户",
    "C2": "一般挽留客户",
    "C3": "一般发展客户",
    "C4": "重要保持客户",
}
SAMPLE_CUSTOMERS = (
    "客户编号,客户名称,联系电话,省份,城市,渠道,业务员\n"
    "C1,杭州联华超市,13812345678,浙江省,杭州市,超市,王伟\n"
    "C2,南京便利店,13900001111,江苏省,南京市,便利店,王伟\n"
    "C3,宁波面馆,13700002222,浙江省,宁波市,餐饮,李娜\n"
    "C4,上海批发,13600003333,上海市,上海市,批发商,李娜\n"
)
_SAMPLE_ORDERS = [
    # order id, customer, time, lines [(product, quantity, price)]
    ("O101", "C1", "2024-06-01 10:00:00", [("P1", 10, 60.0), ("P2", 4, 100.0)]),
    ("O102", "C1", "2024-06-10 10:00:00", [("P1", 10, 100.0)]),
    ("O103", "C1", "2024-06-20 10:00:00", [("P2", 10, 100.0)]),
    ("O104", "C1", "2024-06-25 10:00:00", [("P1", 20, 50.0)]),
    ("O201", "C2", "2024-01-05 09:00:00", [("P1", 1, 50.0)]),
    ("O301", "C3", "2024-06-28 12:00:00", [("P2", 1, 100.0)]),
    ("O401", "C4", "2024-01-01 08:00:00", [("P1", 8, 100.0)]),
    ("O402", "C4", "2024-01-10 08:00:00", [("P1", 8, 100.0)]),
    ("O403", "C4", "2024-01-20 08:00:00", [("P1", 8, 100.0)]),
    ("O404", "C4", "2024-02-01 08:00:00", [("P1", 8, 100.0)]),
    ("O405", "C4", "2024-02-10 08:00:00", [("P1", 8, 100.0)]),
]
SAMPLE_PRODUCTS = (
    "商品编码,商品名称,品类,品牌,单价\nP1,矿泉水,饮料,清源,50\nP2,方便面,食品,康师傅,100\n"
)


def sample_orders_csv() -> str:
    rows = ["订单号,客户编号,下单时间,商品编码,数量,单价,金额"]
    for no, cust, when, lines in _SAMPLE_ORDERS:
        for product, qty, price in lines:
            rows.append(f"{no},{cust},{when},{product},{qty},{price:.2f},{qty * price:.2f}")
    return "\n".join(rows) + "\n"


def write_sample(folder: Path) -> dict[str, Path]:
    """Write the sample's ``customers.csv``, ``products.csv`` and ``orders.csv`` (UTF-8)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "customers": folder / "customers.csv",
        "products": folder / "products.csv",
        "orders": folder / "orders.csv",
    }
    write_text(paths["customers"], SAMPLE_CUSTOMERS)
    write_text(paths["products"], SAMPLE_PRODUCTS)
    write_text(paths["orders"], sample_orders_csv())
    return paths


@pytest.fixture
def sample_files(tmp_path) -> dict[str, Path]:
    return write_sample(tmp_path / "sample")


def load_sample(factory: sessionmaker[Session], files: dict[str, Path]) -> None:
    """Load the sample's three files (see :func:`write_sample`) into the store."""
    load_files(
        factory, orders=files["orders"], customers=files["customers"], products=files["products"]
    )


@pytest.fixture
def loaded_store(store_factory, sample_files) -> sessionmaker[Session]:
    """The store with the sample loaded (no refresh yet)."""
    load_sample(store_factory, sample_files)
    return store_factory
