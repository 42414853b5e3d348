"""Masking, consents with withdrawal, export and anonymisation of one person's data."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from kehu.exceptions import ForbiddenError, NotFoundError, SchemaError
from kehu.services import privacy
from kehu.services.access import SYSTEM, Actor
from kehu.services.customers import customer_360, list_customers
from kehu.store.models import AuditLog, Contact, Customer, Feedback, Interaction, Order

SERVICE = Actor(user_id=None, username="kf", role="service")
WANG = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812345678", "138****5678"),
        ("138-1234-5678", "138****5678"),
        ("+86 138 1234 5678", "138****5678"),
        ("12345", "***45"),
        ("", "****"),
        (None, None),
    ],
)
def test_mask_phone(phone, masked):
    assert privacy.mask_phone(phone) == masked


def test_masking_by_role():
    row = {"phone": "13812345678", "email": "wang@example.com", "name": "王"}
    assert privacy.mask_customer(row, SYSTEM) == row
    masked = privacy.mask_customer(row, Actor(None, "a", "analyst"))
    assert masked == {"phone": "138****5678", "email": "w***@example.com", "name": "王"}


def test_consent_and_withdrawal(loaded_store):
    with loaded_store() as s:
        privacy.record_consent(
            s, actor=SERVICE, code="C1", purpose="marketing_sms", granted=True, source="电话"
        )
        privacy.record_consent(
            s, actor=SERVICE, code="C1", purpose="marketing_wechat", granted=True
        )
        privacy.record_consent(s, actor=SERVICE, code="C1", purpose="marketing_sms", granted=False)
        s.commit()
        c = s.scalar(select(Customer).where(Customer.code == "C1"))
        state = privacy.current_consents(c)
        assert {k: v["granted"] for k, v in state.items()} == {
            "marketing_sms": False,
            "marketing_wechat": True,
        }
        assert not privacy.has_consent(c, "marketing_sms")
        assert privacy.has_consent(c, "marketing_wechat")
        assert not privacy.has_consent(c, "marketing_email")
        history = privacy.consent_history(s, actor=SERVICE, code="C1")
        assert [(h.purpose, h.granted) for h in history] == [
            ("marketing_sms", True),
            ("marketing_wechat", True),
            ("marketing_sms", False),
        ]
        actions = s.scalars(select(AuditLog.action).order_by(AuditLog.id)).all()
        assert actions[-3:] == ["consent.grant", "consent.grant", "consent.withdraw"]
        with pytest.raises(SchemaError, match="unknown purpose"):
            privacy.record_consent(s, actor=SERVICE, code="C1", purpose="spam", granted=True)
        with pytest.raises(NotFoundError):
            privacy.record_consent(s, actor=WANG, code="C3", purpose="marketing_sms", granted=True)
        with pytest.raises(ForbiddenError):
            privacy.record_consent(
                s,
                actor=Actor(None, "a", "analyst"),
                code="C1",
                purpose="marketing_sms",
                granted=True,
            )


def test_export_person(loaded_store):
    with loaded_store() as s:
        c = s.scalar(select(Customer).where(Customer.code == "C1"))
        s.add(Contact(customer_id=c.id, name="王老板", phone="13900000000"))
        s.commit()
        data = privacy.export_person(s, actor=SYSTEM, code="C1")
        json.dumps(data, ensure_ascii=False)  # JSON-ready
        assert data["customer"]["phone"] == "13812345678"
        assert [o["order_no"] for o in data["orders"]] == ["O101", "O102", "O103", "O104"]
        assert len(data["order_lines"]) == 5
        assert data["contacts"][0]["name"] == "王老板"
        with pytest.raises(ForbiddenError):
            privacy.export_person(s, actor=WANG, code="C1")


def test_anonymise_person(loaded_store):
    with loaded_store() as s:
        c = s.scalar(select(Customer).where(Customer.code == "C1"))
        s.add(Contact(customer_id=c.id, name="王老板", phone="13900000000"))
        s.add(Interaction(customer_id=c.id, kind="call", notes="家住西湖区"))
        s.add(Feedback(customer_id=c.id, text="送货太慢", rating=2))
        s.commit()
        privacy.anonymise_person(s, actor=SYSTEM, code="C1", note="客户来电要求删除")
        s.commit()
        c = s.scalar(select(Customer).where(Customer.code == "C1"))
        assert (c.phone, c.anonymised_at is not None, c.no_personalised_marketing) == (
            None,
            True,
            True,
        )
        assert "匿名" in c.name
        assert s.scalars(select(Contact)).all() == []
        assert s.scalar(select(Interaction.notes)) is None
        assert s.scalar(select(Feedback.text)) is None
        assert s.scalar(select(Feedback.rating)) == 2  # figures stay
        assert len(s.scalars(select(Order).where(Order.customer_id == c.id)).all()) == 4
        assert not privacy.has_consent(c, "marketing_sms")
        assert customer_360(s, actor=SYSTEM, code="C1")["profile"]["phone"] is None
        assert list_customers(s, actor=SYSTEM, filter="name contains '杭州'").total == 0
        row = s.scalars(select(AuditLog).where(AuditLog.action == "privacy.anonymise")).one()
        assert row.note == "客户来电要求删除" and "13812345678" not in json.dumps(row.changes)
