"""Every page, as every role, in both languages; and a fuzz over every form's fields.

The pages are found the way a person finds them: from the workbench, following
the links of each page (bounded), so a page added later is covered without
listing it here.  For each page: no 500, no untranslated string (an unknown key
raises while rendering; a ``web_`` key must never show), and an English page shows
no Chinese outside the data.  Then every form found is posted with each field
in turn empty, too long, of the wrong type, with a NUL character, markup, a
malformed filter and unknown ids: a page may refuse (4xx) but never answer 500.
"""

from __future__ import annotations

import random
import re
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import pytest

ROLES = ("admin", "boss", "wang", "kefu", "ana")
#: pages visited per role and language (the crawl follows links breadth first)
MAX_PAGES = 80
HAN_RUN = re.compile(r"[\u4e00-\u9fff]+")
#: links that change state or leave the pages
SKIP = re.compile(
    r"^/(static|static-vendor|api|lang|logout)\b|/export\b|/download\b|\.(csv|xlsx)$"
    r"|/report\.html$"  # a run's analysis report: a downloaded file, in the language asked
)


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    #: field -> the options of a select, or the kind of an input
    kinds: dict[str, str] = field(default_factory=dict)


class Page(HTMLParser):
    """Links, forms and the visible text of one page (the standard library's parser)."""

    def __init__(self, url: str):
        super().__init__(convert_charrefs=True)
        self.url = url
        self.links: list[str] = []
        self.forms: list[Form] = []
        self.text: list[str] = []
        self._hidden = 0  # inside <script>, <style> or <title>
        self._form: Form | None = None
        self._select: str | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag in ("script", "style", "title"):
            self._hidden += 1
        elif tag == "a" and a.get("href"):
            self.links.append(urljoin(self.url, a["href"]))
        elif tag == "form":
            self._form = Form(
                urljoin(self.url, a.get("action") or self.url), a.get("method", "get")
            )
            self.forms.append(self._form)
        elif self._form is not None and tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio") and "checked" not in a:
                self._form.kinds.setdefault(a["name"], kind)
                return
            self._form.fields[a["name"]] = a.get("value", "")
            self._form.kinds[a["name"]] = kind
        elif self._form is not None and tag == "select" and a.get("name"):
            self._select = a["name"]
            self._form.fields.setdefault(a["name"], "")
            self._form.kinds[a["name"]] = "select"
        elif (
            self._select
            and tag == "option"
            and ("selected" in a or not self._form.fields[self._select])
        ):
            self._form.fields[self._select] = a.get("value", "")
        elif self._form is not None and tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form.fields[a["name"]] = ""
            self._form.kinds[a["name"]] = "textarea"

    def handle_endtag(self, tag):
        if tag in ("script", "style", "title"):
            self._hidden -= 1
        elif tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea and self._form is not None:
            self._form.fields[self._textarea] += data
        if not self._hidden:
            self.text.append(data)


def parse(url: str, html: str) -> Page:
    page = Page(url)
    page.feed(html)
    return page


def crawl(client, start: str = "/"):
    """Yield (path, response, parsed page) for the pages reachable from ``start``."""
    seen, queue, visited = {start}, deque([start]), 0
    while queue and visited < MAX_PAGES:
        path = queue.popleft()
        response = client.get(path, follow_redirects=True)
        visited += 1
        html = "text/html" in response.headers.get("content-type", "")
        page = parse("http://testserver" + path, response.text) if html else None
        yield path, response, page
        for link in page.links if page else ():
            parts = urlsplit(link)
            if parts.netloc not in ("", "testserver"):
                continue
            target = parts.path + (f"?{parts.query}" if parts.query else "")
            if SKIP.search(parts.path) or target in seen:
                continue
            # one of each kind of link is enough: /customers/C1 stands for /customers/C2
            shape = (
                re.sub(r"/[^/]*\d[^/]*", "/#", parts.path)
                + "?"
                + ",".join(sorted(re.findall(r"([\w-]+)=", parts.query)))
            )
            if shape in seen:
                continue
            seen |= {target, shape}
            queue.append(target)


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("user", ROLES)
def test_every_page_renders_for_every_role(pages, data_words, user, lang):
    client = pages(user, lang=lang)
    allowed = data_words(client.app.state.sessions) if lang == "en" else set()
    visited = []
    for path, response, page in crawl(client):
        visited.append(path)
        assert response.status_code < 500, (path, response.text[-2000:])
        if page is None:
            continue
        text = " ".join(" ".join(page.text).split())
        assert "web_" not in text, (path, text)
        if lang == "en" and response.status_code == 200:
            stray = [w for w in HAN_RUN.findall(text) if w not in allowed]
            assert not stray, (path, stray, text)
    assert "/customers" in " ".join(visited)  # the crawl reached beyond the start page


#: values that try each field's limits; none may cause a 500
HOSTILE = (
    "",
    " ",
    "x" * 5000,
    "-1",
    "0",
    "1e309",
    "12abc",
    "2024-13-45",
    "9999-12-31",
    "\x00nul",
    "<script>alert(1)</script>",
    "' or 1=1 --",
    "orders >= and (",
    "C999",
    "C3",
    "真" * 300,
)


def fuzz_values(form: Form, rng: random.Random):
    """Each field in turn set to each hostile value, the others as the page filled them."""
    names = [n for n in form.fields if n != "csrf_token"]
    for name in names:
        for value in rng.sample(HOSTILE, 8):
            yield {**form.fields, name: value}


@pytest.mark.parametrize("user", ["boss", "wang", "admin"])
def test_no_form_answers_500_to_any_input(pages, user):
    client = pages(user, lang="en")
    rng = random.Random(f"kehu-forms-{user}")
    forms: dict[tuple[str, tuple[str, ...]], Form] = {}
    for _, _, page in crawl(client):
        for form in page.forms if page else ():
            if urlsplit(form.action).path in ("/logout",):
                continue
            forms.setdefault((form.action, tuple(sorted(form.fields))), form)
    posted = 0
    for form in forms.values():
        for values in fuzz_values(form, rng):
            if form.method.lower() == "post":
                values["csrf_token"] = client.csrf
                r = client.post(form.action, data=values, follow_redirects=False)
            else:
                r = client.get(form.action, params=values, follow_redirects=False)
            posted += 1
            assert r.status_code < 500, (form.action, values, r.text[-2000:])
    assert posted > 0


def test_a_form_with_a_stale_token_is_refused_and_writes_nothing(pages):
    """Every form that changes something on the customer page refuses another session's token."""
    client = pages("boss")
    before = client.get("/customers/C1").text
    forms = [f for f in parse("http://testserver/customers/C1", before).forms if f.method == "post"]
    for form in forms:
        if urlsplit(form.action).path == "/logout":
            continue
        values = {**form.fields, "csrf_token": "0" * 40}
        r = client.post(form.action, data=values, follow_redirects=False)
        assert r.status_code == 403, form.action
    assert client.get("/customers/C1").text == before
