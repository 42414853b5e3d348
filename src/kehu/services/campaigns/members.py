"""The members of a built audience: listed with their delivery status, or exported."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kehu import writers
from kehu.exceptions import ConflictError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor
from kehu.services.campaigns.groups import GROUPS
from kehu.services.campaigns.records import get_campaign
from kehu.services.privacy import mask_customer
from kehu.store.models import CampaignMember, Customer


def member_rows(
    session: Session,
    campaign_id: int,
    group: str | None,
    pending_only: bool = False,
    limit: int | None = None,
    offset: int = 0,
):
    """``(member, customer)`` rows by customer id; ``pending_only`` leaves out those sent."""
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
    rows = member_rows(session, campaign_id, group, limit=limit, offset=offset)
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

    Cells are data, never formulas (:mod:`kehu.writers`).
    """
    campaign = get_campaign(session, actor=actor, campaign_id=campaign_id)
    if format not in ("csv", "xlsx"):
        raise SchemaError(f"export format must be csv or xlsx, got {format!r}")
    if group not in (*GROUPS, "all"):
        raise SchemaError(f"group must be treatment, control or all, got {group!r}")
    if campaign.status == "draft":
        raise ConflictError(f"campaign {campaign_id} has no audience yet: build it first")
    rows = member_rows(session, campaign_id, None if group == "all" else group)
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
    return writers.export_table(format, header, table, sheet="members")
