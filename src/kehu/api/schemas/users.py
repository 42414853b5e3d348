from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kehu.api.schemas.common import Text, UtcDateTime

Role = Literal["admin", "manager", "rep", "service", "analyst"]


class UserIn(BaseModel):
    username: str = Field(
        pattern=r"^[A-Za-z0-9_.@-]{2,64}$", description="2-64 letters, digits or _ . @ -"
    )
    password: Text(200, 8)
    role: Role
    rep_name: Text(100) | None = None
    display_name: Text(100) | None = None


class UserOut(BaseModel):
    """A user; the password hash never leaves the server."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    username: str
    role: str
    rep_name: str | None
    display_name: str | None
    is_active: bool
    created_at: UtcDateTime = Field(description="UTC")
