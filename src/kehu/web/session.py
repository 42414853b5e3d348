"""Who is signed in, in which language, and the CSRF token of their forms.

A web session is a login token of the store (:func:`kehu.services.users.login`,
kind ``session``): it expires, can be revoked, and "sign out everywhere" revokes
all of a user's sessions.  The browser holds it in an ``HttpOnly``,
``SameSite=Lax`` cookie (``Secure`` over HTTPS).  The CSRF token of a form is a
keyed hash of the session token, so it needs no storage and dies with the
session; before sign-in, the login form uses a random double-submit cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Annotated

from fastapi import Depends, Request

from kehu.exceptions import AuthenticationError, KehuError
from kehu.i18n import LANGS
from kehu.services.access import Actor
from kehu.services.users import authenticate_token

SESSION_COOKIE = "kehu_session"
LANG_COOKIE = "kehu_lang"
LOGIN_CSRF_COOKIE = "kehu_login_csrf"
CSRF_FIELD = "csrf_token"


class SignInRequired(KehuError):
    """The page needs a signed-in user: answered with a redirect to the sign-in page."""


class CsrfError(KehuError, PermissionError):
    """A form came without the token of its session (stale or forged)."""


def language(request: Request) -> str:
    """The cookie's language, else the browser's first of Chinese or English, else Chinese."""
    chosen = request.cookies.get(LANG_COOKIE)
    if chosen in LANGS:
        return chosen
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGS:
            return code
    return "zh"


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE)


def csrf_for(request: Request, token: str | None = None) -> str:
    """The CSRF token forms of this session carry (or of the login form)."""
    token = token or session_token(request)
    if token:
        key = request.app.state.settings.secret_key.encode()
        return hmac.new(key, b"csrf:" + token.encode(), hashlib.sha256).hexdigest()[:40]
    return request.cookies.get(LOGIN_CSRF_COOKIE) or ""


def new_login_csrf() -> str:
    return secrets.token_urlsafe(24)


def check_csrf(request: Request, submitted: str | None) -> None:
    """Refuse a form whose token does not match its session's."""
    expected = csrf_for(request)
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise CsrfError("the form has expired or did not come from this site; reload the page")


def optional_actor(request: Request) -> Actor | None:
    token = session_token(request)
    if not token:
        return None
    with request.app.state.sessions() as db:
        try:
            return authenticate_token(
                db, token=token, secret_key=request.app.state.settings.secret_key
            )
        except AuthenticationError:
            return None


def require_actor(request: Request) -> Actor:
    actor = optional_actor(request)
    if actor is None:
        raise SignInRequired("sign in first")
    return actor


PageUser = Annotated[Actor, Depends(require_actor)]
Lang = Annotated[str, Depends(language)]
