"""Classification runs: list, detail with migration, alerts, and a refresh on demand."""

from __future__ import annotations

from fastapi import APIRouter, Request
from sqlalchemy import select

from kehu.api.deps import CurrentUser, SessionDep
from kehu.api.schemas.common import ERRORS, RowId
from kehu.api.schemas.runs import AlertOut, RefreshIn, RunDetail, RunOut
from kehu.services import refresh as refresh_service
from kehu.store.models import Customer

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERRORS)


@router.get("", response_model=list[RunOut])
def list_runs(actor: CurrentUser, session: SessionDep) -> list[RunOut]:
    return [RunOut.model_validate(r) for r in refresh_service.list_runs(session, actor=actor)]


@router.post("", response_model=RunOut, status_code=201)
def run_refresh(body: RefreshIn, actor: CurrentUser, request: Request) -> RunOut:
    """Run a refresh now (synchronously) and return the finished run."""
    result = refresh_service.refresh(request.app.state.sessions, actor=actor, as_of=body.as_of)
    with request.app.state.sessions() as session:
        run = refresh_service.get_run(session, actor=actor, run_id=result.run_id)
        return RunOut.model_validate(run)


@router.get("/{run_id}", response_model=RunDetail)
def get_run(run_id: RowId, actor: CurrentUser, session: SessionDep) -> RunDetail:
    run = refresh_service.get_run(session, actor=actor, run_id=run_id)
    return RunDetail.model_validate(run)


@router.get("/{run_id}/alerts", response_model=list[AlertOut])
def run_alerts(run_id: RowId, actor: CurrentUser, session: SessionDep) -> list[AlertOut]:
    """The run's alerts, for the customers the user may see."""
    refresh_service.get_run(session, actor=actor, run_id=run_id)
    alerts = refresh_service.run_alerts(session, actor=actor, run_id=run_id)
    codes = dict(
        session.execute(
            select(Customer.id, Customer.code).where(
                Customer.id.in_([a.customer_id for a in alerts])
            )
        ).all()
    )
    return [
        AlertOut(
            customer_id=codes[a.customer_id],
            kind=a.kind,
            classifier=a.classifier,
            from_class=a.from_class,
            to_class=a.to_class,
            message=a.message,
        )
        for a in alerts
    ]
