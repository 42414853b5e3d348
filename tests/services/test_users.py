"""Users: validation, password hashing, login rate limit, tokens."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from kehu.exceptions import (
    AuthenticationError,
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RateLimitError,
    SchemaError,
)
from kehu.services import users
from kehu.services.access import ROLE_PERMISSIONS, SYSTEM
from kehu.store.models import ApiToken, User

SECRET = "s" * 32


def _add(factory, name="wang", role="rep", rep_name="王伟", password="correct horse"):
    with factory() as s, s.begin():
        return users.create_user(
            s, actor=SYSTEM, username=name, password=password, role=role, rep_name=rep_name
        )


def _login(s, name="wang", password="correct horse", **kw):
    return users.login(
        s, username=name, password=password, secret_key=SECRET, token_minutes=60, **kw
    )


def test_password_is_hashed_with_argon2(store_factory):
    _add(store_factory)
    with store_factory() as s:
        h = s.scalar(select(User.password_hash))
        assert h.startswith("$argon2id$") and "correct horse" not in h


def test_create_user_validation(store_factory):
    _add(store_factory)
    with store_factory() as s:
        for kwargs, message in (
            ({"username": "wang"}, "already exists"),
            ({"username": "a b"}, "user name"),
            ({"role": "boss"}, "unknown role"),
            ({"password": "short"}, "at least 8"),
            ({"role": "rep", "rep_name": " "}, "rep-name"),
        ):
            args = {"username": "li", "password": "long enough", "role": "analyst", **kwargs}
            with pytest.raises((SchemaError, ConflictError), match=message):
                users.create_user(s, actor=SYSTEM, **args)
        rep = users.actor_for(s.scalar(select(User)))
        with pytest.raises(ForbiddenError):
            users.create_user(s, actor=rep, username="x1", password="long enough", role="admin")


def test_login_and_token(store_factory):
    _add(store_factory)
    with store_factory() as s:
        issued = _login(s)
        s.commit()
        actor = users.authenticate_token(s, token=issued.token, secret_key=SECRET)
        assert (actor.username, actor.role, actor.rep_name) == ("wang", "rep", "王伟")
        # only a keyed hash is stored
        assert s.scalar(select(ApiToken.token_hash)) == users.token_hash(issued.token, SECRET)
        assert issued.token not in s.scalar(select(ApiToken.token_hash))
        for bad in ("", "Bearer x", issued.token + "x"):
            with pytest.raises(AuthenticationError):
                users.authenticate_token(s, token=bad, secret_key=SECRET)
        with pytest.raises(AuthenticationError):
            users.authenticate_token(s, token=issued.token, secret_key="t" * 32)


def test_expired_and_revoked_tokens(store_factory):
    _add(store_factory)
    with store_factory() as s:
        issued = _login(s)
        row = s.get(ApiToken, issued.token_id)
        row.expires_at = dt.datetime(2000, 1, 1)
        s.commit()
        with pytest.raises(AuthenticationError, match="expired"):
            users.authenticate_token(s, token=issued.token, secret_key=SECRET)
        actor = users.actor_for(s.scalar(select(User)))
        api = users.create_api_token(s, actor=actor, name="etl", secret_key=SECRET, days=30)
        s.commit()
        assert [t.name for t in users.list_tokens(s, actor=actor)] == ["etl"]
        assert users.authenticate_token(s, token=api.token, secret_key=SECRET).username == "wang"
        users.revoke_token(s, actor=actor, token_id=api.token_id)
        s.commit()
        with pytest.raises(AuthenticationError, match="revoked"):
            users.authenticate_token(s, token=api.token, secret_key=SECRET)
        with pytest.raises(NotFoundError):
            users.revoke_token(s, actor=actor, token_id=9999)


def test_login_is_rate_limited(store_factory):
    _add(store_factory)
    with store_factory() as s:
        for _ in range(3):
            with pytest.raises(AuthenticationError, match="wrong user name or password"):
                _login(s, password="guess", max_failures=3)
        # the limit holds even for the right password until the window has passed
        with pytest.raises(RateLimitError) as info:
            _login(s, max_failures=3)
        assert 0 < info.value.retry_after <= 300
        # another user is not affected; an unknown user counts too (no enumeration)
        with pytest.raises(AuthenticationError):
            _login(s, name="ghost", max_failures=3)
    # a wider window has passed: log in again, and failures are forgotten
    with store_factory() as s:
        assert _login(s, max_failures=3, window_seconds=0.001).token


def test_roles_and_permissions():
    assert "users.manage" in ROLE_PERMISSIONS["admin"]
    assert "users.manage" not in ROLE_PERMISSIONS["manager"]
    assert "customers.read_all" not in ROLE_PERMISSIONS["rep"]
    assert "pii.view" not in ROLE_PERMISSIONS["analyst"]
    assert set(ROLE_PERMISSIONS) == {"admin", "manager", "rep", "service", "analyst"}
