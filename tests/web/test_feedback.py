"""The feedback page (客户反馈): inbox, filters, category corrections, reports and surveys.

In-process pages of the API fixtures' store with feedback and survey answers recorded
through the service; browser test: service (kefu) corrects a feedback category.
"""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import func, select

from kehu.services import feedback
from kehu.services.access import SYSTEM
from kehu.store.models import Feedback

UNTRANSLATED = re.compile(r"\bweb_[a-z_]+\b")
#: (customer, text, rating, received) — C1, C2 are 王伟's, C3, C4 李娜's
ROWS = (
    ("C1", "送货太慢了，等了三天", 2, "2024-05-03"),
    ("C1", "产品质量很好，非常满意", 5, "2024-06-10"),
    ("C2", "价格太贵了", 3, "2024-06-12"),
    ("C3", "服务态度差，很失望", 1, "2024-06-20"),
    ("C4", "包装破损了", 2, "2024-06-25"),
)
#: (customer, survey, score, answered)
ANSWERS = (
    ("C1", "nps", 10, "2024-05-05"),
    ("C2", "nps", 3, "2024-06-05"),
    ("C3", "nps", 9, "2024-06-06"),
    ("C4", "nps", 8, "2024-06-07"),
    ("C1", "csat", 5, "2024-06-08"),
    ("C3", "csat", 2, "2024-06-09"),
)


@pytest.fixture
def seeded(api_store, api_settings):
    """Feedback and answers of every customer; returns {text: feedback id}."""
    ids = {}
    with api_store() as s:
        for code, text, rating, day in ROWS:
            got = feedback.record_feedback(
                s,
                actor=SYSTEM,
                workspace=api_settings.workspace,
                code=code,
                text=text,
                rating=rating,
                received_at=dt.datetime.fromisoformat(day),
            )
            ids[text] = got["id"]
        for code, survey, score, day in ANSWERS:
            feedback.record_answer(
                s,
                actor=SYSTEM,
                survey=survey,
                score=score,
                code=code,
                answered_at=dt.datetime.fromisoformat(day),
            )
        s.commit()
    return ids


def inbox(html: str) -> str:
    start = html.index('id="fb-inbox"')
    return html[start : html.index("</table>", start)]


def category_of(api_store, fid):
    with api_store() as s:
        row = s.get(Feedback, fid)
        return row.category, row.category_source


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_service_sees_every_feedback_with_reports_and_surveys(pages, seeded, lang):
    r = pages("kefu", lang=lang).get("/feedback")
    assert r.status_code == 200, r.text
    html = r.text
    assert not UNTRANSLATED.search(html)
    rows = inbox(html)
    assert rows.count("<tr id=") == 5
    assert all(code in rows for code in ("C1", "C2", "C3", "C4"))
    for chart in ("fb-by-category", "fb-by-period", "fb-nps-period", "fb-csat-period"):
        assert f'data-target="{chart}"' in html
    nps = html[html.index('id="fb-survey-nps"') : html.index('id="fb-survey-csat"')]
    # May: one promoter (10) -> 100; June: 3, 9, 8 -> (1 - 1) / 3 -> 0
    assert re.search(r"2024-05</td><td class=\"num\">1</td><td class=\"num\">100.0</td>", nps)
    assert re.search(r"2024-06</td><td class=\"num\">3</td><td class=\"num\">0.0</td>", nps)
    # per class: C2 一般挽留 answered 3 -> -100
    assert "-100.0" in nps
    csat = html[html.index('id="fb-survey-csat"') :]
    assert "50.0" in csat  # one of two satisfied
    word = "负面" if lang == "zh" else "Negative"
    assert word in rows


def test_a_rep_sees_only_their_own_customers_feedback(pages, seeded):
    html = pages("wang").get("/feedback").text
    rows = inbox(html)
    assert rows.count("<tr id=") == 3
    assert "C3" not in rows and "C4" not in rows and "服务态度差" not in html
    nps = html[html.index('id="fb-survey-nps"') : html.index('id="fb-survey-csat"')]
    # 王伟's answers: 10 (C1) in May, 3 (C2) in June -> 100 and -100; li's 9 and 8 not counted
    assert re.search(r"2024-06</td><td class=\"num\">1</td><td class=\"num\">-100.0</td>", nps)
    # another rep's customer as a filter gives an empty inbox, like an unknown one
    other = pages("wang").get("/feedback?customer=C3").text
    assert "暂无符合条件的反馈" in other


def test_the_class_report_follows_the_chosen_classifier(pages, seeded):
    html = pages("boss", lang="en").get("/feedback?classifier=abc").text
    assert 'data-target="fb-by-class"' in html
    start = html.index('id="fb-report-class"')
    report = html[start : html.index("</table>", start)]
    # A: C1 (2 pieces) and C4 (1); C: C2 and C3 (1 each)
    assert re.search(r"<td>A \(core\)</td><td class=\"num\">3</td>", report), report
    assert re.search(r"<td>C \(general\)</td><td class=\"num\">2</td>", report), report


