"""Users: validation, password hashing, sign-in throttle, timing, tokens and their expiry."""

from __future__ import annotations

import datetime as dt
import statistics
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from argon2 import PasswordHasher
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
from kehu.services.users import passwords
from kehu.store.models import ApiToken, LoginThrottle, User, utcnow

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


# --- sign-in throttle (issue 9) ---------------------------------------------------------------


@pytest.fixture
def cheap_hasher(monkeypatch):
    """Argon2 at its smallest cost, for tests that check counts rather than time."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )


def _outcome(s, **kw) -> str:
    try:
        _login(s, **kw)
    except AuthenticationError:
        return "401"
    except RateLimitError:
        return "429"
    return "200"


def test_unknown_and_disabled_users_take_as_long_as_a_wrong_password(store_factory, monkeypatch):
    """The answer's time does not tell whether a user name exists (the real Argon2 cost)."""
    monkeypatch.setattr(passwords, "_hasher", PasswordHasher())
    _add(store_factory)
    _add(store_factory, name="gone", role="analyst", rep_name=None)
    with store_factory() as s, s.begin():
        s.scalar(select(User).where(User.username == "gone")).is_active = False
    times: dict[str, list[float]] = {"wang": [], "ghost": [], "gone": []}
    with store_factory() as s:
        _outcome(s, name="ghost", password="warm up", max_failures=1000)  # makes the dummy hash
        for i in range(9):
            names = list(times) if i % 2 else list(reversed(times))  # no order effect
            for name in names:
                start = time.perf_counter()
                assert _outcome(s, name=name, password="wrong guess", max_failures=1000) == "401"
                times[name].append(time.perf_counter() - start)
    known = statistics.median(times["wang"])
    for name in ("ghost", "gone"):
        ratio = statistics.median(times[name]) / known
        # before: about 0.02 (no Argon2 work for an unknown name); a wide band against noise
        assert 0.5 < ratio < 2, (name, ratio, times)


def test_failures_from_one_address_do_not_lock_the_user_out_elsewhere(store_factory, cheap_hasher):
    _add(store_factory)
    with store_factory() as s:
        for _ in range(5):
            assert _outcome(s, password="guess", client="203.0.113.9") == "401"
        # the attacker's pair is locked, even with the right password ...
        with pytest.raises(RateLimitError) as info:
            _login(s, client="203.0.113.9")
        assert 0 < info.value.retry_after <= 300
        # ... the owner on another address is not
        assert _outcome(s, client="198.51.100.7") == "200"
        # a success clears the owner's pair: five more failures before a refusal there
        assert [_outcome(s, password="typo", client="198.51.100.7") for _ in range(6)] == [
            "401"
        ] * 5 + ["429"]


def test_one_address_spraying_many_names_is_limited(store_factory, cheap_hasher):
    _add(store_factory)
    with store_factory() as s:
        got = [
            _outcome(s, name=f"user{i}", password="guess", client="203.0.113.9") for i in range(21)
        ]
        assert got == ["401"] * 20 + ["429"]  # 4 x 5 per address
        assert _outcome(s, client="203.0.113.9") == "429"
        assert _outcome(s, client="198.51.100.7") == "200"


def test_many_addresses_guessing_one_account_are_limited(store_factory, cheap_hasher):
    _add(store_factory)
    with store_factory() as s:
        got = [
            _outcome(s, password="guess", client=f"203.0.113.{i // 5}", max_failures=5)
            for i in range(50)
        ]
        assert got == ["401"] * 50  # 5 per address, 10 addresses
        assert _outcome(s, password="guess", client="203.0.113.200") == "429"  # 10 x 5 per name
        # the settings' own limits replace the multiples
        assert _outcome(s, password="guess", client="203.0.113.201", user_max_failures=51) == "401"


def test_successes_do_not_use_up_the_address(store_factory, cheap_hasher):
    """An office behind one address signs in all day: only failures count."""
    _add(store_factory)
    with store_factory() as s:
        assert [_outcome(s, client="192.0.2.1", max_failures=2) for _ in range(12)] == ["200"] * 12
        row = s.scalar(select(LoginThrottle).where(LoginThrottle.key == "client:192.0.2.1"))
        assert row.failures == 0


