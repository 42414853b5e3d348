"""Feedback and surveys: automatic category and sentiment, training, reports, NPS and CSAT.

Feedback is classified when it is recorded: sentiment (and the language)
from the zh/en lexicons of :func:`kehu.analytics.feedback.classify_feedback`;
the category from the workspace's trained model when there is one
(:func:`train_category_model`), else from the lexicon with the workspace's
category list.  A category set by a person (``category_source = "user"``) is
a label: those rows are what the model is trained on.

Workspace files (beside ``kehu.db``):

- ``feedback/categories.json``: the category list, as
  :func:`kehu.analytics.feedback.resolve_categories` reads it;
- ``feedback/category_model.json.gz``: the trained
  :class:`~kehu.analytics.feedback.FeedbackClassifier`.

Reports and survey scores are single SQL aggregates (``GROUP BY`` on the
store), scoped to the actor's customers like every read.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any

from sqlalchemy import Float, Integer, String, and_, case, cast, func, select
from sqlalchemy.orm import Session

from kehu.atomic import atomic_path
from kehu.exceptions import ConfigError, NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.paging import check_page, fetch_page
from kehu.services.refresh import current_run
from kehu.services.scope import scope_customers, scoped_customer
from kehu.store.models import (
    ClassificationResult,
    Customer,
    Feedback,
    Order,
    SurveyAnswer,
    utcnow,
)

CATEGORIES_FILE = Path("feedback") / "categories.json"
MODEL_FILE = Path("feedback") / "category_model.json.gz"
FEEDBACK_STATUSES = ("open", "in_progress", "resolved", "closed")
SURVEYS = {"nps": (0, 10), "csat": (1, 5)}
PERIODS = ("day", "week", "month", "quarter", "year")
REPORT_DIMENSIONS = ("category", "sentiment", "channel", "class", "period")
CLASS_COLUMNS = ("rfm8", "segment", "freq_tier", "spend_tier", "abc", "lifecycle")
#: fewest labelled rows to train on, and per label for a cross-validated score
MIN_TRAINING_ROWS = 10
MIN_PER_LABEL_FOR_CV = 3


# --- the category list and the trained model (workspace files) ------------------------------


def category_spec(workspace: Path) -> dict[str, Any] | None:
    """The workspace's category options (``None``: the defaults)."""
    path = Path(workspace) / CATEGORIES_FILE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        raise ConfigError(f"{path}: not valid JSON ({exc}); fix or delete it") from None


def categories(workspace: Path) -> dict[str, dict[str, list[str]]]:
    """The categories in force with their keywords (``other`` is the implicit fallback)."""
    from kehu.analytics.feedback import resolve_categories

    return resolve_categories(category_spec(workspace))


def category_names(workspace: Path) -> list[str]:
    from kehu.analytics.feedback.lexicon import OTHER

    return [*categories(workspace), OTHER]


def set_categories(
    workspace: Path, *, actor: Actor, spec: Mapping[str, Any] | None
) -> dict[str, dict[str, list[str]]]:
    """Store category options (merged with the defaults; ``None`` restores them).

    ``spec`` as :func:`kehu.analytics.feedback.resolve_categories` reads it:
    a name with ``{zh: [...], en: [...]}`` adds or replaces a category,
    ``None`` removes it.
    """
    from kehu.analytics.feedback import resolve_categories

    require(actor, "refresh.run")
    resolved = resolve_categories(spec)  # raises ConfigError on a bad spec
    path = Path(workspace) / CATEGORIES_FILE
    if spec is None:
        path.unlink(missing_ok=True)
        return resolved
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(dict(spec), ensure_ascii=False, indent=1), encoding="utf-8")
    return resolved


@lru_cache(maxsize=4)
def _load_model(path: str, mtime_ns: int):
    from kehu.analytics.feedback import FeedbackClassifier

    return FeedbackClassifier.load(path)


