"""The pages in a real browser: Debian chromium driven by Playwright against `kehu serve`.

Each test signs in as a user of the API fixtures (wang and li are reps; boss a manager)
over real HTTP, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx

PASSWORD = "password-123"
#: Chinese characters outside the data (names, cities) that an English page must not show
HAN = re.compile(r"[\u4e00-\u9fff]")
HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
#: words of the sample data, and the switch back to Chinese, which are Chinese on an English page
DATA_WORDS = (
    "杭州联华超市",
    "南京便利店",
    "宁波面馆",
    "上海批发",
    "王伟",
    "李娜",
    "浙江省",
    "江苏省",
    "上海市",
    "杭州市",
    "南京市",
    "宁波市",
    "超市",
    "便利店",
    "餐饮",
    "批发商",
    "华东",  # the filter example
    "每月回访重要价值客户",  # a task title, written by the revisit rules of the settings
    "中文",
)


def test_a_rep_sees_only_their_own_customers(sign_in, site):
    page = sign_in("wang")
    page.goto(f"{site}/customers")
    rows = page.locator("table.data tbody tr")
    codes = sorted(rows.nth(i).locator("td").first.inner_text() for i in range(rows.count()))
    assert codes == ["C1", "C2"]
    assert "共 2 位客户" in page.content()
    page.click("text=C1")
    assert page.locator("h1").inner_text().startswith("杭州联华超市")
    assert "重要价值客户" in page.content()  # the class with its reason
    response = page.goto(f"{site}/customers/C3")  # another rep's customer by URL
    assert response.status == 404
    assert "未找到" in page.content() and "宁波面馆" not in page.content()
    # a search that every customer matches still finds only the rep's own
    page.goto(f"{site}/customers")
    page.fill("input[name=filter]", "orders >= 1")
    page.click("button.primary")
    codes = sorted(rows.nth(i).locator("td").first.inner_text() for i in range(rows.count()))
    assert codes == ["C1", "C2"]
    # the export of that list holds the rep's customers only
    with page.expect_download() as download:
        page.click("text=CSV")
    exported = Path(download.value.path()).read_text(encoding="utf-8-sig")
    assert "C1" in exported and "C2" in exported
    assert not any(other in exported for other in ("C3", "C4", "宁波面馆", "上海批发"))
    # the workbench: the rep's tasks and figures, nobody else's customers
    page.goto(f"{site}/")
    body = page.locator("main").inner_text()
    assert "宁波面馆" not in body and "上海批发" not in body and "李娜" not in body


def test_the_language_switch_changes_every_string(sign_in, site, api_store, data_words):
    allowed = data_words(api_store)
    page = sign_in("boss")
    page.click("a.lang")
    page.wait_for_url(f"{site}/")
    menu = page.locator("nav a").evaluate_all("links => links.map(a => a.getAttribute('href'))")
    paths = [p for p in menu if p.startswith("/") and not p.startswith("/lang")]
    assert len(paths) >= 10, paths  # every area of the menu, as a manager sees it
    for path in dict.fromkeys([*paths, "/customers/C1"]):
        page.goto(site + path)
        text = page.locator("body").inner_text()
        for word in DATA_WORDS:  # names from the data may be Chinese in any language
            text = text.replace(word, "")
        stray = [w for w in HAN_RUN.findall(text) if w not in allowed]
        assert not stray, (path, stray, text)
        assert "web_" not in text, path
    assert "4 customers" in page.goto(f"{site}/customers").text()


def test_a_filter_error_points_at_the_position(sign_in, site):
    page = sign_in("boss", lang="en")
    page.goto(f"{site}/lang/en?next=/customers")
    page.fill("input[name=filter]", "orders >= and region = 'x'")
    page.click("button.primary")
    error = page.locator(".has-error .error")
    assert re.search(r"Error at character \d+", error.inner_text())


def test_a_form_without_its_csrf_token_is_refused(sign_in, site):
    page = sign_in("boss")
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    r = httpx.post(f"{site}/logout", cookies=cookies, data={}, follow_redirects=False)
    assert r.status_code == 403 and "表单已过期" in r.text
    # the session was not ended by the forged form
    assert page.goto(f"{site}/customers").status == 200


def test_export_from_the_list_is_data_not_formulas(sign_in, site, tmp_path):
    from openpyxl import load_workbook

    page = sign_in("boss")
    page.goto(f"{site}/customers")
    with page.expect_download() as download:
        page.click("text=Excel")
    path = tmp_path / "customers.xlsx"
    download.value.save_as(path)
    sheet = load_workbook(path).active
    assert sheet.max_row == 5
    assert all(cell.data_type != "f" for row in sheet.iter_rows() for cell in row)


def test_customer_page_fits_a_phone(sign_in, site, tmp_path):
    page = sign_in("wang", width=390)
    page.goto(f"{site}/customers/C1")
    page.screenshot(path=str(tmp_path / "customer-390.png"), full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390


def test_security_headers_and_no_cdn(sign_in, site):
    page = sign_in("boss")
    requests = []
    page.on("request", lambda r: requests.append(r.url))
    response = page.goto(f"{site}/customers/C1")
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert all(url.startswith(site) for url in requests)
    cookie = next(c for c in page.context.cookies() if c["name"] == "kehu_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"


def test_wrong_password_and_sign_out(browser, site):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    page.goto(f"{site}/login")
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", "wrong-password")
    page.click("button.primary")
    assert "Wrong user name or password" in page.content()
    page.fill("input[name=username]", "boss")
    page.fill("input[name=password]", PASSWORD)
    page.click("button.primary")
    page.wait_for_url(f"{site}/")  # the workbench is the start page
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r".*/login$"))
    assert "/login" in page.goto(f"{site}/customers").url
