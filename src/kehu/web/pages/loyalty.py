"""Loyalty (会员积分): tiers and rules in force, a member's ledger, redemption, adjustments.

The pages call :mod:`kehu.services.loyalty` with the signed-in Actor: ``loyalty.post``
(reps, service, managers) may look members up and redeem points, a rep only for their
own customers (another's is "not found", like a missing one); ``loyalty.manage`` adjusts
points with a reason and sets the rules.  Redemptions and adjustments carry a request id
from the form, so a form posted twice posts once.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, Field, StringConstraints

from kehu.exceptions import ConflictError, NotFoundError, SchemaError
from kehu.services import loyalty
from kehu.services.access import Actor, require
from kehu.web.forms import Checked, Posted, blank, done, validate
from kehu.web.render import render
from kehu.web.session import PageUser
from kehu.web.transaction import changes

router = APIRouter(include_in_schema=False)
LEDGER_PAGE = 25
ENTRY_FIELDS = ("posted_at", "kind", "points", "balance_after", "expires_on", "note")
Code = Annotated[str, Path(min_length=1, max_length=64)]
Line = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
RequestId = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")]


def _rules_key(rules: loyalty.ProgramRules) -> str:
    """A fingerprint of the rules a form was filled from (a stale rules form is refused)."""
    body = json.dumps(rules.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(body.encode()).hexdigest()[:32]


def _rules_values(rules: loyalty.ProgramRules) -> dict[str, Any]:
    """The rules as the rules form shows them."""
    return {
        "tier_basis": rules.tier_basis,
        "tier_window_days": str(rules.tier_window_days),
        "points_per_yuan": f"{rules.points_per_yuan:g}",
        "expiry_days": "" if rules.expiry_days is None else str(rules.expiry_days),
        "referral_points": str(rules.referral_points),
        "birthday_points": str(rules.birthday_points),
        "tiers": "\n".join(f"{t.name} {t.threshold:g} {t.factor:g}" for t in rules.tiers),
        "base": _rules_key(rules),
    }


def _page(
    request: Request,
    actor: Actor,
    code: str | None = None,
    *,
    page: int = 1,
    forms: dict[str, Checked[Any]] | None = None,
    status_code: int = 200,
) -> Response:
    require(actor, "loyalty.post")
    member = entries = None
    total = 0
    lookup = blank(request, customer=code or "")
    with request.app.state.sessions() as db:
        rules = loyalty.current_rules(db)
        if code:
            try:
                member = loyalty.account_summary(db, actor=actor, code=code)
                rows, total = loyalty.ledger(
                    db,
                    actor=actor,
                    code=code,
                    limit=LEDGER_PAGE,
                    offset=(page - 1) * LEDGER_PAGE,
                )
                entries = [
                    {k: getattr(e, k) for k in ENTRY_FIELDS} | {"about": loyalty.about(e)}
                    for e in rows
                ]
            except NotFoundError:
                lookup = lookup.error("customer", "web_loy_not_found", code=code)
                status_code = 404
        db.rollback()
    shown: dict[str, Checked[Any]] = {"lookup": lookup}
    if member is not None and actor.can("loyalty.post"):
        shown["redeem"] = blank(request, request_id=uuid.uuid4().hex)
    if member is not None and actor.can("loyalty.manage"):
        shown["adjust"] = blank(request, request_id=uuid.uuid4().hex)
    if actor.can("loyalty.manage"):
        shown["rules"] = blank(request, **_rules_values(rules))
    for name, form in (forms or {}).items():
        if name in shown:
            shown[name] = form
    return render(
        request,
        "loyalty/page.html",
        status_code=status_code,
        actor=actor,
        rules=rules,
        code=code,
        member=member,
        entries=entries or [],
        total=total,
        page=page,
        pages=max(1, -(-total // LEDGER_PAGE)),
        forms=shown,
    )


@router.get("/loyalty", name="web_loyalty")
def loyalty_page(
    request: Request,
    actor: PageUser,
    customer: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """The rules in force and the member lookup (a customer id)."""
    return _page(request, actor, (customer or "").strip() or None)


@router.get("/loyalty/members/{code}", name="web_loyalty_member")
def member_page(
    request: Request,
    actor: PageUser,
    code: Code,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    return _page(request, actor, code, page=page)


class RedeemForm(BaseModel):
    points: Annotated[int, Field(ge=1, le=loyalty.MAX_POINTS)]
    note: Line | None = None
    request_id: RequestId


@router.post("/loyalty/members/{code}/redeem", name="web_loyalty_redeem")
def redeem(request: Request, actor: PageUser, form: Posted, code: Code) -> Response:
    """Spend a member's points (the balance must cover them)."""
    require(actor, "loyalty.post")
    checked = validate(RedeemForm, form, request)
    if not checked.ok:
        return _page(request, actor, code, forms={"redeem": checked}, status_code=422)
    got = checked.data
    try:
        with changes(request) as db:
            posting = loyalty.redeem(
                db,
                actor=actor,
                code=code,
                points=got.points,
                note=got.note,
                request_id=got.request_id,
            )
    except ConflictError:
        failed = checked.error("points", "web_loy_err_balance")
        return _page(request, actor, code, forms={"redeem": failed}, status_code=422)
    notice = "loy_redeemed" if posting.created else "loy_posted_before"
    return done(request, "web_loyalty_member", notice, code=code)


