"""Campaigns (营销活动): audience from classes or a filter, control group, launch, uplift.

The pages call :mod:`kehu.services.campaigns` with the signed-in Actor: ``campaigns.read``
may look, ``campaigns.manage`` may create, preview, build, launch and send (a rep has
neither: the service refuses with 403).  Every form is validated here and refused with 422
and its messages, nothing written.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, StringConstraints

from kehu import i18n
from kehu.exceptions import ConflictError, FilterSyntaxError, KehuError
from kehu.names import LABELLED_CLASS_COLUMNS
from kehu.services import campaigns
from kehu.services.access import Actor, require
from kehu.web import charts, texts
from kehu.web.forms import Checked, Posted, blank, done, validate
from kehu.web.render import render
from kehu.web.session import PageUser, language
from kehu.web.transaction import changes

router = APIRouter(include_in_schema=False)
#: classifiers whose classes a campaign may target (the class columns of a refresh)
CLASSIFIERS = LABELLED_CLASS_COLUMNS
PAGE_SIZE = 25
MEMBERS_PAGE = 50
CampaignId = Annotated[int, Path(ge=1, le=2**62)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)]


def class_options(lang: str) -> list[tuple[str, list[tuple[str, str]]]]:
    """(classifier header, [(``classifier:class``, class label)]) for the class picker."""
    return [
        (
            i18n.header(name, lang),
            [(f"{name}:{v}", str(i18n.label(name, v, lang))) for v in i18n.class_order(name)],
        )
        for name in CLASSIFIERS
    ]


class CampaignForm(BaseModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    description: (
        Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)] | None
    ) = None
    channel: Literal["sms", "wechat", "email"]
    classes: Annotated[
        list[Annotated[str, StringConstraints(max_length=120)]], Field(max_length=60)
    ] = []
    filter: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None
    control_pct: Annotated[float, Field(ge=0, le=90, allow_inf_nan=False)] = 10.0
    response_days: Annotated[int, Field(ge=1, le=3660)] = 30
    webhook_url: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = (
        None
    )
    action: Literal["preview", "create"] = "create"


def _target(checked: Checked[CampaignForm]) -> tuple[dict[str, Any] | None, Checked[Any]]:
    """The service's target from the form, or the form with the field at fault."""
    got = checked.data
    classes: dict[str, list[str]] = {}
    for item in got.classes:
        name, _, value = item.partition(":")
        if name not in CLASSIFIERS or value not in i18n.class_order(name):
            return None, checked.error("classes", "web_err_choice")
        classes.setdefault(name, []).append(value)
    if not classes and not got.filter:
        return None, checked.error("classes", "web_camp_err_no_target")
    target: dict[str, Any] = {}
    if classes:
        target["classes"] = classes
    if got.filter:
        target["filter"] = got.filter
    return target, checked


def _list_page(
    request: Request,
    actor: Actor,
    page: int = 1,
    form: Checked[Any] | None = None,
    preview: dict[str, int] | None = None,
    status_code: int = 200,
) -> Response:
    lang = language(request)
    with request.app.state.sessions() as db:
        rows = campaigns.list_campaigns(
            db, actor=actor, limit=PAGE_SIZE + 1, offset=(page - 1) * PAGE_SIZE
        )
        items = [campaigns.campaign_dict(c) for c in rows[:PAGE_SIZE]]
    return render(
        request,
        "campaigns/list.html",
        status_code=status_code,
        actor=actor,
        items=items,
        page=page,
        more=len(rows) > PAGE_SIZE,
        form=form or blank(request, channel="sms", control_pct="10", response_days="30"),
        preview=preview,
        class_options=class_options(lang),
        channels=[(c, texts.text(f"web_camp_channel_{c}", lang)) for c in campaigns.CHANNELS],
    )


