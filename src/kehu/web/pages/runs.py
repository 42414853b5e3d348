"""Runs and reports (分类运行): kept runs, starting a refresh, progress, downloads.

A refresh can take minutes, so the page starts it in a background thread (the same service
as the API's ``POST /runs``, with the same Actor) and answers at once; the runs page reloads
itself (``<meta http-equiv="refresh">``, no script) while a run is ``running``.  The store
keeps one running run at a time (:class:`~kehu.services.refresh.RefreshRunningError`).
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response

from kehu.exceptions import KehuError, NotFoundError
from kehu.report import outputs
from kehu.services import customers, refresh, run_report
from kehu.services.access import Actor, require
from kehu.web.forms import Posted, done
from kehu.web.render import render
from kehu.web.session import PageUser, language
from kehu.web.transaction import changes

router = APIRouter(include_in_schema=False)
RunId = Annotated[int, Path(ge=1, le=2**62)]
#: seconds the page waits for a started refresh to claim its run (or be refused)
CLAIM_WAIT = 10.0
#: the refreshes this process started (tests wait for them)
WORKERS: list[threading.Thread] = []


def _runs_page(request: Request, actor: Actor, status: int = 200, **extra: Any) -> Response:
    with request.app.state.sessions() as db:
        runs = refresh.list_runs(db, actor=actor, limit=50)
        current = refresh.current_run(db)
        rows = [_run_row(r) for r in runs]
    return render(
        request,
        "runs/list.html",
        status_code=status,
        actor=actor,
        runs=rows,
        running=any(r["status"] == "running" for r in rows),
        current_id=current.id if current else None,
        last_error=next((r for r in rows if r["status"] == "failed"), None),
        can_refresh=actor.can("refresh.run"),
        refused=extra.get("refused"),
    )


def _run_row(run: Any) -> dict[str, Any]:
    settings = run.settings or {}
    return {
        "id": run.id,
        "status": run.status,
        "as_of": run.as_of,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
        "heartbeat_at": run.heartbeat_at,
        "customers": run.customers,
        "error": refresh.shown_error(run),
        "notes": list(settings.get("notes") or []),
        "previous_run_id": run.previous_run_id,
    }


@router.get("/runs", name="web_runs")
def page(request: Request, actor: PageUser) -> Response:
    return _runs_page(request, actor)


@router.post("/runs", name="web_runs_start")
def start(request: Request, actor: PageUser, form: Posted) -> Response:
    """Start a refresh in the background; 409 with the page when one is running."""
    require(actor, "refresh.run")
    claimed = threading.Event()
    outcome: dict[str, BaseException] = {}
    sessions = request.app.state.sessions

    def work() -> None:
        try:
            refresh.refresh(sessions, actor=actor, on_step=lambda step: claimed.set())
        except refresh.RefreshRunningError as exc:
            outcome["refused"] = exc
        except KehuError:  # recorded as the run's clean error, shown on the page
            pass
        finally:
            claimed.set()

    worker = threading.Thread(target=work, name="kehu-web-refresh", daemon=True)
    WORKERS.append(worker)
    worker.start()
    claimed.wait(CLAIM_WAIT)
    if "refused" in outcome:
        return _runs_page(request, actor, status=409, refused=True)
    return done(request, "web_runs", "refresh_started")


@router.get("/runs/{run_id}", name="web_run")
def run_page(request: Request, actor: PageUser, run_id: RunId) -> Response:
    with request.app.state.sessions() as db:
        got = refresh.run_detail(db, actor=actor, run_id=run_id)
        run = got["run"]
        alerts = refresh.run_alerts(db, actor=actor, run_id=run_id, limit=200)
        current = refresh.current_run(db)
        row = _run_row(run)
    sizes: Counter[str] = Counter()
    for m in got["migration"]:
        if m.get("to") not in ("(gone)", None):
            sizes[m["to"]] += int(m.get("customers") or 0)
    return render(
        request,
        "runs/detail.html",
        actor=actor,
        run=row,
        classifiers=got["classifiers"],
        migration=got["migration"],
        sizes=sorted(sizes.items(), key=lambda kv: -kv[1]),
        alerts=[
            {
                "kind": a.kind,
                "classifier": a.classifier,
                "from_class": a.from_class,
                "to_class": a.to_class,
                "message": a.message,
            }
            for a in alerts
        ],
        is_current=current is not None and current.id == run_id,
        sees_all=actor.sees_all_customers,
        can_export=actor.can("customers.export"),
        can_report=run_report.may_read_report(actor),
    )


@router.get("/runs/{run_id}/customers.xlsx", name="web_run_export")
def run_export(request: Request, actor: PageUser, run_id: RunId) -> Response:
    """The Excel list of the run's classes per customer (the current run; cells never formulas).

    The store keeps the per-customer classes of the current run for lists; an older run's
    download answers 404 with the page saying so.
    """
    require(actor, "customers.export")
    with changes(request) as db:  # the export's audit row
        refresh.get_run(db, actor=actor, run_id=run_id)
        current = refresh.current_run(db)
        if current is None or current.id != run_id:
            raise NotFoundError(f"run {run_id} is not the current run")
        data, media = customers.export_customers(db, actor=actor, format="xlsx")
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="run-{run_id}-customers.xlsx"'},
    )


@router.get("/runs/{run_id}/report.html", name="web_run_report")
def run_report_download(
    request: Request,
    actor: PageUser,
    run_id: RunId,
    lang: Annotated[Literal["zh", "en"] | None, Query()] = None,
) -> Response:
    """The analysis report of the current run as a file, in ``lang`` (default the page's).

    Those who do not see every customer get the 404 of a missing run; an older run, a 404
    saying that only the current run has one (see :func:`kehu.report.outputs.run_report`).
    """
    lang = lang or language(request)
    with request.app.state.sessions() as db:
        html = outputs.run_report(
            db,
            actor=actor,
            run_id=run_id,
            lang=lang,
            workspace=request.app.state.settings.workspace,
        )
    return Response(
        html,
        media_type="text/html; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="run-{run_id}-report-{lang}.html"'},
    )
