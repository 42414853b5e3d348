"""My settings: interface language (saved, and set as the page's cookie), password, sign-out."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints

from kehu.exceptions import AuthenticationError, RateLimitError, SchemaError
from kehu.services import users
from kehu.services.access import Actor
from kehu.web.forms import Checked, Posted, blank, done, validate
from kehu.web.render import render
from kehu.web.session import LANG_COOKIE, PageUser, language, session_token
from kehu.web.transaction import changes

router = APIRouter(include_in_schema=False)
YEAR = 365 * 24 * 3600
Password = Annotated[str, StringConstraints(min_length=users.MIN_PASSWORD, max_length=1024)]


def _page(
    request: Request, actor: Actor, forms: dict[str, Checked[Any]] | None = None, status: int = 200
) -> Response:
    shown = {"language": blank(request, language=language(request)), "password": blank(request)}
    shown.update(forms or {})
    return render(
        request,
        "settings/page.html",
        status_code=status,
        actor=actor,
        forms=shown,
        min_password=users.MIN_PASSWORD,
    )


@router.get("/settings", name="web_settings")
def page(request: Request, actor: PageUser) -> Response:
    return _page(request, actor)


class LanguageForm(BaseModel):
    language: Literal["zh", "en"]


@router.post("/settings/language", name="web_settings_language")
def save_language(request: Request, actor: PageUser, form: Posted) -> Response:
    checked = validate(LanguageForm, form, request)
    if not checked.ok:
        return _page(request, actor, {"language": checked}, 422)
    chosen = checked.data.language
    with changes(request) as db:
        users.set_language(db, actor=actor, language=chosen)
    response = done(request, "web_settings", "language_saved")
    response.set_cookie(
        LANG_COOKIE, chosen, max_age=YEAR, samesite="lax", secure=request.url.scheme == "https"
    )
    return response


class PasswordForm(BaseModel):
    current: Annotated[str, StringConstraints(max_length=1024)]
    new: Password
    again: Annotated[str, StringConstraints(max_length=1024)]


@router.post("/settings/password", name="web_settings_password")
def change_password(request: Request, actor: PageUser, form: Posted) -> Response:
    checked = validate(PasswordForm, form, request)
    if checked.ok and checked.data.new != checked.data.again:
        checked = checked.error("again", "web_err_passwords_differ")
    if not checked.ok:
        return _page(request, actor, {"password": _without_passwords(checked)}, 422)
    try:
        with changes(request) as db:
            users.change_password(
                db,
                actor=actor,
                current_password=checked.data.current,
                new_password=checked.data.new,
                secret_key=request.app.state.settings.secret_key,
                keep_token=session_token(request),
            )
    except RateLimitError:
        failed = checked.error("current", "web_err_password_throttled")
        return _page(request, actor, {"password": _without_passwords(failed)}, 429)
    except AuthenticationError:
        failed = checked.error("current", "web_err_password_wrong")
        return _page(request, actor, {"password": _without_passwords(failed)}, 422)
    except SchemaError as exc:
        failed = checked.failed(exc, "new")
        return _page(request, actor, {"password": _without_passwords(failed)}, 422)
    return done(request, "web_settings", "password_changed")


def _without_passwords(checked: Checked[Any]) -> Checked[Any]:
    """The form again without the passwords typed (never written back into the page)."""
    return Checked({}, None, checked.errors, checked.lang)
