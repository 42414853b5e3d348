"""Campaigns: audience, control group, export or webhook, attribution and uplift.

Audience
    The target is the customer list's own selection (classes of the current
    run, tier, tags and the safe filter language, :mod:`kehu.services.customers`).
    From it are excluded the customers who opted out of personalised marketing
    (anonymised customers are opted out) and those whose latest consent record
    for the channel's purpose (``marketing_<channel>``) is not a grant -- no
    record means no consent.

Control group
    Members are ordered by ``sha256("<seed>:<customer id>")`` and the first
    ``round(share x n)`` form the control group: the assignment depends only
    on the seed and the audience, so rebuilding reproduces it, and it is
    stored per member (``group``).

Delivery
    The treatment group is exported (CSV/Excel) or POSTed to the campaign's
    webhook as JSON batches with an ``Idempotency-Key`` header; each member's
    delivery status (``sent``/``failed``, attempts, last error) is recorded,
    and a re-send posts only the members not yet sent.  Control members are
    ``held_out``.

Attribution and report
    Orders of a member from the launch up to ``response_days`` later count
    for that member (cancelled orders excluded).  The report compares the
    groups as assigned (intention to treat, failed deliveries stay in the
    treatment group): conversion with the Newcombe (or Wald) interval of the
    difference, revenue per member with the Welch interval
    (:mod:`kehu.analytics.uplift`).

Permissions (:mod:`kehu.services.access`): ``campaigns.manage`` to create, build,
send and launch; ``campaigns.read`` to read campaigns, export lists (personal data
masked by role) and reports.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import math
import time
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.orm import Session

from kehu.analytics.uplift import diff_proportions, variance_from_sums, welch_diff
from kehu.exceptions import ConflictError, NotFoundError, SchemaError
from kehu.services import audit, export
from kehu.services.access import Actor, require
from kehu.services.customers.selection import filtered  # the list's selection, not a copy
from kehu.services.loyalty import CANCELLED, serialise_writes
from kehu.services.privacy import mask_customer
from kehu.store.models import Campaign, CampaignMember, Consent, Customer, Order, utcnow

CHANNELS = ("sms", "wechat", "email")
GROUPS = ("treatment", "control")
#: target keys understood (as the customer list's filters)
TARGET_KEYS = ("classes", "filter", "tier", "tags", "region", "channel")
MAX_BATCH = 1000


def purpose_of(channel: str) -> str:
    """The consent purpose a channel needs (``sms`` -> ``marketing_sms``)."""
    return f"marketing_{channel}"


def assignment_key(seed: int, code: str) -> str:
    """The stable random key of a member: the control group is the lowest keys."""
    return hashlib.sha256(f"{seed}:{code}".encode()).hexdigest()


def split_groups(codes: list[str], share: float, seed: int) -> dict[str, str]:
    """Customer id -> ``"treatment"`` or ``"control"``; exactly ``round(share x n)`` in control."""
    ordered = sorted(codes, key=lambda c: (assignment_key(seed, c), c))
    n_control = math.floor(share * len(ordered) + 0.5)
    return {c: ("control" if i < n_control else "treatment") for i, c in enumerate(ordered)}


def _validate_target(session: Session, actor: Actor, target: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(target, dict):
        raise SchemaError("target must be an object such as {'classes': {'rfm8': [...]}}")
    unknown = set(target) - set(TARGET_KEYS)
    if unknown:
        raise SchemaError(f"unknown target keys {sorted(unknown)}; known: {', '.join(TARGET_KEYS)}")
    clean = {k: v for k, v in target.items() if v not in (None, "", [], {})}
    classes = clean.get("classes") or {}
    if not isinstance(classes, dict) or not all(isinstance(v, list) for v in classes.values()):
        raise SchemaError("target.classes must map a classifier to a list of classes")
    if not any(classes.values()) and not any(k in clean for k in TARGET_KEYS if k != "classes"):
        raise SchemaError("target needs classes or a filter (an empty target would be everyone)")
    _selection(session, actor, clean)  # compiles the filter: syntax errors show now
    return clean


def _selection(session: Session, actor: Actor, target: dict[str, Any]):
    stmt, _order = filtered(
        session,
        actor,
        classes=target.get("classes"),
        filter=target.get("filter"),
        tier=target.get("tier"),
        tags=target.get("tags"),
        region=target.get("region"),
        channel=target.get("channel"),
    )
    return stmt.with_only_columns(Customer.id)


def _check_url(url: str | None) -> str | None:
    if url is None or url == "":
        return None
    try:
        parts = urlsplit(url)
        httpx.URL(url)  # what the sender will parse
        ok = (
            parts.scheme in ("http", "https")
            and bool(parts.hostname)
            and len(url) <= 500
            and not any(ch.isspace() for ch in url)
        )
    except (ValueError, httpx.InvalidURL):
        ok = False
    if not ok:
        raise SchemaError(f"webhook_url must be an http(s) URL of at most 500 characters: {url!r}")
    return url


def create_campaign(
    session: Session,
    *,
    actor: Actor,
    name: str,
    channel: str,
    target: dict[str, Any],
    control_share: float = 0.1,
    seed: int = 0,
    response_days: int = 30,
    webhook_url: str | None = None,
    description: str | None = None,
) -> Campaign:
    """A draft campaign; the target is checked (classes, filter syntax) now."""
    require(actor, "campaigns.manage")
    if not (name or "").strip():
        raise SchemaError("a campaign needs a name")
    if channel not in CHANNELS:
        raise SchemaError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    if not (0 <= control_share < 1) or math.isnan(control_share):
        raise SchemaError(f"control_share must be at least 0 and below 1, got {control_share}")
    if not 1 <= response_days <= 3660:
        raise SchemaError(f"response_days must be between 1 and 3660, got {response_days}")
    if not 0 <= seed < 2**31:
        raise SchemaError(f"seed must be between 0 and 2**31 - 1, got {seed}")
    campaign = Campaign(
        name=name.strip(),
        description=description,
        channel=channel,
        target=_validate_target(session, actor, target),
        control_share=float(control_share),
        seed=int(seed),
        response_days=int(response_days),
        webhook_url=_check_url(webhook_url),
        created_by=actor.user_id,
        status="draft",
    )
    session.add(campaign)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="campaign.create",
        entity="campaign",
        entity_id=campaign.id,
        changes={"name": campaign.name, "target": campaign.target, "channel": channel},
    )
    return campaign


def get_campaign(
    session: Session, *, actor: Actor, campaign_id: int, lock: bool = False
) -> Campaign:
    require(actor, "campaigns.read")
    stmt = select(Campaign).where(Campaign.id == campaign_id)
    if lock:
        serialise_writes(session)
        stmt = stmt.with_for_update().execution_options(populate_existing=True)
    campaign = session.scalar(stmt)
    if campaign is None:
        raise NotFoundError(f"no campaign {campaign_id}")
    return campaign


def list_campaigns(
    session: Session, *, actor: Actor, limit: int = 100, offset: int = 0
) -> list[Campaign]:
    require(actor, "campaigns.read")
    stmt = select(Campaign).order_by(Campaign.id.desc()).limit(limit).offset(offset)
    return list(session.scalars(stmt))


def _consent_of(channel: str):
    """The customer's latest consent for the channel's purpose (a correlated subquery)."""
    return (
        select(Consent.granted)
        .where(Consent.customer_id == Customer.id, Consent.purpose == purpose_of(channel))
        .order_by(Consent.recorded_at.desc(), Consent.id.desc())
        .limit(1)
        .correlate(Customer)
        .scalar_subquery()
    )


def preview_audience(
    session: Session, *, actor: Actor, target: dict[str, Any], channel: str
) -> dict[str, int]:
    """What building would select, counted in SQL and written nowhere.

    ``targeted``, the exclusions (``excluded_no_marketing``, ``excluded_no_consent``)
    and the ``eligible`` members, as :func:`build_audience` counts them.
    """
    require(actor, "campaigns.manage")
    if channel not in CHANNELS:
        raise SchemaError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")
    clean = _validate_target(session, actor, target)
    targeted = _selection(session, actor, clean).subquery()
    opted_out = Customer.no_personalised_marketing | Customer.anonymised_at.is_not(None)
    ok = func.coalesce(_consent_of(channel), False)
    row = session.execute(
        select(
            func.count(Customer.id),
            func.sum(case((opted_out, 1), else_=0)),
            func.sum(case((~opted_out & ~ok, 1), else_=0)),
        ).where(Customer.id.in_(select(targeted.c.id)))
    ).one()
    n, no_marketing, no_consent = (int(v or 0) for v in row)
    return {
        "targeted": n,
        "excluded_no_marketing": no_marketing,
        "excluded_no_consent": no_consent,
        "eligible": n - no_marketing - no_consent,
    }


def build_audience(session: Session, *, actor: Actor, campaign_id: int) -> dict[str, Any]:
    """Select the audience, apply the exclusions, assign the groups and store the members.

    Allowed until the campaign is sent or launched; a rebuild replaces the
    members (same seed and audience: same groups).
    """
    require(actor, "campaigns.manage")
    campaign = get_campaign(session, actor=actor, campaign_id=campaign_id, lock=True)
    if campaign.status not in ("draft", "ready"):
        raise ConflictError(f"campaign {campaign_id} was {campaign.status}: its audience is fixed")
    targeted = _selection(session, actor, campaign.target).subquery()
    consent = (
        select(Consent.granted)
        .where(Consent.customer_id == Customer.id, Consent.purpose == purpose_of(campaign.channel))
        .order_by(Consent.recorded_at.desc(), Consent.id.desc())
        .limit(1)
        .correlate(Customer)
        .scalar_subquery()
    )
    rows = session.execute(
        select(
            Customer.id,
            Customer.code,
            Customer.no_personalised_marketing | Customer.anonymised_at.is_not(None),
            func.coalesce(consent, False),
        ).where(Customer.id.in_(select(targeted.c.id)))
    ).all()
    eligible = {code: cid for cid, code, opted_out, ok in rows if ok and not opted_out}
    groups = split_groups(list(eligible), campaign.control_share, campaign.seed)
    session.execute(delete(CampaignMember).where(CampaignMember.campaign_id == campaign.id))
    members = [
        {
            "campaign_id": campaign.id,
            "customer_id": eligible[code],
            "group": group,
            "send_status": "held_out" if group == "control" else "pending",
            "attempts": 0,
        }
        for code, group in sorted(groups.items())
    ]
    for start in range(0, len(members), 1000):
        session.execute(insert(CampaignMember), members[start : start + 1000])
    summary = {
        "targeted": len(rows),
        "excluded_no_marketing": sum(1 for r in rows if r[2]),
        "excluded_no_consent": sum(1 for r in rows if not r[2] and not r[3]),
        "members": len(members),
        "treatment": sum(1 for g in groups.values() if g == "treatment"),
        "control": sum(1 for g in groups.values() if g == "control"),
        "built_at": utcnow().isoformat(),
    }
    campaign.audience = summary
    campaign.status = "ready"
    audit.record(
        session,
        actor=actor,
        action="campaign.audience",
        entity="campaign",
        entity_id=campaign.id,
        changes=summary,
    )
    session.flush()
    return summary


def _member_rows(
    session: Session,
    campaign_id: int,
    group: str | None,
    pending_only: bool = False,
    limit: int | None = None,
    offset: int = 0,
):
    stmt = (
        select(CampaignMember, Customer)
        .join(Customer, Customer.id == CampaignMember.customer_id)
        .where(CampaignMember.campaign_id == campaign_id)
        .order_by(Customer.code)
    )
    if group:
        stmt = stmt.where(CampaignMember.group == group)
    if pending_only:
        stmt = stmt.where(func.coalesce(CampaignMember.send_status, "") != "sent")
    if limit is not None:
        stmt = stmt.limit(limit).offset(offset)
    return session.execute(stmt).all()


def _member_dict(member: CampaignMember, customer: Customer, actor: Actor) -> dict[str, Any]:
    person = mask_customer(
        {
            "customer_id": customer.code,
            "name": customer.name,
            "phone": customer.phone,
            "email": customer.email,
        },
        actor,
    )
    return {
        **person,
        "group": member.group,
        "send_status": member.send_status,
        "sent_at": member.sent_at,
        "attempts": member.attempts,
        "last_error": member.last_error,
    }


def list_members(
    session: Session,
    *,
    actor: Actor,
    campaign_id: int,
    group: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Members with their group and delivery status (personal data masked by role)."""
    get_campaign(session, actor=actor, campaign_id=campaign_id)
    if group is not None and group not in GROUPS:
        raise SchemaError(f"group must be one of {', '.join(GROUPS)}, got {group!r}")
    where = [CampaignMember.campaign_id == campaign_id]
    if group:
        where.append(CampaignMember.group == group)
    total = session.scalar(select(func.count(CampaignMember.id)).where(*where)) or 0
    rows = _member_rows(session, campaign_id, group, limit=limit, offset=offset)
    return [_member_dict(m, c, actor) for m, c in rows], total


