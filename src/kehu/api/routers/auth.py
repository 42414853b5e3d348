"""Log in, who am I, and named API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import OAuth2PasswordRequestForm

from kehu.api.deps import CurrentUser, SessionDep, SettingsDep
from kehu.api.schemas.auth import ApiTokenCreated, ApiTokenIn, ApiTokenOut, MeOut, TokenOut
from kehu.api.schemas.common import ERRORS, ErrorOut, RowId
from kehu.services import users

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERRORS)

RATE_LIMITED = {
    429: {
        "model": ErrorOut,
        "description": "too many failed sign-ins for this user name or address; "
        "the password was not checked; retry after the Retry-After header's seconds",
    }
}


@router.post("/token", response_model=TokenOut, responses=RATE_LIMITED)
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> TokenOut:
    """Exchange a user name and password for a bearer token (throttled per name and address)."""
    client = request.client.host if request.client else None
    issued = users.sign_in(
        session, settings=settings, username=form.username, password=form.password, client=client
    )
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at)


@router.get("/me", response_model=MeOut)
def me(actor: CurrentUser) -> MeOut:
    return MeOut(
        user_id=actor.user_id,
        username=actor.username,
        role=actor.role,
        rep_name=actor.rep_name,
        permissions=sorted(actor.permissions),
    )


@router.post("/tokens", response_model=ApiTokenCreated, status_code=201)
def create_token(
    body: ApiTokenIn, actor: CurrentUser, session: SessionDep, settings: SettingsDep
) -> ApiTokenCreated:
    """A named token for scripts; it expires, and is shown only in this response."""
    issued = users.create_api_token(
        session,
        actor=actor,
        name=body.name,
        secret_key=settings.secret_key,
        days=body.days,
        max_days=settings.token_max_days,
    )
    row = users.get_token(session, actor=actor, token_id=issued.token_id)
    return ApiTokenCreated.of(row, token=issued.token)


@router.get("/tokens", response_model=list[ApiTokenOut])
def list_tokens(
    actor: CurrentUser,
    session: SessionDep,
    all_users: Annotated[
        bool, Query(alias="all", description="every user's tokens (administrators)")
    ] = False,
) -> list[ApiTokenOut]:
    """The caller's API tokens not revoked; with ``all=true``, everyone's (users.manage)."""
    return [ApiTokenOut.of(t) for t in users.list_tokens(session, actor=actor, all_users=all_users)]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: RowId, actor: CurrentUser, session: SessionDep) -> None:
    """Revoke one of the caller's tokens, or anyone's for an administrator."""
    users.revoke_token(session, actor=actor, token_id=token_id)
