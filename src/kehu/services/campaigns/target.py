"""Who a campaign targets: the customer list's selection, checked, and the channel's consent."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kehu.exceptions import SchemaError
from kehu.services.access import Actor
from kehu.services.customers.selection import filtered  # the list's selection, not a copy
from kehu.store.models import Consent, Customer

CHANNELS = ("sms", "wechat", "email")
#: target keys understood (as the customer list's filters)
TARGET_KEYS = ("classes", "filter", "tier", "tags", "region", "channel")


def purpose_of(channel: str) -> str:
    """The consent purpose a channel needs (``sms`` -> ``marketing_sms``)."""
    return f"marketing_{channel}"


def check_channel(channel: str) -> None:
    """Refuse a channel kehu cannot send on: its consent purpose would never be granted."""
    if channel not in CHANNELS:
        raise SchemaError(f"channel must be one of {', '.join(CHANNELS)}, got {channel!r}")


def validate_target(session: Session, actor: Actor, target: dict[str, Any]) -> dict[str, Any]:
    """The target without empty keys; refused if unknown, malformed or empty (everyone)."""
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
    selection(session, actor, clean)  # compiles the filter: syntax errors show now
    return clean


def selection(session: Session, actor: Actor, target: dict[str, Any]):
    """The ids of the customers the target selects, as the customer list would show them."""
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


def consent_of(channel: str):
    """The customer's latest consent for the channel's purpose (a correlated subquery)."""
    return (
        select(Consent.granted)
        .where(Consent.customer_id == Customer.id, Consent.purpose == purpose_of(channel))
        .order_by(Consent.recorded_at.desc(), Consent.id.desc())
        .limit(1)
        .correlate(Customer)
        .scalar_subquery()
    )
