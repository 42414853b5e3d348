"""Classification runs: list, detail with migration, alerts, the report, and a refresh on demand."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy import select

from kehu.api.deps import CurrentUser, SessionDep, SettingsDep
from kehu.api.errors import error_body
from kehu.api.schemas.common import ERRORS, ErrorOut, RowId
from kehu.api.schemas.runs import AlertOut, RefreshIn, RunDetail, RunningRun, RunOut
from kehu.report import outputs
from kehu.services import refresh as refresh_service
from kehu.store.models import Customer

router = APIRouter(prefix="/runs", tags=["runs"], responses=ERRORS)


@router.get("", response_model=list[RunOut])
def list_runs(actor: CurrentUser, session: SessionDep) -> list[RunOut]:
    return [RunOut.of(r) for r in refresh_service.list_runs(session, actor=actor)]


@router.post(
    "",
    response_model=RunOut,
    status_code=201,
    responses={500: {"model": ErrorOut, "description": "the refresh failed (run recorded)"}},
)
def run_refresh(body: RefreshIn, actor: CurrentUser, request: Request) -> RunOut | JSONResponse:
    """Run a refresh now (synchronously) and return the finished run.

    One refresh runs at a time: while another is running the answer is 409 with
    that run in ``error.details.running_run``.  A refresh that fails for a
    server-side reason answers 500 ``refresh_failed`` with the failed run's id.
    """
    sessions = request.app.state.sessions
    try:
        result = refresh_service.refresh(sessions, actor=actor, as_of=body.as_of)
    except refresh_service.RefreshRunningError as exc:
        running = RunningRun(
            id=exc.run_id, started_at=exc.started_at, heartbeat_at=exc.heartbeat_at
        )
        details = {"running_run": running.model_dump(mode="json")}
        return JSONResponse(error_body("conflict", str(exc), details), status_code=409)
    except refresh_service.RefreshFailedError as exc:
        details = {"run_id": exc.run_id}
        return JSONResponse(error_body("refresh_failed", str(exc), details), status_code=500)
    with sessions() as session:
        return RunOut.of(refresh_service.get_run(session, actor=actor, run_id=result.run_id))


@router.get("/{run_id}", response_model=RunDetail)
def get_run(run_id: RowId, actor: CurrentUser, session: SessionDep) -> RunDetail:
    """A run with its classifiers and migration, scoped to what the user may see."""
    got = refresh_service.run_detail(session, actor=actor, run_id=run_id)
    base = RunOut.of(got["run"]).model_dump()
    return RunDetail(**base, classifiers=got["classifiers"], migration=got["migration"])


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


HTML_MEDIA = "text/html; charset=utf-8"
#: the report's answer, documented for OpenAPI (the route returns a plain Response)
REPORT_FILE = {
    200: {
        "description": "the analysis report, one HTML file (UTF-8) with its charts inline",
        "content": {HTML_MEDIA: {"schema": {"type": "string"}}},
    },
    404: {
        "model": ErrorOut,
        "description": "no such run, not the current run, or the user does not see every "
        "customer (the same answer as a missing run)",
    },
}


@router.get("/{run_id}/report", response_class=Response, responses=REPORT_FILE)
def run_report_file(
    run_id: RowId,
    actor: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    lang: Annotated[Literal["zh", "en"], Query(description="the report's language")] = "zh",
) -> Response:
    """The analysis report of the current run, as ``kehu analyze`` writes it for files.

    It covers every customer, so only users who see every customer get it; an older run
    answers 404 (only the current run has a report).  Kept in the workspace per run and
    language: the first download renders it, the next ones read the file.
    """
    html = outputs.run_report(
        session, actor=actor, run_id=run_id, lang=lang, workspace=settings.workspace
    )
    return Response(
        content=html,
        media_type=HTML_MEDIA,
        headers={"Content-Disposition": f'attachment; filename="run-{run_id}-report-{lang}.html"'},
    )
