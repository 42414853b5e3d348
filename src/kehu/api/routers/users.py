"""User accounts (administrators only)."""

from __future__ import annotations

from fastapi import APIRouter

from kehu.api.deps import CurrentUser, SessionDep
from kehu.api.schemas.auth import ApiTokenOut
from kehu.api.schemas.common import ERRORS
from kehu.api.schemas.users import UserIn, UserOut
from kehu.services import users

router = APIRouter(prefix="/users", tags=["users"], responses=ERRORS)


@router.get("", response_model=list[UserOut])
def list_users(actor: CurrentUser, session: SessionDep) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in users.list_users(session, actor=actor)]


@router.post("", response_model=UserOut, status_code=201)
def create_user(body: UserIn, actor: CurrentUser, session: SessionDep) -> UserOut:
    user = users.create_user(session, actor=actor, **body.model_dump())
    return UserOut.model_validate(user)


@router.get("/{username}/tokens", response_model=list[ApiTokenOut])
def list_user_tokens(username: str, actor: CurrentUser, session: SessionDep) -> list[ApiTokenOut]:
    """A user's API tokens not revoked (revoke one with ``DELETE /auth/tokens/{id}``)."""
    return [ApiTokenOut.of(t) for t in users.list_tokens(session, actor=actor, username=username)]
