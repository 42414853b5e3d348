"""Postings for one customer: earning, reversal, redemption, adjustment, referral, enrolment."""

from __future__ import annotations

import datetime as dt
import math
import uuid

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kehu.exceptions import ConflictError, NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.loyalty.entries import (
    Posting,
    _by_key,
    _credit,
    _expiry,
    _locked_account,
    _post,
    _retried,
)
from kehu.services.loyalty.rules import (
    CANCELLED,
    MAX_POINTS,
    MAX_REFUND_ID,
    ProgramRules,
    current_rules,
)
from kehu.services.scope import scoped_customer
from kehu.store.models import Customer, LedgerEntry, LoyaltyAccount, Order, OrderLine, Product
from kehu.store.models.base import utcnow


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
    entry = _post(
        session,
        account,
        actor,
        key=key,
        kind="reverse",
        points=-take,
        debt=short,
        order_id=order.id,
        note=reason,
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
