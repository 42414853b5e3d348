"""The customer list and the customer page with its actions (in process; a few in the browser).

Every action form: good input writes exactly once and redirects with a notice; bad input
shows the page again with 422 and the message at the field, and writes nothing; another
rep's customer is 404; a role without the permission sees no form and gets 403 on a post.
"""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from kehu.store.models import (
    AuditLog,
    Consent,
    Customer,
    Feedback,
    Interaction,
    LedgerEntry,
    Task,
)

HAN = re.compile(r"[\u4e00-\u9fff]")


def count(store, model, **where) -> int:
    with store() as s:
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return s.scalar(stmt)


def no_keys(html: str) -> None:
    assert "web_" not in re.sub(r'(name|id|class|for|action|href)="[^"]*"', "", html)


# --- the list ------------------------------------------------------------------------------


def test_list_filters_by_every_classifier_and_hides_rep_filter_from_reps(pages):
    boss = pages("boss", lang="en")
    html = boss.get("/customers").text
    for name in ("rfm8", "segment", "freq_tier", "spend_tier", "abc", "lifecycle", "grade"):
        assert f'name="{name}"' in html
    assert 'name="rep"' in html
    r = boss.get("/customers", params={"rep": "李娜"})
    assert r.status_code == 200 and "2 customers" in r.text and "C3" in r.text
    r = boss.get("/customers", params={"rfm8": "重要价值客户"})
    assert r.status_code == 200
    assert boss.get("/customers", params={"grade": "x"}).status_code == 200  # ignored
    wang = pages("wang")
    html = wang.get("/customers").text
    assert 'name="rep"' not in html and "共 2 位客户" in html
    # a rep cannot widen the list with a rep filter: it is ignored
    assert "C3" not in wang.get("/customers", params={"rep": "李娜"}).text


def test_list_filter_error_points_at_the_position_in_both_languages(pages):
    r = pages("boss", lang="en").get("/customers", params={"filter": "orders >= "})
    assert r.status_code == 422 and "Error at character" in r.text
    r = pages("boss").get("/customers", params={"filter": "orders >= "})
    assert r.status_code == 422 and "筛选条件第" in r.text


# --- the customer page -----------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_customer_page_shows_the_whole_picture(pages, lang):
    r = pages("boss", lang=lang).get("/customers/C1")
    assert r.status_code == 200
    no_keys(r.text)
    for form in ("interaction-form", "task-form", "feedback-form", "points-form", "consent-form"):
        assert f'id="{form}"' in r.text
    assert 'id="anonymise-form"' in r.text  # privacy.manage: managers and admins
    word = {"zh": "客户分类及原因", "en": "Classes and why"}[lang]
    assert word in r.text


def test_roles_see_only_their_actions(pages):
    wang = pages("wang").get("/customers/C1").text
    assert 'id="interaction-form"' in wang and 'id="consent-form"' in wang
    assert 'id="points-form"' not in wang and 'id="anonymise-form"' not in wang
    ana = pages("ana").get("/customers/C1").text
    assert '<form method="post"' not in ana.split("</header>")[-1].replace("logout", "")
    admin = pages("admin").get("/customers/C1").text
    assert 'id="anonymise-form"' in admin and 'id="export-form"' in admin


def test_another_reps_customer_is_404_and_nothing_is_written(pages, api_store):
    wang = pages("wang")
    assert wang.get("/customers/C3").status_code == 404
    before = count(api_store, Interaction)
    r = wang.form("/customers/C3/interactions", {"kind": "call", "notes": "x"})
    assert r.status_code == 404 and "上海批发" not in r.text
    r = wang.form("/customers/C3/interactions", {"kind": "bogus"})  # bad input too: still 404
    assert r.status_code == 404
    assert wang.form("/customers/NOPE/tasks", {"title": "t"}).status_code == 404
    assert wang.form("/customers/C3/feedback", {"text": "好"}).status_code == 404
    assert (
        wang.form(
            "/customers/C3/consents", {"purpose": "marketing_sms", "granted": "true"}
        ).status_code
        == 404
    )
    assert count(api_store, Interaction) == before


def test_log_an_interaction(pages, api_store):
    wang = pages("wang")
    before = count(api_store, Interaction)
    r = wang.form(
        "/customers/C1/interactions", {"kind": "visit", "notes": "谈了新品", "outcome": "下周下单"}
    )
    assert r.status_code == 303 and r.headers["location"].endswith(
        "/customers/C1?done=interaction_logged"
    )
    assert count(api_store, Interaction) == before + 1
    page = wang.get(r.headers["location"]).text
    assert "沟通记录已保存" in page and "谈了新品" in page
    bad = {
        "kind": [{"kind": ""}, {"kind": "fax"}],
        "notes": [{"kind": "call", "notes": "x" * 2001}],
        "outcome": [{"kind": "call", "outcome": "x" * 201}],
        "occurred_at": [
            {"kind": "call", "occurred_at": "yesterday"},
            {"kind": "call", "occurred_at": "2999-01-01T10:00"},
        ],
    }
    for field, cases in bad.items():
        for data in cases:
            r = wang.form("/customers/C1/interactions", data)
            assert r.status_code == 422, data
            assert f'id="{field}-error"' in r.text, data
    assert count(api_store, Interaction) == before + 1


