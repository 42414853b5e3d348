"""The classes page (客户分类): sizes, shares, profiles, playbook, migration, thresholds.

In-process pages of the API fixtures' store (refreshed as of 2024-07-01); browser test:
a manager sees the class charts drawn.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from kehu.services.refresh import refresh

UNTRANSLATED = re.compile(r"\bweb_[a-z_]+\b")


def table(html: str, table_id: str) -> str:
    start = html.index(f'id="{table_id}"')
    return html[start : html.index("</table>", start)]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_a_manager_sees_every_class_with_thresholds(pages, lang):
    r = pages("boss", lang=lang).get("/classes")
    assert r.status_code == 200, r.text
    html = r.text
    assert not UNTRANSLATED.search(html)
    rows = table(html, "cls-table")
    assert rows.count("<tr>") == 5  # header and four classes
    assert "49.1%" in rows  # 4,000 of 8,150 for 重要价值 and 重要保持
    assert 'class="chart-data" data-target="cls-sizes"' in html
    assert 'data-target="cls-revenue"' in html
    assert 'id="cls-thresholds"' in html and "2,037.50" in html  # the mean of the totals
    assert "rfm8/1" in html
    assert "/customers?rfm8=" in html  # a class links to its customers
    if lang == "zh":
        assert "客户分类" in html and "每月回访" in html
    else:
        assert "Customer classes" in html and "Monthly visit or call" in html
    assert "No two runs" in html or "还没有可对比的两次运行" in html


def test_a_rep_sees_only_own_numbers_and_no_thresholds(pages):
    html = pages("wang").get("/classes").text
    rows = table(html, "cls-table")
    assert rows.count("<tr>") == 3  # C1 重要价值, C2 一般挽留
    assert "重要保持客户" not in rows and "一般发展客户" not in rows
    assert "98.8%" in rows  # 4,000 of 4,050
    assert 'id="cls-thresholds"' not in html and "2,037.50" not in html
    assert "只对经理和管理员显示" in html
    li = pages("li").get("/classes?classifier=abc").text
    assert "共 2 位客户" in li and "¥4,100" in li


def test_other_classifiers_and_the_migration_matrix(pages, api_store):
    refresh(api_store, as_of=dt.date(2024, 9, 1))
    client = pages("boss", lang="en")
    html = client.get("/classes?classifier=lifecycle").text
    matrix = table(html, "cls-migration-table")
    assert 'data-target="cls-migration"' in html
    assert re.search(r"<th>New</th><td class=\"num\">2</td>", matrix), matrix
    assert re.search(r"<th>Lapsed</th><td class=\"num\">2</td>", matrix), matrix
    mine = table(pages("wang").get("/classes?classifier=lifecycle").text, "cls-migration-table")
    assert mine.count('<td class="num">1</td>') == 2
    grade = client.get("/classes?classifier=grade&run=1")
    assert grade.status_code == 200 and "grade/1" in grade.text


@pytest.mark.parametrize(
    "query",
    [
        "classifier=nope",
        "run=999",
        "run=abc",
        "from_run=999",
        "to_run=-1",
    ],
)
def test_bad_choices_answer_422_with_the_message(pages, query):
    r = pages("boss").get(f"/classes?{query}")
    assert r.status_code == 422
    assert 'class="error"' in r.text and "请从列表中选择" in r.text


def test_an_overlong_parameter_is_a_bad_request_not_an_error(pages):
    assert pages("boss").get("/classes?classifier=" + "x" * 41).status_code == 400


def test_every_role_reads_the_classes(pages):
    from kehu.services.access import ROLE_PERMISSIONS as ROLES

    assert all("runs.read" in ROLES[r] for r in ("rep", "service", "manager", "analyst"))
    assert pages("kefu").get("/classes").status_code == 200
    assert pages("ana", lang="en").get("/classes").status_code == 200


def test_a_manager_sees_the_class_charts_drawn(sign_in, site):
    page = sign_in("boss")
    page.goto(f"{site}/classes")
    for chart in ("cls-sizes", "cls-revenue"):
        page.wait_for_selector(f"#{chart} .main-svg", timeout=10_000)
    assert page.locator("#cls-sizes .bars path, #cls-sizes .point path").count() >= 4
    page.click("#cls-table a >> nth=0")
    page.wait_for_url(re.compile(r".*/customers\?rfm8="))
    assert page.locator("table.data tbody tr").count() == 1