@router.get("/campaigns", name="web_campaigns")
def campaign_list(
    request: Request,
    actor: PageUser,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _list_page(request, actor, page)


@router.post("/campaigns", name="web_campaign_create")
def create(request: Request, actor: PageUser, form: Posted) -> Response:
    """Preview the audience of the form (nothing written), or create the draft campaign."""
    require(actor, "campaigns.manage")
    checked = validate(CampaignForm, form, request, lists=("classes",))
    target = None
    if checked.ok:
        target, checked = _target(checked)
    if not checked.ok:
        return _list_page(request, actor, form=checked, status_code=422)
    got = checked.data
    try:
        if got.action == "preview":
            with request.app.state.sessions() as db:  # a preview writes nothing
                preview = campaigns.preview_audience(
                    db, actor=actor, target=target, channel=got.channel
                )
                db.rollback()
            return _list_page(request, actor, form=checked, preview=preview)
        with changes(request) as db:
            campaign = campaigns.create_campaign(
                db,
                actor=actor,
                name=got.name,
                description=got.description,
                channel=got.channel,
                target=target,
                control_share=round(got.control_pct / 100, 4),
                response_days=got.response_days,
                webhook_url=got.webhook_url,
            )
            cid = campaign.id
    except FilterSyntaxError as exc:
        return _list_page(request, actor, form=checked.failed(exc, "filter"), status_code=422)
    except KehuError as exc:
        field = "webhook_url" if "webhook_url" in str(exc) else "filter"
        return _list_page(request, actor, form=checked.failed(exc, field), status_code=422)
    return done(request, "web_campaign", "camp_created", campaign_id=cid)


def _detail(
    request: Request,
    actor: Actor,
    campaign_id: int,
    *,
    page: int = 1,
    forms: dict[str, Checked[Any]] | None = None,
    status_code: int = 200,
) -> Response:
    with request.app.state.sessions() as db:
        campaign = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
        c = campaigns.campaign_dict(campaign)
        preview = None
        if c["status"] in ("draft", "ready") and actor.can("campaigns.manage"):
            try:
                preview = campaigns.preview_audience(
                    db, actor=actor, target=c["target"], channel=c["channel"]
                )
            except KehuError:  # a target that no longer compiles (a renamed field)
                preview = None
        members, total = [], 0
        if c["status"] != "draft":
            members, total = campaigns.list_members(
                db,
                actor=actor,
                campaign_id=campaign_id,
                limit=MEMBERS_PAGE,
                offset=(page - 1) * MEMBERS_PAGE,
            )
        db.rollback()
    shown = {"launch": blank(request)}
    shown.update(forms or {})
    return render(
        request,
        "campaigns/detail.html",
        status_code=status_code,
        actor=actor,
        c=c,
        preview=preview,
        members=members,
        total=total,
        page=page,
        pages=max(1, -(-total // MEMBERS_PAGE)),
        forms=shown,
    )


@router.get("/campaigns/{campaign_id}", name="web_campaign")
def campaign_page(
    request: Request,
    actor: PageUser,
    campaign_id: CampaignId,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _detail(request, actor, campaign_id, page=page)


def _stale(request: Request, actor: Actor, campaign_id: int, name: str, exc: Exception):
    """A refusal of the service on a detail-page form (a campaign moved on meanwhile)."""
    form = blank(request)
    form = (
        form.error("_form", "web_camp_err_stale")
        if isinstance(exc, ConflictError)
        else (form.failed(exc))
    )
    return _detail(request, actor, campaign_id, forms={name: form}, status_code=409)


@router.post("/campaigns/{campaign_id}/build", name="web_campaign_build")
def build(request: Request, actor: PageUser, form: Posted, campaign_id: CampaignId) -> Response:
    """Select the audience, exclude, split into treatment and control (a rebuild replaces)."""
    try:
        with changes(request) as db:
            campaigns.build_audience(db, actor=actor, campaign_id=campaign_id)
    except (ConflictError, FilterSyntaxError) as exc:
        return _stale(request, actor, campaign_id, "build", exc)
    return done(request, "web_campaign", "camp_built", campaign_id=campaign_id)


class LaunchForm(BaseModel):
    launched_on: dt.date | None = None


@router.post("/campaigns/{campaign_id}/launch", name="web_campaign_launch")
def launch(request: Request, actor: PageUser, form: Posted, campaign_id: CampaignId) -> Response:
    """Mark the exported list as sent (on a date, default now): the response window starts."""
    require(actor, "campaigns.manage")
    checked = validate(LaunchForm, form, request)
    if checked.ok and checked.data.launched_on:
        day = checked.data.launched_on
        if day > dt.date.today() + dt.timedelta(days=1) or day < dt.date(2000, 1, 1):
            checked = checked.error("launched_on", "web_camp_err_launch_date")
    if not checked.ok:
        return _detail(request, actor, campaign_id, forms={"launch": checked}, status_code=422)
    day = checked.data.launched_on
    at = dt.datetime.combine(day, dt.time()) if day else None
    try:
        with changes(request) as db:
            campaign = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
            if campaign.launched_at is not None:
                raise ConflictError("launched before")
            campaigns.launch(db, actor=actor, campaign_id=campaign_id, at=at)
    except ConflictError:
        failed = checked.error("_form", "web_camp_err_stale")
        return _detail(request, actor, campaign_id, forms={"launch": failed}, status_code=409)
    return done(request, "web_campaign", "camp_launched", campaign_id=campaign_id)


@router.post("/campaigns/{campaign_id}/send", name="web_campaign_send")
def send(request: Request, actor: PageUser, form: Posted, campaign_id: CampaignId) -> Response:
    """POST the treatment members not yet sent to the campaign's webhook."""
    try:
        with changes(request) as db:
            got = campaigns.send_to_webhook(
                db,
                actor=actor,
                campaign_id=campaign_id,
                signing_key=request.app.state.settings.webhook_secret,
            )
    except ConflictError as exc:
        return _stale(request, actor, campaign_id, "send", exc)
    notice = "camp_sent" if not got["failed"] else "camp_send_failed"
    return done(request, "web_campaign", notice, campaign_id=campaign_id)


@router.get("/campaigns/{campaign_id}/export", name="web_campaign_export")
def export(
    request: Request,
    actor: PageUser,
    campaign_id: CampaignId,
    format: Annotated[Literal["csv", "xlsx"], Query()] = "csv",
    group: Annotated[Literal["treatment", "control", "all"], Query()] = "treatment",
) -> Response:
    """The member list through the same export service as the API (cells never formulas)."""
    try:
        with changes(request) as db:  # the audit row
            data, media = campaigns.export_members(
                db, actor=actor, campaign_id=campaign_id, format=format, group=group
            )
    except ConflictError as exc:
        return _stale(request, actor, campaign_id, "build", exc)
    return Response(
        data,
        media_type=media,
        headers={
            "Content-Disposition": f'attachment; filename="campaign-{campaign_id}-{group}.{format}"'
        },
    )


def uplift_figure(result: dict[str, Any], lang: str) -> dict[str, Any]:
    """The uplifts with their confidence intervals: a point with error bars per measure."""
    traces = []
    #: each axis symmetric around 0, so that both measures share one zero line
    ranges = {}
    for key, axis in (("conversion_uplift", "y"), ("revenue_uplift", "y2")):
        iv = result[key]
        est = iv["estimate"]
        low, high = iv["low"], iv["high"]
        scale = 100 if key == "conversion_uplift" else 1
        reach = max((abs(v) * scale for v in (est, low, high) if v is not None), default=0)
        ranges[axis] = [-1.15 * reach, 1.15 * reach] if reach else None
        error = None
        if est is not None and low is not None and high is not None:
            error = {
                "type": "data",
                "symmetric": False,
                "array": [(high - est) * scale],
                "arrayminus": [(est - low) * scale],
                "visible": True,
            }
        traces.append(
            {
                "type": "scatter",
                "mode": "markers",
                "x": [texts.text(f"web_camp_{key}", lang)],
                "y": [None if est is None else est * scale],
                "error_y": error,
                "marker": {"size": 12},
                "name": texts.text(f"web_camp_{key}", lang),
                "yaxis": axis,
            }
        )
    return charts.figure(
        traces,
        yaxis={
            "title": {"text": texts.text("web_camp_axis_conversion", lang)},
            "range": ranges["y"],
            "zeroline": False,
            "automargin": True,
        },
        yaxis2={
            "title": {"text": texts.text("web_camp_axis_revenue", lang)},
            "overlaying": "y",
            "side": "right",
            "range": ranges["y2"],
            "zeroline": False,
            "showgrid": False,
            "automargin": True,
        },
        shapes=[
            {
                "type": "line",
                "xref": "paper",
                "x0": 0,
                "x1": 1,
                "y0": 0,
                "y1": 0,
                "line": {"dash": "dot", "color": "#888"},
            }
        ],
        showlegend=False,
    )


@router.get("/campaigns/{campaign_id}/result", name="web_campaign_result")
def result(
    request: Request,
    actor: PageUser,
    campaign_id: CampaignId,
    method: Annotated[Literal["newcombe", "wald"], Query()] = "newcombe",
) -> Response:
    """Conversion and revenue of treatment and control; the uplift with its interval."""
    lang = language(request)
    with request.app.state.sessions() as db:
        campaign = campaigns.get_campaign(db, actor=actor, campaign_id=campaign_id)
        c = campaigns.campaign_dict(campaign)
        try:
            got = campaigns.report(db, actor=actor, campaign_id=campaign_id, method=method)
        except ConflictError:
            got = None
    if got is None:
        return render(
            request, "campaigns/result.html", status_code=409, actor=actor, c=c, r=None, fig=None
        )
    return render(
        request,
        "campaigns/result.html",
        actor=actor,
        c=c,
        r=got,
        fig=uplift_figure(got, lang),
        method=method,
    )
