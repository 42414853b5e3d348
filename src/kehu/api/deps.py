"""Request dependencies: the database session, the settings and the current user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from kehu.exceptions import AuthenticationError
from kehu.services.access import Actor
from kehu.services.users import authenticate_token
from kehu.store.settings import StoreSettings

oauth2 = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, its unit of work: committed once the handler has answered.

    The commit runs after the response is built and before it is sent (``scope="function"``),
    so a failed commit (a race on a unique key) becomes the error response; a handler that
    raises leaves nothing written (the session rolls back when it closes).
    """
    with request.app.state.sessions() as session:
        yield session
        session.commit()


def get_settings(request: Request) -> StoreSettings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session, scope="function")]
SettingsDep = Annotated[StoreSettings, Depends(get_settings)]


def get_current_user(
    session: SessionDep, settings: SettingsDep, token: Annotated[str | None, Depends(oauth2)]
) -> Actor:
    if not token:
        raise AuthenticationError("not authenticated: send 'Authorization: Bearer <token>'")
    return authenticate_token(session, token=token, secret_key=settings.secret_key)


CurrentUser = Annotated[Actor, Depends(get_current_user)]