def export_members(
    session: Session,
    *,
    actor: Actor,
    campaign_id: int,
    format: str = "csv",
    group: str = "treatment",
) -> tuple[bytes, str]:
    """The member list as CSV (UTF-8 with BOM) or Excel; ``group`` or ``"all"``.

    Cells are data, never formulas (:mod:`kehu.services.export`).
    """
    campaign = get_campaign(session, actor=actor, campaign_id=campaign_id)
    if format not in ("csv", "xlsx"):
        raise SchemaError(f"export format must be csv or xlsx, got {format!r}")
    if group not in (*GROUPS, "all"):
        raise SchemaError(f"group must be treatment, control or all, got {group!r}")
    if campaign.status == "draft":
        raise ConflictError(f"campaign {campaign_id} has no audience yet: build it first")
    rows = _member_rows(session, campaign_id, None if group == "all" else group)
    header = ["customer_id", "name", "phone", "email", "group", "send_status"]
    table = [
        [("" if (v := _member_dict(m, c, actor)[h]) is None else v) for h in header]
        for m, c in rows
    ]
    audit.record(
        session,
        actor=actor,
        action="campaign.export",
        entity="campaign",
        entity_id=campaign_id,
        changes={"rows": len(table), "format": format, "group": group},
    )
    return export.export_table(format, header, table, sheet="members")


