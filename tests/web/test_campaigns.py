"""The campaigns pages (营销活动): roles, the create form and its errors, preview, build,
launch, export and the result with its uplift chart; a manager's walk in a real browser."""

from __future__ import annotations

import re

import pytest

CLASSES = ["rfm8:重要价值客户", "rfm8:一般挽留客户", "rfm8:重要保持客户"]
GOOD = {
    "name": "回流短信",
    "channel": "sms",
    "classes": CLASSES,
    "control_pct": "50",
    "response_days": "10",
}


@pytest.fixture
def client(api_settings):
    """A client of the REST API on the same store (to set up consents and orders)."""
    from fastapi.testclient import TestClient

    from kehu.api import create_app

    with TestClient(create_app(api_settings), base_url="http://testserver/api/v1") as c:
        yield c


@pytest.fixture
def auth(client):
    out = {}
    for name in ("boss", "kefu", "wang", "li", "ana"):
        r = client.post("/auth/token", data={"username": name, "password": "password-123"})
        assert r.status_code == 200, r.text
        out[name] = {"Authorization": f"Bearer {r.json()['access_token']}"}
    return out


@pytest.fixture
def consented(client, auth):
    """C1, C2 and C4 agree to SMS marketing; C4 then opts out of personalised marketing."""
    for code in ("C1", "C2", "C4"):
        r = client.post(
            f"/customers/{code}/consents",
            json={"purpose": "marketing_sms", "granted": True},
            headers=auth["kefu"],
        )
        assert r.status_code == 201
    client.patch("/customers/C4", json={"no_personalised_marketing": True}, headers=auth["boss"])


def _campaign_ids(client) -> list[int]:
    return [
        int(x) for x in re.findall(r'href="[^"]*/campaigns/(\d+)"', client.get("/campaigns").text)
    ]


def test_roles_see_what_they_may(pages):
    for who in ("wang", "li"):
        rep = pages(who)
        assert rep.get("/campaigns").status_code == 403
        assert 'href="/campaigns"' not in rep.get("/customers").text  # the menu hides it
        assert rep.form("/campaigns", GOOD).status_code == 403
    ana = pages("ana")
    page = ana.get("/campaigns")
    assert page.status_code == 200
    assert "还没有营销活动" in page.text and "新建活动" not in page.text
    assert ana.form("/campaigns", GOOD).status_code == 403
    boss = pages("boss")
    page = boss.get("/campaigns")
    assert "新建活动" in page.text and "在下方选择客户分类" in page.text
    en = pages("boss", lang="en").get("/campaigns")
    assert en.status_code == 200 and "New campaign" in en.text and "web_" not in en.text


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"name": ""}, "name", "必填"),
        ({"name": "x" * 201}, "name", "最多 200 个字符"),
        ({"channel": "fax"}, "channel", "请从列表中选择"),
        ({"control_pct": "abc"}, "control_pct", "请输入数字"),
        ({"control_pct": "95"}, "control_pct", "不能大于 90"),
        ({"response_days": "1.5"}, "response_days", "请输入整数"),
        ({"response_days": "0"}, "response_days", "不能小于 1"),
        ({"classes": ["rfm8:没有这个分类"]}, "classes", "请从列表中选择"),
        ({"classes": []}, "classes", "请选择至少一个客户分类"),
        ({"classes": [], "filter": "orders >> 3"}, "filter", "第 9 个字符"),
        ({"classes": [], "filter": "no_such_field = 1"}, "filter", ""),
        ({"webhook_url": "ftp://example.com/x"}, "webhook_url", ""),
    ],
)
def test_bad_input_is_refused_with_its_message(pages, change, field, message):
    boss = pages("boss")
    r = boss.form("/campaigns", {**GOOD, **change})
    assert r.status_code == 422, r.text[:300]
    assert f'id="{field}-error"' in r.text
    assert message in r.text.split(f'id="{field}-error"')[1][:200]
    assert _campaign_ids(boss) == []  # nothing written


def test_preview_writes_nothing_and_counts_exclusions(pages, consented):
    boss = pages("boss")
    r = boss.form("/campaigns", {**GOOD, "action": "preview"})
    assert r.status_code == 200
    preview = r.text.split('id="preview"')[1]
    numbers = re.findall(r"<dd>(\d+)</dd>", preview)[:4]
    assert numbers == ["3", "1", "0", "2"]  # selected, no marketing, no consent, reachable
    assert 'value="回流短信"' in r.text  # the form keeps what was typed
    assert _campaign_ids(boss) == []