def category_model(workspace: Path):
    """The trained category model of the workspace, or ``None`` (read once per file version)."""
    path = Path(workspace) / MODEL_FILE
    if not path.is_file():
        return None
    return _load_model(str(path), path.stat().st_mtime_ns)


def analyse(texts: Sequence[str | None], workspace: Path | None) -> list[dict[str, Any]]:
    """Category (model or lexicon), sentiment and language of each text."""
    from kehu.analytics.feedback import classify_feedback

    spec = category_spec(workspace) if workspace is not None else None
    table = classify_feedback(list(texts), categories=spec)
    model = category_model(workspace) if workspace is not None else None
    cats = list(table["category"])
    source = ["lexicon"] * len(cats)
    if model is not None:
        has_text = [bool((t or "").strip()) for t in texts]
        picked = [t for t, keep in zip(texts, has_text, strict=True) if keep]
        if picked:
            predicted = iter(model.predict(picked))
            for i, keep in enumerate(has_text):
                if keep:
                    cats[i], source[i] = str(next(predicted)), "model"
    return [
        {
            "category": cats[i],
            "category_source": source[i],
            "sentiment": table["sentiment"].iat[i],
            "sentiment_score": float(table["sentiment_score"].iat[i]),
            "lang": table["lang"].iat[i],
            "terms": list(table["category_terms"].iat[i]) + list(table["sentiment_terms"].iat[i]),
        }
        for i in range(len(cats))
    ]


# --- feedback rows ------------------------------------------------------------------------------


def feedback_dict(fb: Feedback, code: str | None) -> dict[str, Any]:
    return {
        "id": fb.id,
        "customer_id": code,
        "order_id": (fb.extra or {}).get("order_no"),
        "channel": fb.channel,
        "rating": fb.rating,
        "text": fb.text,
        "category": fb.category,
        "category_source": fb.category_source,
        "sentiment": fb.sentiment,
        "sentiment_score": fb.sentiment_score,
        "status": fb.status,
        "received_at": fb.received_at,
        "lang": (fb.extra or {}).get("lang"),
        "terms": (fb.extra or {}).get("terms", []),
    }


def _check_category(workspace: Path, category: str) -> str:
    names = category_names(workspace)
    if category not in names:
        raise SchemaError(f"category {category!r} is not one of {', '.join(names)}")
    return category


def record_feedback(
    session: Session,
    *,
    actor: Actor,
    workspace: Path | None,
    code: str | None = None,
    order_no: str | None = None,
    channel: str | None = None,
    rating: int | None = None,
    text: str | None = None,
    category: str | None = None,
    received_at: dt.datetime | None = None,
) -> dict[str, Any]:
    """Store a piece of feedback with its automatic category and sentiment.

    A ``category`` given by the person recording it is kept as a label
    (``category_source = "user"``).  Feedback without a customer can only be
    recorded by roles that see every customer.
    """
    require(actor, "feedback.write")
    customer = None
    if code is not None:
        customer = scoped_customer(session, actor=actor, code=code)
    elif not actor.sees_all_customers:
        raise SchemaError("customer_id is required: a sales rep records feedback of own customers")
    if rating is not None and not 1 <= rating <= 5:
        raise SchemaError(f"rating must be 1-5, got {rating}")
    if not (text or "").strip() and rating is None:
        raise SchemaError("feedback needs a text or a rating")
    order_id = None
    if order_no is not None:
        order = session.scalar(select(Order).where(Order.order_no == order_no))
        if order is None or (customer is not None and order.customer_id != customer.id):
            raise NotFoundError(f"no order {order_no!r} for this customer")
        if customer is None and not actor.sees_all_customers:  # pragma: no cover - checked above
            raise NotFoundError(f"no order {order_no!r}")
        order_id = order.id
    got = analyse([text], workspace)[0]
    if category is not None:
        got["category"], got["category_source"] = (
            _check_category(workspace, category) if workspace is not None else category,
            "user",
        )
    row = Feedback(
        customer_id=customer.id if customer else None,
        order_id=order_id,
        channel=channel,
        rating=rating,
        text=text,
        category=got["category"],
        category_source=got["category_source"],
        sentiment=got["sentiment"],
        sentiment_score=got["sentiment_score"],
        status="open",
        received_at=(received_at or utcnow()).replace(tzinfo=None),
        extra={"lang": got["lang"], "terms": got["terms"], "order_no": order_no},
    )
    session.add(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="feedback.create",
        entity="feedback",
        entity_id=row.id,
        changes={"customer": code, "category": row.category, "sentiment": row.sentiment},
    )
    return feedback_dict(row, customer.code if customer else None)


