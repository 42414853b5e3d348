"""Runs over real HTTP (issue 9): clean errors, what a rep sees, runs killed with ``kill -9``,
one refresh at a time across worker processes, order times that are not dates.

Every test runs on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError

from kehu.services import refresh as refresh_mod
from kehu.store.models import ClassificationRun

PASSWORD = "password-123"  # the users of tests/api/conftest.py

#: 李娜's customers and what identifies them: none of it may reach 王伟
LI_DATA = ("C3", "C4", "宁波面馆", "上海批发", "13700002222", "13600003333")


def _headers(base: str, user: str) -> dict[str, str]:
    r = httpx.post(base + "/auth/token", data={"username": user, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _get(base: str, path: str, user: str):
    r = httpx.get(base + path, headers=_headers(base, user), timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def _post_run(base: str, headers, as_of: str = "2024-07-01") -> httpx.Response:
    return httpx.post(base + "/runs", json={"as_of": as_of}, headers=headers, timeout=120)


# --- 1. a failed refresh stores and shows clean words ------------------------------------------


def test_a_failed_refresh_shows_no_database_error(server, api_store, monkeypatch, caplog):
    real = refresh_mod._write

    def doubled(session, run_id, prev_id, rows, *args):
        # one customer's results twice: the database refuses them, quoting the rows
        return real(session, run_id, prev_id, rows + rows[:1], *args)

    monkeypatch.setattr(refresh_mod, "_write", doubled)
    caplog.set_level(logging.ERROR, logger="kehu.refresh")
    r = _post_run(server, _headers(server, "boss"))
    assert r.status_code == 500, r.text
    run_id = r.json()["error"]["details"]["run_id"]
    clean = (
        "the write step failed: the database refused the results "
        f"(see the server log, run {run_id})"
    )
    assert r.json()["error"] == {
        "code": "refresh_failed",
        "message": clean,
        "details": {"run_id": run_id},
    }
    for user in ("wang", "boss"):
        runs = _get(server, "/runs", user)
        assert (runs[0]["id"], runs[0]["status"], runs[0]["error"]) == (run_id, "failed", clean)
        assert _get(server, f"/runs/{run_id}", user)["error"] == clean
    said = r.text + json.dumps(_get(server, "/runs", "wang"), ensure_ascii=False)
    for leak in ("INSERT", "parameters", "UNIQUE", "duplicate", "重要", "4000", *LI_DATA):
        assert leak not in said
    # the server log keeps the database's own words and the traceback
    logged = [rec for rec in caplog.records if rec.name == "kehu.refresh" and rec.exc_info]
    assert isinstance(logged[0].exc_info[1], DBAPIError)


# --- what a rep sees of runs -------------------------------------------------------------------


def test_a_rep_sees_runs_but_no_other_customers_data(server, api_store):
    r = _post_run(server, _headers(server, "boss"), as_of="2024-12-01")
    assert r.status_code == 201, r.text
    run_id = r.json()["id"]
    full = _get(server, f"/runs/{run_id}", "boss")
    assert sum(m["customers"] for m in full["migration"]) == 4
    assert "thresholds" in next(c for c in full["classifiers"] if c["classifier"] == "rfm8")

    seen = {}
    for rep in ("wang", "li"):
        runs = _get(server, "/runs", rep)
        assert [x["status"] for x in runs] == ["succeeded", "succeeded"]  # status: yes
        detail = _get(server, f"/runs/{run_id}", rep)
        # name, version and parameters; no cut points (other customers' values)
        assert {k for c in detail["classifiers"] for k in c} == {"classifier", "version", "params"}
        # the migration of their own two customers
        assert sum(m["customers"] for m in detail["migration"]) == 2
        seen[rep] = detail["migration"]
        alerts = _get(server, f"/runs/{run_id}/alerts", rep)
        mine = {"wang": {"C1", "C2"}, "li": {"C3", "C4"}}[rep]
        assert {a["customer_id"] for a in alerts} <= mine
        if rep == "wang":
            said = json.dumps([runs, detail, alerts], ensure_ascii=False)
            for leak in LI_DATA:
                assert leak not in said
    # the two reps' migrations add up to the whole one
    both: dict[tuple[str, str], int] = {}
    for m in seen["wang"] + seen["li"]:
        both[m["from"], m["to"]] = both.get((m["from"], m["to"]), 0) + m["customers"]
    assert both == {(m["from"], m["to"]): m["customers"] for m in full["migration"]}


# --- 2. a refresh killed with kill -9 ----------------------------------------------------------


def _killed_refresh(api_settings, api_store) -> int:
    """Run ``kehu refresh`` in a process held in its classify step, kill it with SIGKILL
    while its run is running, and return that run's id (still 'running' in the store)."""
    env = {
        **os.environ,
        "KEHU_DATABASE_URL": api_settings.url,
        "KEHU_SECRET_KEY": api_settings.secret_key,
        "KEHU_ENV": "test",
        refresh_mod.TEST_PAUSE_ENV: "classify:300",
    }
    cmd = [sys.executable, "-m", "kehu", "refresh", "--as-of", "2024-07-01"]
    cmd += ["--workspace", str(api_settings.workspace)]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    owner = f"{socket.gethostname()}:{proc.pid}"
    try:
        run_id = None
        for _ in range(1200):  # until its run is recorded (bounded, not a timing assertion)
            with api_store() as s:
                run_id = s.scalar(
                    select(ClassificationRun.id).where(
                        ClassificationRun.status == "running", ClassificationRun.owner == owner
                    )
                )
            if run_id is not None or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert run_id is not None, proc.stderr.read().decode()[-2000:] if proc.poll() else ""
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    with api_store() as s:
        assert s.get(ClassificationRun, run_id).status == "running"  # what kill -9 leaves
    return run_id


