"""The follow-ups page (回访): my open tasks, overdue per rep for managers, completing a task."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from kehu.store.models import Interaction, Task, User


def count(store, model, **where) -> int:
    with store() as s:
        stmt = select(func.count()).select_from(model)
        for k, v in where.items():
            stmt = stmt.where(getattr(model, k) == v)
        return s.scalar(stmt)


def add_task(client, code: str, title: str, due: str = "2024-06-01") -> int:
    r = client.form(f"/customers/{code}/tasks", {"title": title, "due_date": due})
    assert r.status_code == 303, r.text
    return task_id(client.store, title)


def task_id(store, title: str) -> int:
    with store() as s:
        return s.scalars(select(Task.id).where(Task.title == title)).one()


def test_a_rep_sees_their_own_tasks_only(pages, api_store):
    wang, li = pages("wang"), pages("li")
    wang.store = li.store = api_store
    add_task(wang, "C1", "回访C1甲")
    add_task(li, "C3", "回访C3乙")
    html = wang.get("/followups").text
    assert "回访C1甲" in html and "回访C3乙" not in html
    assert "我的待办回访" in html and "各业务员逾期回访" not in html
    # owner=all for a rep is still only their customers' tasks
    assert "回访C3乙" not in wang.get("/followups", params={"owner": "all"}).text
    html = wang.get("/followups", params={"when": "overdue"}).text
    assert "回访C1甲" in html and "逾期" in html


def test_a_manager_sees_overdue_per_rep_and_a_reps_tasks(pages, api_store):
    wang, boss = pages("wang"), pages("boss", lang="en")
    wang.store = api_store
    add_task(wang, "C1", "Check the C1 order")
    html = boss.get("/followups").text
    assert "Overdue follow-ups per rep" in html and "王伟" in html
    with api_store() as s:
        wang_id = s.scalar(select(User.id).where(User.username == "wang"))
    r = boss.get("/followups", params={"owner": str(wang_id), "when": "overdue"})
    assert r.status_code == 200
    assert "Check the C1 order" in r.text and "Open follow-ups of 王伟" in r.text
    assert "web_" not in re.sub(r'(name|id|class|for|action|href)="[^"]*"', "", r.text)


def test_bad_filters_are_refused_without_500(pages):
    boss = pages("boss")
    for params in (
        {"when": "yesterday"},
        {"owner": "<script>"},
        {"page": "0"},
        {"page": "x"},
        {"customer": "x" * 65},
    ):
        assert boss.get("/followups", params=params).status_code == 400, params
    assert boss.get("/followups", params={"owner": "999999"}).status_code == 200


def test_complete_a_task_from_the_list(pages, api_store):
    wang = pages("wang")
    wang.store = api_store
    tid = add_task(wang, "C2", "回访C2丙")
    before = count(api_store, Interaction)
    for data, field in (
        ({"task_id": str(tid), "outcome": ""}, "outcome"),
        ({"task_id": str(tid), "outcome": "x" * 201}, "outcome"),
        ({"task_id": str(tid), "outcome": "ok", "kind": "fax"}, "kind"),
        ({"task_id": "abc", "outcome": "ok"}, "task_id"),
        ({"task_id": "987654", "outcome": "ok"}, "task_id"),
    ):
        r = wang.form("/followups/complete", data)
        assert r.status_code == 422 and f'id="{field}-error"' in r.text, data
    # another rep's task: not found, nothing written
    li = pages("li")
    r = li.form("/followups/complete", {"task_id": str(tid), "outcome": "ok"})
    assert r.status_code == 422 and "未找到" in r.text
    assert count(api_store, Interaction) == before
    r = wang.form("/followups/complete", {"task_id": str(tid), "outcome": "已约好下周拜访"})
    assert r.status_code == 303 and r.headers["location"].endswith("/followups?done=task_completed")
    assert count(api_store, Task, id=tid, status="done") == 1
    assert count(api_store, Interaction, task_id=tid) == 1
    page = wang.get(r.headers["location"]).text
    assert "回访已完成" in page and "回访C2丙" not in page
    # the same form again (stale): the message, nothing written
    r = wang.form("/followups/complete", {"task_id": str(tid), "outcome": "已约好下周拜访"})
    assert r.status_code == 422 and "该任务已完成或已取消" in r.text
    assert count(api_store, Interaction, task_id=tid) == 1


def test_roles_without_follow_ups(pages):
    ana = pages("ana")
    assert ana.get("/followups").status_code == 403
    assert ana.form("/followups/complete", {"task_id": "1", "outcome": "x"}).status_code == 403


def test_both_languages_and_the_empty_state(pages):
    zh = pages("li").get("/followups").text
    en = pages("li", lang="en").get("/followups").text
    assert "回访" in zh and "Follow-ups" in en
    for html in (zh, en):
        assert "web_" not in re.sub(r'(name|id|class|for|action|href)="[^"]*"', "", html)
