from __future__ import annotations

from pydantic import BaseModel, Field

from kehu.api.schemas.common import Name, UtcDateTime


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: UtcDateTime | None


class ApiTokenIn(BaseModel):
    name: Name(100)
    # an integer, never null: every token expires (the server caps it, 422 above its maximum)
    days: int = Field(
        default=90,
        ge=1,
        le=3650,
        description="lifetime in days: 1 to the server's maximum (KEHU_TOKEN_MAX_DAYS, "
        "365 unless set); a larger value is refused with 422",
    )


class ApiTokenOut(BaseModel):
    id: int
    name: str | None
    user: str = Field(description="the owner's user name")
    created_at: UtcDateTime
    expires_at: UtcDateTime | None
    last_used_at: UtcDateTime | None

    @classmethod
    def of(cls, row, **extra) -> ApiTokenOut:
        """From a stored token (its ``user`` loaded)."""
        return cls(
            id=row.id,
            name=row.name,
            user=row.user.username,
            created_at=row.created_at,
            expires_at=row.expires_at,
            last_used_at=row.last_used_at,
            **extra,
        )


class ApiTokenCreated(ApiTokenOut):
    token: str = Field(description="shown once; store it safely")


class MeOut(BaseModel):
    user_id: int | None
    username: str
    role: str
    rep_name: str | None
    permissions: list[str]