def test_kehu_serve_marks_a_killed_run_interrupted(api_settings, api_store, serve_processes):
    killed = _killed_refresh(api_settings, api_store)
    base = serve_processes(1)  # the app's start marks it
    runs = _get(base, "/runs", "wang")
    assert runs[0]["id"] == killed
    assert (runs[0]["status"], runs[0]["error"]) == ("failed", refresh_mod.INTERRUPTED)
    assert runs[0]["finished_at"] is not None
    r = _post_run(base, _headers(base, "boss"))
    assert r.status_code == 201 and r.json()["status"] == "succeeded", r.text


def test_the_next_kehu_refresh_marks_a_killed_run(api_settings, api_store, monkeypatch, capsys):
    from kehu.cli.main import main

    killed = _killed_refresh(api_settings, api_store)
    monkeypatch.setenv("KEHU_DATABASE_URL", api_settings.url)
    code = main(["refresh", "--as-of", "2024-07-01", "--workspace", str(api_settings.workspace)])
    said = capsys.readouterr()
    assert code == 0, said.err
    lines = said.out.splitlines()
    assert lines[0] == f"run {killed} had stopped without finishing: marked failed (interrupted)"
    assert "4 customers classified" in lines[1] and "Traceback" not in said.err
    with api_store() as s:
        assert s.get(ClassificationRun, killed).error == refresh_mod.INTERRUPTED


# --- 3. one refresh at a time across worker processes ------------------------------------------


def test_concurrent_refreshes_on_two_workers(serve_processes, api_store, monkeypatch):
    # the winner waits before its read step, so that the others arrive while it runs
    monkeypatch.setenv(refresh_mod.TEST_PAUSE_ENV, "read:5")
    base = serve_processes(2)
    users = ["admin", "boss", "ana", "boss"]
    headers = [_headers(base, u) for u in users]
    start = threading.Barrier(len(users))

    def post(h):
        start.wait()
        return _post_run(base, h)

    with ThreadPoolExecutor(len(users)) as pool:
        futures = [pool.submit(post, h) for h in headers]
        done = []
        while len(done) < len(users) - 1:  # the losers answer at once
            done = [f for f in futures if f.done()]
            time.sleep(0.05)
        with api_store() as s:
            running = s.scalar(select(func.count()).where(ClassificationRun.status == "running"))
        responses = [f.result() for f in futures]
    assert running == 1
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409, 409], [r.text for r in responses]
    winner = next(r.json() for r in responses if r.status_code == 201)
    assert winner["status"] == "succeeded"
    for r in responses:
        if r.status_code == 409:
            error = r.json()["error"]
            assert error["code"] == "conflict"
            assert f"already running (run {winner['id']}," in error["message"]
            assert error["details"]["running_run"]["id"] == winner["id"]
            assert set(error["details"]["running_run"]) == {
                "id",
                "status",
                "started_at",
                "heartbeat_at",
            }
    with api_store() as s:
        statuses = s.execute(select(ClassificationRun.status).order_by(ClassificationRun.id))
        assert statuses.scalars().all() == ["succeeded", "succeeded"]  # no failed, none running
    for _ in range(6):  # both workers still answer
        assert httpx.get(base + "/health", timeout=10).status_code == 200
    monkeypatch.delenv(refresh_mod.TEST_PAUSE_ENV)
    assert _post_run(base, headers[0]).status_code == 201


# --- 4. order times that are not dates ---------------------------------------------------------


