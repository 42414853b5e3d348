"""The workbench and the targets page: each role's view, forms' bad input, both languages."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from kehu.services import followups, targets
from kehu.services.access import SYSTEM, Actor
from kehu.store.models import Target

WANG = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")
LI = Actor(user_id=None, username="li", role="rep", rep_name="李娜")


def no_strings_left(html: str) -> None:
    assert "web_" not in re.sub(r'(name|id|href|class|for|action)="[^"]*"', "", html)


@pytest.fixture
def with_tasks(api_store):
    today = dt.date.today()
    with api_store() as s:
        followups.create_task(s, actor=WANG, code="C1", title="回访王的客户", due_date=today)
        followups.create_task(
            s, actor=WANG, code="C2", title="逾期任务王", due_date=today - dt.timedelta(days=3)
        )
        followups.create_task(s, actor=LI, code="C3", title="李的任务", due_date=today)
        followups.create_task(
            s, actor=WANG, code="C1", title="下周的任务", due_date=today + dt.timedelta(days=7)
        )
        s.commit()
    return api_store


def count_targets(store) -> int:
    with store() as s:
        return s.query(Target).count()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_rep_sees_their_tasks_and_figures_only(pages, with_tasks, lang):
    r = pages("wang", lang=lang).get("/")
    assert r.status_code == 200
    html = r.text
    no_strings_left(html)
    assert "回访王的客户" in html and "逾期任务王" in html
    assert "李的任务" not in html and "下周的任务" not in html
    assert "/customers/C1" in html and "/customers/C3" not in html
    assert 'id="trend"' not in html and 'id="targets"' not in html  # no totals for a rep
    assert "¥4,000" in html and "¥4,100" not in html  # June: their own sales only
    assert "2024-06" in html  # their latest month with orders


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_manager_sees_kpis_charts_tables_and_last_run(pages, with_tasks, lang):
    r = pages("boss", lang=lang).get("/", params={"month": "2024-06"})
    assert r.status_code == 200
    html = r.text
    no_strings_left(html)
    for part in ('id="trend"', 'id="by-class"', 'id="targets"', 'id="last-run"'):
        assert part in html
    assert html.count('class="chart-area"') == 2 and "chart-data" in html
    assert "¥4,100" in html  # June's sales of all customers, in the table too
    assert "/targets?month=2024-06" in html
    assert "李的任务" in html  # a manager's follow-ups are everyone's
    assert ("成功" if lang == "zh" else "succeeded") in html


def test_analyst_and_service_get_what_fits(pages, with_tasks):
    ana = pages("ana").get("/").text
    assert 'id="trend"' in ana and 'id="tasks"' not in ana and "/targets?" not in ana
    kefu = pages("kefu").get("/").text
    assert 'id="tasks"' in kefu and 'id="trend"' not in kefu


def test_bad_month_is_422_with_the_message(pages, api_store):
    for bad in ("2024-13", "junk", "9999999"):
        r = pages("boss").get("/", params={"month": bad})
        assert r.status_code == 422
        assert "请按“年-月”填写月份" in r.text
    assert pages("boss").get("/channels", params={"month": "x"}).status_code == 422
    assert pages("boss").get("/", params={"month": "x" * 30}).status_code in (400, 422)


def test_empty_states(pages, api_store):
    html = pages("wang").get("/").text
    assert "今天没有到期的回访任务" in html
    assert "没有需要关注的变化" in html


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_targets_page_roles_and_languages(pages, api_store, lang):
    r = pages("boss", lang=lang).get("/targets", params={"month": "2024-06"})
    assert r.status_code == 200
    no_strings_left(r.text)
    assert 'name="sales|rep|王伟"' in r.text and 'name="active|channel|超市"' in r.text
    for user in ("wang", "kefu", "ana"):
        assert pages(user).get("/targets").status_code == 403
        assert pages(user).form("/targets", {"month": "2024-06"}).status_code == 403


def test_manager_sets_targets_through_the_form(pages, api_store):
    boss = pages("boss")
    r = boss.form(
        "/targets",
        {
            "month": "2024-06",
            "sales|rep|王伟": "5000",
            "active|rep|王伟": "2",
            "sales|channel|超市": "3000",
        },
    )
    assert r.status_code == 303 and "done=targets_saved" in r.headers["location"]
    with api_store() as s:
        got = {(t["dimension"], t["name"]): t for t in targets.list_targets(s, actor=SYSTEM)}
    assert got[("rep", "王伟")]["sales"] == 5000 and got[("rep", "王伟")]["active_customers"] == 2
    assert got[("channel", "超市")]["sales"] == 3000
    html = boss.get("/", params={"month": "2024-06"}).text
    assert "80%" in html  # 王伟: ¥4,000 of ¥5,000
    shown = boss.get("/targets", params={"month": "2024-06"}).text
    assert 'value="5000"' in shown


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"month": "", "sales|rep|王伟": "1"}, "month"),
        ({"month": "2024-13", "sales|rep|王伟": "1"}, "month"),
        ({"month": "2024-06", "sales|rep|王伟": "-5"}, "sales|rep|王伟"),
        ({"month": "2024-06", "sales|rep|王伟": "lots"}, "sales|rep|王伟"),
        ({"month": "2024-06", "active|rep|王伟": "1.5"}, "active|rep|王伟"),
        ({"month": "2024-06", "active|rep|王伟": "x" * 30_000}, "active|rep|王伟"),
        ({"month": "2024-06"}, None),  # nothing filled in
        ({"month": "2024-06", "sales|rep|陌生人": "5"}, None),  # not a known name: ignored
    ],
)
def test_target_form_bad_input_is_422_and_writes_nothing(pages, api_store, data, field):
    r = pages("boss").form("/targets", data)
    assert r.status_code == 422, r.text[:300]
    assert 'class="error"' in r.text
    if field:
        assert f'name="{field}"' in r.text
        assert 'aria-invalid="true"' in r.text
    assert count_targets(api_store) == 0


def test_target_form_without_csrf_is_refused(pages, api_store):
    boss = pages("boss")
    r = boss.post("/targets", data={"month": "2024-06", "sales|rep|王伟": "1"})
    assert r.status_code == 403
    assert count_targets(api_store) == 0


def test_upload_targets_and_errors_naming_row_and_column(pages, api_store):
    boss = pages("boss")
    good = "月份,维度,名称,销售目标,活跃客户目标\n2024-06,业务员,王伟,5000,2\n"
    r = boss.form("/targets/upload", files={"file": ("t.csv", good.encode(), "text/csv")})
    assert r.status_code == 303 and "targets_uploaded" in r.headers["location"]
    assert count_targets(api_store) == 1
    bad = "月份,维度,名称,销售目标\n2024-07,业务员,王伟,100\n2024-07,业务员,王伟,abc\n"
    r = boss.form("/targets/upload", files={"file": ("bad.csv", bad.encode(), "text/csv")})
    assert r.status_code == 422
    assert "bad.csv 第 3 行“sales”列有误" in r.text
    junk = boss.form("/targets/upload", files={"file": ("x.xlsx", b"junk", "application/zip")})
    assert junk.status_code == 422
    none = boss.form("/targets/upload", {})
    assert none.status_code == 422
    assert count_targets(api_store) == 1


# --- in a real browser ------------------------------------------------------------------------


def test_browser_a_rep_sees_their_workbench_with_their_tasks_only(with_tasks, sign_in, site):
    page = sign_in("wang", width=390)
    tasks = page.locator("#tasks table.data tbody tr")
    titles = " ".join(tasks.nth(i).inner_text() for i in range(tasks.count()))
    assert "回访王的客户" in titles and "逾期任务王" in titles
    assert "李的任务" not in page.content()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scroll
    page.locator("#tasks a", has_text="C2").first.click()
    page.wait_for_url(f"{site}/customers/C2")
    assert "南京便利店" in page.locator("h1").inner_text()


def test_browser_a_manager_sees_charts_and_sets_a_target(api_store, sign_in, site):
    page = sign_in("boss")
    page.goto(f"{site}/?month=2024-06")
    page.wait_for_selector("#chart-sales .plot-container, #chart-sales svg", timeout=15_000)
    assert page.locator("#trend table.data tbody tr").count() == 12
    page.click("text=设定目标")
    page.wait_for_url(re.compile(r".*/targets\?month=2024-06"))
    page.fill('input[name="sales|rep|王伟"]', "5000")
    page.fill('input[name="active|rep|王伟"]', "2")
    page.click("#set-targets button.primary")
    page.wait_for_url(re.compile(r".*/targets\?done=targets_saved"))
    assert "目标已保存" in page.content()
    page.goto(f"{site}/?month=2024-06")
    row = page.locator("#targets tr", has_text="王伟").first
    assert "80%" in row.inner_text()  # ¥4,000 of ¥5,000
