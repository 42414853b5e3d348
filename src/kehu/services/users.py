"""Users, passwords, sign-in with throttling, and bearer tokens.

Passwords are hashed with Argon2id.  A token is a random string shown once;
the store keeps only its HMAC-SHA256 under the server's secret key, so a
leaked database holds no usable token.

Sign-in (:func:`login`) is the one place of the rules: the API, the CLI and
the web pages all call it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import re
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload

from kehu.exceptions import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    RateLimitError,
    SchemaError,
)
from kehu.services import audit
from kehu.services.access import ROLE_PERMISSIONS, Actor, require
from kehu.store.models import ApiToken, LoginThrottle, User, utcnow
from kehu.store.settings import StoreSettings

_hasher = PasswordHasher()
_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")
MIN_PASSWORD = 8
TOKEN_PREFIX = "kehu_"
#: the longest lifetime of an API token unless the server sets its own (KEHU_TOKEN_MAX_DAYS)
TOKEN_MAX_DAYS = 365
#: the sign-in limits per client address and per user name, as multiples of the
#: limit per (user name, address) pair, unless the server sets them
CLIENT_FACTOR = 4
USER_FACTOR = 10
#: the client of callers that give none (the command line, in-process calls)
LOCAL_CLIENT = "local"

_THROTTLE = LoginThrottle.__table__
#: Argon2 parameters -> a hash of a random password, checked for unknown user names
_dummy_hashes: dict[tuple, str] = {}


@dataclass(frozen=True)
class IssuedToken:
    """A token as returned once to its owner."""

    token: str
    token_id: int
    expires_at: dt.datetime | None
    #: the owner's saved interface language (``None``: the browser's)
    language: str | None = None


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
    if not _USERNAME.fullmatch(username or ""):
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
    window_seconds: float = 300,
    client_max_failures: int | None = None,
    user_max_failures: int | None = None,
    client: str | None = None,
) -> IssuedToken:
    """Check a password and issue a session token.

    Attempts are counted within ``window_seconds`` under three keys: the pair
    (user name, client address) allows ``max_failures``; the address alone
    ``client_max_failures`` (default 4x: one address spraying many names); the
    user name alone ``user_max_failures`` (default 10x: many addresses guessing
    one account).  So an attacker's failures lock the attacker's own pair, not
    the real user signing in from elsewhere.

    Each attempt first takes a slot in every key with one atomic ``UPDATE``
    and commits it, and only then checks the password: concurrent requests, in
    one process or several, never check more passwords than a limit allows.
    When a key is full, :class:`RateLimitError` is raised without checking the
    password (even a right one), so an :class:`AuthenticationError` always
    means one password was checked.  A success clears the pair and gives back
    its slots in the other keys.

    An unknown user name costs the same Argon2 work as a known one, so the
    answer's time does not tell which names exist.  The session is committed.
    """
    now = utcnow()
    window = dt.timedelta(seconds=window_seconds)
    addr = _key_part(client or LOCAL_CLIENT)
    name = _key_part(username)
    # one category order (client, pair, user) for every request: row locks cannot deadlock
    keys = (
        (f"client:{addr}", client_max_failures or CLIENT_FACTOR * max_failures),
        (f"pair:{name}|{addr}", max_failures),
        (f"user:{name}", user_max_failures or USER_FACTOR * max_failures),
    )
    taken = _take_slots(session, keys, now, window)

    user = None
    if "\x00" not in username:  # no stored name has one (and PostgreSQL refuses it)
        user = session.scalar(select(User).where(User.username == username))
    # the same Argon2 work whether the name is unknown, disabled or active
    checked = _verify(user.password_hash if user is not None else _dummy_hash(), password)
    if not checked or user is None or not user.is_active:
        raise AuthenticationError("wrong user name or password")

    _give_back(session, keys, taken, now, window)
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    issued = _issue(session, user, "session", None, secret_key, dt.timedelta(minutes=token_minutes))
    session.commit()
    return issued


def sign_in(
    session: Session, *, settings: StoreSettings, username: str, password: str, client: str | None
) -> IssuedToken:
    """:func:`login` with the server's limits: the one sign-in of the API and the pages."""
    return login(
        session,
        username=username,
        password=password,
        secret_key=settings.secret_key,
        token_minutes=settings.token_minutes,
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
        client_max_failures=settings.login_client_max_failures,
        user_max_failures=settings.login_user_max_failures,
        client=client,
    )


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


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _dummy_hash() -> str:
    """A hash of a random password made with the current hasher's parameters.

    Checked in place of a user's hash for unknown names; made once per set of
    parameters (the hasher can be replaced, e.g. by a cheaper one in tests).
    """
    h = _hasher
    params = (h.type, h.time_cost, h.memory_cost, h.parallelism, h.hash_len, h.salt_len)
    found = _dummy_hashes.get(params)
    if found is None:
        found = _dummy_hashes[params] = h.hash(secrets.token_urlsafe(24))
    return found


