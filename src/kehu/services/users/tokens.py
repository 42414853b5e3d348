"""Bearer tokens: issued once, stored as an HMAC under the server's key, listed and revoked."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload

from kehu.exceptions import (
    AuthenticationError,
    NotFoundError,
    SchemaError,
)
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.users.accounts import actor_for, get_user
from kehu.store.models import ApiToken, User, utcnow

TOKEN_PREFIX = "kehu_"


#: the longest lifetime of an API token unless the server sets its own (KEHU_TOKEN_MAX_DAYS)
TOKEN_MAX_DAYS = 365


@dataclass(frozen=True)
class IssuedToken:
    """A token as returned once to its owner."""

    token: str
    token_id: int
    expires_at: dt.datetime | None
    #: the owner's saved interface language (``None``: the browser's)
    language: str | None = None


def create_api_token(
    session: Session,
    *,
    actor: Actor,
    name: str,
    secret_key: str,
    days: int | None,
    max_days: int = TOKEN_MAX_DAYS,
) -> IssuedToken:
    """A named long-lived token for scripts, with the actor's own role.

    Every token expires: ``days`` must be 1 to ``max_days`` (the server's
    ``KEHU_TOKEN_MAX_DAYS``), so a leaked token does not stay usable forever.
    """
    if actor.user_id is None:
        raise AuthenticationError("API tokens belong to a user; log in first")
    if not (name or "").strip():
        raise SchemaError("an API token needs a name")
    if days is None or not 1 <= days <= max_days:
        raise SchemaError(
            f"days: an API token must expire within 1 to {max_days} days, got {days!r}"
        )
    user = session.get(User, actor.user_id)
    issued = _issue(session, user, "api", name.strip(), secret_key, dt.timedelta(days=days))
    audit.record(
        session, actor=actor, action="token.create", entity="api_token", entity_id=issued.token_id
    )
    return issued


def list_tokens(
    session: Session, *, actor: Actor, all_users: bool = False, username: str | None = None
) -> list[ApiToken]:
    """The actor's API tokens not revoked; anyone's (or ``username``'s) for an administrator."""
    stmt = select(ApiToken).where(ApiToken.kind == "api", ApiToken.revoked_at.is_(None))
    if username is not None:
        stmt = stmt.where(ApiToken.user_id == get_user(session, actor=actor, username=username).id)
    elif all_users:
        require(actor, "users.manage")
    else:
        stmt = stmt.where(ApiToken.user_id == actor.user_id)
    stmt = stmt.options(joinedload(ApiToken.user)).order_by(ApiToken.id)
    return list(session.scalars(stmt))


def get_token(session: Session, *, actor: Actor, token_id: int) -> ApiToken:
    """A token of the actor's, or anyone's for an administrator.

    Another user's token is :class:`NotFoundError` with the same message as a
    missing one, so ids do not tell what exists.
    """
    token = session.get(ApiToken, token_id)
    if token is None or (token.user_id != actor.user_id and not actor.can("users.manage")):
        raise NotFoundError(f"no API token {token_id}")
    return token


def revoke_token(session: Session, *, actor: Actor, token_id: int) -> None:
    token = get_token(session, actor=actor, token_id=token_id)
    if token.revoked_at is None:  # revoking twice keeps the first time
        token.revoked_at = utcnow()
    audit.record(
        session, actor=actor, action="token.revoke", entity="api_token", entity_id=token_id
    )


def end_sessions(session: Session, *, token: str, secret_key: str, everywhere: bool = False) -> int:
    """Sign out: revoke the login session ``token``, or with ``everywhere`` every login
    session of its user (API tokens for scripts stay).  Returns how many were revoked."""
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash(token, secret_key))
    )
    if row is None or row.kind != "session":
        return 0
    stmt = update(ApiToken).where(ApiToken.kind == "session", ApiToken.revoked_at.is_(None))
    stmt = stmt.where(ApiToken.user_id == row.user_id if everywhere else ApiToken.id == row.id)
    return session.execute(stmt.values(revoked_at=utcnow())).rowcount


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
    # tokens made before expiry was required have none: they live the default maximum
    expires = row.expires_at or row.created_at + dt.timedelta(days=TOKEN_MAX_DAYS)
    if expires <= now:
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
    expires = utcnow() + life
    row = ApiToken(
        user_id=user.id,
        kind=kind,
        name=name,
        token_hash=token_hash(token, secret_key),
        expires_at=expires,
    )
    session.add(row)
    session.flush()
    return IssuedToken(token=token, token_id=row.id, expires_at=expires, language=user.language)
