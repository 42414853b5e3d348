"""Rendering pages: one Jinja2 environment, strings through :mod:`kehu.i18n`, local formats."""

from __future__ import annotations

import datetime as dt
import functools
import math
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from kehu import i18n
from kehu.web import texts
from kehu.web.session import CSRF_FIELD, csrf_for, language

WAN = 10_000
#: the main menu: (route name, page string, permissions of which one shows the entry; none: all)
NAV = (
    ("web_home", "web_nav_workbench", ()),
    ("web_customers", "web_customers", ()),
    ("web_classes", "web_nav_classes", ("runs.read",)),
    ("web_followups", "web_nav_followups", ("followups.write",)),
    ("web_campaigns", "web_nav_campaigns", ("campaigns.read",)),
    ("web_loyalty", "web_nav_loyalty", ("loyalty.post",)),
    ("web_feedback", "web_nav_feedback", ("feedback.write",)),
    ("web_runs", "web_nav_runs", ("runs.read",)),
    ("web_channels", "web_nav_channels", ("customers.read_all",)),
    ("web_admin", "web_nav_admin", ("users.manage", "audit.read", "privacy.manage")),
)


@functools.cache
def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("kehu.web", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(money=money, number=number, date=date, datetime=datetime, pct=pct)
    return env


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` in the request's language, with the helpers every page uses."""
    lang = context.pop("lang", None) or language(request)
    page = environment().get_template(template)
    actor = context.get("actor")
    notice = f"web_done_{request.query_params.get('done', '')}"
    html = page.render(
        request=request,
        lang=lang,
        other_lang="en" if lang == "zh" else "zh",
        t=functools.partial(_text, lang=lang),
        header=functools.partial(i18n.header, lang=lang),
        label=lambda column, value: i18n.label(column, value, lang),
        url_for=request.url_for,
        csrf_field=CSRF_FIELD,
        csrf_token=csrf_for(request),
        nav=[
            (route, key)
            for route, key, needs in NAV
            if actor is not None and (not needs or any(actor.can(p) for p in needs))
        ],
        notice=notice if notice in texts.TEXTS else None,
        **context,
    )
    return HTMLResponse(html, status_code=status_code)


def _text(key: str, lang: str, **values: Any) -> str:
    out = texts.text(key, lang)
    return out.format(**values) if values else out


def number(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:,.{digits}f}"


def money(value: Any, lang: str = "zh") -> str:
    """``¥12,345``; in Chinese, amounts of 100,000 and more as ``¥12.3万`` as readers expect."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    sign, value = ("-" if value < 0 else ""), abs(value)  # -¥231, not ¥-231
    if lang == "zh" and value >= 10 * WAN:
        return f"{sign}¥{value / WAN:,.1f}万"
    return f"{sign}¥{value:,.0f}" if value >= 100 else f"{sign}¥{value:,.2f}"


def pct(value: Any, digits: int = 0) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value * 100:.{digits}f}%"


def date(value: Any, lang: str = "zh") -> str:
    if value is None:
        return "–"
    if isinstance(value, str):
        value = dt.date.fromisoformat(value[:10])
    if lang == "zh":
        return f"{value.year}年{value.month}月{value.day}日"
    return value.strftime("%d %b %Y")


def datetime(value: Any, lang: str = "zh") -> str:
    if value is None:
        return "–"
    return f"{date(value, lang)} {value:%H:%M}"
