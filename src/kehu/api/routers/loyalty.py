"""Loyalty: rules, accounts, ledger, earning, redemption, reversals, rewards and batch jobs."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from kehu.api.deps import CurrentUser, SessionDep
from kehu.api.schemas.common import ERRORS, Text
from kehu.api.schemas.loyalty import (
    AccountOut,
    AdjustIn,
    AsOfIn,
    BirthdaysOut,
    EnrollIn,
    EntryOut,
    ExpireOut,
    LedgerPageOut,
    PostingOut,
    RedeemIn,
    ReferralIn,
    ReverseIn,
    RulesIn,
    TiersOut,
)
from kehu.services import loyalty
from kehu.store.models import Customer

router = APIRouter(prefix="/loyalty", tags=["loyalty"], responses=ERRORS)

CustomerId = Annotated[Text(64, 1), Path(description="the customer id of the source system")]
OrderId = Annotated[Text(128, 1), Path(description="the order id of the source system")]
CREATED = {201: {"model": PostingOut}, 200: {"model": PostingOut, "description": "posted before"}}


def _posting(session, posting: loyalty.Posting, response: Response) -> PostingOut:
    if not posting.created:
        response.status_code = 200
    customer = session.get(Customer, posting.account.customer_id)
    return PostingOut(
        customer_id=customer.code,
        created=posting.created,
        balance=posting.account.balance,
        debt=posting.account.debt,
        entry=EntryOut.model_validate(posting.entry),
        settlement=None
        if posting.settlement is None
        else EntryOut.model_validate(posting.settlement),
        reversed=posting.extra.get("reversed"),
    )


@router.get("/rules", response_model=RulesIn)
def get_rules(actor: CurrentUser, session: SessionDep) -> RulesIn:
    """The rules in force: tiers, earning, expiry and rewards."""
    return loyalty.current_rules(session)


@router.put("/rules", response_model=RulesIn)
def set_rules(body: RulesIn, actor: CurrentUser, session: SessionDep) -> RulesIn:
    """Store a new version of the rules (admin, manager)."""
    rules = loyalty.set_rules(session, actor=actor, rules=body)
    return rules


@router.get("/accounts/{customer_id}", response_model=AccountOut)
def account(customer_id: CustomerId, actor: CurrentUser, session: SessionDep) -> AccountOut:
    """Balance, tier, debt, open lots and the next expiry."""
    return AccountOut(**loyalty.account_summary(session, actor=actor, code=customer_id))


@router.put("/accounts/{customer_id}", response_model=AccountOut)
def enroll(
    customer_id: CustomerId, body: EnrollIn, actor: CurrentUser, session: SessionDep
) -> AccountOut:
    """Open the account (idempotent) and set the birthday."""
    loyalty.enroll(session, actor=actor, code=customer_id, birthday=body.birthday)
    return AccountOut(**loyalty.account_summary(session, actor=actor, code=customer_id))


@router.get("/accounts/{customer_id}/ledger", response_model=LedgerPageOut)
def ledger(
    customer_id: CustomerId,
    actor: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> LedgerPageOut:
    """The postings, newest first."""
    rows, total = loyalty.ledger(session, actor=actor, code=customer_id, limit=limit, offset=offset)
    return LedgerPageOut(items=[EntryOut.model_validate(r) for r in rows], total=total)


@router.post(
    "/accounts/{customer_id}/redemptions",
    response_model=PostingOut,
    status_code=201,
    responses=CREATED,
)
def redeem(
    customer_id: CustomerId,
    body: RedeemIn,
    actor: CurrentUser,
    session: SessionDep,
    response: Response,
) -> PostingOut:
    """Spend points; 409 when the balance is short."""
    posting = loyalty.redeem(session, actor=actor, code=customer_id, **body.model_dump())
    return _posting(session, posting, response)


@router.post(
    "/accounts/{customer_id}/adjustments",
    response_model=PostingOut,
    status_code=201,
    responses=CREATED,
)
def adjust(
    customer_id: CustomerId,
    body: AdjustIn,
    actor: CurrentUser,
    session: SessionDep,
    response: Response,
) -> PostingOut:
    """A manual correction by an admin or manager, with a reason (audited); 409 below zero."""
    posting = loyalty.adjust(session, actor=actor, code=customer_id, **body.model_dump())
    return _posting(session, posting, response)


@router.post(
    "/orders/{order_id}/earn", response_model=PostingOut, status_code=201, responses=CREATED
)
def earn(order_id: OrderId, actor: CurrentUser, session: SessionDep, response: Response):
    """Post the points of an order, once (200 with the first posting when repeated)."""
    posting = loyalty.earn_for_order(session, actor=actor, order_no=order_id)
    return _posting(session, posting, response)


@router.post(
    "/orders/{order_id}/reversals", response_model=PostingOut, status_code=201, responses=CREATED
)
def reverse(
    order_id: OrderId, body: ReverseIn, actor: CurrentUser, session: SessionDep, response: Response
) -> PostingOut:
    """Reverse an order's points for a refund (proportionally) or a cancellation."""
    posting = loyalty.reverse_order(session, actor=actor, order_no=order_id, **body.model_dump())
    return _posting(session, posting, response)


@router.post("/referrals", response_model=PostingOut, status_code=201, responses=CREATED)
def referral(
    body: ReferralIn, actor: CurrentUser, session: SessionDep, response: Response
) -> PostingOut:
    """Reward the referrer; each referred customer rewards once."""
    posting = loyalty.reward_referral(
        session, actor=actor, referrer_code=body.referrer_id, referred_code=body.referred_id
    )
    return _posting(session, posting, response)


@router.post("/jobs/tiers", response_model=TiersOut)
def tiers(body: AsOfIn, actor: CurrentUser, session: SessionDep) -> TiersOut:
    """Recompute every member's tier as of a date (admin, manager)."""
    got = loyalty.recompute_tiers(session, actor=actor, as_of=body.as_of)
    return TiersOut(**got)


@router.post("/jobs/expiry", response_model=ExpireOut)
def expiry(body: AsOfIn, actor: CurrentUser, session: SessionDep) -> ExpireOut:
    """Expire the points due by a date, oldest first; idempotent per date (admin, manager)."""
    got = loyalty.expire_points(session, actor=actor, as_of=body.as_of)
    return ExpireOut(**got)


@router.post("/jobs/birthdays", response_model=BirthdaysOut)
def birthdays(body: AsOfIn, actor: CurrentUser, session: SessionDep) -> BirthdaysOut:
    """Birthday rewards for the date's month, once a year per member (admin, manager)."""
    posted = loyalty.birthday_rewards(session, actor=actor, as_of=body.as_of)
    return BirthdaysOut(posted=posted)