def test_filters_and_paging(pages, seeded):
    client = pages("boss")
    got = inbox(client.get("/feedback?customer=C1").text)
    assert got.count("<tr id=") == 2
    got = inbox(client.get("/feedback?since=2024-06-11&until=2024-06-20").text)
    assert got.count("<tr id=") == 2  # 12 and 20 June, the end day included
    negative = client.get("/feedback?sentiment=negative").text
    assert "价格太贵了" not in inbox(negative) or "负面" in inbox(negative)
    assert "第 1 / 1 页" not in negative  # one page: no pager
    empty = client.get("/feedback?customer=C9").text
    assert "暂无符合条件的反馈" in empty


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("sentiment=angry", "sentiment"),
        ("since=yesterday", "since"),
        ("until=2024-13-01", "until"),
        ("since=2024-06-10&until=2024-06-01", "until"),
        ("period=hour", "period"),
        ("classifier=nope", "classifier"),
        ("page=x", "page"),
        ("page=0", "page"),
        ("category=nonsense", "category"),
        ("customer=" + "x" * 65, "customer"),
    ],
)
def test_bad_filters_show_the_message_with_422(pages, seeded, query, field):
    r = pages("boss").get(f"/feedback?{query}")
    assert r.status_code == 422, r.text
    assert 'class="error"' in r.text
    assert r.text.count("<tr id=") == 5  # the unfiltered inbox below


def test_correcting_a_category_keeps_a_training_label(pages, seeded, api_store):
    fid = seeded["价格太贵了"]
    before, _ = category_of(api_store, fid)
    client = pages("wang")
    r = client.form(f"/feedback/{fid}/category", {"category": "delivery_speed", "was": before})
    assert r.status_code == 303 and "done=feedback_category" in r.headers["location"]
    assert category_of(api_store, fid) == ("delivery_speed", "user")
    page = client.get(r.headers["location"]).text
    assert "类别已更正" in page and "人工标注" in page


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"category": ""}, "必填"),
        ({"category": "nonsense"}, "没有这个类别"),
        ({"category": "x" * 65}, ""),
        ({"category": "price", "was": "somebody_else"}, "刚被别人改过"),
    ],
)
def test_bad_corrections_show_the_message_and_write_nothing(
    pages, seeded, api_store, data, message
):
    fid = seeded["包装破损了"]
    before = category_of(api_store, fid)
    r = pages("kefu").form(f"/feedback/{fid}/category", data)
    assert r.status_code == 422
    assert 'class="error"' in r.text and message in r.text
    assert category_of(api_store, fid) == before


def test_another_reps_feedback_is_404_like_a_missing_one(pages, seeded, api_store):
    client = pages("wang")
    fid = seeded["服务态度差，很失望"]
    before = category_of(api_store, fid)
    other = client.form(f"/feedback/{fid}/category", {"category": "price"})
    missing = client.form("/feedback/999999/category", {"category": "price"})
    assert other.status_code == missing.status_code == 404
    assert "服务态度差" not in other.text
    assert category_of(api_store, fid) == before
    assert client.form("/feedback/abc/category", {"category": "price"}).status_code != 500


def test_a_role_without_feedback_write_gets_403(pages, seeded, api_store):
    client = pages("ana")
    assert client.get("/feedback").status_code == 403
    fid = seeded["包装破损了"]
    assert client.form(f"/feedback/{fid}/category", {"category": "price"}).status_code == 403
    with api_store() as s:
        assert s.scalar(select(func.count()).where(Feedback.category_source == "user")) == 0


def test_without_the_csrf_token_nothing_is_written(pages, seeded, api_store):
    fid = seeded["包装破损了"]
    before = category_of(api_store, fid)
    r = pages("kefu").post(
        f"/feedback/{fid}/category", data={"category": "price"}, follow_redirects=False
    )
    assert r.status_code == 403
    assert category_of(api_store, fid) == before


def test_an_empty_inbox_says_what_to_do(pages):
    html = pages("boss", lang="en").get("/feedback").text
    assert "No feedback here yet" in html and "No survey answers" in html


def test_service_corrects_a_feedback_category_in_the_browser(
    sign_in, site, api_store, api_settings
):
    with api_store() as s:
        got = feedback.record_feedback(
            s, actor=SYSTEM, workspace=None, code="C3", text="送货太慢了", rating=2
        )
        s.commit()
    page = sign_in("kefu")
    page.goto(f"{site}/feedback")
    row = page.locator(f"#fb-{got['id']}")
    row.locator("select[name=category]").select_option("price")
    row.locator("button").click()
    page.wait_for_url(re.compile(r".*done=feedback_category"))
    assert "类别已更正" in page.content()
    assert page.locator(f"#fb-{got['id']} select[name=category]").input_value() == "price"
    assert category_of(api_store, got["id"]) == ("price", "user")