def _key_part(text: str) -> str:
    """A user name or address as it goes into a throttle key.

    Long or unprintable ones (any text can be sent) become a digest, so that
    every key fits the column and holds no NUL.
    """
    if len(text) <= 64 and text.isprintable() and "|" not in text:
        return text
    return "#" + hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:40]


def _take_slots(
    session: Session, keys, now: dt.datetime, window: dt.timedelta
) -> dict[str, dt.datetime]:
    """Take one slot in every key and commit; :class:`RateLimitError` if one is full.

    Returns each key's window start, to give the slot back on success.
    """
    taken: dict[str, dt.datetime] = {}
    for key, limit in keys:
        ok, started = _take(session, key, limit, now, window)
        if not ok:
            session.rollback()  # gives back the slots taken in the keys before
            retry = max(math.ceil((started + window - now).total_seconds()), 1)
            raise RateLimitError(
                f"too many failed sign-ins; try again in {retry} s", retry_after=retry
            )
        taken[key] = started
    session.commit()  # the slots count in every session and process before the slow check
    return taken


def _take(
    session: Session, key: str, limit: int, now: dt.datetime, window: dt.timedelta
) -> tuple[bool, dt.datetime]:
    """Take a slot in ``key``: (taken?, the key's window start).

    One ``UPDATE`` both restarts an expired window and counts, so two requests
    cannot both see the same free slot (PostgreSQL re-checks the condition on
    the row a concurrent update left; SQLite writes one at a time).
    """
    t = _THROTTLE
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    expired = t.c.window_started_at <= now - window
    take = (
        update(t)
        .where(t.c.key == key, or_(expired, t.c.failures < limit))
        .values(
            failures=case((expired, 1), else_=t.c.failures + 1),
            window_started_at=case((expired, now), else_=t.c.window_started_at),
        )
        .returning(t.c.window_started_at)
    )
    for _ in range(3):  # the row may be purged between the insert and the update
        session.execute(
            insert(t)
            .values(key=key, failures=0, window_started_at=now)
            .on_conflict_do_nothing(index_elements=[t.c.key])
        )
        started = session.execute(take).scalar()
        if started is not None:
            return True, started
        started = session.scalar(select(t.c.window_started_at).where(t.c.key == key))
        if started is not None:
            return False, started
    return False, now


def _give_back(session: Session, keys, taken, now: dt.datetime, window: dt.timedelta) -> None:
    """After a success: clear the pair, give back the slot in the other keys, purge old rows.

    A slot is given back only within the window it was taken in.  The user key
    is not cleared: the owner signing in must not reset an attacker's count.
    """
    t = _THROTTLE
    (client_key, _), (pair_key, _), (user_key, _) = keys
    for key in (client_key, pair_key, user_key):  # the same order as the takes
        if key == pair_key:
            session.execute(delete(t).where(t.c.key == key))
            continue
        session.execute(
            update(t)
            .where(t.c.key == key, t.c.window_started_at == taken[key], t.c.failures > 0)
            .values(failures=t.c.failures - 1)
        )
    # rows long expired; rows another request holds are left for later (no lock waits)
    stale = (
        select(t.c.key)
        .where(t.c.window_started_at < now - 2 * window)
        .limit(1000)
        .with_for_update(skip_locked=True)
    )
    session.execute(delete(t).where(t.c.key.in_(stale)))


# --- a user's own settings, and what an administrator changes ----------------------------------

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
    if not _verify(user.password_hash, current_password or ""):
        raise AuthenticationError("the current password is wrong")
    t = _THROTTLE
    session.execute(
        update(t)
        .where(t.c.key == keys[0][0], t.c.window_started_at == taken[keys[0][0]])
        .where(t.c.failures > 0)
        .values(failures=t.c.failures - 1)
    )
    user.password_hash = hash_password(new_password)
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
