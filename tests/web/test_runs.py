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
    assert "只有当前运行的分类清单和分析报告可以下载" in boss.get("/runs/1").text
    assert boss.get("/runs/2/customers.xlsx").status_code == 200


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", ("客户分类分析报告", "重要价值客户")),
        ("en", ("Customer classification", "Important value")),
    ],
)
def test_a_manager_downloads_the_runs_report_in_each_language(pages, lang, words):
    boss = pages("boss", lang="zh")
    r = boss.get(f"/runs/1/report.html?lang={lang}")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/html")
    assert r.headers["content-disposition"] == f'attachment; filename="run-1-report-{lang}.html"'
    assert f'<html lang="{lang}' in r.text
    assert all(w in r.text for w in words)
    again = boss.get(f"/runs/1/report.html?lang={lang}")  # the cached file
    assert again.status_code == 200 and again.content == r.content


def test_the_report_follows_the_pages_language_by_default(pages):
    r = pages("kefu", lang="en").get("/runs/1/report.html")
    assert r.status_code == 200  # a service agent sees every customer: the report too
    assert r.headers["content-disposition"].endswith('filename="run-1-report-en.html"')
    assert pages("kefu").get("/runs/1/report.html?lang=fr").status_code in (400, 422)


def test_a_rep_gets_the_report_as_a_missing_run(pages):
    wang = pages("wang")
    assert wang.get("/runs/1/report.html?lang=zh").status_code == 404
    assert wang.get("/runs/999/report.html?lang=zh").status_code == 404
    assert pages("boss").get("/runs/999/report.html?lang=zh").status_code == 404


@pytest.mark.parametrize(
    ("user", "shown"), [("boss", True), ("ana", True), ("kefu", True), ("wang", False)]
)
def test_the_report_links_are_shown_to_those_who_may_download_it(pages, user, shown):
    for lang in ("zh", "en"):
        page = pages(user, lang=lang).get("/runs/1").text
        assert ("/runs/1/report.html?lang=zh" in page) == shown
        assert ("/runs/1/report.html?lang=en" in page) == shown
        label = ("下载分析报告（中文）", "下载分析报告（英文）")
        label = (
            label
            if lang == "zh"
            else ("Download the report (Chinese)", "Download the report (English)")
        )
        assert all(w in page for w in label) == shown


def test_an_older_run_has_no_report(pages):
    boss = pages("boss", lang="en")
    boss.form("/runs")
    _finish_refreshes()
    old = boss.get("/runs/1/report.html?lang=en")
    assert old.status_code == 404
    # the error page says "not found" (as for any 404); the run's page says why
    page = boss.get("/runs/1").text
    assert "/runs/1/report.html" not in page
    assert "Only the current run&#39;s class list and report can be downloaded." in page
    assert boss.get("/runs/2/report.html?lang=en").status_code == 200


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
