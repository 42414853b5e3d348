"""Migrations build exactly the models' schema, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, select

from kehu.exceptions import ConfigError
from kehu.store.engine import make_engine, normalise_url
from kehu.store.migrate import current_revision, head_revision, upgrade
from kehu.store.models import ROLES, Base, Role
from kehu.store.settings import DEV_SECRET, StoreSettings

ENTITIES = {
    "customers",
    "customer_contacts",
    "customer_tags",
    "consents",
    "products",
    "orders",
    "order_lines",
    "interactions",
    "tasks",
    "feedback",
    "survey_answers",
    "loyalty_accounts",
    "loyalty_ledger",
    "campaigns",
    "campaign_members",
    "classification_runs",
    "classification_results",
    "alerts",
    "users",
    "roles",
    "api_tokens",
    "audit_log",
    "targets",
    "load_runs",
}


def _newest_revision() -> str:
    """The highest numbered revision file: migrations form one line, 0001, 0002 ..."""
    import kehu.store.migrations.versions as versions

    folder = Path(versions.__file__).parent
    return max(p.name.split("_", 1)[0] for p in folder.glob("[0-9]*_*.py"))


def test_migrated_store_has_every_table_at_head(store_engine):
    assert set(inspect(store_engine).get_table_names()) >= ENTITIES
    # one head (get_current_head raises on several), and the newest file is it
    assert current_revision(store_engine) == head_revision(store_engine) == _newest_revision()


def test_migration_matches_the_models(store_engine):
    with store_engine.connect() as con:
        diff = compare_metadata(MigrationContext.configure(con), Base.metadata)
    assert diff == []


def test_roles_are_seeded(store_factory):
    with store_factory() as s:
        assert set(s.scalars(select(Role.name))) == set(ROLES)


def test_upgrade_is_idempotent(store_engine):
    assert upgrade(store_engine) == _newest_revision()


def test_default_url_is_the_workspace_sqlite_file(tmp_path):
    s = StoreSettings(workspace=tmp_path)
    assert s.url == f"sqlite:///{(tmp_path / 'kehu.db').resolve()}"


def test_secret_default_refused_outside_development(tmp_path):
    with pytest.raises(ConfigError, match="KEHU_SECRET_KEY"):
        StoreSettings(workspace=tmp_path, environment="production")
    assert StoreSettings(environment="development").secret_key == DEV_SECRET
    with pytest.raises(ConfigError, match="16 characters"):
        StoreSettings(secret_key="short")


def test_settings_from_env(tmp_path, monkeypatch):
    monkeypatch.setenv("KEHU_DATABASE_URL", "postgres://u@h/db")
    monkeypatch.setenv("KEHU_ENV", "production")
    monkeypatch.setenv("KEHU_SECRET_KEY", "x" * 32)
    monkeypatch.setenv("KEHU_TOKEN_MINUTES", "15")
    s = StoreSettings.from_env(tmp_path)
    assert (s.url, s.environment, s.token_minutes) == ("postgres://u@h/db", "production", 15)
    monkeypatch.setenv("KEHU_TOKEN_MINUTES", "soon")
    with pytest.raises(ConfigError, match="token_minutes"):
        StoreSettings.from_env(tmp_path)


def test_urls():
    assert normalise_url("postgres://a@b/c") == "postgresql+psycopg://a@b/c"
    assert normalise_url("sqlite:///x.db") == "sqlite:///x.db"
    with pytest.raises(ConfigError, match="unsupported database"):
        make_engine("mysql://a@b/c")
    with pytest.raises(ConfigError, match="not a database URL"):
        make_engine("not a url")
