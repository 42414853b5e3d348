from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, Field

from kehu.api.schemas.common import Short


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: dt.datetime | None


class ApiTokenIn(BaseModel):
    name: Short = Field(min_length=1)
    days: int | None = Field(default=365, ge=1, le=3650)


class ApiTokenOut(BaseModel):
    id: int
    name: str | None
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="shown once; store it safely")


class MeOut(BaseModel):
    user_id: int | None
    username: str
    role: str
    rep_name: str | None
    permissions: list[str]