def _feedback_query(actor: Actor):
    stmt = select(Feedback, Customer.code).outerjoin(Customer, Customer.id == Feedback.customer_id)
    return scope_customers(stmt, actor)


def _scoped_feedback(session: Session, actor: Actor, feedback_id: int):
    got = session.execute(_feedback_query(actor).where(Feedback.id == feedback_id)).first()
    if got is None:
        raise NotFoundError(f"no feedback {feedback_id}")
    return got


def get_feedback(session: Session, *, actor: Actor, feedback_id: int) -> dict[str, Any]:
    fb, code = _scoped_feedback(session, actor, feedback_id)
    return feedback_dict(fb, code)


def update_feedback(
    session: Session,
    *,
    actor: Actor,
    workspace: Path | None,
    feedback_id: int,
    category: str | None = None,
    status: str | None = None,
) -> dict[str, Any]:
    """Set the category (a label for training) or the handling status."""
    require(actor, "feedback.write")
    fb, code = _scoped_feedback(session, actor, feedback_id)
    before = {"category": fb.category, "status": fb.status}
    if category is not None:
        fb.category = _check_category(workspace, category) if workspace is not None else category
        fb.category_source = "user"
    if status is not None:
        if status not in FEEDBACK_STATUSES:
            raise SchemaError(f"status {status!r} is not one of {', '.join(FEEDBACK_STATUSES)}")
        fb.status = status
    audit.record(
        session,
        actor=actor,
        action="feedback.update",
        entity="feedback",
        entity_id=fb.id,
        changes=audit.diff(before, {"category": fb.category, "status": fb.status}),
    )
    return feedback_dict(fb, code)


def list_feedback(
    session: Session,
    *,
    actor: Actor,
    code: str | None = None,
    category: str | None = None,
    sentiment: str | None = None,
    channel: str | None = None,
    status: str | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    page: int = 1,
    page_size: int = 50,
) -> tuple[list[dict[str, Any]], int]:
    """Feedback of the actor's customers, newest first, and the total."""
    check_page(page, page_size)
    stmt = _feedback_query(actor)
    for col, value in (
        (Customer.code, code),
        (Feedback.category, category),
        (Feedback.sentiment, sentiment),
        (Feedback.channel, channel),
        (Feedback.status, status),
    ):
        if value is not None:
            stmt = stmt.where(col == value)
    if since is not None:
        stmt = stmt.where(Feedback.received_at >= since.replace(tzinfo=None))
    if until is not None:
        stmt = stmt.where(Feedback.received_at < until.replace(tzinfo=None))
    order = (Feedback.received_at.desc(), Feedback.id.desc())
    rows, total = fetch_page(session, stmt, order, page=page, page_size=page_size)
    return [feedback_dict(f, c) for f, c in rows], total


def reclassify_feedback(session: Session, *, actor: Actor, workspace: Path) -> int:
    """Classify again every row whose category was not set by a person; return how many."""
    require(actor, "refresh.run")
    rows = session.scalars(
        select(Feedback).where(
            (Feedback.category_source != "user") | Feedback.category_source.is_(None)
        )
    ).all()
    for fb, got in zip(rows, analyse([r.text for r in rows], workspace), strict=True):
        fb.category, fb.category_source = got["category"], got["category_source"]
        fb.sentiment, fb.sentiment_score = got["sentiment"], got["sentiment_score"]
    audit.record(
        session,
        actor=actor,
        action="feedback.reclassify",
        entity="feedback",
        changes={"rows": len(rows)},
    )
    return len(rows)


