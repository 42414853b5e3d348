"""Feedback (客户反馈) and surveys: inbox, category corrections, reports, NPS and CSAT.

The inbox, corrections, reports and survey scores are those of :mod:`kehu.services.feedback`
with the signed-in Actor: a rep sees only their own customers' feedback and answers.
A corrected category is stored with ``category_source = "user"``: a training label.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, StringConstraints

from kehu import i18n
from kehu.exceptions import KehuError, NotFoundError
from kehu.names import LABELLED_CLASS_COLUMNS
from kehu.services import feedback
from kehu.services.access import Actor, require
from kehu.web import charts, texts
from kehu.web.forms import Checked, Posted, blank, done, validate
from kehu.web.render import render
from kehu.web.session import PageUser, language
from kehu.web.transaction import changes

router = APIRouter(include_in_schema=False)
SENTIMENTS = ("positive", "neutral", "negative")
PAGE_SIZE = 25
PERIODS = ("week", "month", "quarter", "year")
Short = Annotated[str | None, Query(max_length=200)]


class FilterForm(BaseModel):
    """The inbox's filters (a GET form, checked like any other)."""

    category: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    sentiment: Literal["positive", "neutral", "negative"] | None = None
    customer: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None
    since: dt.date | None = None
    until: dt.date | None = None
    period: Literal["week", "month", "quarter", "year"] = "month"
    classifier: Literal[LABELLED_CLASS_COLUMNS] = "rfm8"
    page: int = 1


class CategoryForm(BaseModel):
    category: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)]
    #: the category the row had when the form was shown: a changed row makes the form stale
    was: Annotated[str, StringConstraints(strip_whitespace=True, max_length=64)] | None = None


def _workspace(request: Request):
    return request.app.state.settings.workspace


def _filters(request: Request) -> Checked[FilterForm]:
    from starlette.datastructures import FormData

    params = FormData(list(request.query_params.multi_items()))
    checked = validate(FilterForm, params, request)
    data = checked.data
    if data is not None and data.page < 1:
        checked = checked.error("page", "web_fb_err_page")
    if data is not None and data.since and data.until and data.until < data.since:
        checked = checked.error("until", "web_fb_err_until")
    return checked


