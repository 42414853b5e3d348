"""The customer list (filters, sort, pages, export) and the customer page (客户详情), its actions.

Every action is a form posted with its CSRF token, validated here (lax pydantic), done by the
same service as the API with the signed-in Actor, in one transaction; bad input shows the page
again with status 422 and the message next to the field, and nothing written.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, StringConstraints

from kehu import i18n
from kehu.exceptions import ConflictError, FilterSyntaxError, KehuError, SchemaError
from kehu.names import CLASS_COLUMNS
from kehu.services import customers, feedback, followups, loyalty, privacy
from kehu.services.access import Actor, require
from kehu.web import texts
from kehu.web.forms import Checked, Posted, blank, done, validate
from kehu.web.pages.feedback import _category as _feedback_category
from kehu.web.render import render
from kehu.web.session import PageUser, language
from kehu.web.transaction import changes

router = APIRouter(include_in_schema=False)
#: classifiers offered as list filters (every class column the refresh writes), display order
FILTER_CLASSES = CLASS_COLUMNS
#: grade is a number the grading classifier writes; offered as its usual grades
GRADES = ("1", "2", "3", "4", "5")
PAGE_SIZES = (25, 50, 100)
LIST_COLUMNS = ("customer_id", "name", "region", "channel", "sales_rep", "rfm8", "lifecycle")
SORTS = ("customer_id", "-monetary", "-orders", "recency_days", "-recency_days", "name")
Short = Annotated[str | None, Query(max_length=200)]
Code = Annotated[str, Path(max_length=64)]
#: the action forms of the customer page, with the permission each needs
ACTIONS = {
    "interaction": "followups.write",
    "task": "followups.write",
    "complete": "followups.write",
    "feedback": "feedback.write",
    "consent": "consents.write",
    "points": "loyalty.manage",
    "export": "privacy.manage",
    "anonymise": "privacy.manage",
}
Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


@dataclass(frozen=True)
class ListFilters:
    """The list's filters as typed in the form (``given``) and as the list service takes them."""

    given: dict[str, str | None]
    chosen: dict[str, Any]


def list_filters(
    request: Request,
    actor: PageUser,
    region: Short = None,
    channel: Short = None,
    rep: Short = None,
    tier: Short = None,
    tag: Short = None,
    filter: Annotated[str | None, Query(max_length=1000)] = None,
) -> ListFilters:
    """The filters of the list and its export, read once: classes (repeatable), fields, a tag."""
    if not actor.sees_all_customers:
        rep = None  # a rep's list is their own customers: no rep filter
    given = {"region": region, "channel": channel, "rep": rep, "tier": tier, "filter": filter}
    classes = {
        name: [v[:100] for v in request.query_params.getlist(name) if v][:20]
        for name in FILTER_CLASSES
    }
    classes["grade"] = [v for v in classes["grade"] if v.isdigit()]
    chosen = {
        "classes": {k: v for k, v in classes.items() if v},
        **{k: v or None for k, v in given.items()},
        "tags": [tag] if tag else None,
    }
    return ListFilters(given=given | {"tag": tag}, chosen=chosen)


Filters = Annotated[ListFilters, Depends(list_filters)]


@router.get("/customers", name="web_customers")
def customer_list(
    request: Request,
    actor: PageUser,
    filters: Filters,
    sort: Annotated[str, Query(max_length=100)] = "customer_id",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=100)] = 50,
) -> Response:
    chosen = filters.chosen
    error, result = None, None
    with request.app.state.sessions() as db:
        try:
            result = customers.list_customers(
                db,
                actor=actor,
                sort=sort if sort in SORTS else None,
                page=page,
                page_size=page_size,
                **chosen,
            )
        except FilterSyntaxError as exc:
            error = {"field": "filter", "position": exc.position, "reason": exc.reason}
        except SchemaError as exc:
            error = {"field": "filter", "position": None, "reason": str(exc)}
    options = {name: i18n.class_order(name) for name in FILTER_CLASSES}
    options["grade"] = list(GRADES)
    return render(
        request,
        "customers/list.html",
        status_code=200 if error is None else 422,
        actor=actor,
        result=result,
        error=error,
        chosen=chosen,
        given=filters.given,
        options=options,
        columns=LIST_COLUMNS,
        fields=("region", "channel", "rep", "tier", "tag")
        if actor.sees_all_customers
        else ("region", "channel", "tier", "tag"),
        sort=sort,
        sorts=SORTS,
        page_size=page_size,
        page_sizes=PAGE_SIZES,
        query=request.url.query,
    )


