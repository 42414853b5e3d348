"""The loyalty page (会员积分): rules in force, member lookup scoped by role, the ledger,
redemption, adjustments with a reason, the rules form; a manager's adjustment in a browser."""

from __future__ import annotations

import re

import pytest

RID = "0123456789abcdef0123456789abcdef"
RULES = {
    "tier_basis": "spend",
    "tier_window_days": "365",
    "points_per_yuan": "2",
    "expiry_days": "",
    "referral_points": "300",
    "birthday_points": "100",
    "tiers": "普通 0 1\n银卡 3000 1.3\n金卡 8000 1.6",
}


def _balance(client, code: str) -> int:
    page = client.get(f"/loyalty/members/{code}").text
    return int(re.search(r'<dd id="balance">([-\d,]+)</dd>', page).group(1).replace(",", ""))


def _rules_base(client) -> str:
    return re.search(r'name="base" value="([0-9a-f]+)"', client.get("/loyalty").text).group(1)


def test_roles_and_scope(pages):
    assert pages("ana").get("/loyalty").status_code == 403  # no loyalty permission
    wang = pages("wang")
    page = wang.get("/loyalty")
    assert page.status_code == 200
    assert "现行等级与积分规则" in page.text and "银卡" in page.text
    assert "修改规则" not in page.text  # a rep may not change the rules
    mine = wang.get("/loyalty?customer=C1")
    assert mine.status_code == 200 and 'id="redeem"' in mine.text
    assert 'id="adjust"' not in mine.text and "暂无积分流水" in mine.text
    other = wang.get("/loyalty?customer=C3")
    missing = wang.get("/loyalty?customer=C999")
    assert other.status_code == missing.status_code == 404
    assert "未找到客户 C3" in other.text and "未找到客户 C999" in missing.text
    assert other.text.replace("C3", "X") == missing.text.replace("C999", "X")  # the same answer
    assert "上海批发" not in other.text
    assert wang.get("/loyalty/members/C3").status_code == 404
    assert (
        wang.form("/loyalty/members/C3/redeem", {"points": "1", "request_id": RID}).status_code
        == 404
    )
    assert (
        wang.form("/loyalty/members/C1/adjust", {"points": "5", "reason": "x"}).status_code == 403
    )
    assert wang.form("/loyalty/rules", RULES).status_code == 403
    boss = pages("boss").get("/loyalty?customer=C3")
    assert 'id="adjust"' in boss.text and "修改规则" in boss.text
    en = pages("boss", lang="en").get("/loyalty?customer=C1")
    assert en.status_code == 200 and "Tiers and earning rules in force" in en.text
    assert "web_" not in en.text.replace("web_loyalty", "")


def test_adjust_then_redeem(pages):
    boss, wang = pages("boss"), pages("wang")
    r = boss.form(
        "/loyalty/members/C1/adjust", {"points": "500", "reason": "补偿", "request_id": RID}
    )
    assert r.status_code == 303 and "done=loy_adjusted" in r.headers["location"]
    assert _balance(boss, "C1") == 500
    again = boss.form(
        "/loyalty/members/C1/adjust", {"points": "500", "reason": "补偿", "request_id": RID}
    )  # the same form posted twice posts once
    assert "done=loy_posted_before" in again.headers["location"]
    assert _balance(boss, "C1") == 500
    page = boss.get("/loyalty/members/C1").text
    assert "人工调整" in page and "补偿" in page and "+500" in page
    r = wang.form("/loyalty/members/C1/redeem", {"points": "120", "request_id": "a" * 32})
    assert r.status_code == 303
    assert "积分已兑换" in wang.get(r.headers["location"]).text
    assert _balance(wang, "C1") == 380
    short = wang.form("/loyalty/members/C1/redeem", {"points": "1000", "request_id": "b" * 32})
    assert short.status_code == 422 and "积分余额不足" in short.text
    debit = boss.form(
        "/loyalty/members/C1/adjust", {"points": "-1000", "reason": "纠错", "request_id": "c" * 32}
    )
    assert debit.status_code == 422 and "积分余额不足" in debit.text
    assert _balance(boss, "C1") == 380
    en = pages("wang", lang="en").get("/loyalty/members/C1").text
    assert "Adjustment" in en and "Redeemed" in en


def test_ledger_says_what_the_system_did_in_the_page_language(pages, api_store):
    from kehu.services import loyalty
    from kehu.services.access import SYSTEM

    with api_store() as s, s.begin():
        loyalty.earn_for_order(s, actor=SYSTEM, order_no="O101")
        loyalty.earn_for_order(s, actor=SYSTEM, order_no="O102")
        loyalty.reverse_order(s, actor=SYSTEM, order_no="O101", reason="客户退货")
    zh = pages("boss").get("/loyalty/members/C1").text
    assert "订单 O101 取消: 客户退货" in zh and "订单 O102" in zh
    en = pages("boss", lang="en").get("/loyalty/members/C1").text
    assert "Order O101 cancelled: 客户退货" in en and "Order O102" in en
    for page in (zh, en):  # nothing of the system's own English sentences is stored any more
        assert " yuan x " not in page and "cancellation of" not in page
    assert "订单 O102" in pages("boss").get("/customers/C1").text