def test_runs_report_skipped_order_lines(client, auth, api_store, store_backend):
    bad = text("UPDATE orders SET order_time = 'garbage-date' WHERE order_no = 'O101'")
    if store_backend[0] == "postgresql":
        with pytest.raises(DBAPIError), api_store() as s, s.begin():
            s.execute(bad)  # the column's type refuses it: nothing to skip
        r = client.post("/runs", json={"as_of": "2024-07-01"}, headers=auth["boss"])
        assert r.status_code == 201 and r.json()["skipped_lines"] == 0
        return
    with api_store() as s, s.begin():
        s.execute(bad)
    r = client.post("/runs", json={"as_of": "2024-07-01"}, headers=auth["boss"])
    assert r.status_code == 201 and r.json()["skipped_lines"] == 2, r.text
    runs = client.get("/runs", headers=auth["wang"]).json()
    assert runs[0]["skipped_lines"] == 2
    assert (
        "skipped 2 order lines: their order_time is not a date (the server log lists the orders)"
        in runs[0]["notes"]
    )
    assert "O101" not in json.dumps(runs)  # the order number is in the log only


def test_a_raw_error_stored_by_an_earlier_version_is_not_shown(client, auth, api_store):
    legacy = (
        "IntegrityError: (sqlite3.IntegrityError) UNIQUE constraint failed\n[SQL: INSERT INTO "
        "classification_results ...]\n[parameters: [(2, 4, '2024-07-01', '重要保持客户', 4000.0)]]"
    )
    with api_store() as s, s.begin():
        run = ClassificationRun(status="failed", error=legacy)
        s.add(run)
        s.flush()
        run_id = run.id
    shown = f"the refresh failed (see the server log, run {run_id})"
    assert client.get("/runs", headers=auth["wang"]).json()[0]["error"] == shown
    assert client.get(f"/runs/{run_id}", headers=auth["wang"]).json()["error"] == shown


# --- the current run's analysis report (issue 10) ----------------------------------------------


@pytest.mark.parametrize(("lang", "word"), [("zh", "重要价值客户"), ("en", "Important value")])
def test_the_current_runs_report_in_each_language(client, auth, lang, word):
    for user in ("boss", "kefu", "ana", "admin"):  # every role that sees all customers
        r = client.get(f"/runs/1/report?lang={lang}", headers=auth[user])
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "text/html; charset=utf-8"
        assert r.headers["content-disposition"] == (
            f'attachment; filename="run-1-report-{lang}.html"'
        )
        assert f'<html lang="{lang}' in r.text and word in r.text
        assert "宁波面馆" not in r.text  # per-class figures, no customer's name


def test_a_rep_gets_the_report_as_a_missing_run(client, auth):
    mine = client.get("/runs/1/report", headers=auth["wang"])
    missing = client.get("/runs/9/report", headers=auth["boss"])
    assert mine.status_code == missing.status_code == 404
    assert mine.json() == {"error": {"code": "not_found", "message": "no classification run 1"}}
    assert missing.json()["error"]["message"] == "no classification run 9"
    assert client.get("/runs/1/report").status_code == 401
    assert client.get("/runs/1/report?lang=fr", headers=auth["boss"]).status_code == 422


def test_only_the_current_run_has_a_report(client, auth):
    assert (
        client.post("/runs", json={"as_of": "2024-07-01"}, headers=auth["boss"]).status_code == 201
    )
    old = client.get("/runs/1/report", headers=auth["boss"])
    assert old.status_code == 404
    assert "run 1 is not the current run" in old.json()["error"]["message"]
    assert client.get("/runs/2/report", headers=auth["boss"]).status_code == 200


def test_the_report_says_which_order_lines_were_left_out(client, auth, api_store, store_backend):
    if store_backend[0] == "postgresql":
        pytest.skip("PostgreSQL's timestamp column refuses a time that is not a date")
    with api_store() as s, s.begin():
        s.execute(text("UPDATE orders SET order_time = 'garbage-date' WHERE order_no = 'O101'"))
    assert (
        client.post("/runs", json={"as_of": "2024-07-01"}, headers=auth["boss"]).status_code == 201
    )
    r = client.get("/runs/2/report?lang=en", headers=auth["boss"])
    assert "2 order lines were left out: their order time is not a date." in r.text
    assert "O101" not in r.text


def test_the_report_is_documented_as_html(client):
    op = client.get("/openapi.json").json()["paths"]["/api/v1/runs/{run_id}/report"]["get"]
    assert set(op["responses"]["200"]["content"]) == {"text/html; charset=utf-8"}
    assert {"401", "404", "422"} <= set(op["responses"])
    assert [p["name"] for p in op["parameters"]] == ["run_id", "lang"]