def test_create_build_launch_export_and_result(pages, consented, client, auth):
    boss = pages("boss")
    r = boss.form("/campaigns", GOOD)
    assert r.status_code == 303 and "done=camp_created" in r.headers["location"]
    [cid] = _campaign_ids(boss)
    page = boss.get(f"/campaigns/{cid}")
    assert (
        "草稿" in page.text
        and "生成名单" in page.text
        and "活动已创建" in boss.get(r.headers["location"]).text
    )
    assert boss.get(f"/campaigns/{cid}/result").status_code == 409  # not launched yet
    assert boss.get(f"/campaigns/{cid}/export").status_code == 409  # no audience yet
    r = boss.form(f"/campaigns/{cid}/build")
    assert r.status_code == 303
    page = boss.get(f"/campaigns/{cid}").text
    built = page.split('id="built"')[1]
    assert re.findall(r"<dd>(\d+)</dd>", built)[:6] == ["3", "1", "0", "2", "1", "1"]
    assert "C1" in page and "C2" in page and "C4" not in page.split('id="built"')[1]
    csv = boss.get(f"/campaigns/{cid}/export?group=all&format=csv")
    assert csv.status_code == 200 and csv.text.lstrip("\ufeff").startswith("customer_id,name")
    assert len(csv.text.strip().splitlines()) == 3
    assert boss.get(f"/campaigns/{cid}/export?format=pdf").status_code == 400
    # bad launch dates: 422, nothing launched
    for day, message in (("2024-13-01", "日期格式"), ("2999-01-01", "不能晚于明天")):
        r = boss.form(f"/campaigns/{cid}/launch", {"launched_on": day})
        assert r.status_code == 422 and message in r.text
    assert boss.get(f"/campaigns/{cid}/result").status_code == 409
    assert pages("ana").form(f"/campaigns/{cid}/launch").status_code == 403
    r = boss.form(f"/campaigns/{cid}/launch", {"launched_on": "2024-07-02"})
    assert r.status_code == 303
    # a stale form: launching or building again is refused with its message, nothing changed
    again = boss.form(f"/campaigns/{cid}/launch", {"launched_on": "2024-07-03"})
    assert again.status_code == 409 and "活动状态已变化" in again.text
    assert boss.form(f"/campaigns/{cid}/build").status_code == 409
    got = client.get(f"/campaigns/{cid}", headers=auth["boss"]).json()
    assert got["launched_at"].startswith("2024-07-02")
    # an order of a treated member inside the window
    members = client.get(f"/campaigns/{cid}/members?group=treatment", headers=auth["boss"]).json()
    treated = members["items"][0]["customer_id"]
    rep = "wang" if treated in ("C1", "C2") else "li"
    order = {
        "order_id": "CAMP-WEB-1",
        "customer_id": treated,
        "order_time": "2024-07-03T10:00:00",
        "lines": [{"product_id": "P2", "quantity": 3, "price": 100}],
    }
    assert client.post("/orders", json=order, headers=auth[rep]).status_code == 201
    for who, lang in (("ana", "zh"), ("boss", "en")):
        page = pages(who, lang=lang).get(f"/campaigns/{cid}/result")
        assert page.status_code == 200, page.text[:300]
        assert 'class="chart-data"' in page.text and 'id="uplift-table"' in page.text
        assert "web_" not in page.text.replace("web_campaign", "")
    page = pages("ana").get(f"/campaigns/{cid}/result").text
    assert "100.0%" in page and "¥300" in page  # treatment converted, its revenue
    assert pages("wang").get(f"/campaigns/{cid}/result").status_code == 403


def test_unknown_campaign_is_404_and_odd_ids_never_500(pages):
    boss = pages("boss")
    assert boss.get("/campaigns/999").status_code == 404
    for path in ("/campaigns/abc", "/campaigns/0", "/campaigns/99999999999999999999999"):
        assert boss.get(path).status_code in (400, 404)
    assert boss.form("/campaigns/999/build").status_code == 404
    assert boss.form("/campaigns/999/launch").status_code == 404
    assert boss.get("/campaigns?page=abc").status_code == 400


def test_csrf_is_required(pages):
    boss = pages("boss")
    r = boss.post("/campaigns", data=GOOD, follow_redirects=False)
    assert r.status_code == 403
    assert _campaign_ids(boss) == []


def test_a_manager_builds_a_campaign_from_a_class_and_opens_its_result(sign_in, site, consented):
    page = sign_in("boss")
    page.click("nav.menu >> text=营销活动")
    page.wait_for_url(f"{site}/campaigns")
    assert "还没有营销活动" in page.content()
    page.fill("input[name=name]", "回流短信")
    page.select_option("select[name=channel]", "sms")
    page.select_option("select[name=classes]", ["rfm8:重要价值客户", "rfm8:一般挽留客户"])
    page.fill("input[name=control_pct]", "50")
    page.click("button[value=preview]")
    assert page.locator("#preview").is_visible()
    page.click("button[value=create]")
    page.wait_for_url(re.compile(r".*/campaigns/\d+\?done=camp_created"))
    page.click("#actions button.primary")  # build the audience
    page.wait_for_url(re.compile(r".*done=camp_built"))
    assert page.locator("#built").is_visible()
    page.click("#actions form[action$='/launch'] button")
    page.wait_for_url(re.compile(r".*done=camp_launched"))
    page.click("text=查看活动效果")
    page.wait_for_url(re.compile(r".*/campaigns/\d+/result"))
    page.wait_for_selector("#uplift .main-svg")  # Plotly drew the uplift chart
    assert page.locator("#uplift-table tbody tr").count() == 2
    assert page.locator("#groups tbody tr").count() == 2
