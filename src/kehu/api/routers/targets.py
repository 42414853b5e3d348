"""Targets: read, set (insert or update), delete and upload a month's targets."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, UploadFile

from kehu.api.deps import CurrentUser, SessionDep
from kehu.api.schemas.common import ERRORS, Name
from kehu.api.schemas.targets import Dimension, Month, TargetList, TargetsIn
from kehu.exceptions import SchemaError
from kehu.services import targets

router = APIRouter(prefix="/targets", tags=["targets"], responses=ERRORS)
#: the largest upload read (a month's targets are a few hundred rows)
MAX_UPLOAD = 5_000_000


@router.get("", response_model=TargetList)
def list_targets(
    actor: CurrentUser,
    session: SessionDep,
    month: Annotated[Month | None, Query()] = None,
    dimension: Annotated[Dimension | None, Query()] = None,
) -> TargetList:
    """Targets, newest month first (a sales rep: their own rep targets only)."""
    got = targets.list_targets(
        session,
        actor=actor,
        month=targets.first_of_month(month) if month else None,
        dimension=dimension,
    )
    return TargetList(items=got)


@router.put("", response_model=TargetList)
def set_targets(body: TargetsIn, actor: CurrentUser, session: SessionDep) -> TargetList:
    """Set targets (insert or update by month, dimension and name): all rows or none."""
    got = targets.set_targets(
        session, actor=actor, rows=[t.model_dump() for t in body.targets], source="api"
    )
    return TargetList(items=got)


@router.delete("", status_code=204)
def delete_target(
    actor: CurrentUser,
    session: SessionDep,
    month: Annotated[Month, Query()],
    dimension: Annotated[Dimension, Query()],
    name: Annotated[Name(100), Query()],
) -> Response:
    """Delete one target."""
    targets.delete_target(session, actor=actor, month=month, dimension=dimension, name=name)
    return Response(status_code=204)


@router.post("/upload", response_model=TargetList)
def upload_targets(file: UploadFile, actor: CurrentUser, session: SessionDep) -> TargetList:
    """Targets from a CSV or Excel file (columns month, dimension, name, sales,
    active_customers; Chinese headers too): all rows or none; an error names the row and
    column.  Uploading a month again updates it."""
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        raise SchemaError(f"the file is larger than {MAX_UPLOAD} bytes")
    got = targets.upload_targets(
        session, actor=actor, filename=file.filename or "upload.csv", data=data
    )
    return TargetList(items=got)
