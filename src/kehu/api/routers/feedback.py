"""Feedback: record with automatic category and sentiment, label, report, train the model."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from kehu.api.deps import CurrentUser, SessionDep, SettingsDep
from kehu.api.schemas.common import ERRORS, Date, Key, RowId, Text, UtcDateTime
from kehu.api.schemas.feedback import (
    CategoriesIn,
    FeedbackIn,
    FeedbackOut,
    FeedbackPage,
    FeedbackPatch,
    FeedbackStatus,
    ReportRow,
    TrainOut,
)
from kehu.names import LABELLED_CLASS_COLUMNS
from kehu.services import feedback
from kehu.services.paging import MAX_PAGE_SIZE

router = APIRouter(prefix="/feedback", tags=["feedback"], responses=ERRORS)

Dimension = Literal["category", "sentiment", "channel", "class", "period"]
Period = Literal["day", "week", "month", "quarter", "year"]
Classifier = Literal[LABELLED_CLASS_COLUMNS]


@router.get("", response_model=FeedbackPage)
def list_feedback(
    actor: CurrentUser,
    session: SessionDep,
    customer_id: Annotated[Key | None, Query()] = None,
    category: Annotated[Text(64) | None, Query()] = None,
    sentiment: Annotated[Literal["positive", "neutral", "negative"] | None, Query()] = None,
    channel: Annotated[Text(32) | None, Query()] = None,
    status: Annotated[FeedbackStatus | None, Query()] = None,
    since: Annotated[UtcDateTime | None, Query()] = None,
    until: Annotated[UtcDateTime | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> FeedbackPage:
    """Feedback of the user's customers, newest first."""
    items, total = feedback.list_feedback(
        session,
        actor=actor,
        code=customer_id,
        category=category,
        sentiment=sentiment,
        channel=channel,
        status=status,
        since=since,
        until=until,
        page=page,
        page_size=page_size,
    )
    return FeedbackPage(items=items, total=total, page=page, page_size=page_size)


@router.post("", response_model=FeedbackOut, status_code=201)
def record_feedback(
    body: FeedbackIn, actor: CurrentUser, session: SessionDep, settings: SettingsDep
) -> FeedbackOut:
    """Store feedback; category and sentiment (zh/en) are computed and stored with it."""
    got = feedback.record_feedback(
        session,
        actor=actor,
        workspace=settings.workspace,
        code=body.customer_id,
        order_no=body.order_id,
        channel=body.channel,
        rating=body.rating,
        text=body.text,
        category=body.category,
        received_at=body.received_at,
    )
    return FeedbackOut(**got)


@router.get("/report", response_model=list[ReportRow])
def report(
    actor: CurrentUser,
    session: SessionDep,
    by: Annotated[list[Dimension] | None, Query(description="grouping keys")] = None,
    period: Annotated[Period, Query()] = "month",
    classifier: Annotated[Classifier, Query(description="whose class 'class' is")] = "rfm8",
    since: Annotated[Date | None, Query()] = None,
    until: Annotated[Date | None, Query()] = None,
) -> list[ReportRow]:
    """Feedback counts, negative share and mean rating by category, class and/or period."""
    rows = feedback.feedback_report(
        session,
        actor=actor,
        by=by or ["category"],
        period=period,
        classifier=classifier,
        since=since,
        until=until,
    )
    return [ReportRow(**r) for r in rows]


@router.get("/categories", response_model=dict[str, dict[str, list[str]]])
def get_categories(actor: CurrentUser, settings: SettingsDep) -> Any:
    """The categories in force with their keywords (``other`` is the fallback)."""
    return feedback.categories(settings.workspace)


@router.put("/categories", response_model=dict[str, dict[str, list[str]]])
def set_categories(body: CategoriesIn, actor: CurrentUser, settings: SettingsDep) -> Any:
    """Add, replace or remove categories (merged with the defaults); null restores them."""
    spec = None
    if body.categories is not None:
        spec = {
            name: None if terms is None else terms.model_dump(exclude_none=True)
            for name, terms in body.categories.items()
        }
    return feedback.set_categories(settings.workspace, actor=actor, spec=spec)


@router.post("/model", response_model=TrainOut, status_code=201)
def train_model(actor: CurrentUser, session: SessionDep, settings: SettingsDep) -> TrainOut:
    """Train the category model on feedback whose category a person set; used from now on."""
    got = feedback.train_category_model(session, actor=actor, workspace=settings.workspace)
    return TrainOut(**got)


@router.delete("/model", status_code=204)
def delete_model(actor: CurrentUser, settings: SettingsDep) -> None:
    """Go back to the keyword categories."""
    feedback.delete_category_model(settings.workspace, actor=actor)


@router.post("/reclassify", response_model=dict[str, int])
def reclassify(actor: CurrentUser, session: SessionDep, settings: SettingsDep) -> Any:
    """Classify again every row whose category no person set (after new categories or a model)."""
    n = feedback.reclassify_feedback(session, actor=actor, workspace=settings.workspace)
    return {"reclassified": n}


@router.get("/{feedback_id}", response_model=FeedbackOut)
def get_feedback(feedback_id: RowId, actor: CurrentUser, session: SessionDep) -> FeedbackOut:
    return FeedbackOut(**feedback.get_feedback(session, actor=actor, feedback_id=feedback_id))


@router.patch("/{feedback_id}", response_model=FeedbackOut)
def update_feedback(
    feedback_id: RowId,
    body: FeedbackPatch,
    actor: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
) -> FeedbackOut:
    """Set the category (kept as a training label) or the handling status."""
    got = feedback.update_feedback(
        session,
        actor=actor,
        workspace=settings.workspace,
        feedback_id=feedback_id,
        **body.model_dump(),
    )
    return FeedbackOut(**got)
