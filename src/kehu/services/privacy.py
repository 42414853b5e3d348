"""Personal-information protection (个人信息保护法): masking, consents, export, erasure.

* Phone numbers, e-mail addresses and WeChat ids are masked for roles without
  ``pii.view`` (``13812345678`` -> ``138****5678``).
* Consents are records per purpose; the latest record of a purpose is its
  state, and a withdrawal is a new record (the history is kept).
* One person's data can be exported (everything the store holds about the
  customer) and anonymised on request: personal fields are cleared, contacts
  deleted, the free text of interactions and feedback blanked; orders and
  classes stay for the figures, tied to an anonymous customer.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from kehu.exceptions import SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.scope import scoped_customer
from kehu.store.models import (
    CONSENT_PURPOSES,
    ClassificationResult,
    Consent,
    Contact,
    Customer,
    Feedback,
    Interaction,
    LedgerEntry,
    LoyaltyAccount,
    Order,
    SurveyAnswer,
    Task,
    utcnow,
)

PII_FIELDS = ("phone", "email", "wechat")
#: cleared by anonymisation (besides contacts, which are deleted)
ERASED_FIELDS = (
    "name",
    "phone",
    "email",
    "district",
    "gender",
    "age_band",
    "income_band",
    "signup_date",
)


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


def _rows(session: Session, model, where) -> list[dict[str, Any]]:
    cols = [c.key for c in model.__table__.columns]
    return [
        {k: _plain(getattr(r, k)) for k in cols}
        for r in session.scalars(select(model).where(where))
    ]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    return value


def export_person(session: Session, *, actor: Actor, code: str) -> dict[str, Any]:
    """Everything the store holds about one customer, as JSON-ready data (unmasked)."""
    require(actor, "privacy.manage")
    c = scoped_customer(session, actor=actor, code=code)
    account = session.scalar(select(LoyaltyAccount).where(LoyaltyAccount.customer_id == c.id))
    order_ids = select(Order.id).where(Order.customer_id == c.id)
    from kehu.store.models import OrderLine

    data = {
        "exported_at": utcnow().isoformat(),
        "customer": _rows(session, Customer, Customer.id == c.id)[0],
        "contacts": _rows(session, Contact, Contact.customer_id == c.id),
        "tags": sorted(t.tag for t in c.tags),
        "consents": _rows(session, Consent, Consent.customer_id == c.id),
        "orders": _rows(session, Order, Order.customer_id == c.id),
        "order_lines": _rows(session, OrderLine, OrderLine.order_id.in_(order_ids)),
        "interactions": _rows(session, Interaction, Interaction.customer_id == c.id),
        "tasks": _rows(session, Task, Task.customer_id == c.id),
        "feedback": _rows(session, Feedback, Feedback.customer_id == c.id),
        "survey_answers": _rows(session, SurveyAnswer, SurveyAnswer.customer_id == c.id),
        "loyalty_account": None
        if account is None
        else _rows(session, LoyaltyAccount, LoyaltyAccount.id == account.id)[0],
        "loyalty_ledger": []
        if account is None
        else _rows(session, LedgerEntry, LedgerEntry.account_id == account.id),
        "classifications": _rows(
            session, ClassificationResult, ClassificationResult.customer_id == c.id
        ),
    }
    audit.record(session, actor=actor, action="privacy.export", entity="customer", entity_id=code)
    return data


def anonymise_person(session: Session, *, actor: Actor, code: str, note: str | None = None) -> None:
    """Erase one customer's personal data on request; figures stay, anonymous.

    Personal fields are cleared, contacts deleted, the free text of
    interactions, feedback and survey answers blanked, marketing switched off.
    The customer id stays (orders refer to it); the audit log keeps that it
    happened, not what was erased.
    """
    require(actor, "privacy.manage")
    c = scoped_customer(session, actor=actor, code=code, for_update=True)
    for f in ERASED_FIELDS:
        setattr(c, f, None)
    c.name = "(已匿名 anonymised)"
    c.no_personalised_marketing = True
    c.anonymised_at = utcnow()
    c.contacts = []
    session.execute(
        update(Interaction).where(Interaction.customer_id == c.id).values(notes=None, outcome=None)
    )
    session.execute(update(Feedback).where(Feedback.customer_id == c.id).values(text=None))
    session.execute(
        update(LoyaltyAccount).where(LoyaltyAccount.customer_id == c.id).values(birthday=None)
    )
    session.execute(
        update(SurveyAnswer).where(SurveyAnswer.customer_id == c.id).values(comment=None)
    )
    for purpose in CONSENT_PURPOSES:
        c.consents.append(
            Consent(purpose=purpose, granted=False, source="erasure", recorded_by=actor.user_id)
        )
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="privacy.anonymise",
        entity="customer",
        entity_id=code,
        note=note,
    )
