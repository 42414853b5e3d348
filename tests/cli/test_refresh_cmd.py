"""`kehu refresh` says in one line that another refresh runs, which runs it marked interrupted,
and which order lines it left out (SQLite and PostgreSQL).

A run killed with ``kill -9`` and the next `kehu refresh` are in tests/api/test_runs.py.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import insert, text

from kehu.cli.main import main
from kehu.services.refresh import INTERRUPTED
from kehu.store.models import ClassificationRun, utcnow


@pytest.fixture
def cli_store(loaded_store, store_backend, monkeypatch, tmp_path):
    """The loaded store, reached by the CLI through KEHU_DATABASE_URL: ``kehu refresh`` args."""
    monkeypatch.setenv("KEHU_DATABASE_URL", store_backend[1])
    monkeypatch.delenv("KEHU_ENV", raising=False)
    return ["refresh", "--as-of", "2024-07-01", "--workspace", str(tmp_path)]


def _running(factory, owner: str, age: dt.timedelta) -> int:
    beat = utcnow() - age
    with factory() as s, s.begin():
        return s.execute(
            insert(ClassificationRun)
            .values(status="running", owner=owner, started_at=beat, heartbeat_at=beat)
            .returning(ClassificationRun.id)
        ).scalar_one()


def test_a_running_refresh_is_one_line(cli_store, loaded_store, capsys):
    live = _running(loaded_store, "elsewhere:4242", dt.timedelta(seconds=5))
    assert main(cli_store) == 1
    said = capsys.readouterr()
    lines = [line for line in said.err.splitlines() if line.strip()]
    assert len(lines) == 1, said.err
    assert lines[0].startswith(f"error: a refresh is already running (run {live}, started ")
    assert lines[0].endswith("try again when it has finished") and not said.out


def test_an_interrupted_run_is_one_line(cli_store, loaded_store, capsys):
    stale = _running(loaded_store, "elsewhere:4242", dt.timedelta(minutes=30))
    assert main(cli_store) == 0
    said = capsys.readouterr()
    assert said.out.splitlines()[0] == (
        f"run {stale} had stopped without finishing: marked failed (interrupted)"
    )
    assert "4 customers classified" in said.out and not said.err
    with loaded_store() as s:
        assert s.get(ClassificationRun, stale).error == INTERRUPTED


def test_skipped_order_lines_are_printed(cli_store, loaded_store, store_backend, capsys):
    if store_backend[0] == "sqlite":  # PostgreSQL's timestamp column refuses the text
        with loaded_store() as s, s.begin():
            s.execute(text("UPDATE orders SET order_time = 'garbage-date' WHERE order_no = 'O101'"))
    assert main(cli_store) == 0
    out = capsys.readouterr().out
    note = "  note: skipped 2 order lines: their order_time is not a date"
    assert (note in out) == (store_backend[0] == "sqlite")