@router.get("/customers/export", name="web_customer_export")
def customer_export(
    request: Request,
    actor: PageUser,
    filters: Filters,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$")] = "csv",
) -> Response:
    """The filtered list as a file: the same export service as the API (cells never formulas)."""
    with changes(request) as db:  # the export's audit row
        data, media = customers.export_customers(db, actor=actor, format=format, **filters.chosen)
    name = f"customers.{format}"
    return Response(
        data, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


# --- the customer page ------------------------------------------------------------------------


def _customer_page(
    request: Request,
    actor: Actor,
    code: str,
    forms: dict[str, Checked[Any]] | None = None,
    status_code: int = 200,
) -> Response:
    """The customer page with its action forms (``forms``: those posted with errors)."""
    lang = language(request)
    with request.app.state.sessions() as db:
        data = customers.customer_360(db, actor=actor, code=code, lang=lang)
        points = None
        if actor.can("loyalty.manage") or actor.can("loyalty.post"):
            points = loyalty.account_summary(db, actor=actor, code=code)
    allowed = {name for name, perm in ACTIONS.items() if actor.can(perm)}
    shown = {name: blank(request) for name in allowed}
    shown["interaction"] = blank(request, kind="call")
    shown["consent"] = blank(request, granted="true")
    shown.update(forms or {})
    # reasons worded in the page's language (runs before both were kept have one)
    reasons = data["scores"].get(f"churn_reasons_{lang}") or data["scores"].get("churn_reasons")
    if isinstance(reasons, str):
        reasons = [r.strip() for r in reasons.replace("；", ";").split(";") if r.strip()]
    return render(
        request,
        "customers/detail.html",
        status_code=status_code,
        actor=actor,
        c=data,
        code=code,
        points=points,
        churn_reasons=reasons or [],
        category_name=lambda name: _feedback_category(name, lang),
        allowed=allowed,
        forms=shown,
        kind_options=[(k, texts.text(f"web_kind_{k}", lang)) for k in followups.INTERACTION_KINDS],
        purpose_options=[
            (k, texts.text(f"web_purpose_{k}", lang)) for k in privacy.CONSENT_PURPOSES
        ],
        task_options=[(str(task["id"]), task["title"]) for task in data["open_tasks"]],
    )


@router.get("/customers/{code}", name="web_customer")
def customer_page(request: Request, actor: PageUser, code: Code) -> Response:
    return _customer_page(request, actor, code)


def _refused(
    request: Request, actor: Actor, code: str, name: str, checked: Checked[Any]
) -> Response:
    return _customer_page(request, actor, code, {name: checked}, status_code=422)


class InteractionForm(BaseModel):
    kind: Literal["call", "visit", "wechat", "email", "complaint", "other"]
    occurred_at: dt.datetime | None = None
    notes: Text | None = None
    outcome: Line | None = None


@router.post("/customers/{code}/interactions", name="web_customer_interaction")
def add_interaction(request: Request, actor: PageUser, form: Posted, code: Code) -> Response:
    require(actor, ACTIONS["interaction"])
    checked = validate(InteractionForm, form, request)
    if checked.ok and checked.data.occurred_at and _in_future(checked.data.occurred_at):
        checked = checked.error("occurred_at", "web_err_future")
    if not checked.ok:
        return _refused(request, actor, code, "interaction", checked)
    try:
        with changes(request) as db:
            followups.record_interaction(db, actor=actor, code=code, **checked.data.model_dump())
    except SchemaError as exc:
        return _refused(request, actor, code, "interaction", checked.failed(exc))
    return done(request, "web_customer", "interaction_logged", code=code)


def _in_future(when: dt.datetime) -> bool:
    now = dt.datetime.now(when.tzinfo or dt.UTC).replace(tzinfo=None)
    return when.replace(tzinfo=None) > now + dt.timedelta(days=1)


class TaskForm(BaseModel):
    title: Line
    due_date: dt.date | None = None
    kind: Literal["call", "visit", "wechat", "email", "complaint", "other"] | None = None


@router.post("/customers/{code}/tasks", name="web_customer_task")
def add_task(request: Request, actor: PageUser, form: Posted, code: Code) -> Response:
    require(actor, ACTIONS["task"])
    checked = validate(TaskForm, form, request)
    if not checked.ok:
        return _refused(request, actor, code, "task", checked)
    try:
        with changes(request) as db:
            followups.create_task(db, actor=actor, code=code, **checked.data.model_dump())
    except SchemaError as exc:
        return _refused(request, actor, code, "task", checked.failed(exc, "title"))
    return done(request, "web_customer", "task_added", code=code)


class CompleteForm(BaseModel):
    task_id: Annotated[int, Field(ge=1, le=2**62)]
    outcome: Line
    kind: Literal["call", "visit", "wechat", "email", "complaint", "other"] = "call"


def complete_task(request: Request, actor: Actor, form: Any, code: str | None) -> Checked[Any]:
    """Complete an open task with its outcome: an interaction that closes it (one transaction).

    ``code``: the customer whose page posted (the task must be theirs); ``None`` from the
    follow-ups page.  Returns the form, with its errors if it was refused.
    """
    require(actor, ACTIONS["complete"])
    checked = validate(CompleteForm, form, request)
    if not checked.ok:
        return checked
    got = checked.data
    try:
        with changes(request) as db:
            task = followups.get_task(db, actor=actor, task_id=got.task_id)
            # refusals before the first write: the block commits nothing
            if code is not None and task["customer_id"] != code:
                return checked.error("task_id", "web_err_not_found")
            if task["status"] != "open":  # a stale form: the task was closed meanwhile
                return checked.error("task_id", "web_err_task_closed")
            followups.record_interaction(
                db,
                actor=actor,
                code=task["customer_id"],
                kind=got.kind,
                outcome=got.outcome,
                task_id=got.task_id,
                complete_task=True,
            )
    except KehuError as exc:
        return checked.failed(exc, "task_id")
    return checked


@router.post("/customers/{code}/tasks/complete", name="web_customer_task_done")
def finish_task(request: Request, actor: PageUser, form: Posted, code: Code) -> Response:
    checked = complete_task(request, actor, form, code)
    if not checked.ok:
        return _refused(request, actor, code, "complete", checked)
    return done(request, "web_customer", "task_completed", code=code)


class FeedbackForm(BaseModel):
    text: Text | None = None
    rating: Annotated[int, Field(ge=1, le=5)] | None = None
    channel: Annotated[str, StringConstraints(strip_whitespace=True, max_length=50)] | None = None


@router.post("/customers/{code}/feedback", name="web_customer_feedback")
def add_feedback(request: Request, actor: PageUser, form: Posted, code: Code) -> Response:
    require(actor, ACTIONS["feedback"])
    checked = validate(FeedbackForm, form, request)
    if checked.ok and checked.data.text is None and checked.data.rating is None:
        checked = checked.error("text", "web_err_text_or_rating")
    if not checked.ok:
        return _refused(request, actor, code, "feedback", checked)
    try:
        with changes(request) as db:
            feedback.record_feedback(
                db,
                actor=actor,
                workspace=request.app.state.settings.workspace,
                code=code,
                **checked.data.model_dump(),
            )
    except SchemaError as exc:
        return _refused(request, actor, code, "feedback", checked.failed(exc))
    return done(request, "web_customer", "feedback_added", code=code)


class ConsentForm(BaseModel):
    purpose: Literal["marketing_sms", "marketing_wechat", "marketing_email", "share_distributor"]
    granted: bool
    note: Line | None = None


@router.post("/customers/{code}/consents", name="web_customer_consent")
def set_consent(request: Request, actor: PageUser, form: Posted, code: Code) -> Response:
    require(actor, ACTIONS["consent"])
    checked = validate(ConsentForm, form, request)
    if not checked.ok:
        return _refused(request, actor, code, "consent", checked)
    try:
        with changes(request) as db:
            privacy.record_consent(
                db, actor=actor, code=code, source="web", **checked.data.model_dump()
            )
    except SchemaError as exc:
        return _refused(request, actor, code, "consent", checked.failed(exc, "purpose"))
    return done(request, "web_customer", "consent_recorded", code=code)


class PointsForm(BaseModel):
    points: Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
    reason: Line


@router.post("/customers/{code}/points", name="web_customer_points")
def adjust_points(request: Request, actor: PageUser, form: Posted, code: Code) -> Response:
    require(actor, ACTIONS["points"])
    checked = validate(PointsForm, form, request)
    if checked.ok and checked.data.points == 0:
        checked = checked.error("points", "web_err_points_zero")
    if not checked.ok:
        return _refused(request, actor, code, "points", checked)
    try:
        with changes(request) as db:
            loyalty.adjust(db, actor=actor, code=code, **checked.data.model_dump())
    except ConflictError:  # a debit beyond the balance
        return _refused(
            request, actor, code, "points", checked.error("points", "web_err_points_balance")
        )
    except SchemaError as exc:
        return _refused(request, actor, code, "points", checked.failed(exc, "points"))
    return done(request, "web_customer", "points_adjusted", code=code)


@router.post("/customers/{code}/personal-data", name="web_customer_personal_data")
def export_personal_data(request: Request, actor: PageUser, form: Posted, code: Code) -> Response:
    """The person's data (an access request) as a JSON download; the export is audited."""
    with changes(request) as db:  # the export's audit row
        data = privacy.export_person(
            db, actor=actor, code=code, workspace=request.app.state.settings.workspace
        )
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str).encode()
    name = f"personal-data-{code}.json".encode("ascii", "replace").decode()
    return Response(
        body,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


class AnonymiseForm(BaseModel):
    confirm: Line
    reason: Line


@router.post("/customers/{code}/anonymise", name="web_customer_anonymise")
def anonymise(request: Request, actor: PageUser, form: Posted, code: Code) -> Response:
    require(actor, ACTIONS["anonymise"])
    checked = validate(AnonymiseForm, form, request)
    if checked.ok and checked.data.confirm != code:
        checked = checked.error("confirm", "web_err_confirm_id")
    if not checked.ok:
        return _refused(request, actor, code, "anonymise", checked)
    with changes(request) as db:
        privacy.anonymise_person(
            db,
            actor=actor,
            code=code,
            note=checked.data.reason,
            workspace=request.app.state.settings.workspace,
        )
    privacy.drop_old_versions(request.app.state.engine)  # after the commit
    return done(request, "web_customer", "anonymised", code=code)
