"""The audit log (admins and managers)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict

from kehu.api.deps import CurrentUser, SessionDep
from kehu.api.schemas.common import ERRORS, Text, UtcDateTime
from kehu.services import audit

router = APIRouter(prefix="/audit", tags=["audit"], responses=ERRORS)


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: UtcDateTime
    username: str | None
    action: str
    entity: str
    entity_id: str | None
    changes: dict[str, Any]
    note: str | None


@router.get("", response_model=list[AuditOut])
def list_audit(
    actor: CurrentUser,
    session: SessionDep,
    entity: Annotated[Text(64) | None, Query()] = None,
    entity_id: Annotated[Text(128) | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> list[AuditOut]:
    rows = audit.list_entries(
        session, actor=actor, entity=entity, entity_id=entity_id, limit=limit, offset=offset
    )
    return [AuditOut.model_validate(r) for r in rows]