@pytest.mark.parametrize(
    ("form", "data", "field", "message"),
    [
        ("adjust", {"points": "", "reason": "r"}, "points", "必填"),
        ("adjust", {"points": "abc", "reason": "r"}, "points", "请输入整数"),
        ("adjust", {"points": "1.5", "reason": "r"}, "points", "请输入整数"),
        ("adjust", {"points": "0", "reason": "r"}, "points", "调整积分不能为 0"),
        ("adjust", {"points": "2000000", "reason": "r"}, "points", "不能大于"),
        ("adjust", {"points": "10", "reason": ""}, "reason", "必填"),
        ("adjust", {"points": "10", "reason": "长" * 201}, "reason", "最多 200 个字符"),
        ("redeem", {"points": "0"}, "points", "不能小于 1"),
        ("redeem", {"points": "x"}, "points", "请输入整数"),
        ("redeem", {"points": "5", "note": "n" * 201}, "note", "最多 200 个字符"),
    ],
)
def test_bad_postings_are_refused(pages, form, data, field, message):
    boss = pages("boss")
    r = boss.form(f"/loyalty/members/C1/{form}", {"request_id": RID, **data})
    assert r.status_code == 422
    assert message in r.text.split(f'id="{field}-error"')[1][:200]
    assert "暂无积分流水" in r.text  # nothing written
    assert _balance(boss, "C1") == 0


def test_a_form_without_its_request_id_is_refused(pages):
    boss = pages("boss")
    r = boss.form("/loyalty/members/C1/adjust", {"points": "10", "reason": "r"})
    assert r.status_code == 422 and "表单已过期" in r.text
    assert _balance(boss, "C1") == 0


def test_rules_form(pages):
    boss = pages("boss")
    bad = [
        ({"tiers": "银卡 abc"}, "tiers", "每行应为"),
        ({"tiers": "普通 100 1\n银卡 50 1.2"}, "tiers", "门槛须从 0 开始递增"),
        ({"tiers": "普通 0 0"}, "tiers", "倍率大于 0"),
        ({"tier_basis": "height"}, "tier_basis", "请从列表中选择"),
        ({"tier_window_days": "0"}, "tier_window_days", "不能小于 1"),
        ({"points_per_yuan": "many"}, "points_per_yuan", "请输入数字"),
        ({"expiry_days": "-3"}, "expiry_days", "不能小于 1"),
        ({"tiers": ""}, "tiers", "必填"),
    ]
    base = _rules_base(boss)
    for change, field, message in bad:
        r = boss.form("/loyalty/rules", {**RULES, "base": base, **change})
        assert r.status_code == 422, (change, r.status_code)
        assert message in r.text.split(f'id="{field}-error"')[1][:200], change
    assert _rules_base(boss) == base  # nothing written
    r = boss.form("/loyalty/rules", {**RULES, "base": base})
    assert r.status_code == 303
    page = boss.get(r.headers["location"]).text
    assert "新规则已生效" in page and "¥8,000" in page and "永不过期" in page
    stale = boss.form("/loyalty/rules", {**RULES, "tiers": "普通 0 1", "base": base})
    assert stale.status_code == 409 and "规则在您编辑期间已被他人修改" in stale.text
    assert "¥8,000" in boss.get("/loyalty").text


def test_odd_input_never_500(pages):
    boss = pages("boss")
    for path in (
        "/loyalty?customer=" + "x" * 65,
        "/loyalty?customer=%00",
        "/loyalty/members/C1?page=0",
        "/loyalty/members/C1?page=abc",
        "/loyalty/members/%20",
    ):
        assert boss.get(path).status_code in (200, 400, 404), path
    assert boss.post("/loyalty/rules", data=RULES, follow_redirects=False).status_code == 403


def test_a_manager_adjusts_points_with_a_reason(sign_in, site):
    page = sign_in("boss")
    page.click("nav.menu >> text=会员积分")
    page.wait_for_url(f"{site}/loyalty")
    page.fill("#lookup input[name=customer]", "C2")
    page.click("#lookup button")
    page.wait_for_url(re.compile(r".*/loyalty\?customer=C2"))
    assert page.locator("#balance").inner_text() == "0"
    page.fill("#adjust input[name=points]", "300")
    page.fill("#adjust input[name=reason]", "门店活动补发")
    page.click("#adjust button")
    page.wait_for_url(re.compile(r".*/loyalty/members/C2\?done=loy_adjusted"))
    assert page.locator("#balance").inner_text() == "300"
    row = page.locator("#ledger tbody tr").first.inner_text()
    assert "门店活动补发" in row and "+300" in row and "人工调整" in row
