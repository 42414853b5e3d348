"""Feedback, categories, the category model, reports and survey answers."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kehu.api.schemas.common import Integer, Key, LongText, Name, Text, UtcDateTime

FeedbackStatus = Literal["open", "in_progress", "resolved", "closed"]
Survey = Literal["nps", "csat"]


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: Key | None = None
    order_id: Text(128, 1) | None = Field(default=None, description="the order it is about")
    channel: Text(32) | None = Field(default=None, description="app, phone, wechat, store ...")
    rating: Integer(1, 5) | None = None
    text: LongText | None = None
    category: Text(64, 1) | None = Field(
        default=None, description="set by a person: kept as a label for training"
    )
    received_at: UtcDateTime | None = None


class FeedbackPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    category: Text(64, 1) | None = None
    status: FeedbackStatus | None = None


class FeedbackOut(BaseModel):
    id: int
    customer_id: str | None
    order_id: str | None
    channel: str | None
    rating: int | None
    text: str | None
    category: str | None
    category_source: str | None = Field(description="lexicon, model or user")
    sentiment: str | None
    sentiment_score: float | None
    status: str
    received_at: UtcDateTime
    lang: str | None
    terms: list[str]


class FeedbackPage(BaseModel):
    items: list[FeedbackOut]
    total: int
    page: int
    page_size: int


class CategoryTerms(BaseModel):
    model_config = ConfigDict(extra="forbid")

    zh: list[Name(64)] | None = Field(default=None, max_length=2000)
    en: list[Name(64)] | None = Field(default=None, max_length=2000)


class CategoriesIn(BaseModel):
    """Changes to the default categories: a name with terms adds or replaces, null removes."""

    model_config = ConfigDict(extra="forbid")

    categories: dict[Name(64), CategoryTerms | None] | None = Field(
        default=None, description="null restores the defaults"
    )


class TrainOut(BaseModel):
    examples: int
    labels: dict[str, int]
    path: str
    lang: str
    cross_validation: dict[str, Any] | None


class ReportRow(BaseModel):
    model_config = ConfigDict(extra="allow")

    feedback: int
    negative: int
    negative_share: float
    avg_rating: float | None


class AnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    survey: Survey
    score: Integer(0, 10) = Field(description="NPS 0-10, CSAT 1-5")
    customer_id: Key | None = None
    comment: LongText | None = None
    answered_at: UtcDateTime | None = None


class AnswerOut(BaseModel):
    id: int
    customer_id: str | None
    survey: str
    score: int
    comment: str | None
    answered_at: UtcDateTime


class AnswerPage(BaseModel):
    items: list[AnswerOut]
    total: int
    page: int
    page_size: int


class ScoreRow(BaseModel):
    model_config = ConfigDict(extra="allow")

    answers: int
    avg_score: float
