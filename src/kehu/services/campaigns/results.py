"""The campaign's result: conversion and revenue per group, the uplift and its interval."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kehu.analytics.uplift import diff_proportions, variance_from_sums, welch_diff
from kehu.exceptions import ConflictError
from kehu.services.access import Actor
from kehu.services.campaigns.groups import GROUPS
from kehu.services.campaigns.records import get_campaign
from kehu.services.loyalty import CANCELLED
from kehu.store.models import Campaign, CampaignMember, Order, utcnow


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
    groups = _group_sums(session, campaign, start, end)
    stats_of = _group_stats(groups)
    t, c = groups["treatment"], groups["control"]
    conv = diff_proportions(
        t["converted"], t["members"], c["converted"], c["members"], confidence, method
    )
    rev = welch_diff(*stats_of["treatment"], *stats_of["control"], confidence=confidence)
    now = as_of or utcnow()
    return {
        "campaign_id": campaign.id,
        "name": campaign.name,
        "window": {"start": start, "end": end, "complete": now >= end},
        "groups": groups,
        "conversion_uplift": _interval(conv),
        "revenue_uplift": _interval(rev),
        "incremental": {
            "conversions": None if math.isnan(conv.estimate) else conv.estimate * t["members"],
            "revenue": None if math.isnan(rev.estimate) else rev.estimate * t["members"],
        },
    }


def _group_sums(
    session: Session, campaign: Campaign, start: dt.datetime, end: dt.datetime
) -> dict[str, dict[str, Any]]:
    """Members, converted members, orders, revenue and its sum of squares per group, in SQL.

    Every member counts, with or without an order (intention to treat); the
    sum of squares (``_sq``) is what the revenue's variance needs.
    """
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
    return groups


def _group_stats(groups: dict[str, dict[str, Any]]) -> dict[str, tuple[float, float, int]]:
    """Each group's revenue ``(mean, variance, n)`` for Welch; adds its rates, drops ``_sq``."""
    stats_of = {}
    for g, v in groups.items():
        n = v["members"]
        mean = v["revenue"] / n if n else 0.0
        stats_of[g] = (mean, variance_from_sums(v["revenue"], v.pop("_sq"), n), n)
        v["conversion_rate"] = v["converted"] / n if n else None
        v["revenue_per_member"] = mean if n else None
    return stats_of


def _interval(iv) -> dict[str, Any]:
    """An interval as JSON can carry it: an undefined estimate (NaN) becomes None."""
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
