"""Survey answers (NPS 0-10, CSAT 1-5) and their scores over time and per class."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query

from kehu.api.deps import CurrentUser, SessionDep
from kehu.api.schemas.common import ERRORS, Date, Key
from kehu.api.schemas.feedback import AnswerIn, AnswerOut, AnswerPage, ScoreRow, Survey
from kehu.names import LABELLED_CLASS_COLUMNS
from kehu.services import feedback
from kehu.services.paging import MAX_PAGE_SIZE

router = APIRouter(prefix="/surveys", tags=["surveys"], responses=ERRORS)


@router.post("/answers", response_model=AnswerOut, status_code=201)
def record_answer(body: AnswerIn, actor: CurrentUser, session: SessionDep) -> AnswerOut:
    got = feedback.record_answer(
        session,
        actor=actor,
        survey=body.survey,
        score=body.score,
        code=body.customer_id,
        comment=body.comment,
        answered_at=body.answered_at,
    )
    return AnswerOut(**got)


@router.get("/answers", response_model=AnswerPage)
def list_answers(
    actor: CurrentUser,
    session: SessionDep,
    survey: Annotated[Survey | None, Query()] = None,
    customer_id: Annotated[Key | None, Query()] = None,
    page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
    page_size: Annotated[int, Query(ge=1, le=MAX_PAGE_SIZE)] = 50,
) -> AnswerPage:
    items, total = feedback.list_answers(
        session, actor=actor, survey=survey, code=customer_id, page=page, page_size=page_size
    )
    return AnswerPage(items=items, total=total, page=page, page_size=page_size)


@router.get("/{survey}/scores", response_model=list[ScoreRow])
def scores(
    survey: Annotated[Survey, Path()],
    actor: CurrentUser,
    session: SessionDep,
    by: Annotated[list[Literal["period", "class"]] | None, Query()] = None,
    period: Annotated[Literal["day", "week", "month", "quarter", "year"], Query()] = "month",
    classifier: Annotated[Literal[LABELLED_CLASS_COLUMNS], Query()] = "rfm8",
    since: Annotated[Date | None, Query()] = None,
    until: Annotated[Date | None, Query()] = None,
) -> list[ScoreRow]:
    """NPS (% promoters 9-10 minus % detractors 0-6) or CSAT (% of 4-5) per period / class."""
    rows = feedback.survey_scores(
        session,
        actor=actor,
        survey=survey,
        by=by or ["period"],
        period=period,
        classifier=classifier,
        since=since,
        until=until,
    )
    return [ScoreRow(**r) for r in rows]
