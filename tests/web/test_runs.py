"""Runs and reports: kept runs, starting a refresh in the background, a run's page, downloads."""

from __future__ import annotations

import io
import os
import re
import socket

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from kehu.store.models import ClassificationRun, utcnow
from kehu.web.pages import runs as runs_page


def _finish_refreshes():
    for worker in list(runs_page.WORKERS):
        worker.join(120)
        runs_page.WORKERS.remove(worker)


def _runs(factory):
    with factory() as s:
        return [(r.id, r.status) for r in s.scalars(select(ClassificationRun).order_by("id"))]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("user", ["boss", "wang", "kefu", "ana", "admin"])
def test_every_role_sees_the_runs_in_both_languages(pages, user, lang):
    client = pages(user, lang=lang)
    r = client.get("/runs")
    assert r.status_code == 200 and "web_" not in r.text
    assert "#1" in r.text
    assert ("成功" if lang == "zh" else "succeeded") in r.text
    can_start = user in ("boss", "ana", "admin")
    assert ('action="http://testserver/runs"' in r.text) == can_start
    detail = client.get("/runs/1")
    assert detail.status_code == 200 and "web_" not in detail.text


@pytest.mark.parametrize("user", ["wang", "kefu"])
def test_roles_without_the_permission_cannot_start_a_refresh(pages, api_store, user):
    r = pages(user).form("/runs")
    assert r.status_code == 403
    assert _runs(api_store) == [(1, "succeeded")]


def test_a_manager_starts_a_refresh_and_its_page_shows_counts_and_changes(pages, api_store):
    boss = pages("boss")
    r = boss.form("/runs")
    assert r.status_code == 303 and r.headers["location"].endswith("/runs?done=refresh_started")
    _finish_refreshes()
    assert _runs(api_store) == [(1, "succeeded"), (2, "succeeded")]
    page = boss.get("/runs?done=refresh_started").text
    assert "分类运行已开始" in page and 'http-equiv="refresh"' not in page
    detail = boss.get("/runs/2").text
    counts = [
        int(n)
        for n in re.findall(
            r'<td class="num">(\d+)</td>', detail.split("各类客户数")[1].split("</table>")[0]
        )
    ]
    assert sum(counts) == 4
    assert "阈值" in detail  # a manager sees each classifier's thresholds
    rep = pages("wang").get("/runs/2").text
    counts = [
        int(n)
        for n in re.findall(
            r'<td class="num">(\d+)</td>', rep.split("各类客户数")[1].split("</table>")[0]
        )
    ]
    assert sum(counts) == 2  # a rep's counts are their own customers
    assert "阈值" not in rep


def test_a_second_refresh_while_one_runs_is_refused(pages, api_store):
    boss = pages("boss")
    # a run another live process of this host is doing
    owner = f"{socket.gethostname()}:{os.getppid()}"
    with api_store() as s, s.begin():
        s.add(
            ClassificationRun(
                status="running", owner=owner, heartbeat_at=utcnow(), started_at=utcnow()
            )
        )
    r = boss.form("/runs")
    _finish_refreshes()
    assert r.status_code == 409
    assert "已有一次分类运行正在进行" in r.text
    assert 'http-equiv="refresh"' in r.text  # the page watches the running one
    assert [s for _, s in _runs(api_store)] == ["succeeded", "running"]


def test_a_failed_run_shows_its_error_in_clean_words(pages, api_store):
    with api_store() as s, s.begin():
        s.add(
            ClassificationRun(
                status="failed",
                error="psycopg.errors.X: INSERT ... ('13800138000')",
                started_at=utcnow(),
                finished_at=utcnow(),
            )
        )
    page = pages("boss", lang="en").get("/runs").text
    assert "Last failure" in page and "the refresh failed (see the server log, run 2)" in page
    assert "13800138000" not in page


def test_missing_runs_are_404(pages):
    client = pages("boss")
    assert client.get("/runs/999").status_code == 404
    assert client.get("/runs/999/customers.xlsx").status_code == 404
    assert client.get("/runs/abc").status_code in (400, 404, 422)
    assert client.get("/runs/0").status_code in (400, 404, 422)


def _sheet(content):
    return load_workbook(io.BytesIO(content)).active


def test_the_class_list_download_is_scoped_and_never_formulas(pages):
    boss = pages("boss").get("/runs/1/customers.xlsx")
    assert boss.status_code == 200
    sheet = _sheet(boss.content)
    assert sheet.max_row == 5
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    wang = _sheet(pages("wang").get("/runs/1/customers.xlsx").content)
    codes = sorted(row[0].value for row in wang.iter_rows(min_row=2))
    assert codes == ["C1", "C2"]
    assert pages("kefu").get("/runs/1/customers.xlsx").status_code == 403


def test_only_the_current_run_has_a_download(pages, api_store):
    boss = pages("boss")
    boss.form("/runs")
    _finish_refreshes()
    assert boss.get("/runs/1/customers.xlsx").status_code == 404
    assert "只有当前运行的分类清单可以下载" in boss.get("/runs/1").text
    assert boss.get("/runs/2/customers.xlsx").status_code == 200


def test_a_manager_starts_a_refresh_and_sees_it_finish(sign_in, site):
    page = sign_in("boss", lang="en")
    page.goto(f"{site}/lang/en?next=/runs")
    page.click("button[name=start]")
    page.wait_for_url(re.compile(r".*/runs\?done=refresh_started$"))
    row = page.locator("table.data tbody tr").first
    row.locator("text=#2").wait_for()
    page.wait_for_function(
        "() => document.querySelector('table.data tbody tr td:nth-child(2)')"
        ".innerText.includes('succeeded')",
        timeout=60_000,
    )
    page.click("text=#2")
    assert page.locator("h1").inner_text().startswith("Run 2")
    assert "Customers per class" in page.content()
