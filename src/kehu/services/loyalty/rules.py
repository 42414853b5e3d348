"""The programme's rules (tiers, earning rates, expiry, rewards), stored as versions."""

from __future__ import annotations

import itertools
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.exceptions import SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.store.models.loyalty import LoyaltyRules

#: order statuses that earn nothing
CANCELLED = frozenset({"cancelled", "canceled", "void", "取消", "已取消"})


#: kinds of credits (lots) and what counts as growth value
CREDIT_KINDS = ("earn", "referral", "birthday")


MAX_POINTS = 10**9


#: longest refund id (the posting key must fit its 200 characters)
MAX_REFUND_ID = 50


#: a name stored in the rules: bounded, without NUL (databases cannot store it)
Name = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[^\x00]*$")]


def _json_number(value: Any) -> Any:
    """A number as JSON writes it: ``true`` and ``"5"``, which pydantic alone takes, are refused."""
    if isinstance(value, bool | str):
        raise ValueError("must be a JSON number")
    return value


#: a whole number or any number of the rules, never a boolean or a text
WholeNumber = Annotated[int, BeforeValidator(_json_number)]


# constraints before the validator: after it, pydantic writes them into the JSON schema raw
Number = Annotated[float, Field(allow_inf_nan=False), BeforeValidator(_json_number)]


Multiplier = Annotated[
    float, Field(ge=0, le=100, allow_inf_nan=False), BeforeValidator(_json_number)
]


class Tier(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[Name, StringConstraints(max_length=32)]
    threshold: Number = Field(ge=0, le=1e12, description="minimum spend or growth value")
    factor: Number = Field(default=1.0, gt=0, le=100, description="points multiplier")


DEFAULT_TIERS = [
    Tier(name="普通", threshold=0, factor=1.0),
    Tier(name="银卡", threshold=2000, factor=1.2),
    Tier(name="金卡", threshold=5000, factor=1.5),
    Tier(name="白金", threshold=10000, factor=1.8),
    Tier(name="钻石", threshold=20000, factor=2.0),
]


class ProgramRules(BaseModel):
    """The programme's rules; the newest stored version is in force."""

    model_config = ConfigDict(extra="forbid")

    tier_basis: Literal["spend", "growth"] = Field(
        default="spend", description="spend (yuan) or growth value (points earned) in the window"
    )
    tier_window_days: WholeNumber = Field(default=365, ge=1, le=3660)
    tiers: list[Tier] = Field(
        default_factory=lambda: list(DEFAULT_TIERS), min_length=1, max_length=20
    )
    points_per_yuan: Number = Field(default=1.0, ge=0, le=1000)
    category_multipliers: dict[Name, Multiplier] = Field(default_factory=dict, max_length=1000)
    excluded_products: list[Name] = Field(default_factory=list, max_length=10_000)
    expiry_days: WholeNumber | None = Field(default=730, ge=1, le=36500, description="null: never")
    referral_points: WholeNumber = Field(default=500, ge=0, le=MAX_POINTS)
    birthday_points: WholeNumber = Field(default=200, ge=0, le=MAX_POINTS)

    @model_validator(mode="after")
    def _tiers_ascending(self) -> ProgramRules:
        names = [t.name for t in self.tiers]
        if len(set(names)) != len(names):
            raise ValueError("tier names must be unique")
        limits = [t.threshold for t in self.tiers]
        if limits[0] != 0 or any(a >= b for a, b in itertools.pairwise(limits)):
            raise ValueError("tier thresholds must start at 0 and strictly increase")
        return self

    def tier_for(self, value: float) -> Tier:
        return [t for t in self.tiers if t.threshold <= value][-1]

    def factor_of(self, tier: str | None) -> float:
        return next((t.factor for t in self.tiers if t.name == tier), self.tiers[0].factor)


def parse_rules(data: dict[str, Any] | ProgramRules) -> ProgramRules:
    """Validate rules given as a dict; :class:`SchemaError` says what is wrong."""
    if isinstance(data, ProgramRules):
        return data
    try:
        return ProgramRules.model_validate(data)
    except ValidationError as exc:
        e = exc.errors()[0]
        where = ".".join(str(p) for p in e["loc"]) or "rules"
        raise SchemaError(f"loyalty rules: {where}: {e['msg']}") from None


def current_rules(session: Session) -> ProgramRules:
    row = session.scalar(select(LoyaltyRules).order_by(LoyaltyRules.id.desc()).limit(1))
    return ProgramRules() if row is None else parse_rules(row.rules)


def set_rules(
    session: Session, *, actor: Actor, rules: dict[str, Any] | ProgramRules
) -> ProgramRules:
    """Store a new version of the rules (the previous versions stay)."""
    require(actor, "loyalty.manage")
    parsed = parse_rules(rules)
    session.add(LoyaltyRules(rules=parsed.model_dump(mode="json"), created_by=actor.user_id))
    audit.record(
        session, actor=actor, action="loyalty.rules", entity="loyalty", changes=parsed.model_dump()
    )
    session.flush()
    return parsed
