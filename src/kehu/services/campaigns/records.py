"""The campaign rows: create, read, list, mark as launched, and as a dict for the callers."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.exceptions import ConflictError, NotFoundError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.campaigns.target import check_channel, validate_target
from kehu.services.loyalty import serialise_writes
from kehu.store.models import Campaign, utcnow


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
    check_channel(channel)
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
        target=validate_target(session, actor, target),
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
