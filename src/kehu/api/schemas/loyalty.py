"""Bodies and answers of the loyalty endpoints."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, StrictFloat, model_validator

from kehu.api.schemas.common import Date, Integer, Key, Name, NonZero, Text, UtcDateTime
from kehu.services.loyalty import MAX_POINTS, MAX_REFUND_ID, ProgramRules, about
from kehu.store.models import LedgerEntry

RulesIn = ProgramRules


class EnrollIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    birthday: Date | None = Field(default=None, description="for the birthday reward")


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    points: Integer(1, MAX_POINTS)
    request_id: Text(100, 1) | None = Field(
        default=None, description="makes a retried request harmless (same id, same points)"
    )
    note: Text(500) | None = None


class AdjustIn(BaseModel):
    """A manual correction: positive points are a goodwill credit, negative a debit."""

    model_config = ConfigDict(extra="forbid")

    points: NonZero(MAX_POINTS) = Field(description="not zero", examples=[200])
    reason: Name(500) = Field(examples=["goodwill: late delivery of order O123"])
    request_id: Text(100, 1) | None = Field(
        default=None, description="makes a retried request harmless (same id, same points)"
    )


class ReverseIn(BaseModel):
    """A refund of ``refund_amount`` (with its ``refund_id``), or a cancellation without them."""

    model_config = ConfigDict(extra="forbid")

    refund_amount: StrictFloat | None = Field(default=None, gt=0, le=1e12, allow_inf_nan=False)
    refund_id: Text(MAX_REFUND_ID, 1) | None = None
    reason: Text(500) | None = None


class ReferralIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    referrer_id: Key
    referred_id: Key


class AsOfIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    as_of: Date


class EntryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    key: str
    kind: str
    points: int
    balance_after: int
    debt: int = Field(description="change of the points debt")
    expires_on: Date | None
    posted_at: UtcDateTime
    note: str | None = Field(description="a person's words: the reason or redemption note")
    about: dict[str, str | int] = Field(
        description="what the system did, as data: `what` (earn, cancel, refund, settle, "
        "birthday, expire, referral, manual) with `order`, `refund`, `debt`, `points`, "
        "`when` or `customer`",
        examples=[{"what": "earn", "order": "SO-1001"}],
    )

    @model_validator(mode="before")
    @classmethod
    def _about(cls, data: Any) -> Any:
        if isinstance(data, LedgerEntry):
            fields = ("id", "key", "kind", "points", "balance_after", "debt", "expires_on")
            return {k: getattr(data, k) for k in (*fields, "posted_at", "note")} | {
                "about": about(data)
            }
        return data


class PostingOut(BaseModel):
    customer_id: str
    created: bool = Field(description="false when the same posting had been made before")
    balance: int
    debt: int
    entry: EntryOut
    settlement: EntryOut | None = Field(description="debt settled out of this credit")
    reversed: int | None = None


class LotOut(BaseModel):
    entry_id: int
    kind: str
    points: int
    remaining: int
    expires_on: Date | None


class ExpiryOut(BaseModel):
    date: Date
    points: int


class AccountOut(BaseModel):
    customer_id: str
    enrolled: bool
    balance: int
    debt: int
    lifetime_points: int
    tier: str | None
    tier_since: Date | None
    birthday: Date | None
    lots: list[LotOut] = Field(description="open lots, oldest-expiring first")
    next_expiry: ExpiryOut | None
    consistent: bool = Field(description="cached balance and debt agree with the ledger")


class LedgerPageOut(BaseModel):
    items: list[EntryOut]
    total: int


class TiersOut(BaseModel):
    as_of: Date
    basis: str
    counts: dict[str, int]
    changed: int


class ExpireOut(BaseModel):
    accounts: int
    points: int


class BirthdaysOut(BaseModel):
    posted: int