def test_odd_names_and_addresses_fit_the_keys(store_factory, cheap_hasher):
    with store_factory() as s:
        for name, client in (("x" * 5000, "y" * 300), ("a\x00b", "c|d"), ("名字", None)):
            assert _outcome(s, name=name, password="guess", client=client) == "401"
        assert max(len(k) for k in s.scalars(select(LoginThrottle.key))) <= 200


def test_concurrent_wrong_passwords_check_at_most_the_limit(store_factory, monkeypatch):
    """The slot is taken atomically before the check: threads never pass the limit."""
    monkeypatch.setattr(
        passwords, "_hasher", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    )
    _add(store_factory)
    checks = []
    real_verify = passwords._verify

    def counted(password_hash, password):
        checks.append(1)
        time.sleep(0.01)  # a slow check widens the race the counter must win
        return real_verify(password_hash, password)

    monkeypatch.setattr(passwords, "_verify", counted)

    def attempt(_):
        with store_factory() as s:
            return _outcome(s, password="guess", client="203.0.113.9", max_failures=3)

    with ThreadPoolExecutor(max_workers=12) as pool:
        got = Counter(pool.map(attempt, range(40)))
    assert got == {"401": 3, "429": 37} and len(checks) == 3


def test_api_tokens_must_expire(store_factory):
    _add(store_factory)
    with store_factory() as s:
        actor = users.actor_for(s.scalar(select(User)))
        for days in (None, 0, -1, 31):
            with pytest.raises(SchemaError, match="expire within 1 to 30 days"):
                users.create_api_token(
                    s, actor=actor, name="etl", secret_key=SECRET, days=days, max_days=30
                )
        issued = users.create_api_token(
            s, actor=actor, name="etl", secret_key=SECRET, days=30, max_days=30
        )
        assert issued.expires_at - utcnow() > dt.timedelta(days=29, hours=23)
        # a token made before expiry was required lives the default maximum from its creation
        row = s.get(ApiToken, issued.token_id)
        row.expires_at = None
        row.created_at = utcnow() - dt.timedelta(days=users.TOKEN_MAX_DAYS + 1)
        s.commit()
        with pytest.raises(AuthenticationError, match="expired"):
            users.authenticate_token(s, token=issued.token, secret_key=SECRET)


def test_administrators_list_and_revoke_anyones_tokens(store_factory):
    _add(store_factory)
    _add(store_factory, name="li", rep_name="李娜")
    _add(store_factory, name="root", role="admin", rep_name=None)
    with store_factory() as s:
        wang, li, root = (
            users.actor_for(s.scalar(select(User).where(User.username == n)))
            for n in ("wang", "li", "root")
        )
        made = users.create_api_token(s, actor=li, name="li-etl", secret_key=SECRET, days=7)
        s.commit()
        assert [t.user.username for t in users.list_tokens(s, actor=root, all_users=True)] == ["li"]
        assert [t.name for t in users.list_tokens(s, actor=root, username="li")] == ["li-etl"]
        assert users.list_tokens(s, actor=root) == []
        for kw in ({"all_users": True}, {"username": "li"}):
            with pytest.raises(ForbiddenError):
                users.list_tokens(s, actor=wang, **kw)
        # another user's token is as missing as a token that does not exist
        with pytest.raises(NotFoundError) as other:
            users.revoke_token(s, actor=wang, token_id=made.token_id)
        with pytest.raises(NotFoundError) as missing:
            users.revoke_token(s, actor=wang, token_id=made.token_id + 1000)
        assert str(other.value).replace(str(made.token_id), "N") == str(missing.value).replace(
            str(made.token_id + 1000), "N"
        )
        users.revoke_token(s, actor=root, token_id=made.token_id)
        s.commit()
        assert users.list_tokens(s, actor=li) == []


def test_a_success_purges_long_expired_counts(store_factory, cheap_hasher):
    _add(store_factory)
    old = utcnow() - dt.timedelta(days=1)
    with store_factory() as s:
        s.add(LoginThrottle(key="user:someone", failures=3, window_started_at=old))
        s.commit()
        assert _outcome(s) == "200"
        assert s.scalar(select(LoginThrottle).where(LoginThrottle.key == "user:someone")) is None
