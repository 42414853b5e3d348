"""Sign in, sign out (here or everywhere) and the language switch."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from kehu.exceptions import AuthenticationError, RateLimitError
from kehu.i18n import LANGS
from kehu.services import users
from kehu.web.render import render
from kehu.web.session import (
    LANG_COOKIE,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    check_csrf,
    new_login_csrf,
    optional_actor,
    session_token,
)
from kehu.web.transaction import changes

router = APIRouter(include_in_schema=False)
YEAR = 365 * 24 * 3600


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _secure(request: Request) -> bool:
    return request.url.scheme == "https"


@router.get("/login", name="web_login_form")
def login_form(request: Request, next: str | None = None) -> Response:
    if optional_actor(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return _login_page(request, next=_safe_next(next))


def _login_page(request: Request, *, next: str, error: str | None = None, status: int = 200):
    token = request.cookies.get(LOGIN_CSRF_COOKIE) or new_login_csrf()
    response = render(
        request, "login.html", status_code=status, next=next, error=error, login_csrf=token
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE, token, httponly=True, samesite="lax", secure=_secure(request)
    )
    return response


@router.post("/login", name="web_login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    check_csrf(request, csrf_token)
    settings = request.app.state.settings
    try:
        with changes(request) as db:
            issued = users.sign_in(
                db,
                settings=settings,
                username=username.strip(),
                password=password,
                client=request.client.host if request.client else None,
            )
    except RateLimitError:
        return _login_page(request, next=_safe_next(next), error="login_throttled", status=429)
    except AuthenticationError:
        return _login_page(request, next=_safe_next(next), error="login_failed", status=401)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        max_age=settings.token_minutes * 60,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    if issued.language in LANGS:  # the user's saved language wins over this browser's
        response.set_cookie(
            LANG_COOKIE, issued.language, max_age=YEAR, samesite="lax", secure=_secure(request)
        )
    return response


@router.post("/logout", name="web_logout")
def logout(
    request: Request,
    csrf_token: Annotated[str, Form(max_length=100)] = "",
    everywhere: Annotated[bool, Form()] = False,
) -> Response:
    """Sign out: revoke this session, or every session of the user."""
    check_csrf(request, csrf_token)
    token = session_token(request)
    if token:
        with changes(request) as db:
            users.end_sessions(
                db,
                token=token,
                secret_key=request.app.state.settings.secret_key,
                everywhere=everywhere,
            )
    response = RedirectResponse(str(request.url_for("web_login_form")), status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/lang/{code}", name="web_language")
def set_language(request: Request, code: str, next: str | None = None) -> Response:
    """Switch the interface language (a preference cookie; changes no data)."""
    response = RedirectResponse(_safe_next(next), status_code=303)
    if code in LANGS:
        response.set_cookie(
            LANG_COOKIE, code, max_age=YEAR, samesite="lax", secure=_secure(request)
        )
    return response
