"""Log in, who am I, and named API tokens."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm

from kehu.api.deps import CurrentUser, SessionDep, SettingsDep
from kehu.api.schemas.auth import ApiTokenCreated, ApiTokenIn, ApiTokenOut, MeOut, TokenOut
from kehu.api.schemas.common import ERRORS, RowId
from kehu.services import users

router = APIRouter(prefix="/auth", tags=["auth"], responses=ERRORS)


@router.post("/token", response_model=TokenOut, responses={429: ERRORS[422] | {}})
def login(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
) -> TokenOut:
    """Exchange a user name and password for a bearer token (rate-limited)."""
    issued = users.login(
        session,
        username=form.username,
        password=form.password,
        secret_key=settings.secret_key,
        token_minutes=settings.token_minutes,
        max_failures=settings.login_max_failures,
        window_seconds=settings.login_window_seconds,
        client=request.client.host if request.client else None,
    )
    session.commit()
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
    """A named long-lived token for scripts; the token is shown only in this response."""
    issued = users.create_api_token(
        session, actor=actor, name=body.name, secret_key=settings.secret_key, days=body.days
    )
    session.commit()
    row = next(t for t in users.list_tokens(session, actor=actor) if t.id == issued.token_id)
    return ApiTokenCreated(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_used_at=row.last_used_at,
        token=issued.token,
    )


@router.get("/tokens", response_model=list[ApiTokenOut])
def list_tokens(actor: CurrentUser, session: SessionDep) -> list[ApiTokenOut]:
    return [
        ApiTokenOut(
            id=t.id,
            name=t.name,
            created_at=t.created_at,
            expires_at=t.expires_at,
            last_used_at=t.last_used_at,
        )
        for t in users.list_tokens(session, actor=actor)
    ]


@router.delete("/tokens/{token_id}", status_code=204)
def revoke_token(token_id: RowId, actor: CurrentUser, session: SessionDep) -> None:
    users.revoke_token(session, actor=actor, token_id=token_id)
    session.commit()
