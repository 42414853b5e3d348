"""The workbench (工作台): a rep's follow-ups and alerts; a manager's KPIs and targets.

Also the targets page (目标), where managers set a month's targets by hand or by upload.
Every number comes from :mod:`kehu.services.performance` with the signed-in Actor, so a
rep's workbench holds their own customers only.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, create_model
from starlette.datastructures import UploadFile

from kehu.exceptions import SchemaError
from kehu.services import followups, performance, refresh, targets
from kehu.services.access import Actor, require
from kehu.services.targets import DIMENSIONS as TARGET_DIMENSIONS
from kehu.web import charts, texts
from kehu.web.forms import Checked, Posted, blank, done, validate
from kehu.web.render import render
from kehu.web.session import PageUser, language
from kehu.web.transaction import changes

router = APIRouter(include_in_schema=False)
MonthQuery = Annotated[str | None, Query(max_length=20)]
TASKS_SHOWN = 20
ALERTS_SHOWN = 20
MAX_UPLOAD = 5_000_000
RUN_STATUSES = ("running", "succeeded", "failed")


def chosen_month(request: Request, actor: Actor, db: Any, given: str | None):
    """The month asked for (``YYYY-MM``), else the actor's latest month with orders;
    with the error message when the given month is not a month."""
    try:
        month = performance.parse_month(given)
    except SchemaError:
        return performance.latest_month(db, actor=actor), texts.text(
            "web_err_month", language(request)
        )
    return month or performance.latest_month(db, actor=actor), None


def kpi_charts(rows: list[dict[str, Any]], lang: str) -> dict[str, Any]:
    """Sales by month (bars) and active / new customers by month (lines)."""
    months = [f"{r['month']:%Y-%m}" for r in rows]
    t = lambda key: texts.text(key, lang)  # noqa: E731
    return {
        "sales": charts.figure(
            [charts.bar(months, [r["sales"] for r in rows], t("web_wb_sales"))],
            y_title=t("web_wb_sales"),
        ),
        "customers": charts.figure(
            [
                charts.line(months, [r["active"] for r in rows], t("web_wb_active")),
                charts.line(months, [r["new"] for r in rows], t("web_wb_new")),
            ]
        ),
    }


@router.get("/", name="web_home")
def page(request: Request, actor: PageUser, month: MonthQuery = None) -> Response:
    lang = language(request)
    today = dt.date.today()
    ctx: dict[str, Any] = {"tasks": None, "overdue": None, "alerts": None, "run": None}
    with request.app.state.sessions() as db:
        chosen, month_error = chosen_month(request, actor, db, month)
        if actor.can("followups.write"):
            ctx["tasks"], ctx["task_total"] = followups.list_tasks(
                db,
                actor=actor,
                status="open",
                due_before=today + dt.timedelta(days=1),
                today=today,
                page_size=TASKS_SHOWN,
            )
        if actor.can("followups.write") and not actor.is_rep:
            ctx["overdue"] = followups.overdue_by_owner(db, actor=actor, today=today, limit=0)
        if actor.can("runs.read"):
            ctx["alerts"] = performance.latest_alerts(db, actor=actor, limit=ALERTS_SHOWN)
            runs = refresh.list_runs(db, actor=actor, limit=1)
            if runs:
                run = runs[0]
                ctx["run"] = {
                    "id": run.id,
                    "status": run.status,
                    "status_key": run.status if run.status in RUN_STATUSES else "other",
                    "started_at": run.started_at,
                    "finished_at": run.finished_at,
                    "customers": run.customers,
                    "error": refresh.shown_error(run),
                }
        kpis = performance.monthly_kpis(db, actor=actor, month=chosen)
        totals = performance.may_see_totals(actor)
        tables = by_class = None
        if totals:
            tables = {
                dim: performance.group_table(db, actor=actor, dimension=dim, month=chosen)
                for dim in TARGET_DIMENSIONS
            }
            by_class = performance.revenue_by_class(db, actor=actor)
        mine = None
        if actor.is_rep:
            mine = performance.group_table(db, actor=actor, dimension="rep", month=chosen)
    return render(
        request,
        "workbench/home.html",
        status_code=422 if month_error else 200,
        actor=actor,
        month=chosen,
        month_text=month if month_error else f"{chosen:%Y-%m}",
        month_error=month_error,
        kpis=kpis,
        now=kpis[-1],
        figures=kpi_charts(kpis, lang) if totals else None,
        totals=totals,
        tables=tables,
        by_class=by_class,
        mine=mine,
        today=today,
        **ctx,
    )


# --- targets ---------------------------------------------------------------------------------


def _rows(db: Any, actor: Actor, month: dt.date) -> list[dict[str, Any]]:
    """One row per rep, region, channel and distributor, with the month's current target."""
    current = {
        (t["dimension"], t["name"]): t
        for t in targets.list_targets(db, actor=actor, month=month, limit=5000)
    }
    rows = []
    for dim in TARGET_DIMENSIONS:
        for name in targets.known_names(db, dim):
            t = current.get((dim, name))
            rows.append(
                {
                    "dimension": dim,
                    "name": name,
                    "key": f"{dim}|{name}",
                    "sales": t["sales"] if t else None,
                    "active_customers": t["active_customers"] if t else None,
                }
            )
    return rows


