"""Users, passwords, login with rate limiting, and bearer tokens.

Passwords are hashed with Argon2id.  A token is a random string shown once;
the store keeps only its HMAC-SHA256 under the server's secret key, so a
leaked database holds no usable token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from kehu.exceptions import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    SchemaError,
)
from kehu.services import audit
from kehu.services.access import ROLE_PERMISSIONS, Actor, require
from kehu.store.models import ApiToken, LoginAttempt, User, utcnow

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 8
TOKEN_PREFIX = "kehu_"


@dataclass(frozen=True)
class IssuedToken:
    """A token as returned once to its owner."""

    token: str
    token_id: int
    expires_at: dt.datetime | None


def actor_for(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role, rep_name=user.rep_name)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def create_user(
    session: Session,
    *,
    actor: Actor,
    username: str,
    password: str,
    role: str,
    rep_name: str | None = None,
    display_name: str | None = None,
) -> User:
    """Create a user; a rep needs ``rep_name`` (the name their customers carry)."""
    require(actor, "users.manage")
    if not _USERNAME.match(username or ""):
        raise SchemaError(
            f"user name {username!r}: use 2-64 letters, digits or _ . @ - (no spaces)"
        )
    if role not in ROLE_PERMISSIONS:
        raise SchemaError(f"unknown role {role!r}; roles: {', '.join(ROLE_PERMISSIONS)}")
    if len(password or "") < MIN_PASSWORD:
        raise SchemaError(f"password must have at least {MIN_PASSWORD} characters")
    if role == "rep" and not (rep_name or "").strip():
        raise SchemaError("a sales rep needs --rep-name: the name their customers carry")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise ConflictError(f"user {username!r} already exists")
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role,
        rep_name=(rep_name or "").strip() or None,
        display_name=display_name,
    )
    session.add(user)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="user.create",
        entity="user",
        entity_id=user.id,
        changes={"username": username, "role": role, "rep_name": user.rep_name},
    )
    return user


def list_users(session: Session, *, actor: Actor) -> list[User]:
    require(actor, "users.manage")
    return list(session.scalars(select(User).order_by(User.username)))


def get_user(session: Session, *, actor: Actor, username: str) -> User:
    require(actor, "users.manage")
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFoundError(f"no user {username!r}")
    return user


def login(
    session: Session,
    *,
    username: str,
    password: str,
    secret_key: str,
    token_minutes: int,
    max_failures: int = 5,
    window_seconds: int = 300,
    client: str | None = None,
) -> IssuedToken:
    """Check a password and issue a session token.

    After ``max_failures`` failed attempts for a user name within
    ``window_seconds``, further attempts are refused with
    :class:`RateLimitError` until the window has passed -- even with the right
    password, so that guessing cannot continue.  The failures are stored, so
    the limit holds across server processes.
    """
    now = utcnow()
    since = now - dt.timedelta(seconds=window_seconds)
    failures = session.execute(
        select(func.count(), func.min(LoginAttempt.at)).where(
            LoginAttempt.username == username, LoginAttempt.at >= since
        )
    ).one()
    if failures[0] >= max_failures:
        retry = int((failures[1] + dt.timedelta(seconds=window_seconds) - now).total_seconds())
        raise RateLimitError(
            f"too many failed logins for {username!r}; try again in {max(retry, 1)} s",
            retry_after=max(retry, 1),
        )
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.is_active or not _verify(user.password_hash, password):
        session.add(LoginAttempt(username=username, client=client, at=now))
        session.commit()  # the failure must count even though we raise
        raise AuthenticationError("wrong user name or password")
    session.execute(delete(LoginAttempt).where(LoginAttempt.username == username))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return _issue(session, user, "session", None, secret_key, dt.timedelta(minutes=token_minutes))


def create_api_token(
    session: Session,
    *,
    actor: Actor,
    name: str,
    secret_key: str,
    days: int | None = 365,
) -> IssuedToken:
    """A named long-lived token for scripts, with the actor's own role."""
    if actor.user_id is None:
        raise AuthenticationError("API tokens belong to a user; log in first")
    if not (name or "").strip():
        raise SchemaError("an API token needs a name")
    user = session.get(User, actor.user_id)
    life = dt.timedelta(days=days) if days else None
    issued = _issue(session, user, "api", name.strip(), secret_key, life)
    audit.record(
        session, actor=actor, action="token.create", entity="api_token", entity_id=issued.token_id
    )
    return issued


def list_tokens(session: Session, *, actor: Actor) -> list[ApiToken]:
    stmt = select(ApiToken).where(
        ApiToken.user_id == actor.user_id, ApiToken.kind == "api", ApiToken.revoked_at.is_(None)
    )
    return list(session.scalars(stmt.order_by(ApiToken.id)))


def revoke_token(session: Session, *, actor: Actor, token_id: int) -> None:
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.user_id and not actor.can("users.manage")):
        raise NotFoundError(f"no API token {token_id}")
    token.revoked_at = utcnow()
    audit.record(
        session, actor=actor, action="token.revoke", entity="api_token", entity_id=token_id
    )


def authenticate_token(session: Session, *, token: str, secret_key: str) -> Actor:
    """The actor a bearer token stands for; :class:`AuthenticationError` otherwise."""
    if not token or not token.startswith(TOKEN_PREFIX):
        raise AuthenticationError("missing or malformed bearer token")
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash(token, secret_key))
    )
    now = utcnow()
    if row is None or row.revoked_at is not None:
        raise AuthenticationError("invalid or revoked token")
    if row.expires_at is not None and row.expires_at <= now:
        raise AuthenticationError("token expired; log in again")
    user = row.user
    if not user.is_active:
        raise AuthenticationError("user is disabled")
    # one write per minute at most: keeps reads cheap
    if row.last_used_at is None or now - row.last_used_at > dt.timedelta(minutes=1):
        row.last_used_at = now
        session.commit()
    return actor_for(user)


def token_hash(token: str, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), token.encode(), hashlib.sha256).hexdigest()


def _issue(session, user, kind, name, secret_key, life) -> IssuedToken:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    expires = utcnow() + life if life else None
    row = ApiToken(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=token_hash(token, secret_key),
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    return IssuedToken(token=token, token_id=row.id, expires_at=expires)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