def test_add_and_complete_a_task(pages, api_store):
    wang = pages("wang", lang="en")
    before = count(api_store, Task)
    r = wang.form(
        "/customers/C1/tasks", {"title": "Call about the new range", "due_date": "2024-08-01"}
    )
    assert r.status_code == 303
    assert count(api_store, Task) == before + 1
    with api_store() as s:
        task = s.scalars(select(Task).where(Task.title == "Call about the new range")).one()
    for data, field in (
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "t", "due_date": "2024-13-45"}, "due_date"),
        ({"title": "t", "kind": "fax"}, "kind"),
    ):
        r = wang.form("/customers/C1/tasks", data)
        assert r.status_code == 422 and f'id="{field}-error"' in r.text, data
    assert count(api_store, Task) == before + 1
    # complete it with an outcome: one interaction, the task done
    interactions = count(api_store, Interaction)
    for data, field in (
        ({"task_id": str(task.id), "outcome": ""}, "outcome"),
        ({"task_id": "abc", "outcome": "ok"}, "task_id"),
        ({"task_id": "999999", "outcome": "ok"}, "task_id"),
    ):
        r = wang.form("/customers/C1/tasks/complete", data)
        assert r.status_code == 422 and f'id="{field}-error"' in r.text, data
    # a task of another customer, posted from this page
    r = wang.form("/customers/C2/tasks/complete", {"task_id": str(task.id), "outcome": "ok"})
    assert r.status_code == 422
    r = wang.form("/customers/C1/tasks/complete", {"task_id": str(task.id), "outcome": "Ordered"})
    assert r.status_code == 303
    assert count(api_store, Interaction) == interactions + 1
    assert count(api_store, Task, id=task.id, status="done") == 1
    # the same form again (stale): refused with its message, nothing written
    r = wang.form("/customers/C1/tasks/complete", {"task_id": str(task.id), "outcome": "Ordered"})
    assert r.status_code == 422 and "already completed" in r.text
    assert count(api_store, Interaction) == interactions + 1
    # li cannot complete wang's task
    r = pages("li").form("/customers/C3/tasks/complete", {"task_id": str(task.id), "outcome": "x"})
    assert r.status_code == 422


def test_add_feedback(pages, api_store):
    kefu = pages("kefu")
    before = count(api_store, Feedback)
    r = kefu.form("/customers/C3/feedback", {"text": "送货很快，很满意", "rating": "5"})
    assert r.status_code == 303 and count(api_store, Feedback) == before + 1
    for data, field in (
        ({}, "text"),
        ({"text": "x" * 2001}, "text"),
        ({"rating": "9"}, "rating"),
        ({"rating": "good"}, "rating"),
        ({"text": "ok", "channel": "x" * 51}, "channel"),
    ):
        r = kefu.form("/customers/C3/feedback", data)
        assert r.status_code == 422 and f'id="{field}-error"' in r.text, data
    assert count(api_store, Feedback) == before + 1


def test_record_and_withdraw_a_consent(pages, api_store):
    wang = pages("wang", lang="en")
    with api_store() as s:
        cid = s.scalar(select(Customer.id).where(Customer.code == "C2"))
    before = count(api_store, Consent, customer_id=cid)
    r = wang.form("/customers/C2/consents", {"purpose": "marketing_sms", "granted": "true"})
    assert r.status_code == 303
    r = wang.form("/customers/C2/consents", {"purpose": "marketing_sms", "granted": "false"})
    assert r.status_code == 303
    assert count(api_store, Consent, customer_id=cid) == before + 2
    assert "withdrawn" in wang.get("/customers/C2").text
    for data, field in (
        ({"purpose": "spam", "granted": "true"}, "purpose"),
        ({"purpose": "marketing_sms", "granted": "maybe"}, "granted"),
        ({"purpose": "marketing_sms"}, "granted"),
        ({"purpose": "marketing_sms", "granted": "true", "note": "x" * 201}, "note"),
    ):
        r = wang.form("/customers/C2/consents", data)
        assert r.status_code == 422 and f'id="{field}-error"' in r.text, data
    assert count(api_store, Consent, customer_id=cid) == before + 2