def launch(
    session: Session, *, actor: Actor, campaign_id: int, at: dt.datetime | None = None
) -> Campaign:
    """Mark a campaign as sent outside kehu (an exported list); starts the response window."""
    require(actor, "campaigns.manage")
    campaign = get_campaign(session, actor=actor, campaign_id=campaign_id, lock=True)
    if campaign.status == "draft":
        raise ConflictError(f"campaign {campaign_id} has no audience yet: build it first")
    if campaign.launched_at is not None:
        return campaign
    campaign.launched_at = (at.replace(tzinfo=None) if at and at.tzinfo else at) or utcnow()
    campaign.status = "sent"
    audit.record(
        session,
        actor=actor,
        action="campaign.launch",
        entity="campaign",
        entity_id=campaign_id,
        changes={"launched_at": campaign.launched_at},
    )
    session.flush()
    return campaign


def webhook_signature(key: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """Headers that sign a webhook body: ``X-Kehu-Timestamp`` and ``X-Kehu-Signature``.

    The signature is ``sha256=`` + hex HMAC-SHA256 of ``"{timestamp}.{body}"``
    under ``key``; a receiver recomputes it and rejects old timestamps (replays).

    Examples
    --------
    >>> webhook_signature("k" * 16, b"{}", now=0)["X-Kehu-Signature"][:15]
    'sha256=543c08f8'
    """
    stamp = str(int(time.time() if now is None else now))
    mac = hmac.new(key.encode("utf-8"), stamp.encode() + b"." + body, hashlib.sha256)
    return {"X-Kehu-Timestamp": stamp, "X-Kehu-Signature": "sha256=" + mac.hexdigest()}


def send_to_webhook(
    session: Session,
    *,
    actor: Actor,
    campaign_id: int,
    batch_size: int = 200,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
    signing_key: str | None = None,
) -> dict[str, int]:
    """POST the treatment members not yet sent to the webhook, in JSON batches.

    Each batch is ``{"campaign_id", "campaign", "channel", "batch", "members":
    [{"customer_id", "name", "phone", "email"}]}`` with an ``Idempotency-Key``
    header derived from the campaign and the batch's members, and, with a
    ``signing_key``, the signature headers of :func:`webhook_signature` (the
    receiver recomputes it to know the personal data came from kehu).  A 2xx answer
    marks the batch's members ``sent``; anything else marks them ``failed``
    with the reason.  Sending again retries only the members not sent.  The
    campaign row is locked while sending, so two sends never overlap.
    """
    require(actor, "campaigns.manage")
    if not 1 <= batch_size <= MAX_BATCH:
        raise SchemaError(f"batch_size must be between 1 and {MAX_BATCH}, got {batch_size}")
    campaign = get_campaign(session, actor=actor, campaign_id=campaign_id, lock=True)
    if campaign.status == "draft":
        raise ConflictError(f"campaign {campaign_id} has no audience yet: build it first")
    if not campaign.webhook_url:
        raise ConflictError(f"campaign {campaign_id} has no webhook_url: export the list instead")
    pending = _member_rows(session, campaign_id, "treatment", pending_only=True)
    counts = {"sent": 0, "failed": 0, "batches": 0}
    with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as http:
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            codes = [c.code for _m, c in batch]
            key = hashlib.sha256(json.dumps([campaign.id, codes]).encode()).hexdigest()[:32]
            payload = {
                "campaign_id": campaign.id,
                "campaign": campaign.name,
                "channel": campaign.channel,
                "batch": counts["batches"] + 1,
                "members": [
                    {"customer_id": c.code, "name": c.name, "phone": c.phone, "email": c.email}
                    for _m, c in batch
                ],
            }
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
            if signing_key:
                headers.update(webhook_signature(signing_key, body))
            error = None
            try:
                r = http.post(campaign.webhook_url, content=body, headers=headers)
                if not 200 <= r.status_code < 300:
                    error = f"HTTP {r.status_code}: {r.text[:200]}"
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                error = f"{type(exc).__name__}: {exc}"[:500]
            now = utcnow()
            for member, _c in batch:
                member.attempts = member.attempts + 1
                member.send_status = "failed" if error else "sent"
                member.last_error = error
                if not error:
                    member.sent_at = now
            counts["failed" if error else "sent"] += len(batch)
            counts["batches"] += 1
            session.flush()  # each batch's outcome is recorded before the next is sent
    if counts["sent"] and campaign.launched_at is None:
        campaign.launched_at = utcnow()
        campaign.status = "sent"
    audit.record(
        session,
        actor=actor,
        action="campaign.send",
        entity="campaign",
        entity_id=campaign_id,
        changes=counts,
    )
    session.flush()
    return counts


def report(
    session: Session,
    *,
    actor: Actor,
    campaign_id: int,
    confidence: float = 0.95,
    method: str = "newcombe",
    as_of: dt.datetime | None = None,
) -> dict[str, Any]:
    """Conversion and revenue per group in the response window, with the uplift and its CI."""
    campaign = get_campaign(session, actor=actor, campaign_id=campaign_id)
    if campaign.launched_at is None:
        raise ConflictError(f"campaign {campaign_id} has not been sent or launched yet")
    start = campaign.launched_at
    end = start + dt.timedelta(days=campaign.response_days)
    window = (
        (Order.customer_id == CampaignMember.customer_id)
        & (Order.order_time >= start)
        & (Order.order_time < end)
        & func.lower(func.coalesce(Order.status, "")).not_in(CANCELLED)
    )
    per_member = (
        select(
            CampaignMember.group.label("grp"),
            func.count(Order.id).label("orders"),
            func.coalesce(func.sum(Order.amount), 0.0).label("revenue"),
        )
        .select_from(CampaignMember)
        .outerjoin(Order, window)
        .where(CampaignMember.campaign_id == campaign.id)
        .group_by(CampaignMember.id, CampaignMember.group)
        .subquery()
    )
    agg = select(
        per_member.c.grp,
        func.count(),
        func.sum(case((per_member.c.orders > 0, 1), else_=0)),
        func.sum(per_member.c.orders),
        func.sum(per_member.c.revenue),
        func.sum(per_member.c.revenue * per_member.c.revenue),
    ).group_by(per_member.c.grp)
    groups = {
        g: {"members": 0, "converted": 0, "orders": 0, "revenue": 0.0, "_sq": 0.0} for g in GROUPS
    }
    for grp, n, conv, orders, revenue, sq in session.execute(agg):
        groups[grp] = {
            "members": int(n),
            "converted": int(conv or 0),
            "orders": int(orders or 0),
            "revenue": float(revenue or 0.0),
            "_sq": float(sq or 0.0),
        }
    stats_of = {}
    for g, v in groups.items():
        n = v["members"]
        mean = v["revenue"] / n if n else 0.0
        stats_of[g] = (mean, variance_from_sums(v["revenue"], v.pop("_sq"), n), n)
        v["conversion_rate"] = v["converted"] / n if n else None
        v["revenue_per_member"] = mean if n else None
    t, c = groups["treatment"], groups["control"]
    conv = diff_proportions(
        t["converted"], t["members"], c["converted"], c["members"], confidence, method
    )
    rev = welch_diff(*stats_of["treatment"], *stats_of["control"], confidence=confidence)
    now = as_of or utcnow()

    def interval(iv) -> dict[str, Any]:
        est = None if math.isnan(iv.estimate) else iv.estimate
        out = {
            "estimate": est,
            "low": iv.low,
            "high": iv.high,
            "confidence": iv.confidence,
            "method": iv.method,
        }
        if hasattr(iv, "df"):
            out["df"] = iv.df
        return out

    return {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "window": {"start": start, "end": end, "complete": now >= end},
        "groups": groups,
        "conversion_uplift": interval(conv),
        "revenue_uplift": interval(rev),
        "incremental": {
            "conversions": None if math.isnan(conv.estimate) else conv.estimate * t["members"],
            "revenue": None if math.isnan(rev.estimate) else rev.estimate * t["members"],
        },
    }


def campaign_dict(campaign: Campaign) -> dict[str, Any]:
    return {
        "id": campaign.id,
        "name": campaign.name,
        "description": campaign.description,
        "channel": campaign.channel,
        "status": campaign.status,
        "target": campaign.target,
        "control_share": campaign.control_share,
        "seed": campaign.seed,
        "response_days": campaign.response_days,
        "webhook_url": campaign.webhook_url,
        "launched_at": campaign.launched_at,
        "audience": campaign.audience,
        "created_at": campaign.created_at,
    }