def _targets_page(
    request: Request,
    actor: Actor,
    month_text: str | None,
    form: Checked[Any] | None = None,
    upload: Checked[Any] | None = None,
    status_code: int = 200,
) -> Response:
    with request.app.state.sessions() as db:
        month, month_error = chosen_month(request, actor, db, month_text)
        rows = _rows(db, actor, month)
    values: dict[str, Any] = {"month": f"{month:%Y-%m}"}
    for r in rows:
        values[f"sales|{r['key']}"] = _plain(r["sales"])
        values[f"active|{r['key']}"] = _plain(r["active_customers"])
    shown = form or Checked(values=values, lang=language(request))
    if form is None and month_error:
        shown = shown.error("month", "web_err_month")
    return render(
        request,
        "workbench/targets.html",
        status_code=422 if month_error and form is None else status_code,
        actor=actor,
        month=month,
        rows=rows,
        form=shown,
        upload=upload or blank(request),
    )


def _plain(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@router.get("/targets", name="web_targets")
def targets_page(request: Request, actor: PageUser, month: MonthQuery = None) -> Response:
    require(actor, targets.MANAGE)
    return _targets_page(request, actor, month)


Money = Annotated[Decimal, Field(ge=0, le=999_999_999_999, decimal_places=2)]
Count = Annotated[int, Field(ge=0, le=10_000_000)]
MonthText = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")]


def _target_form(rows: list[dict[str, Any]]) -> type[BaseModel]:
    """A form model with one sales and one active-customers field per row."""
    fields: dict[str, Any] = {"month": (MonthText, ...)}
    for i, r in enumerate(rows):
        fields[f"s{i}"] = (Money | None, Field(None, alias=f"sales|{r['key']}"))
        fields[f"a{i}"] = (Count | None, Field(None, alias=f"active|{r['key']}"))
    return create_model("TargetForm", **fields)


@router.post("/targets", name="web_targets_set")
def set_targets(request: Request, actor: PageUser, form: Posted) -> Response:
    require(actor, targets.MANAGE)
    month_text = str(form.get("month") or "")[:20]
    with request.app.state.sessions() as db:
        try:
            month = performance.parse_month(month_text)
        except SchemaError:
            month = None
        rows = _rows(db, actor, month or performance.latest_month(db, actor=actor))
    checked = validate(_target_form(rows), form, request)
    if not checked.ok:
        return _targets_page(request, actor, month_text, form=checked, status_code=422)
    got = checked.data
    posted = []
    for i, r in enumerate(rows):
        sales, active = getattr(got, f"s{i}"), getattr(got, f"a{i}")
        if sales is None and active is None:
            continue
        posted.append(
            {
                "month": got.month,
                "dimension": r["dimension"],
                "name": r["name"],
                "sales": sales,
                "active_customers": active,
                "_field": f"sales|{r['key']}",
            }
        )
    if not posted:
        checked = checked.error("_form", "web_targets_none")
        return _targets_page(request, actor, month_text, form=checked, status_code=422)
    try:
        with changes(request) as db:
            targets.set_targets(
                db,
                actor=actor,
                rows=[{k: v for k, v in p.items() if k != "_field"} for p in posted],
                source="web",
            )
    except SchemaError as exc:
        field = posted[getattr(exc, "row", 0)]["_field"]
        checked = checked.failed(exc, field)
        return _targets_page(request, actor, month_text, form=checked, status_code=422)
    return done(request, "web_targets", "targets_saved")


class UploadForm(BaseModel):
    pass


@router.post("/targets/upload", name="web_targets_upload")
def upload_targets(request: Request, actor: PageUser, form: Posted) -> Response:
    require(actor, targets.MANAGE)
    checked = validate(UploadForm, form, request)
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        checked = checked.error("file", "web_err_required")
        return _targets_page(request, actor, None, upload=checked, status_code=422)
    data = file.file.read(MAX_UPLOAD + 1)
    if len(data) > MAX_UPLOAD:
        checked = checked.error("file", "web_targets_too_big")
        return _targets_page(request, actor, None, upload=checked, status_code=422)
    try:
        with changes(request) as db:
            targets.upload_targets(db, actor=actor, filename=file.filename[:200], data=data)
    except targets.UploadError as exc:
        checked = checked.error(
            "file",
            "web_targets_upload_error",
            file=exc.file,
            row=exc.row,
            column=exc.column,
            reason=exc.reason,
        )
        return _targets_page(request, actor, None, upload=checked, status_code=422)
    except SchemaError as exc:
        checked = checked.failed(exc, "file")
        return _targets_page(request, actor, None, upload=checked, status_code=422)
    return done(request, "web_targets", "targets_uploaded")