def _page(
    request: Request,
    actor: Actor,
    corrections: dict[int, Checked[Any]] | None = None,
    status_code: int = 200,
) -> Response:
    lang = language(request)
    filt, f, names = _checked_filters(request)
    with request.app.state.sessions() as db:
        items, total = _inbox(db, actor, f)
        reports = _reports(db, actor, f)
    if filt.errors and status_code == 200:
        status_code = 422
    forms = {
        item["id"]: blank(request, category=item["category"], was=item["category"])
        for item in items
    }
    forms.update(corrections or {})
    return render(
        request,
        "feedback/page.html",
        status_code=status_code,
        actor=actor,
        filt=filt,
        f=f,
        items=items,
        total=total,
        pages=max(1, -(-total // PAGE_SIZE)),
        page_size=PAGE_SIZE,
        forms=forms,
        can_write=actor.can("feedback.write"),
        categories=names,
        category_options=[(n, _category(n, lang)) for n in names],
        sentiments=SENTIMENTS,
        sentiment_options=[(s, texts.text(f"web_fb_sent_{s}", lang)) for s in SENTIMENTS],
        period_options=[(p, texts.text(f"web_fb_period_{p}", lang)) for p in PERIODS],
        **reports,
        classifier=f.classifier,
        classifier_options=[(c, i18n.header(c, lang)) for c in feedback.CLASS_COLUMNS],
        figures=_figures(**reports, classifier=f.classifier, lang=lang),
        failed={k: v for k, v in (corrections or {}).items() if k not in {i["id"] for i in items}},
        category_name=lambda n: _category(n, lang),
    )


def _checked_filters(request: Request) -> tuple[Checked[FilterForm], FilterForm, list[str]]:
    """The checked filters, the ones applied (none if refused) and the workspace's categories."""
    filt = _filters(request)
    f = filt.data if filt.ok else FilterForm()
    workspace = _workspace(request)
    names = feedback.category_names(workspace) if workspace is not None else []
    if filt.ok and f.category and names and f.category not in names:
        filt = filt.error("category", "web_fb_err_category")
        f = FilterForm()
    return filt, f, names


def _window(f: FilterForm) -> dict[str, Any]:
    """The filter's days as a half-open range: ``until`` is the day after the last day shown."""
    return {"since": f.since, "until": f.until + dt.timedelta(days=1) if f.until else None}


def _inbox(db, actor: Actor, f: FilterForm) -> tuple[list[dict[str, Any]], int]:
    """The page of feedback the filters select, and how many there are in all."""
    since = dt.datetime.combine(f.since, dt.time()) if f.since else None
    until = dt.datetime.combine(f.until + dt.timedelta(days=1), dt.time()) if f.until else None
    return feedback.list_feedback(
        db,
        actor=actor,
        code=f.customer,
        category=f.category,
        sentiment=f.sentiment,
        since=since,
        until=until,
        page=min(f.page, 100_000),
        page_size=PAGE_SIZE,
    )


def _reports(db, actor: Actor, f: FilterForm) -> dict[str, Any]:
    """The reports and survey scores over the filter's days, as the template names them."""
    window = _window(f)
    by_category = feedback.feedback_report(db, actor=actor, by=["category"], **window)
    by_class = feedback.feedback_report(
        db, actor=actor, by=["class"], classifier=f.classifier, **window
    )
    by_period = feedback.feedback_report(db, actor=actor, by=["period"], period=f.period, **window)
    surveys = {
        name: {
            "period": feedback.survey_scores(
                db, actor=actor, survey=name, by=["period"], period=f.period, **window
            ),
            "class": feedback.survey_scores(
                db, actor=actor, survey=name, by=["class"], classifier=f.classifier, **window
            ),
        }
        for name in feedback.SURVEYS
    }
    return {
        "by_category": by_category,
        "by_class": by_class,
        "by_period": by_period,
        "surveys": surveys,
    }


def _category(name: str | None, lang: str) -> str:
    if name is None:
        return i18n.label("category", None, lang)
    key = f"web_fb_cat_{name}"
    return texts.text(key, lang) if key in texts.TEXTS else name


def _figures(by_category, by_period, by_class, surveys, classifier, lang) -> dict[str, Any]:
    def t(key: str) -> str:
        return texts.text(key, lang)

    out: dict[str, Any] = {}
    if by_category:
        out["category"] = charts.figure(
            [
                charts.bar(
                    [_category(r["category"], lang) for r in by_category],
                    [r["feedback"] for r in by_category],
                    t("web_fb_count"),
                ),
                charts.bar(
                    [_category(r["category"], lang) for r in by_category],
                    [r["negative"] for r in by_category],
                    t("web_fb_negative"),
                ),
            ],
            barmode="group",
        )
    if by_period:
        out["period"] = charts.figure(
            [
                charts.line(
                    [r["period"] for r in by_period],
                    [r["feedback"] for r in by_period],
                    t("web_fb_count"),
                )
            ]
        )
    if by_class:
        out["class"] = charts.figure(
            [
                charts.bar(
                    [str(i18n.label(classifier, r["class"], lang)) for r in by_class],
                    [r["feedback"] for r in by_class],
                    t("web_fb_count"),
                ),
                charts.bar(
                    [str(i18n.label(classifier, r["class"], lang)) for r in by_class],
                    [r["negative"] for r in by_class],
                    t("web_fb_negative"),
                ),
            ],
            barmode="group",
        )
    for name, data in surveys.items():
        if data["period"]:
            out[f"{name}_period"] = charts.figure(
                [
                    charts.line(
                        [r["period"] for r in data["period"]],
                        [round(r[name], 1) for r in data["period"]],
                        t(f"web_fb_{name}"),
                    )
                ],
                y_title=t(f"web_fb_{name}"),
            )
        if data["class"]:
            out[f"{name}_class"] = charts.figure(
                [
                    charts.bar(
                        [str(i18n.label(classifier, r["class"], lang)) for r in data["class"]],
                        [round(r[name], 1) for r in data["class"]],
                        t(f"web_fb_{name}"),
                    )
                ],
                y_title=t(f"web_fb_{name}"),
            )
    return out


@router.get("/feedback", name="web_feedback")
def page(request: Request, actor: PageUser) -> Response:
    require(actor, "feedback.write")
    return _page(request, actor)


@router.post("/feedback/{feedback_id}/category", name="web_feedback_category")
def correct_category(
    request: Request,
    actor: PageUser,
    form: Posted,
    feedback_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
) -> Response:
    """Correct the category of one piece of feedback: stored as a training label."""
    require(actor, "feedback.write")
    checked = validate(CategoryForm, form, request)
    workspace = _workspace(request)
    if (
        checked.ok
        and workspace is not None
        and checked.data.category not in feedback.category_names(workspace)
    ):
        checked = checked.error("category", "web_fb_err_category")
    if checked.ok:
        try:
            with changes(request) as db:
                current = feedback.get_feedback(db, actor=actor, feedback_id=feedback_id)
                if checked.data.was is not None and current["category"] != checked.data.was:
                    checked = checked.error("category", "web_fb_err_stale")  # nothing written
                else:
                    feedback.update_feedback(
                        db,
                        actor=actor,
                        workspace=workspace,
                        feedback_id=feedback_id,
                        category=checked.data.category,
                    )
        except NotFoundError:
            raise  # another rep's feedback: the 404 page, as for a missing one
        except KehuError as exc:
            checked = checked.failed(exc, field="category")
    if not checked.ok:
        return _page(request, actor, corrections={feedback_id: checked}, status_code=422)
    return done(request, "web_feedback", "feedback_category")