def test_adjust_points_manager_only(pages, api_store):
    boss = pages("boss")
    r = boss.form("/customers/C1/points", {"points": "300", "reason": "补发活动积分"})
    assert r.status_code == 303
    assert count(api_store, LedgerEntry, kind="adjust") == 1
    page = boss.get(r.headers["location"]).text
    assert "积分已调整" in page and "补发活动积分" in page
    for data, field in (
        ({"points": "", "reason": "r"}, "points"),
        ({"points": "abc", "reason": "r"}, "points"),
        ({"points": "1.5", "reason": "r"}, "points"),
        ({"points": "0", "reason": "r"}, "points"),
        ({"points": "-1000", "reason": "r"}, "points"),  # beyond the balance
        ({"points": "5", "reason": ""}, "reason"),
        ({"points": "5", "reason": "x" * 201}, "reason"),
    ):
        r = boss.form("/customers/C1/points", data)
        assert r.status_code == 422 and f'id="{field}-error"' in r.text, data
    assert count(api_store, LedgerEntry, kind="adjust") == 1
    # a rep: no form, and a forged post is refused
    wang = pages("wang")
    assert 'id="points-form"' not in wang.get("/customers/C1").text
    assert wang.form("/customers/C1/points", {"points": "5", "reason": "r"}).status_code == 403
    assert wang.form("/customers/C1/points", {"points": "x"}).status_code == 403
    assert count(api_store, LedgerEntry, kind="adjust") == 1


def test_personal_data_export_and_anonymisation_admin_only(pages, api_store):
    wang = pages("wang")
    assert wang.form("/customers/C1/anonymise", {"confirm": "C1", "reason": "r"}).status_code == 403
    assert wang.form("/customers/C1/personal-data").status_code == 403
    boss_page = pages("boss").get("/customers/C1").text
    assert 'id="anonymise-form"' in boss_page  # managers hold privacy.manage too
    admin = pages("admin", lang="en")
    r = admin.form("/customers/C1/personal-data")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    assert "杭州联华超市" in r.text  # unmasked, the person's own data
    assert count(api_store, AuditLog, action="privacy.export") == 1
    for data, field in (
        ({"confirm": "", "reason": "request"}, "confirm"),
        ({"confirm": "C2", "reason": "request"}, "confirm"),
        ({"confirm": "C1", "reason": ""}, "reason"),
    ):
        r = admin.form("/customers/C1/anonymise", data)
        assert r.status_code == 422 and f'id="{field}-error"' in r.text, data
    with api_store() as s:
        assert s.scalar(select(Customer.anonymised_at).where(Customer.code == "C1")) is None
    r = admin.form("/customers/C1/anonymise", {"confirm": "C1", "reason": "PIPL request 42"})
    assert r.status_code == 303
    page = admin.get(r.headers["location"]).text
    assert "personal data was erased" in page and "杭州联华超市" not in page


def test_forms_need_their_csrf_token(pages, api_store):
    wang = pages("wang")
    before = count(api_store, Interaction)
    r = wang.post("/customers/C1/interactions", data={"kind": "call"}, follow_redirects=False)
    assert r.status_code == 403
    assert count(api_store, Interaction) == before


# --- in the browser ----------------------------------------------------------------------------


def test_rep_logs_an_interaction_and_completes_a_task(sign_in, site):
    page = sign_in("wang")
    page.goto(f"{site}/customers/C1")
    page.click("text=记录沟通")
    form = page.locator("#interaction-form")
    form.locator("select[name=kind]").select_option("visit")
    form.locator("textarea[name=notes]").fill("上门拜访，介绍新品")
    form.locator("button.primary").click()
    page.wait_for_url("**done=interaction_logged")
    assert "上门拜访，介绍新品" in page.content()
    page.click("text=添加回访任务")
    form = page.locator("#task-form")
    form.locator("input[name=title]").fill("确认新品订单")
    form.locator("button.primary").click()
    page.wait_for_url("**done=task_added")
    page.click("text=完成回访")
    form = page.locator("#complete-form")
    form.locator("select[name=task_id]").select_option(label="确认新品订单")
    form.locator("input[name=outcome]").fill("已下单")
    form.locator("button.primary").click()
    page.wait_for_url("**done=task_completed")
    assert "回访已完成" in page.content() and "已下单" in page.content()


def test_manager_adjusts_points_with_a_reason(sign_in, site):
    page = sign_in("boss", lang="en")
    page.goto(f"{site}/customers/C2")
    page.click("text=Adjust points")
    form = page.locator("#points-form")
    form.locator("input[name=points]").fill("150")
    form.locator("button.primary").click()  # no reason: the browser or the server refuses
    assert "done=" not in page.url
    form = page.locator("#points-form")
    form.locator("input[name=points]").fill("150")
    form.locator("input[name=reason]").fill("Goodwill for a late delivery")
    form.locator("button.primary").click()
    page.wait_for_url("**done=points_adjusted")
    assert "Goodwill for a late delivery" in page.content()


def test_customer_page_with_forms_fits_a_phone(sign_in, site):
    page = sign_in("boss", width=390)
    page.goto(f"{site}/customers/C1")
    for summary in page.locator("details.action summary").all():
        summary.click()  # open every action form
    assert page.locator("#points-form").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390
