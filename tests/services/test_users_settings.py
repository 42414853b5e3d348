"""A user's own settings (language, password) and what admins change."""

from __future__ import annotations

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
from kehu.services.access import SYSTEM
from kehu.store.models import ApiToken, AuditLog, User

SECRET = "s" * 32
PASSWORD = "correct horse"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch):
    monkeypatch.setattr(
        "kehu.services.users.passwords._hasher",
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1),
    )


def _add(factory, name, role="rep", rep_name="王伟"):
    with factory() as s, s.begin():
        return users.actor_for(
            users.create_user(
                s, actor=SYSTEM, username=name, password=PASSWORD, role=role, rep_name=rep_name
            )
        )


def _login(factory, name, password=PASSWORD):
    with factory() as s:
        return users.login(s, username=name, password=password, secret_key=SECRET, token_minutes=60)


def test_set_language_saves_the_choice(store_factory):
    wang = _add(store_factory, "wang")
    with store_factory() as s, s.begin():
        users.set_language(s, actor=wang, language="en")
    with store_factory() as s:
        assert s.scalar(select(User.language).where(User.username == "wang")) == "en"
        with pytest.raises(SchemaError):
            users.set_language(s, actor=wang, language="fr")
    with store_factory() as s, s.begin():
        users.set_language(s, actor=wang, language=None)
    with store_factory() as s:
        assert s.scalar(select(User.language).where(User.username == "wang")) is None


def test_change_password_needs_the_current_one_and_ends_other_sessions(store_factory):
    wang = _add(store_factory, "wang")
    here = _login(store_factory, "wang")
    elsewhere = _login(store_factory, "wang")
    with store_factory() as s:
        with pytest.raises(AuthenticationError):
            users.change_password(
                s,
                actor=wang,
                current_password="wrong one",
                new_password="new password 1",
                secret_key=SECRET,
                keep_token=here.token,
            )
        s.rollback()
        with pytest.raises(SchemaError):
            users.change_password(
                s,
                actor=wang,
                current_password=PASSWORD,
                new_password="short",
                secret_key=SECRET,
            )
    with store_factory() as s:
        ended = users.change_password(
            s,
            actor=wang,
            current_password=PASSWORD,
            new_password="new password 1",
            secret_key=SECRET,
            keep_token=here.token,
        )
        s.commit()
    assert ended == 1
    with store_factory() as s:
        assert users.authenticate_token(s, token=here.token, secret_key=SECRET).username == "wang"
        with pytest.raises(AuthenticationError):
            users.authenticate_token(s, token=elsewhere.token, secret_key=SECRET)
        assert s.scalar(select(AuditLog.action).where(AuditLog.action == "user.password"))
    with pytest.raises(AuthenticationError):
        _login(store_factory, "wang")
    assert _login(store_factory, "wang", "new password 1").token


def test_wrong_current_passwords_are_throttled(store_factory):
    wang = _add(store_factory, "wang")
    with store_factory() as s:
        for _ in range(3):
            with pytest.raises(AuthenticationError):
                users.change_password(
                    s,
                    actor=wang,
                    current_password="guess",
                    new_password="new password 1",
                    secret_key=SECRET,
                    max_failures=3,
                )
            s.rollback()
        with pytest.raises(RateLimitError):  # even the right password is not checked now
            users.change_password(
                s,
                actor=wang,
                current_password=PASSWORD,
                new_password="new password 1",
                secret_key=SECRET,
                max_failures=3,
            )


def test_set_role_and_deactivate_are_for_admins(store_factory):
    admin = _add(store_factory, "root", role="admin", rep_name=None)
    boss = _add(store_factory, "boss", role="manager", rep_name=None)
    _add(store_factory, "wang")
    with store_factory() as s:
        with pytest.raises(ForbiddenError):
            users.set_role(s, actor=boss, username="wang", role="manager")
        with pytest.raises(ForbiddenError):
            users.deactivate(s, actor=boss, username="wang")
        with pytest.raises(NotFoundError):
            users.set_role(s, actor=admin, username="nobody", role="manager")
        with pytest.raises(SchemaError):
            users.set_role(s, actor=admin, username="wang", role="rep", rep_name=" ")
        with pytest.raises(SchemaError):
            users.set_role(s, actor=admin, username="wang", role="king")
        with pytest.raises(ConflictError):
            users.set_role(s, actor=admin, username="root", role="manager")
        with pytest.raises(ConflictError):
            users.deactivate(s, actor=admin, username="root")
    token = _login(store_factory, "wang")
    with store_factory() as s, s.begin():
        users.set_role(s, actor=admin, username="wang", role="manager")
    with store_factory() as s:
        user = s.scalar(select(User).where(User.username == "wang"))
        assert (user.role, user.rep_name) == ("manager", None)
    with store_factory() as s, s.begin():
        users.deactivate(s, actor=admin, username="wang")
    with store_factory() as s:
        assert not s.scalar(select(User.is_active).where(User.username == "wang"))
        assert s.scalar(select(ApiToken.revoked_at).where(ApiToken.id == token.token_id))
        actions = set(s.scalars(select(AuditLog.action)))
        assert {"user.role", "user.deactivate"} <= actions
    with pytest.raises(AuthenticationError):
        _login(store_factory, "wang")
