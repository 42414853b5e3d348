"""Staff accounts: created, listed and read, and the actor a user acts as."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.exceptions import (
    ConflictError,
    NotFoundError,
    SchemaError,
)
from kehu.services import audit
from kehu.services.access import ROLE_PERMISSIONS, Actor, require
from kehu.services.users.passwords import hash_password
from kehu.store.models import User

_USERNAME = re.compile(r"^[A-Za-z0-9_.@-]{2,64}$")


MIN_PASSWORD = 8


def actor_for(user: User) -> Actor:
    return Actor(user_id=user.id, username=user.username, role=user.role, rep_name=user.rep_name)


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
