"""Loyalty: tiers, earning, redemption, expiry, reversals, referral and birthday rewards.

The ledger
    Every change of points is one :class:`LedgerEntry`, never updated or
    deleted (migration 0002 makes the database refuse an UPDATE of a posting's
    figures).  ``key`` is the posting's natural key and unique, so the same
    thing never posts twice: ``earn:order:<order>``,
    ``reverse:order:<order>:<refund>``, ``redeem:<account>:<request>``,
    ``referral:<referred customer>``, ``birthday:<account>:<year>``,
    ``expire:<account>:<date>``, ``settle:<key of the earning>``.  The account
    caches ``balance`` (= sum of points = last ``balance_after``) and ``debt``
    (= sum of debt changes); :func:`check_account` verifies both.

Lots and expiry
    A credit (earning, referral, birthday) is a lot expiring ``expiry_days``
    after the order date (or the posting).  Debits (redemptions, expiries,
    reversals) consume lots oldest-expiring first, so what is left of each lot
    is *derived* from the ledger: lot ``i`` in (expiry, id) order keeps
    ``clamp(cumulative credits through i - total debits, 0, points_i)``.

Reversals and the debt rule
    A refund of ``r`` out of an order of ``A`` reverses ``round(E * r / A)`` of
    the ``E`` points the order earned (a cancellation reverses what is left),
    never more than ``E`` in total.  If part of those points were already
    spent, the balance only goes to zero; the shortfall is recorded as the
    account's *debt* (on the entry and cached on the account) and settled from
    the next credits, which post in full and are followed by a ``reverse``
    entry ``settle:<key>`` taking back up to the debt.

Concurrency
    A posting locks the account row (``SELECT ... FOR UPDATE``) on PostgreSQL;
    on SQLite it takes the database write lock first (``BEGIN IMMEDIATE``), so
    postings serialise and each sees the previous one's balance.  The
    balance check, the key check and the insert happen under that lock;
    creating an account uses ``INSERT ... ON CONFLICT DO NOTHING``.  The
    account's ``version`` column adds an optimistic check on top.

Roles
    Reading an account follows the rep-scoping rule; posting needs a role of
    ``loyalty.post`` and the customer in scope; the programme (rules, tier
    recomputation, expiry and birthday runs, adjustments) needs ``loyalty.manage``.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import uuid
from dataclasses import dataclass, field
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
from sqlalchemy import case, extract, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from kehu.exceptions import ConflictError, NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.scope import scoped_customer
from kehu.store.models import Customer, LedgerEntry, LoyaltyAccount, Order, OrderLine, Product
from kehu.store.models.base import utcnow
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


# --- rules -------------------------------------------------------------------------------------


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


# --- locking -----------------------------------------------------------------------------------


def serialise_writes(session: Session) -> None:
    """On SQLite take the database write lock now (``BEGIN IMMEDIATE``).

    Without it two transactions could both read a balance and then race to
    write.  If the connection is already in a transaction that has written,
    it holds the write lock already.  PostgreSQL uses row locks instead.
    """
    con = session.connection()
    if con.dialect.name == "sqlite" and not con.connection.driver_connection.in_transaction:
        con.exec_driver_sql("BEGIN IMMEDIATE")


def _insert(session: Session):
    return postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert


def _locked_account(session: Session, customer: Customer) -> LoyaltyAccount:
    """The customer's account, created if missing, locked for this transaction."""
    serialise_writes(session)
    stmt = (
        _insert(session)(LoyaltyAccount)
        .values(
            customer_id=customer.id,
            balance=0,
            lifetime_points=0,
            debt=0,
            version=1,
            created_at=utcnow(),
        )
        .on_conflict_do_nothing(index_elements=["customer_id"])
    )
    session.execute(stmt)
    return session.scalars(
        select(LoyaltyAccount)
        .where(LoyaltyAccount.customer_id == customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


# --- postings ----------------------------------------------------------------------------------


@dataclass
class Posting:
    """The outcome of a posting; ``created`` is false when the key had been posted before."""

    account: LoyaltyAccount
    entry: LedgerEntry
    created: bool
    settlement: LedgerEntry | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _by_key(session: Session, key: str) -> LedgerEntry | None:
    return session.scalar(select(LedgerEntry).where(LedgerEntry.key == key))


def _retried(
    session: Session,
    account: LoyaltyAccount,
    key: str,
    points: int,
    request_id: str | None,
    sign: int,
) -> Posting | None:
    """The posting of an earlier request with this key, or ``None``.

    A retry must ask for the same ``points`` (as posted); the message shows
    them as the caller's request had them (``sign * points``).
    """
    if (done := _by_key(session, key)) is None:
        return None
    if done.points != points:
        shown = sign * done.points
        raise ConflictError(f"request {request_id!r} was posted with {shown} points")
    return Posting(account, done, False)


def _post(
    session: Session,
    account: LoyaltyAccount,
    actor: Actor,
    *,
    key: str,
    kind: str,
    points: int,
    debt: int = 0,
    order_id: int | None = None,
    expires_on: dt.date | None = None,
    note: str | None = None,
) -> LedgerEntry:
    """Append one entry and move the cached balance; the caller holds the account lock."""
    balance = account.balance + points
    if balance < 0:  # every caller checks first; this is the last line of defence
        raise ConflictError(f"points balance would become negative ({balance})")
    entry = LedgerEntry(
        account_id=account.id,
        key=key,
        kind=kind,
        points=points,
        balance_after=balance,
        debt=debt,
        expires_on=expires_on,
        order_id=order_id,
        posted_by=actor.user_id,
        note=note,
    )
    session.add(entry)
    account.balance = balance
    account.debt = account.debt + debt
    if kind in CREDIT_KINDS:
        account.lifetime_points = account.lifetime_points + points
    session.flush()
    return entry


def _credit(
    session: Session,
    account: LoyaltyAccount,
    actor: Actor,
    *,
    key: str,
    kind: str,
    points: int,
    expires_on: dt.date | None,
    order_id: int | None = None,
    note: str | None = None,
) -> Posting:
    """Post a credit, then settle any debt out of it (the debt rule)."""
    entry = _post(
        session,
        account,
        actor,
        key=key,
        kind=kind,
        points=points,
        order_id=order_id,
        expires_on=expires_on,
        note=note,
    )
    settlement = None
    owed = min(points, account.debt)
    if owed > 0:
        settlement = _post(
            session,
            account,
            actor,
            key=f"settle:{key}",
            kind="reverse",
            points=-owed,
            debt=-owed,
            order_id=order_id,
            note=f"settles {owed} points of debt from reversed, already spent points",
        )
    return Posting(account, entry, True, settlement)


def _customer_of_order(session: Session, actor: Actor, order_no: str) -> tuple[Order, Customer]:
    order = session.scalar(select(Order).where(Order.order_no == str(order_no)))
    owner = session.get(Customer, order.customer_id) if order and order.customer_id else None
    if order is None or owner is None:
        raise NotFoundError(f"no order {order_no!r} of a known customer")
    try:
        customer = scoped_customer(session, actor=actor, code=owner.code)
    except NotFoundError:
        raise NotFoundError(f"no order {order_no!r} of a known customer") from None
    return order, customer


def _expiry(rules: ProgramRules, day: dt.date) -> dt.date | None:
    return None if rules.expiry_days is None else day + dt.timedelta(days=rules.expiry_days)


def earnable_amount(session: Session, order: Order, rules: ProgramRules) -> float:
    """The order's amount that earns, weighted by category multipliers (returns net out)."""
    mult = rules.category_multipliers
    weight = (
        case(*[(Product.category == cat, m) for cat, m in mult.items()], else_=1.0) if mult else 1.0
    )
    stmt = (
        select(func.coalesce(func.sum(OrderLine.amount * weight), 0.0))
        .select_from(OrderLine)
        .outerjoin(Product, Product.code == OrderLine.product_code)
        .where(OrderLine.order_id == order.id)
    )
    if rules.excluded_products:
        stmt = stmt.where(
            OrderLine.product_code.is_(None)
            | OrderLine.product_code.not_in(rules.excluded_products)
        )
    return max(float(session.scalar(stmt) or 0.0), 0.0)


def earn_for_order(
    session: Session, *, actor: Actor, order_no: str, rules: ProgramRules | None = None
) -> Posting:
    """Post the points an order earns, once: a second call returns the first posting.

    Points = floor(earnable amount x points per yuan x the tier's factor), the
    earnable amount weighting each line by its category's multiplier and
    leaving out excluded products.  A cancelled order earns nothing (409).
    """
    require(actor, "loyalty.post")
    order, customer = _customer_of_order(session, actor, order_no)
    if (order.status or "").strip().lower() in CANCELLED:
        raise ConflictError(f"order {order_no!r} is cancelled and earns no points")
    rules = rules or current_rules(session)
    account = _locked_account(session, customer)
    key = f"earn:order:{order.order_no}"
    if (done := _by_key(session, key)) is not None:
        return Posting(account, done, False)
    base = earnable_amount(session, order, rules)
    factor = rules.factor_of(account.tier)
    # rounding down to whole points; the tiny epsilon keeps 2.3 x 100 = 229.99.. at 230
    points = min(math.floor(base * rules.points_per_yuan * factor + 1e-9), MAX_POINTS)
    return _credit(
        session,
        account,
        actor,
        key=key,
        kind="earn",
        points=points,
        expires_on=_expiry(rules, order.order_time.date()),
        order_id=order.id,
        note=f"order {order.order_no}: {base:.2f} yuan x {rules.points_per_yuan} x {factor}",
    )


def reverse_order(
    session: Session,
    *,
    actor: Actor,
    order_no: str,
    refund_amount: float | None = None,
    refund_id: str | None = None,
    reason: str | None = None,
) -> Posting:
    """Reverse an order's points for a refund of ``refund_amount`` or, without it, a cancellation.

    A partial refund needs a ``refund_id`` (its natural key).  The balance
    never goes below zero: the shortfall becomes debt (see the module notes).
    """
    require(actor, "loyalty.post")
    order, customer = _customer_of_order(session, actor, order_no)
    full = refund_amount is None
    if not full:
        if not refund_id:
            raise SchemaError("a partial refund needs a refund_id (its natural key)")
        if len(refund_id) > MAX_REFUND_ID:
            raise SchemaError(f"refund_id must be at most {MAX_REFUND_ID} characters")
        if not (refund_amount > 0 and math.isfinite(refund_amount)):
            raise SchemaError(f"refund_amount must be positive, got {refund_amount}")
        if refund_amount > order.amount + 1e-9:
            raise SchemaError(
                f"refund of {refund_amount} exceeds order {order_no!r}'s amount {order.amount}"
            )
    account = _locked_account(session, customer)
    key = f"reverse:order:{order.order_no}:{'cancel' if full else refund_id}"
    if (done := _by_key(session, key)) is not None:
        return Posting(account, done, False)
    earned = _by_key(session, f"earn:order:{order.order_no}")
    if earned is None:
        raise ConflictError(f"order {order_no!r} has earned no points to reverse")
    prefix = f"reverse:order:{order.order_no}:"
    done_sum = session.execute(
        select(func.coalesce(func.sum(-LedgerEntry.points + LedgerEntry.debt), 0)).where(
            LedgerEntry.key.startswith(prefix, autoescape=True)
        )
    ).scalar_one()
    left = max(earned.points - int(done_sum), 0)
    if full:
        want = left
    else:
        share = refund_amount / order.amount if order.amount > 0 else 1.0
        want = min(left, round(earned.points * share))
    take = min(want, account.balance)
    short = want - take
    note = f"{'cancellation' if full else f'refund {refund_amount}'} of order {order.order_no}"
    if short:
        note += f"; {short} points already spent, recorded as debt"
    if reason:
        note += f": {reason}"
    entry = _post(
        session,
        account,
        actor,
        key=key,
        kind="reverse",
        points=-take,
        debt=short,
        order_id=order.id,
        note=note,
    )
    return Posting(account, entry, True, extra={"reversed": want, "debt": short})


def redeem(
    session: Session,
    *,
    actor: Actor,
    code: str,
    points: int,
    request_id: str | None = None,
    note: str | None = None,
) -> Posting:
    """Spend points; :class:`ConflictError` if the balance is short.

    ``request_id`` makes a retried request harmless (same id, same points).
    """
    require(actor, "loyalty.post")
    if not isinstance(points, int) or not 0 < points <= MAX_POINTS:
        raise SchemaError(f"points to redeem must be a whole number from 1 to {MAX_POINTS}")
    customer = scoped_customer(session, actor=actor, code=code)
    account = _locked_account(session, customer)
    key = f"redeem:{account.id}:{request_id or uuid.uuid4().hex}"
    if (done := _retried(session, account, key, -points, request_id, sign=-1)) is not None:
        return done
    if account.balance < points:
        raise ConflictError(
            f"customer {code!r} has {account.balance} points, cannot redeem {points}"
        )
    entry = _post(session, account, actor, key=key, kind="redeem", points=-points, note=note)
    return Posting(account, entry, True)


def adjust(
    session: Session,
    *,
    actor: Actor,
    code: str,
    points: int,
    reason: str,
    request_id: str | None = None,
) -> Posting:
    """A manual correction by a programme manager: goodwill credit or correction debit.

    A credit (``points > 0``) is a lot like any other (it expires by the rules
    and first settles debt); a debit may not take the balance below zero.  The
    reason is required and goes to the ledger note and the audit log;
    ``request_id`` makes a retried request harmless.
    """
    require(actor, "loyalty.manage")
    if not isinstance(points, int) or isinstance(points, bool) or not 0 < abs(points) <= MAX_POINTS:
        raise SchemaError(
            f"points to adjust must be a whole number from 1 to {MAX_POINTS}, or minus"
        )
    reason = (reason or "").strip()
    if not reason:
        raise SchemaError("an adjustment needs a reason")
    customer = scoped_customer(session, actor=actor, code=code)
    account = _locked_account(session, customer)
    key = f"adjust:{account.id}:{request_id or uuid.uuid4().hex}"
    if (done := _retried(session, account, key, points, request_id, sign=1)) is not None:
        return done
    if points < 0 and account.balance < -points:
        raise ConflictError(
            f"customer {code!r} has {account.balance} points, cannot take away {-points}"
        )
    audit.record(
        session,
        actor=actor,
        action="loyalty.adjust",
        entity="customer",
        entity_id=str(code),
        changes={"points": points, "reason": reason},
    )
    if points > 0:
        rules = current_rules(session)
        return _credit(
            session,
            account,
            actor,
            key=key,
            kind="adjust",
            points=points,
            expires_on=_expiry(rules, utcnow().date()),
            note=reason,
        )
    entry = _post(session, account, actor, key=key, kind="adjust", points=points, note=reason)
    return Posting(account, entry, True)


def reward_referral(
    session: Session,
    *,
    actor: Actor,
    referrer_code: str,
    referred_code: str,
    rules: ProgramRules | None = None,
) -> Posting:
    """Reward the referrer of a new customer; each referred customer rewards once."""
    require(actor, "loyalty.post")
    if str(referrer_code) == str(referred_code):
        raise SchemaError("a customer cannot refer themselves")
    referrer = scoped_customer(session, actor=actor, code=referrer_code)
    scoped_customer(session, actor=actor, code=referred_code)
    rules = rules or current_rules(session)
    account = _locked_account(session, referrer)
    key = f"referral:{referred_code}"
    if (done := _by_key(session, key)) is not None:
        if done.account_id != account.id:
            raise ConflictError(f"customer {referred_code!r} was referred by someone else")
        return Posting(account, done, False)
    return _credit(
        session,
        account,
        actor,
        key=key,
        kind="referral",
        points=rules.referral_points,
        expires_on=_expiry(rules, utcnow().date()),
        note=f"referred {referred_code}",
    )


def enroll(
    session: Session, *, actor: Actor, code: str, birthday: dt.date | None = None
) -> LoyaltyAccount:
    """Open the customer's account (or return it); set the birthday when given."""
    require(actor, "loyalty.post")
    customer = scoped_customer(session, actor=actor, code=code)
    account = _locked_account(session, customer)
    if birthday is not None and account.birthday != birthday:
        account.birthday = birthday
        session.flush()
    return account


# --- batch jobs ---------------------------------------------------------------------------------


def birthday_rewards(
    session: Session, *, actor: Actor, as_of: dt.date, rules: ProgramRules | None = None
) -> int:
    """Reward members whose birthday is in ``as_of``'s month, once a year; the number posted."""
    require(actor, "loyalty.manage")
    rules = rules or current_rules(session)
    serialise_writes(session)
    ids = session.scalars(
        select(LoyaltyAccount.customer_id).where(
            LoyaltyAccount.birthday.is_not(None),
            extract("month", LoyaltyAccount.birthday) == as_of.month,
        )
    ).all()
    posted = 0
    for cid in ids:
        account = _locked_account(session, session.get(Customer, cid))
        key = f"birthday:{account.id}:{as_of.year}"
        if _by_key(session, key) is None and rules.birthday_points > 0:
            _credit(
                session,
                account,
                actor,
                key=key,
                kind="birthday",
                points=rules.birthday_points,
                expires_on=_expiry(rules, as_of),
                note=f"birthday {as_of.year}",
            )
            posted += 1
    return posted


@dataclass(frozen=True)
class Lot:
    entry_id: int
    kind: str
    points: int
    remaining: int
    expires_on: dt.date | None


def lots(session: Session, account_id: int) -> list[Lot]:
    """What is left of each credit, consumed oldest-expiring first (derived, see module notes)."""
    credits = session.execute(
        select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.points, LedgerEntry.expires_on)
        .where(LedgerEntry.account_id == account_id, LedgerEntry.points > 0)
        .order_by(LedgerEntry.expires_on.asc().nulls_last(), LedgerEntry.id)
    ).all()
    used = -session.execute(
        select(func.coalesce(func.sum(LedgerEntry.points), 0)).where(
            LedgerEntry.account_id == account_id, LedgerEntry.points < 0
        )
    ).scalar_one()
    out, cum = [], 0
    for eid, kind, points, expires in credits:
        cum += points
        out.append(Lot(eid, kind, points, min(max(cum - used, 0), points), expires))
    return out


def expire_points(session: Session, *, actor: Actor, as_of: dt.date) -> dict[str, int]:
    """Expire what is left of lots with ``expires_on <= as_of``; idempotent per day.

    Returns ``{"accounts": n, "points": total}`` of this run.
    """
    require(actor, "loyalty.manage")
    serialise_writes(session)
    candidates = session.scalars(
        select(LedgerEntry.account_id)
        .join(LoyaltyAccount, LoyaltyAccount.id == LedgerEntry.account_id)
        .where(LedgerEntry.points > 0, LedgerEntry.expires_on <= as_of, LoyaltyAccount.balance > 0)
        .distinct()
    ).all()
    accounts = total = 0
    for account_id in sorted(candidates):
        account = session.get(LoyaltyAccount, account_id)
        account = _locked_account(session, session.get(Customer, account.customer_id))
        key = f"expire:{account.id}:{as_of.isoformat()}"
        if _by_key(session, key) is not None:
            continue
        due = sum(
            lot.remaining
            for lot in lots(session, account.id)
            if lot.expires_on is not None and lot.expires_on <= as_of
        )
        due = min(due, account.balance)
        if due > 0:
            _post(
                session,
                account,
                actor,
                key=key,
                kind="expire",
                points=-due,
                note=f"points expired by {as_of.isoformat()}",
            )
            accounts += 1
            total += due
    return {"accounts": accounts, "points": total}


def recompute_tiers(
    session: Session, *, actor: Actor, as_of: dt.date, rules: ProgramRules | None = None
) -> dict[str, Any]:
    """Set every member's tier from spend (or growth value) in the window ending ``as_of``.

    Customers with spend in the window get an account.  Returns the count per
    tier and the number of members whose tier changed.
    """
    require(actor, "loyalty.manage")
    rules = rules or current_rules(session)
    serialise_writes(session)
    start = dt.datetime.combine(as_of - dt.timedelta(days=rules.tier_window_days - 1), dt.time())
    end = dt.datetime.combine(as_of + dt.timedelta(days=1), dt.time())
    if rules.tier_basis == "spend":
        value = (
            select(Order.customer_id.label("cid"), func.sum(Order.amount).label("value"))
            .where(
                Order.customer_id.is_not(None),
                Order.order_time >= start,
                Order.order_time < end,
                func.lower(func.coalesce(Order.status, "")).not_in(CANCELLED),
            )
            .group_by(Order.customer_id)
        )
        with_spend = [cid for cid, v in session.execute(value) if (v or 0) > 0]
        for chunk in range(0, len(with_spend), 1000):
            rows = [
                {
                    "customer_id": c,
                    "balance": 0,
                    "lifetime_points": 0,
                    "debt": 0,
                    "version": 1,
                    "created_at": utcnow(),
                }
                for c in with_spend[chunk : chunk + 1000]
            ]
            session.execute(
                _insert(session)(LoyaltyAccount)
                .values(rows)
                .on_conflict_do_nothing(index_elements=["customer_id"])
            )
    else:
        value = (
            select(
                LoyaltyAccount.customer_id.label("cid"), func.sum(LedgerEntry.points).label("value")
            )
            .join(LedgerEntry, LedgerEntry.account_id == LoyaltyAccount.id)
            .where(
                LedgerEntry.posted_at >= start,
                LedgerEntry.posted_at < end,
                LedgerEntry.kind.in_(CREDIT_KINDS) | (LedgerEntry.key.startswith("reverse:order:")),
            )
            .group_by(LoyaltyAccount.customer_id)
        )
    values = {cid: float(v or 0.0) for cid, v in session.execute(value)}
    accounts = session.execute(
        select(LoyaltyAccount.id, LoyaltyAccount.customer_id, LoyaltyAccount.tier)
    ).all()
    moves: dict[str, list[int]] = {}
    counts = {t.name: 0 for t in rules.tiers}
    for aid, cid, old in accounts:
        new = rules.tier_for(max(values.get(cid, 0.0), 0.0)).name
        counts[new] += 1
        if new != old:
            moves.setdefault(new, []).append(aid)
    for tier, ids in moves.items():
        for chunk in range(0, len(ids), 1000):
            session.execute(
                update(LoyaltyAccount)
                .where(LoyaltyAccount.id.in_(ids[chunk : chunk + 1000]))
                .values(tier=tier, tier_since=as_of, version=LoyaltyAccount.version + 1)
                .execution_options(synchronize_session=False)
            )
    changed = sum(len(v) for v in moves.values())
    audit.record(
        session,
        actor=actor,
        action="loyalty.tiers",
        entity="loyalty",
        changes={"as_of": as_of, "changed": changed, "counts": counts},
    )
    session.flush()
    return {"as_of": as_of, "basis": rules.tier_basis, "counts": counts, "changed": changed}


# --- reading -----------------------------------------------------------------------------------


def check_account(session: Session, account: LoyaltyAccount) -> list[str]:
    """Problems of the cached figures against the ledger (empty when consistent)."""
    total, debt, n = session.execute(
        select(
            func.coalesce(func.sum(LedgerEntry.points), 0),
            func.coalesce(func.sum(LedgerEntry.debt), 0),
            func.count(LedgerEntry.id),
        ).where(LedgerEntry.account_id == account.id)
    ).one()
    last = session.scalar(
        select(LedgerEntry.balance_after)
        .where(LedgerEntry.account_id == account.id)
        .order_by(LedgerEntry.id.desc())
        .limit(1)
    )
    problems = []
    if account.balance != total:
        problems.append(f"balance {account.balance} != ledger sum {total}")
    if n and last != account.balance:
        problems.append(f"balance {account.balance} != last balance_after {last}")
    if account.debt != debt:
        problems.append(f"debt {account.debt} != ledger debt {debt}")
    if account.balance < 0 or account.debt < 0:
        problems.append("negative balance or debt")
    negative = session.scalar(
        select(func.count(LedgerEntry.id)).where(
            LedgerEntry.account_id == account.id, LedgerEntry.balance_after < 0
        )
    )
    if negative:
        problems.append(f"{negative} entries with a negative balance_after")
    return problems


def _account_of(
    session: Session, actor: Actor, code: str
) -> tuple[Customer, LoyaltyAccount | None]:
    customer = scoped_customer(session, actor=actor, code=code)
    account = session.scalar(
        select(LoyaltyAccount)
        .where(LoyaltyAccount.customer_id == customer.id)
        .execution_options(populate_existing=True)
    )
    return customer, account


def account_summary(
    session: Session, *, actor: Actor, code: str, as_of: dt.date | None = None
) -> dict[str, Any]:
    """Balance, tier, debt, the open lots and the next expiry of a customer's account."""
    customer, account = _account_of(session, actor, code)
    if account is None:
        return {
            "customer_id": customer.code,
            "enrolled": False,
            "balance": 0,
            "debt": 0,
            "lifetime_points": 0,
            "tier": None,
            "tier_since": None,
            "birthday": None,
            "lots": [],
            "next_expiry": None,
            "consistent": True,
        }
    open_lots = [lot for lot in lots(session, account.id) if lot.remaining > 0]
    day = as_of or utcnow().date()
    upcoming = sorted(
        {
            lot.expires_on
            for lot in open_lots
            if lot.expires_on is not None and lot.expires_on >= day
        }
    )
    next_expiry = None
    if upcoming:
        first = upcoming[0]
        next_expiry = {
            "date": first,
            "points": sum(lot.remaining for lot in open_lots if lot.expires_on == first),
        }
    return {
        "customer_id": customer.code,
        "enrolled": True,
        "balance": account.balance,
        "debt": account.debt,
        "lifetime_points": account.lifetime_points,
        "tier": account.tier,
        "tier_since": account.tier_since,
        "birthday": account.birthday,
        "lots": [
            {
                "entry_id": lot.entry_id,
                "kind": lot.kind,
                "points": lot.points,
                "remaining": lot.remaining,
                "expires_on": lot.expires_on,
            }
            for lot in open_lots
        ],
        "next_expiry": next_expiry,
        "consistent": not check_account(session, account),
    }


def ledger(
    session: Session, *, actor: Actor, code: str, limit: int = 100, offset: int = 0
) -> tuple[list[LedgerEntry], int]:
    """A customer's postings, newest first, and their total count."""
    _customer, account = _account_of(session, actor, code)
    if account is None:
        return [], 0
    where = LedgerEntry.account_id == account.id
    total = session.scalar(select(func.count(LedgerEntry.id)).where(where)) or 0
    rows = session.scalars(
        select(LedgerEntry).where(where).order_by(LedgerEntry.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total
