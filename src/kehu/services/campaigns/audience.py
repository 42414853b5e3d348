"""The audience: preview it, or build it (exclusions, groups) and store the members."""

from __future__ import annotations

from typing import Any

from sqlalchemy import case, delete, func, insert, select
from sqlalchemy.orm import Session

from kehu.exceptions import ConflictError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.campaigns.groups import split_groups
from kehu.services.campaigns.records import get_campaign
from kehu.services.campaigns.target import check_channel, consent_of, selection, validate_target
from kehu.store.models import CampaignMember, Customer, utcnow


def preview_audience(
    session: Session, *, actor: Actor, target: dict[str, Any], channel: str
) -> dict[str, int]:
    """What building would select, counted in SQL and written nowhere.

    ``targeted``, the exclusions (``excluded_no_marketing``, ``excluded_no_consent``)
    and the ``eligible`` members, as :func:`build_audience` counts them.
    """
    require(actor, "campaigns.manage")
    check_channel(channel)
    clean = validate_target(session, actor, target)
    targeted = selection(session, actor, clean).subquery()
    opted_out = Customer.no_personalised_marketing | Customer.anonymised_at.is_not(None)
    ok = func.coalesce(consent_of(channel), False)
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
    targeted = selection(session, actor, campaign.target).subquery()
    rows = session.execute(
        select(
            Customer.id,
            Customer.code,
            Customer.no_personalised_marketing | Customer.anonymised_at.is_not(None),
            func.coalesce(consent_of(campaign.channel), False),
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