# --- training the category model from the team's labels ---------------------------------------


def train_category_model(
    session: Session, *, actor: Actor, workspace: Path, folds: int = 5
) -> dict[str, Any]:
    """Train the category model on the feedback people labelled; save it in the workspace.

    Returns the number of examples, the count per label, the model path and,
    when every label has at least :data:`MIN_PER_LABEL_FOR_CV` examples, the
    cross-validated macro-F1 of the model against the majority baseline.

    Raises
    ------
    SchemaError
        Fewer than :data:`MIN_TRAINING_ROWS` labelled texts, or a single label.
    """
    from kehu.analytics.feedback import FeedbackClassifier
    from kehu.analytics.feedback.evaluate import cross_validate

    require(actor, "refresh.run")
    rows = session.execute(
        select(Feedback.text, Feedback.category).where(
            Feedback.category_source == "user",
            Feedback.category.is_not(None),
            Feedback.text.is_not(None),
            func.length(func.trim(Feedback.text)) > 0,
        )
    ).all()
    if len(rows) < MIN_TRAINING_ROWS:
        raise SchemaError(
            f"only {len(rows)} labelled feedback texts; label at least {MIN_TRAINING_ROWS} "
            "(set their category) before training"
        )
    texts = [t for t, _ in rows]
    labels = [c for _, c in rows]
    counts: dict[str, int] = {}
    for c in labels:
        counts[c] = counts.get(c, 0) + 1
    model = FeedbackClassifier().fit(texts, labels)
    path = Path(workspace) / MODEL_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    out: dict[str, Any] = {
        "examples": len(rows),
        "labels": dict(sorted(counts.items())),
        "path": str(path),
        "lang": model.lang_,
        "cross_validation": None,
    }
    smallest = min(counts.values())
    if smallest >= MIN_PER_LABEL_FOR_CV:
        cv = cross_validate(model, texts, labels, folds=min(folds, smallest))
        out["cross_validation"] = {
            "folds": min(folds, smallest),
            "macro_f1": cv["model"]["macro_f1"],
            "accuracy": cv["model"]["accuracy"],
            "majority_macro_f1": cv["majority"]["macro_f1"],
        }
    audit.record(
        session,
        actor=actor,
        action="feedback.train",
        entity="feedback_model",
        changes={"examples": len(rows), "labels": out["labels"]},
    )
    return out


def delete_category_model(workspace: Path, *, actor: Actor) -> bool:
    """Go back to the lexicon categories; ``False`` when there was no model."""
    require(actor, "refresh.run")
    path = Path(workspace) / MODEL_FILE
    existed = path.is_file()
    path.unlink(missing_ok=True)
    return existed


# --- reports (SQL aggregates) ------------------------------------------------------------------


def period_of(column, period: str, dialect: str):
    """SQL text label of the ``period`` a timestamp falls in (same labels on SQLite and PostgreSQL).

    day ``2024-07-01``, week ``2024-07-01`` (its Monday), month ``2024-07``,
    quarter ``2024-Q3``, year ``2024``.
    """
    if period not in PERIODS:
        raise SchemaError(f"period {period!r} is not one of {', '.join(PERIODS)}")
    if dialect == "sqlite":
        if period == "day":
            return func.date(column)
        if period == "week":  # 'weekday 0' moves to the next Sunday (or stays); -6 days: Monday
            return func.date(column, "weekday 0", "-6 days")
        if period == "month":
            return func.strftime("%Y-%m", column)
        if period == "year":
            return func.strftime("%Y", column)
        quarter = (cast(func.strftime("%m", column), Integer) + 2) // 3
        year = func.strftime("%Y", column, type_=String)
        return year + "-Q" + cast(quarter, String)
    fmt = {
        "day": "YYYY-MM-DD",
        "week": "YYYY-MM-DD",
        "month": "YYYY-MM",
        "quarter": 'YYYY-"Q"Q',
        "year": "YYYY",
    }
    unit = {"week": "week"}.get(period, "day")
    return func.to_char(func.date_trunc(unit, column), fmt[period])


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _class_column(classifier: str):
    if classifier not in CLASS_COLUMNS:
        raise SchemaError(f"classifier {classifier!r} is not one of {', '.join(CLASS_COLUMNS)}")
    return getattr(ClassificationResult, classifier)


