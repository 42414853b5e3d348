"""Shared fixtures: the real data sets in ../shared/data, skipped when absent."""

from __future__ import annotations

from pathlib import Path

import pytest

# the store fixtures (store_backend over SQLite and PostgreSQL, store_engine, store_factory)
pytest_plugins = ["kehu.testing"]

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Folder of the public retail data sets; skips the test when it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data not found at {SHARED_DATA} (clone the project beside shared/)")
    return SHARED_DATA
