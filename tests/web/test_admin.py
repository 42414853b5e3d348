"""Administration: users and roles, the audit log, data requests; each section by role."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import func, select

from kehu.store.models import AuditLog, Customer, User

PASSWORD = "password-123"


def _user(factory, name):
    with factory() as s:
        return s.scalar(select(User).where(User.username == name))


def _count(factory, model):
    with factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def _error(html, field):
    found = re.search(rf'id="{field}-error">([^<]*)<', html)
    return found.group(1) if found else None


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_an_admin_sees_every_section_in_both_languages(pages, lang):
    r = pages("admin", lang=lang).get("/admin")
    assert r.status_code == 200 and "web_" not in r.text
    for section in ('id="users"', 'id="audit"', 'id="privacy"'):
        assert section in r.text
    assert "wang" in r.text and "王伟" in r.text
    assert ("审计日志" if lang == "zh" else "Audit log") in r.text


def test_a_manager_has_no_users_section_and_a_forged_post_is_403(pages, api_store):
    boss = pages("boss")
    page = boss.get("/admin").text
    assert 'id="users"' not in page and 'id="audit"' in page and 'id="privacy"' in page
    users_before = _count(api_store, User)
    r = boss.form(
        "/admin/users",
        {"username": "eve", "password": "long enough 1", "role": "admin"},
    )
    assert r.status_code == 403
    assert boss.form("/admin/users/role", {"username": "wang", "role": "admin"}).status_code == 403
    r = boss.form("/admin/users/deactivate", {"username": "wang", "confirm": "wang"})
    assert r.status_code == 403
    assert _count(api_store, User) == users_before
    assert _user(api_store, "wang").is_active


@pytest.mark.parametrize("user", ["wang", "kefu", "ana"])
def test_other_roles_get_403(pages, user):
    client = pages(user)
    assert client.get("/admin").status_code == 403
    assert client.form("/admin/privacy/export", {"code": "C1"}).status_code == 403


def test_an_admin_adds_a_user_who_can_sign_in(pages, api_store):
    admin = pages("admin")
    r = admin.form(
        "/admin/users",
        {"username": "zhao", "password": "a long password", "role": "rep", "rep_name": "赵六"},
    )
    assert r.status_code == 303 and r.headers["location"].endswith("/admin?done=user_added")
    user = _user(api_store, "zhao")
    assert (user.role, user.rep_name, user.is_active) == ("rep", "赵六", True)
    assert "用户已添加" in admin.get(r.headers["location"]).text


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        (
            {"username": "", "password": "a long password", "role": "rep", "rep_name": "X"},
            "username",
            "必填",
        ),
        ({"username": "zhao", "password": "short", "role": "manager"}, "password", "8"),
        ({"username": "zhao", "password": "a long password", "role": "king"}, "role", ""),
        (
            {"username": "zhao", "password": "a long password", "role": "rep"},
            "rep_name",
            "业务员必须填写姓名",
        ),
        (
            {"username": "wang", "password": "a long password", "role": "manager"},
            "username",
            "该用户名已被使用",
        ),
        (
            {"username": "has space", "password": "a long password", "role": "manager"},
            "username",
            "用户名只能包含",
        ),
        ({"username": "z" * 65, "password": "a long password", "role": "manager"}, "username", ""),
        (
            {
                "username": "zhao",
                "password": "a long password",
                "role": "manager",
                "display_name": "x" * 201,
            },
            "display_name",
            "",
        ),
    ],
)
def test_bad_new_users_show_the_message_and_add_nobody(pages, api_store, values, field, message):
    before = _count(api_store, User)
    r = pages("admin").form("/admin/users", values)
    assert r.status_code == 422
    error = _error(r.text, field)
    assert error is not None and message in error
    assert "a long password" not in r.text  # a typed password is never written back
    assert _count(api_store, User) == before


def test_an_admin_changes_a_role_and_deactivates_a_user(pages, api_store):
    admin = pages("admin")
    wang = pages("wang")
    r = admin.form("/admin/users/role", {"username": "kefu", "role": "manager"})
    assert r.status_code == 303 and "done=role_changed" in r.headers["location"]
    assert _user(api_store, "kefu").role == "manager"
    r = admin.form("/admin/users/deactivate", {"username": "wang", "confirm": "wang"})
    assert r.status_code == 303 and "done=user_deactivated" in r.headers["location"]
    assert not _user(api_store, "wang").is_active
    assert wang.get("/customers", follow_redirects=False).status_code in (302, 303, 307)
    with pytest.raises(AssertionError):
        pages("wang")
    entries = admin.get("/admin?entity=user").text
    assert "user.role" in entries and "user.deactivate" in entries


@pytest.mark.parametrize(
    ("url", "values", "field", "message"),
    [
        (
            "/admin/users/role",
            {"username": "nobody", "role": "manager"},
            "username",
            "没有这个用户",
        ),
        ("/admin/users/role", {"username": "kefu", "role": "rep"}, "rep_name", "业务员必须"),
        (
            "/admin/users/role",
            {"username": "admin", "role": "rep", "rep_name": "X"},
            "role",
            "不能修改自己的角色",
        ),
        ("/admin/users/role", {"username": "kefu", "role": ""}, "role", "必填"),
        (
            "/admin/users/deactivate",
            {"username": "wang", "confirm": "li"},
            "confirm",
            "与所选用户名不一致",
        ),
        (
            "/admin/users/deactivate",
            {"username": "admin", "confirm": "admin"},
            "username",
            "不能停用自己",
        ),
        (
            "/admin/users/deactivate",
            {"username": "nobody", "confirm": "nobody"},
            "username",
            "没有这个用户",
        ),
    ],
)
def test_bad_role_and_deactivation_forms_change_nothing(
    pages, api_store, url, values, field, message
):
    r = pages("admin").form(url, values)
    assert r.status_code == 422
    assert message in (_error(r.text, field) or "")
    assert _user(api_store, "kefu").role == "service"
    assert _user(api_store, "wang").is_active and _user(api_store, "admin").role == "admin"


def test_the_audit_log_pages_and_filters(pages, api_store):
    admin = pages("admin")
    for i in range(55):
        admin.form(
            # kefu starts as service: every post changes the role (an unchanged role is no entry)
            "/admin/users/role",
            {"username": "kefu", "role": "service" if i % 2 else "analyst"},
        )
    first = admin.get("/admin?entity=user").text
    assert first.count("<td>user.role</td>") == 50
    assert "page=2" in first
    second = admin.get("/admin?entity=user&page=2").text
    assert second.count("<td>user.role</td>") == 5
    none = admin.get("/admin?entity=nothing-here").text
    assert "没有符合条件的审计记录" in none
    assert admin.get("/admin?page=0").status_code in (400, 422)
    assert admin.get("/admin?entity=" + "x" * 100).status_code in (400, 422)


def test_a_manager_exports_a_persons_data(pages, api_store):
    boss = pages("boss")
    r = boss.form("/admin/privacy/export", {"code": "C1"})
    assert r.status_code == 200
    assert "attachment" in r.headers["content-disposition"]
    data = json.loads(r.content)
    assert data["customer"]["code"] == "C1" if "customer" in data else True
    assert "mentions" in data
    with api_store() as s:
        assert s.scalar(select(AuditLog.id).where(AuditLog.action == "privacy.export"))


@pytest.mark.parametrize(
    ("url", "values", "field", "message"),
    [
        ("/admin/privacy/export", {"code": ""}, "code", "必填"),
        ("/admin/privacy/export", {"code": "NOPE"}, "code", "没有这个客户"),
        (
            "/admin/privacy/anonymise",
            {"code": "C1", "confirm": "C2", "reason": "asked"},
            "confirm",
            "与客户编号不一致",
        ),
        (
            "/admin/privacy/anonymise",
            {"code": "C1", "confirm": "C1", "reason": ""},
            "reason",
            "必填",
        ),
        (
            "/admin/privacy/anonymise",
            {"code": "C1", "confirm": "C1", "reason": "x" * 201},
            "reason",
            "",
        ),
        (
            "/admin/privacy/anonymise",
            {"code": "NOPE", "confirm": "NOPE", "reason": "asked"},
            "code",
            "没有这个客户",
        ),
    ],
)
def test_bad_data_requests_change_nothing(pages, api_store, url, values, field, message):
    r = pages("boss").form(url, values)
    assert r.status_code == 422
    assert message in (_error(r.text, field) or "")
    with api_store() as s:
        c1 = s.scalar(select(Customer).where(Customer.code == "C1"))
        assert c1.name == "杭州联华超市" and c1.anonymised_at is None


def test_anonymise_with_confirmation_and_reason(pages, api_store):
    r = pages("boss").form(
        "/admin/privacy/anonymise", {"code": "C2", "confirm": "C2", "reason": "客户要求删除"}
    )
    assert r.status_code == 303 and "done=anonymised_admin" in r.headers["location"]
    with api_store() as s:
        c2 = s.scalar(select(Customer).where(Customer.code == "C2"))
        assert c2.anonymised_at is not None and c2.name != "南京便利店"


def test_an_admin_adds_a_user_in_a_browser_and_the_user_signs_in(sign_in, site, browser):
    page = sign_in("admin")
    page.goto(f"{site}/admin")
    form = page.locator("#add-user")
    form.locator("input[name=username]").fill("zhao")
    form.locator("input[name=password]").fill("a long password")
    form.locator("select[name=role]").select_option("rep")
    form.locator("input[name=rep_name]").fill("王伟")
    form.locator("button.primary").click()
    page.wait_for_url(re.compile(r".*/admin\?done=user_added$"))
    assert "用户已添加" in page.content()
    context = browser.new_context(locale="zh-CN")
    new = context.new_page()
    new.goto(f"{site}/login")
    new.fill("input[name=username]", "zhao")
    new.fill("input[name=password]", "a long password")
    new.click("button.primary")
    new.wait_for_url(f"{site}/")
    new.goto(f"{site}/customers")
    rows = new.locator("table.data tbody tr")
    codes = sorted(rows.nth(i).locator("td").first.inner_text() for i in range(rows.count()))
    assert codes == ["C1", "C2"]  # a rep named 王伟 sees 王伟's customers
