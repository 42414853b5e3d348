"""Sign-in with a password, throttled per client address, user name and their pair."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.exceptions import (
    AuthenticationError,
)
from kehu.services.users import passwords
from kehu.services.users.throttle import _give_back, _key_part, _take_slots
from kehu.services.users.tokens import IssuedToken, _issue
from kehu.store.models import User, utcnow
from kehu.store.settings import StoreSettings

#: the sign-in limits per client address and per user name, as multiples of the
#: limit per (user name, address) pair, unless the server sets them
CLIENT_FACTOR = 4


USER_FACTOR = 10


#: the client of callers that give none (the command line, in-process calls)
LOCAL_CLIENT = "local"


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
    checked = passwords._verify(
        user.password_hash if user is not None else passwords._dummy_hash(), password
    )
    if not checked or user is None or not user.is_active:
        raise AuthenticationError("wrong user name or password")

    _give_back(session, keys, taken, now, window)
    if passwords._hasher.check_needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
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
