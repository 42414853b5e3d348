"""Users, passwords, sign-in with throttling, and bearer tokens.

Passwords are hashed with Argon2id.  A token is a random string shown once;
the store keeps only its HMAC-SHA256 under the server's secret key, so a
leaked database holds no usable token.

Sign-in (:func:`login`) is the one place of the rules: the API, the CLI and
the web pages all call it.
"""

from kehu.services.users.accounts import MIN_PASSWORD, actor_for, create_user, get_user, list_users
from kehu.services.users.passwords import hash_password
from kehu.services.users.settings import change_password, deactivate, set_language, set_role
from kehu.services.users.signin import login, sign_in
from kehu.services.users.tokens import (
    TOKEN_MAX_DAYS,
    IssuedToken,
    authenticate_token,
    create_api_token,
    end_sessions,
    get_token,
    list_tokens,
    revoke_token,
    token_hash,
)

__all__ = [
    "MIN_PASSWORD",
    "TOKEN_MAX_DAYS",
    "IssuedToken",
    "actor_for",
    "authenticate_token",
    "change_password",
    "create_api_token",
    "create_user",
    "deactivate",
    "end_sessions",
    "get_token",
    "get_user",
    "hash_password",
    "list_tokens",
    "list_users",
    "login",
    "revoke_token",
    "set_language",
    "set_role",
    "sign_in",
    "token_hash",
]