def _dimensions(by: Sequence[str], allowed: Sequence[str]) -> list[str]:
    by = list(dict.fromkeys(by))
    if not by:
        raise SchemaError(f"give at least one of {', '.join(allowed)} to group by")
    bad = [b for b in by if b not in allowed]
    if bad:
        raise SchemaError(f"cannot group by {', '.join(bad)}; choose from {', '.join(allowed)}")
    return by


def _grouped(
    session: Session,
    actor: Actor,
    model,
    time_col,
    by: Sequence[str],
    dims: dict[str, Any],
    metrics: dict[str, Any],
    where: list[Any],
    period: str,
    classifier: str,
) -> list[dict[str, Any]]:
    """One ``GROUP BY`` over ``model`` joined to its customer and the current run's class."""
    cols = dict(dims)
    if "period" in by:
        cols["period"] = period_of(time_col, period, _dialect(session))
    if "class" in by:
        cols["class"] = _class_column(classifier)
    stmt = select(*[cols[b].label(b) for b in by], *[m.label(k) for k, m in metrics.items()])
    stmt = stmt.select_from(model).outerjoin(Customer, Customer.id == model.customer_id)
    if "class" in by:
        run = current_run(session)
        stmt = stmt.outerjoin(
            ClassificationResult,
            and_(
                ClassificationResult.customer_id == model.customer_id,
                ClassificationResult.run_id == (run.id if run else -1),
            ),
        )
    stmt = scope_customers(stmt.where(*where), actor)
    keys = [cols[b] for b in by]
    stmt = stmt.group_by(*keys).order_by(*keys)
    return [dict(r._mapping) for r in session.execute(stmt)]


def _time_window(col, since, until) -> list[Any]:
    out = []
    if since is not None:
        out.append(col >= _as_datetime(since))
    if until is not None:
        out.append(col < _as_datetime(until))
    return out


def _as_datetime(value: dt.date | dt.datetime) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.replace(tzinfo=None)
    return dt.datetime.combine(value, dt.time())


def feedback_report(
    session: Session,
    *,
    actor: Actor,
    by: Sequence[str] = ("category",),
    period: str = "month",
    classifier: str = "rfm8",
    since: dt.date | dt.datetime | None = None,
    until: dt.date | dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """Feedback counted by category, sentiment, channel, customer class and/or period.

    Each row: the grouping keys, ``feedback`` (count), ``negative`` (count),
    ``negative_share`` and ``avg_rating`` (over rated rows).  ``class`` is the
    customer's class of ``classifier`` in the current run (``None``: no
    customer or not classified).
    """
    by = _dimensions(by, REPORT_DIMENSIONS)
    negative = func.sum(case((Feedback.sentiment == "negative", 1), else_=0))
    metrics = {
        "feedback": func.count(Feedback.id),
        "negative": negative,
        "negative_share": cast(negative, Float) / func.count(Feedback.id),
        "avg_rating": func.avg(cast(Feedback.rating, Float)),
    }
    dims = {
        "category": Feedback.category,
        "sentiment": Feedback.sentiment,
        "channel": Feedback.channel,
    }
    rows = _grouped(
        session,
        actor,
        Feedback,
        Feedback.received_at,
        by,
        dims,
        metrics,
        _time_window(Feedback.received_at, since, until),
        period,
        classifier,
    )
    for r in rows:
        r["negative"] = int(r["negative"] or 0)
        r["avg_rating"] = None if r["avg_rating"] is None else float(r["avg_rating"])
    return rows


# --- surveys -------------------------------------------------------------------------------------


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
