"""Campaigns and their members (treatment and control)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kehu.store.models.base import Base, Timestamps


class Campaign(Timestamps, Base):
    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text, info={"personal": "mention"})
    channel: Mapped[str | None] = mapped_column(String(32))  # sms, wechat, email ...
    status: Mapped[str] = mapped_column(String(16), default="draft")
    #: {"classes": {"rfm8": [...]}, "filter": "..."}
    target: Mapped[dict[str, Any]] = mapped_column(default=dict, info={"personal": "mention"})
    control_share: Mapped[float] = mapped_column(default=0.1)
    seed: Mapped[int] = mapped_column(default=0)
    response_days: Mapped[int] = mapped_column(default=30)
    launched_at: Mapped[dt.datetime | None]
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    #: counts of the last audience build: targeted, excluded (by reason), treatment, control
    audience: Mapped[dict[str, Any] | None]


class CampaignMember(Base):
    __tablename__ = "campaign_members"
    __table_args__ = (UniqueConstraint("campaign_id", "customer_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    group: Mapped[str] = mapped_column(String(16))  # "treatment" or "control"
    sent_at: Mapped[dt.datetime | None]
    send_status: Mapped[str | None] = mapped_column(String(32))
    #: webhook deliveries tried for this member, and the last failure
    attempts: Mapped[int] = mapped_column(default=0, server_default="0")
    #: may quote the receiver's answer about the member
    last_error: Mapped[str | None] = mapped_column(Text, info={"personal": "text"})
