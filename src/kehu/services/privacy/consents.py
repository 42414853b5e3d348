"""Masking contact details for roles without ``pii.view``, and consents per purpose."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.orm import Session

from kehu.exceptions import SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.scope import scoped_customer
from kehu.store.models import (
    CONSENT_PURPOSES,
    Consent,
    Customer,
)

PII_FIELDS = ("phone", "email", "wechat")


def mask_phone(phone: str | None) -> str | None:
    """``13812345678`` -> ``138****5678``; short numbers keep only their last two digits."""
    if phone is None:
        return None
    digits = re.sub(r"\D", "", phone)
    if len(digits) == 13 and digits.startswith("86"):  # +86 mobile number
        digits = digits[2:]
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    if not digits:
        return "****"
    return "*" * max(len(digits) - 2, 2) + digits[-2:]


def mask_email(email: str | None) -> str | None:
    if email is None:
        return None
    user, _, domain = email.partition("@")
    return f"{user[:1]}***@{domain}" if domain else "***"


def mask_customer(row: dict[str, Any], actor: Actor) -> dict[str, Any]:
    """``row`` with its personal fields masked unless the actor may see them."""
    if actor.can("pii.view"):
        return row
    out = dict(row)
    if out.get("phone") is not None:
        out["phone"] = mask_phone(out["phone"])
    if out.get("email") is not None:
        out["email"] = mask_email(out["email"])
    if out.get("wechat") is not None:
        out["wechat"] = "****"
    return out


def current_consents(customer: Customer) -> dict[str, dict[str, Any]]:
    """Purpose -> its latest record (``granted``, ``recorded_at``, ``source``)."""
    state: dict[str, dict[str, Any]] = {}
    for c in sorted(customer.consents, key=lambda c: (c.recorded_at, c.id)):
        state[c.purpose] = {"granted": c.granted, "recorded_at": c.recorded_at, "source": c.source}
    return state


def record_consent(
    session: Session,
    *,
    actor: Actor,
    code: str,
    purpose: str,
    granted: bool,
    source: str | None = None,
    note: str | None = None,
) -> Consent:
    """Record a consent or its withdrawal (``granted=False``) for one purpose."""
    require(actor, "consents.write")
    if purpose not in CONSENT_PURPOSES:
        raise SchemaError(f"unknown purpose {purpose!r}; purposes: {', '.join(CONSENT_PURPOSES)}")
    customer = scoped_customer(session, actor=actor, code=code)
    row = Consent(
        customer_id=customer.id,
        purpose=purpose,
        granted=bool(granted),
        source=source,
        note=note,
        recorded_by=actor.user_id,
    )
    customer.consents.append(row)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="consent.grant" if granted else "consent.withdraw",
        entity="customer",
        entity_id=code,
        changes={"purpose": purpose, "granted": bool(granted), "source": source},
    )
    return row


def consent_history(session: Session, *, actor: Actor, code: str) -> list[Consent]:
    customer = scoped_customer(session, actor=actor, code=code)
    return sorted(customer.consents, key=lambda c: (c.recorded_at, c.id))


def has_consent(customer: Customer, purpose: str) -> bool:
    """Whether the latest record of ``purpose`` grants it (no record: no consent)."""
    state = current_consents(customer).get(purpose)
    return bool(state and state["granted"])