class AdjustForm(BaseModel):
    points: Annotated[int, Field(ge=-1_000_000, le=1_000_000)]
    reason: Line
    request_id: RequestId


@router.post("/loyalty/members/{code}/adjust", name="web_loyalty_adjust")
def adjust(request: Request, actor: PageUser, form: Posted, code: Code) -> Response:
    """A goodwill credit or a correction debit, with its reason (audited)."""
    require(actor, "loyalty.manage")
    checked = validate(AdjustForm, form, request)
    if checked.ok and checked.data.points == 0:
        checked = checked.error("points", "web_loy_err_zero")
    if not checked.ok:
        return _page(request, actor, code, forms={"adjust": checked}, status_code=422)
    got = checked.data
    try:
        with changes(request) as db:
            posting = loyalty.adjust(
                db,
                actor=actor,
                code=code,
                points=got.points,
                reason=got.reason,
                request_id=got.request_id,
            )
    except ConflictError:  # a debit beyond the balance, or a retry with other points
        failed = checked.error("points", "web_loy_err_balance")
        return _page(request, actor, code, forms={"adjust": failed}, status_code=422)
    notice = "loy_adjusted" if posting.created else "loy_posted_before"
    return done(request, "web_loyalty_member", notice, code=code)


class RulesForm(BaseModel):
    tier_basis: Literal["spend", "growth"]
    tier_window_days: Annotated[int, Field(ge=1, le=3660)]
    points_per_yuan: Annotated[float, Field(ge=0, le=1000, allow_inf_nan=False)]
    expiry_days: Annotated[int, Field(ge=1, le=36500)] | None = None
    referral_points: Annotated[int, Field(ge=0, le=loyalty.MAX_POINTS)] = 0
    birthday_points: Annotated[int, Field(ge=0, le=loyalty.MAX_POINTS)] = 0
    tiers: Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]
    base: Annotated[str, StringConstraints(max_length=64)]


def _tiers(text: str) -> list[dict[str, Any]] | None:
    """``name threshold [factor]`` per line, or ``None`` when a line is not of that form."""
    out = []
    for line in text.splitlines():
        parts = line.split()
        if not parts:
            continue
        if len(parts) not in (2, 3):
            return None
        try:
            threshold = float(parts[1])
            factor = float(parts[2]) if len(parts) == 3 else 1.0
        except ValueError:
            return None
        out.append({"name": parts[0], "threshold": threshold, "factor": factor})
    return out or None


@router.post("/loyalty/rules", name="web_loyalty_rules")
def set_rules(request: Request, actor: PageUser, form: Posted) -> Response:
    """A new version of the programme's rules (the tiers, earning, expiry and rewards)."""
    require(actor, "loyalty.manage")
    checked = validate(RulesForm, form, request)
    tiers = None
    if checked.ok:
        tiers = _tiers(checked.data.tiers)
        if tiers is None:
            checked = checked.error("tiers", "web_loy_err_tier_lines")
    if not checked.ok:
        return _page(request, actor, forms={"rules": checked}, status_code=422)
    got = checked.data
    try:
        with changes(request) as db:
            current = loyalty.current_rules(db)
            # someone changed the rules since the form was read: write nothing
            stale = got.base != _rules_key(current)
            if not stale:
                values = {
                    **current.model_dump(),
                    **got.model_dump(exclude={"tiers", "base"}),
                    "tiers": tiers,
                }
                loyalty.set_rules(db, actor=actor, rules=values)
    except SchemaError:
        failed = checked.error("tiers", "web_loy_err_tiers")
        return _page(request, actor, forms={"rules": failed}, status_code=422)
    if stale:
        stale_form = checked.error("_form", "web_loy_err_rules_stale")
        return _page(request, actor, forms={"rules": stale_form}, status_code=409)
    return done(request, "web_loyalty", "loy_rules_saved")
