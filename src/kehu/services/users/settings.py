"""What changes on an account: its language, password (throttled), role and deactivation."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update
from sqlalchemy.orm import Session

from kehu.exceptions import (
    AuthenticationError,
    ConflictError,
    SchemaError,
)
from kehu.services import audit
from kehu.services.access import ROLE_PERMISSIONS, Actor
from kehu.services.users import passwords
from kehu.services.users.accounts import MIN_PASSWORD, get_user
from kehu.services.users.throttle import _THROTTLE, _key_part, _take_slots
from kehu.services.users.tokens import token_hash
from kehu.store.models import ApiToken, User, utcnow

#: the interface languages a user may save
LANGUAGES = ("zh", "en")


#: wrong current passwords allowed per user within the window before a password change is refused
PASSWORD_CHANGE_FAILURES = 5


PASSWORD_CHANGE_WINDOW = 300.0


def set_language(session: Session, *, actor: Actor, language: str | None) -> User:
    """Save the actor's interface language (``zh``, ``en``; ``None``: the browser's)."""
    if language is not None and language not in LANGUAGES:
        raise SchemaError(f"language must be one of {', '.join(LANGUAGES)}, got {language!r}")
    user = _own_user(session, actor)
    user.language = language
    return user


def change_password(
    session: Session,
    *,
    actor: Actor,
    current_password: str,
    new_password: str,
    secret_key: str,
    keep_token: str | None = None,
    max_failures: int = PASSWORD_CHANGE_FAILURES,
    window_seconds: float = PASSWORD_CHANGE_WINDOW,
) -> int:
    """Change the actor's own password; returns how many of their other sessions were ended.

    The current password is required (:class:`AuthenticationError` when wrong).  Wrong
    guesses are counted per user like sign-ins (:class:`RateLimitError` beyond
    ``max_failures`` within ``window_seconds``, without checking the password); the
    count is committed before the check, as in :func:`login`.  The new password follows
    :func:`create_user`'s rule.  Every login session of the user except ``keep_token``
    (the one making the change) is revoked; API tokens for scripts stay.
    """
    user = _own_user(session, actor)
    if len(new_password or "") < MIN_PASSWORD:
        raise SchemaError(f"password must have at least {MIN_PASSWORD} characters")
    now = utcnow()
    window = dt.timedelta(seconds=window_seconds)
    keys = ((f"password:{_key_part(user.username)}", max_failures),)
    taken = _take_slots(session, keys, now, window)
    user = session.get(User, actor.user_id)
    if not passwords._verify(user.password_hash, current_password or ""):
        raise AuthenticationError("the current password is wrong")
    t = _THROTTLE
    session.execute(
        update(t)
        .where(t.c.key == keys[0][0], t.c.window_started_at == taken[keys[0][0]])
        .where(t.c.failures > 0)
        .values(failures=t.c.failures - 1)
    )
    user.password_hash = passwords.hash_password(new_password)
    stmt = update(ApiToken).where(
        ApiToken.kind == "session", ApiToken.revoked_at.is_(None), ApiToken.user_id == user.id
    )
    if keep_token:
        stmt = stmt.where(ApiToken.token_hash != token_hash(keep_token, secret_key))
    ended = session.execute(stmt.values(revoked_at=utcnow())).rowcount
    audit.record(session, actor=actor, action="user.password", entity="user", entity_id=user.id)
    return ended


def set_role(
    session: Session, *, actor: Actor, username: str, role: str, rep_name: str | None = None
) -> User:
    """Change a user's role (and rep name); an administrator cannot demote themselves."""
    user = get_user(session, actor=actor, username=username)
    if role not in ROLE_PERMISSIONS:
        raise SchemaError(f"unknown role {role!r}; roles: {', '.join(ROLE_PERMISSIONS)}")
    rep_name = (rep_name or "").strip() or None
    if role == "rep" and rep_name is None:
        raise SchemaError("a sales rep needs a rep name: the name their customers carry")
    if user.id == actor.user_id and role != user.role:
        raise ConflictError("you cannot change your own role")
    before = {"role": user.role, "rep_name": user.rep_name}
    user.role, user.rep_name = role, rep_name
    changes = audit.diff(before, {"role": role, "rep_name": rep_name})
    if changes:
        audit.record(
            session,
            actor=actor,
            action="user.role",
            entity="user",
            entity_id=user.id,
            changes=changes,
        )
    return user


def deactivate(session: Session, *, actor: Actor, username: str) -> User:
    """Disable a user: they cannot sign in, and their sessions and tokens are revoked."""
    user = get_user(session, actor=actor, username=username)
    if user.id == actor.user_id:
        raise ConflictError("you cannot deactivate yourself")
    if user.is_active:
        user.is_active = False
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
        audit.record(
            session,
            actor=actor,
            action="user.deactivate",
            entity="user",
            entity_id=user.id,
            changes={"is_active": [True, False]},
        )
    return user


def _own_user(session: Session, actor: Actor) -> User:
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None or not user.is_active:
        raise AuthenticationError("sign in first")
    return user
