"""My settings: language (saved and set as the cookie), password change, sign out everywhere."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from kehu.store.models import User

PASSWORD = "password-123"
HAN = re.compile(r"[\u4e00-\u9fff]")


def _language(factory, name):
    with factory() as s:
        return s.scalar(select(User.language).where(User.username == name))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_page_in_both_languages(pages, lang):
    client = pages("wang", lang=lang)
    r = client.get("/settings")
    assert r.status_code == 200
    assert "web_" not in r.text
    assert ("个人设置" if lang == "zh" else "My settings") in r.text
    assert 'name="everywhere" value="true"' in r.text


def test_saving_the_language_stores_it_and_sets_the_cookie(pages, api_store):
    client = pages("wang")
    r = client.form("/settings/language", {"language": "en"})
    assert r.status_code == 303 and r.headers["location"].endswith("/settings?done=language_saved")
    assert "kehu_lang=en" in r.headers["set-cookie"]
    assert _language(api_store, "wang") == "en"
    page = client.get(r.headers["location"]).text
    assert "The language was saved." in page and "My settings" in page


def test_signing_in_again_brings_back_the_saved_language(pages):
    pages("wang").form("/settings/language", {"language": "en"})
    # another browser, whose own cookie says Chinese: the saved choice wins at sign-in
    page = pages("wang", lang="zh").get("/settings").text
    assert "My settings" in page and "个人设置" not in page
    # a user who saved nothing keeps the browser's language
    assert "个人设置" in pages("li", lang="zh").get("/settings").text


@pytest.mark.parametrize("value", ["", "fr", "x" * 30_000])
def test_a_bad_language_is_refused_and_nothing_saved(pages, api_store, value):
    client = pages("wang")
    r = client.form("/settings/language", {"language": value})
    assert r.status_code == 422
    assert 'class="error" id="language-error"' in r.text
    assert _language(api_store, "wang") is None


def _password(client, **values):
    return client.form("/settings/password", values)


def test_changing_the_password(pages, api_store):
    client = pages("wang")
    other = pages("wang")
    r = _password(client, current=PASSWORD, new="a new password", again="a new password")
    assert r.status_code == 303, r.text
    assert "done=password_changed" in r.headers["location"]
    assert client.get("/settings").status_code == 200  # this session stays
    assert other.get("/settings", follow_redirects=False).status_code in (302, 303, 307)
    with pytest.raises(AssertionError):
        pages("wang")  # the old password no longer signs in


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"current": "", "new": "a new password", "again": "a new password"}, "current", "必填"),
        ({"current": PASSWORD, "new": "short", "again": "short"}, "new", "8"),
        ({"current": PASSWORD, "new": "a new password", "again": "other one"}, "again", "不一致"),
        (
            {"current": "wrong!!!", "new": "a new password", "again": "a new password"},
            "current",
            "当前密码不正确",
        ),
        ({"current": PASSWORD, "new": "x" * 2000, "again": "x" * 2000}, "new", ""),
    ],
)
def test_bad_password_forms_show_the_message_and_change_nothing(pages, values, field, message):
    client = pages("wang")
    r = _password(client, **values)
    assert r.status_code == 422
    error = re.search(rf'id="{field}-error">([^<]*)<', r.text)
    assert error and message in error.group(1)
    assert PASSWORD not in r.text  # a typed password is never written back
    pages("wang")  # the password is unchanged: signing in still works


def test_password_guesses_are_throttled_not_500(pages):
    client = pages("li")
    codes = [
        _password(
            client, current="guess-guess", new="a new password", again="a new password"
        ).status_code
        for _ in range(7)
    ]
    assert codes[:5] == [422] * 5 and codes[-1] == 429


def test_sign_out_everywhere(pages):
    client = pages("wang")
    other = pages("wang")
    r = client.form("/logout", {"everywhere": "true"})
    assert r.status_code == 303
    assert other.get("/settings", follow_redirects=False).status_code in (302, 303, 307)


def test_a_post_without_its_token_is_refused(pages, api_store):
    client = pages("wang")
    r = client.post("/settings/language", data={"language": "en"}, follow_redirects=False)
    assert r.status_code == 403
    assert _language(api_store, "wang") is None


def test_the_language_switch_changes_the_whole_page_in_a_browser(sign_in, site):
    page = sign_in("wang")
    page.goto(f"{site}/settings")
    assert "个人设置" in page.content()
    page.select_option("select[name=language]", "en")
    page.click("button[value=language]")
    page.wait_for_url(re.compile(r".*/settings\?done=language_saved$"))
    text = page.locator("body").inner_text().replace("中文", "")
    assert "The language was saved." in text
    assert not HAN.search(text.replace("王伟", "")), text
    page.goto(f"{site}/customers")
    assert not HAN.search(page.locator("h1").inner_text())
