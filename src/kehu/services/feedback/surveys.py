"""Survey answers (NPS and CSAT) and their scores."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Float, and_, case, cast, func, select
from sqlalchemy.orm import Session

from kehu.exceptions import SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.feedback.report import _dimensions, _grouped, _time_window
from kehu.services.paging import check_page, fetch_page
from kehu.services.scope import scope_customers, scoped_customer
from kehu.store.models import (
    Customer,
    SurveyAnswer,
    utcnow,
)

SURVEYS = {"nps": (0, 10), "csat": (1, 5)}


def answer_dict(a: SurveyAnswer, code: str | None) -> dict[str, Any]:
    return {
        "id": a.id,
        "customer_id": code,
        "survey": a.survey,
        "score": a.score,
        "comment": a.comment,
        "answered_at": a.answered_at,
    }


def record_answer(
    session: Session,
    *,
    actor: Actor,
    survey: str,
    score: int,
    code: str | None = None,
    comment: str | None = None,
    answered_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Store an NPS (0-10) or CSAT (1-5) answer."""
    require(actor, "feedback.write")
    if survey not in SURVEYS:
        raise SchemaError(f"survey {survey!r} is not one of {', '.join(SURVEYS)}")
    low, high = SURVEYS[survey]
    if not low <= score <= high:
        raise SchemaError(f"a {survey} score must be {low}-{high}, got {score}")
    customer = None
    if code is not None:
        customer = scoped_customer(session, actor=actor, code=code)
    elif not actor.sees_all_customers:
        raise SchemaError("customer_id is required: a sales rep records answers of own customers")
    row = SurveyAnswer(
        customer_id=customer.id if customer else None,
        survey=survey,
        score=score,
        comment=comment,
        answered_at=(answered_at or utcnow()).replace(tzinfo=None),
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="survey.answer",
        entity="survey_answer",
        entity_id=row.id,
        changes={"customer": code, "survey": survey, "score": score},
    )
    return answer_dict(row, customer.code if customer else None)


def list_answers(
    session: Session,
    *,
    actor: Actor,
    survey: str | None = None,
    code: str | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    check_page(page, page_size)
    stmt = scope_customers(
        select(SurveyAnswer, Customer.code).outerjoin(
            Customer, Customer.id == SurveyAnswer.customer_id
        ),
        actor,
    )
    if survey is not None:
        stmt = stmt.where(SurveyAnswer.survey == survey)
    if code is not None:
        stmt = stmt.where(Customer.code == code)
    order = (SurveyAnswer.answered_at.desc(), SurveyAnswer.id.desc())
    rows, total = fetch_page(session, stmt, order, page=page, page_size=page_size)
    return [answer_dict(a, c) for a, c in rows], total


def survey_scores(
    session: Session,
    *,
    actor: Actor,
    survey: str,
    by: Sequence[str] = ("period",),
    period: str = "month",
    classifier: str = "rfm8",
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """NPS or CSAT per period and/or customer class, computed in SQL.

    NPS rows: ``answers``, ``promoters`` (9-10), ``passives`` (7-8),
    ``detractors`` (0-6) and ``nps`` = 100 x (promoters - detractors) /
    answers, from -100 to 100.  CSAT rows: ``answers``, ``satisfied`` (4-5)
    and ``csat`` = 100 x satisfied / answers.  Both have ``avg_score``.
    """
    if survey not in SURVEYS:
        raise SchemaError(f"survey {survey!r} is not one of {', '.join(SURVEYS)}")
    by = _dimensions(by, ("period", "class"))
    n = func.count(SurveyAnswer.id)
    s = SurveyAnswer.score
    if survey == "nps":
        promoters = func.sum(case((s >= 9, 1), else_=0))
        detractors = func.sum(case((s <= 6, 1), else_=0))
        metrics = {
            "answers": n,
            "promoters": promoters,
            "passives": func.sum(case((and_(s >= 7, s <= 8), 1), else_=0)),
            "detractors": detractors,
            "nps": cast(promoters - detractors, Float) * 100.0 / n,
            "avg_score": func.avg(cast(s, Float)),
        }
    else:
        satisfied = func.sum(case((s >= 4, 1), else_=0))
        metrics = {
            "answers": n,
            "satisfied": satisfied,
            "csat": cast(satisfied, Float) * 100.0 / n,
            "avg_score": func.avg(cast(s, Float)),
        }
    where = [SurveyAnswer.survey == survey, *_time_window(SurveyAnswer.answered_at, since, until)]
    rows = _grouped(
        session,
        actor,
        SurveyAnswer,
        SurveyAnswer.answered_at,
        by,
        {},
        metrics,
        where,
        period,
        classifier,
    )
    for r in rows:
        for k in ("promoters", "passives", "detractors", "satisfied"):
            if k in r:
                r[k] = int(r[k] or 0)
        for k in ("nps", "csat", "avg_score"):
            if k in r:
                r[k] = float(r[k])
    return rows
