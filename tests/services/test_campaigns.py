"""Campaigns: targeting, consent and no-marketing exclusions, a reproducible control group,
export, webhook delivery with re-send, attribution and the uplift report."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from kehu.analytics.uplift import diff_proportions
from kehu.exceptions import (
    ConflictError,
    FilterSyntaxError,
    ForbiddenError,
    NotFoundError,
    SchemaError,
)
from kehu.services import campaigns as svc
from kehu.services.access import SYSTEM, Actor
from kehu.services.privacy import has_consent
from kehu.services.refresh import refresh
from kehu.store.models import CampaignMember, Consent, Customer, Order, OrderLine

ANALYST = Actor(user_id=None, username="ana", role="analyst")
WANG = Actor(user_id=None, username="wang", role="rep", rep_name="王伟")
SERVICE = Actor(user_id=None, username="kefu", role="service")
T0 = dt.datetime(2024, 7, 1, 9, 0)


def _population(s, n=200):
    """``n`` customers in 华东: ids K000..; consent for sms by position.

    i % 10 in 0..5 granted; 6 granted then withdrawn; 7 withdrawn then granted again;
    8 no record; 9 granted but no personalised marketing.  A 华南 customer is outside.
    """
    for i in range(n):
        c = Customer(code=f"K{i:03d}", region="华东", phone=f"1380000{i:04d}", name=f"店{i}")
        k = i % 10
        c.no_personalised_marketing = k == 9
        t = dt.datetime(2024, 1, 1)
        if k <= 5 or k == 9:
            c.consents.append(Consent(purpose="marketing_sms", granted=True, recorded_at=t))
        if k == 6:
            c.consents.append(Consent(purpose="marketing_sms", granted=True, recorded_at=t))
            c.consents.append(
                Consent(purpose="marketing_sms", granted=False, recorded_at=t + dt.timedelta(1))
            )
        if k == 7:
            c.consents.append(Consent(purpose="marketing_sms", granted=False, recorded_at=t))
            c.consents.append(
                Consent(purpose="marketing_sms", granted=True, recorded_at=t + dt.timedelta(1))
            )
        if k <= 5:  # consent for another channel does not count for sms
            c.consents.append(Consent(purpose="marketing_email", granted=True, recorded_at=t))
        s.add(c)
    s.add(Customer(code="S001", region="华南"))
    s.flush()


@pytest.fixture
def people(store_factory):
    with store_factory() as s, s.begin():
        _population(s)
    return store_factory


def _campaign(s, **kw):
    args = {
        "name": "夏季促销",
        "channel": "sms",
        "target": {"filter": "region = '华东'"},
        "control_share": 0.2,
        "seed": 7,
    }
    return svc.create_campaign(s, actor=SYSTEM, **{**args, **kw})


def _groups(s, campaign_id):
    rows = s.execute(
        select(Customer.code, CampaignMember.group)
        .join(Customer, Customer.id == CampaignMember.customer_id)
        .where(CampaignMember.campaign_id == campaign_id)
    )
    return dict(rows.all())


def test_exclusions_follow_consent_records_and_the_no_marketing_switch(people):
    with people() as s:
        c = _campaign(s)
        got = svc.build_audience(s, actor=SYSTEM, campaign_id=c.id)
        # 200 targeted; 20 no-marketing; 20 withdrawn + 20 without record lack consent
        assert (got["targeted"], got["excluded_no_marketing"], got["excluded_no_consent"]) == (
            200,
            20,
            40,
        )
        groups = _groups(s, c.id)
        assert len(groups) == got["members"] == 140
        # the same decision as privacy.has_consent for every targeted customer
        for cust in s.scalars(select(Customer).where(Customer.region == "华东")):
            expected = has_consent(cust, "marketing_sms") and not cust.no_personalised_marketing
            assert (cust.code in groups) == expected, cust.code
        assert "S001" not in groups


def test_control_group_share_exact_and_reproducible(people):
    with people() as s:
        c = _campaign(s)
        svc.build_audience(s, actor=SYSTEM, campaign_id=c.id)
        first = _groups(s, c.id)
        assert sum(g == "control" for g in first.values()) == 28  # round(0.2 x 140)
        svc.build_audience(s, actor=SYSTEM, campaign_id=c.id)  # rebuild: same assignment
        assert _groups(s, c.id) == first
        twin = _campaign(s, name="twin")  # another campaign with the same seed
        svc.build_audience(s, actor=SYSTEM, campaign_id=twin.id)
        assert _groups(s, twin.id) == first
        other = _campaign(s, name="other seed", seed=8)
        svc.build_audience(s, actor=SYSTEM, campaign_id=other.id)
        again = _groups(s, other.id)
        assert sum(g == "control" for g in again.values()) == 28 and again != first
        assert svc.split_groups(list(first), 0.2, 7) == first
        none = _campaign(s, name="no control", control_share=0.0)
        assert svc.build_audience(s, actor=SYSTEM, campaign_id=none.id)["control"] == 0
        # members are stored with their delivery state
        states = {m.send_status for m in s.scalars(select(CampaignMember))}
        assert states == {"pending", "held_out"}


def test_target_by_classes(loaded_store):
    refresh(loaded_store, as_of=dt.date(2024, 7, 1))
    with loaded_store() as s:
        for code in ("C1", "C2", "C3", "C4"):
            cust = s.scalar(select(Customer).where(Customer.code == code))
            cust.consents.append(Consent(purpose="marketing_wechat", granted=True))
        c = svc.create_campaign(
            s,
            actor=SYSTEM,
            name="VIP",
            channel="wechat",
            target={"classes": {"rfm8": ["重要价值客户", "重要保持客户"]}},
            control_share=0.5,
        )
        svc.build_audience(s, actor=SYSTEM, campaign_id=c.id)
        assert sorted(_groups(s, c.id)) == ["C1", "C4"]
        assert sorted(_groups(s, c.id).values()) == ["control", "treatment"]


def test_create_validates_and_roles(people):
    with people() as s:
        with pytest.raises(SchemaError, match="channel"):
            _campaign(s, channel="fax")
        with pytest.raises(SchemaError, match="empty target"):
            _campaign(s, target={})
        with pytest.raises(SchemaError, match="unknown target"):
            _campaign(s, target={"everyone": True})
        with pytest.raises(SchemaError, match="unknown classifier"):
            _campaign(s, target={"classes": {"zodiac": ["rat"]}})
        with pytest.raises(FilterSyntaxError):
            _campaign(s, target={"filter": "region = "})
        with pytest.raises(SchemaError, match="control_share"):
            _campaign(s, control_share=1.0)
        with pytest.raises(SchemaError, match="webhook_url"):
            _campaign(s, webhook_url="ftp://x")
        for actor in (WANG, SERVICE, ANALYST):
            with pytest.raises(ForbiddenError):
                svc.create_campaign(
                    s, actor=actor, name="x", channel="sms", target={"tier": "金卡"}
                )
        for actor in (WANG, SERVICE):
            with pytest.raises(ForbiddenError):
                svc.list_campaigns(s, actor=actor)
        assert svc.list_campaigns(s, actor=ANALYST) == []
        with pytest.raises(NotFoundError):
            svc.get_campaign(s, actor=SYSTEM, campaign_id=99)


def test_export_masks_by_role(people):
    with people() as s:
        c = _campaign(s)
        with pytest.raises(ConflictError, match="build it first"):
            svc.export_members(s, actor=SYSTEM, campaign_id=c.id)
        svc.build_audience(s, actor=SYSTEM, campaign_id=c.id)
        data, media = svc.export_members(s, actor=SYSTEM, campaign_id=c.id)
        rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
        assert media.startswith("text/csv") and len(rows) == 112
        assert {r["group"] for r in rows} == {"treatment"}
        assert rows[0]["phone"].startswith("1380000") and "*" not in rows[0]["phone"]
        masked, _ = svc.export_members(s, actor=ANALYST, campaign_id=c.id, group="all")
        rows = list(csv.DictReader(io.StringIO(masked.decode("utf-8-sig"))))
        assert len(rows) == 140 and rows[0]["phone"] == "138****" + rows[0]["phone"][-4:]
        xlsx, media = svc.export_members(s, actor=SYSTEM, campaign_id=c.id, format="xlsx")
        assert xlsx[:2] == b"PK" and "spreadsheet" in media


# --- webhook ------------------------------------------------------------------------------------


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        body = json.loads(raw)
        self.server.calls.append((self.headers.get("Idempotency-Key"), body))
        self.server.signed.append(
            (self.headers.get("X-Kehu-Timestamp"), self.headers.get("X-Kehu-Signature"), raw)
        )
        status = self.server.statuses.pop(0) if self.server.statuses else 200
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):  # keep the test output clean
        pass


@pytest.fixture
def webhook():
    """A local webhook on 127.0.0.1 recording calls; ``statuses`` queue the answers."""
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    srv.calls, srv.statuses, srv.signed = [], [], []
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/hook"
    yield srv
    srv.shutdown()
    srv.server_close()


def test_webhook_batches_status_and_idempotent_resend(people, webhook):
    with people() as s:
        c = _campaign(s, webhook_url=webhook.url)
        svc.build_audience(s, actor=SYSTEM, campaign_id=c.id)
        webhook.statuses = [200, 500, 200]  # the second batch fails
        got = svc.send_to_webhook(s, actor=SYSTEM, campaign_id=c.id, batch_size=50)
        assert got == {"sent": 62, "failed": 50, "batches": 3}
        first_keys = [k for k, _b in webhook.calls]
        sent = [m["customer_id"] for _k, b in webhook.calls for m in b["members"]]
        assert len(sent) == 112 and len(set(sent)) == 112 and all(first_keys)
        assert webhook.calls[0][1]["channel"] == "sms" and webhook.calls[0][1]["batch"] == 1
        failed = s.scalars(
            select(CampaignMember).where(CampaignMember.send_status == "failed")
        ).all()
        assert len(failed) == 50 and failed[0].last_error.startswith("HTTP 500")
        assert c.launched_at is not None and c.status == "sent"
        # re-send: only the 50 failed members, under the failed batch's key
        webhook.calls.clear()
        got = svc.send_to_webhook(s, actor=SYSTEM, campaign_id=c.id, batch_size=50)
        assert got == {"sent": 50, "failed": 0, "batches": 1}
        assert webhook.calls[0][0] == first_keys[1]
        assert {m.attempts for m in failed} == {2}
        webhook.calls.clear()
        assert svc.send_to_webhook(s, actor=SYSTEM, campaign_id=c.id)["batches"] == 0
        assert webhook.calls == []
        control = s.scalars(select(CampaignMember).where(CampaignMember.group == "control"))
        assert {m.send_status for m in control} == {"held_out"}
        with pytest.raises(ConflictError, match="fixed"):
            svc.build_audience(s, actor=SYSTEM, campaign_id=c.id)


def test_webhook_requests_are_signed_with_the_key(people, webhook):
    key = "webhook-secret-0123456789"
    with people() as s:
        c = _campaign(s, webhook_url=webhook.url)
        svc.build_audience(s, actor=SYSTEM, campaign_id=c.id)
        svc.send_to_webhook(s, actor=SYSTEM, campaign_id=c.id, batch_size=100, signing_key=key)
    assert len(webhook.signed) == 2
    for stamp, signature, raw in webhook.signed:
        # what a receiver does: recompute the HMAC over "timestamp.body"
        mac = hmac.new(key.encode(), stamp.encode() + b"." + raw, hashlib.sha256).hexdigest()
        assert signature == "sha256=" + mac and abs(int(stamp) - time.time()) < 60
        assert signature != svc.webhook_signature("another-secret-0123", raw)["X-Kehu-Signature"]
    assert "夏季促销" in webhook.signed[0][2].decode("utf-8")  # UTF-8 JSON, as signed


def test_webhook_is_unsigned_without_a_key(people, webhook):
    with people() as s:
        c = _campaign(s, webhook_url=webhook.url)
        svc.build_audience(s, actor=SYSTEM, campaign_id=c.id)
        svc.send_to_webhook(s, actor=SYSTEM, campaign_id=c.id, batch_size=200)
    assert [(t, sig) for t, sig, _raw in webhook.signed] == [(None, None)]


def test_unreachable_webhook_marks_members_failed(people):
    with people() as s:
        c = _campaign(s, webhook_url="http://127.0.0.1:9/nothing-listens-here")
        svc.build_audience(s, actor=SYSTEM, campaign_id=c.id)
        got = svc.send_to_webhook(s, actor=SYSTEM, campaign_id=c.id, timeout=2)
        assert got["sent"] == 0 and got["failed"] == 112
        assert c.launched_at is None and c.status == "ready"
        plain = _campaign(s, name="no hook")
        svc.build_audience(s, actor=SYSTEM, campaign_id=plain.id)
        with pytest.raises(ConflictError, match="webhook_url"):
            svc.send_to_webhook(s, actor=SYSTEM, campaign_id=plain.id)


# --- attribution and report ----------------------------------------------------------------------


def _order(s, code, no, when, amount, status=None):
    cid = s.scalar(select(Customer.id).where(Customer.code == code))
    s.add(
        Order(
            order_no=no,
            customer_id=cid,
            order_time=when,
            amount=amount,
            status=status,
            content_hash=no,
            lines=[OrderLine(line_no=1, amount=amount)],
        )
    )


def test_report_attributes_orders_in_the_window(people):
    with people() as s:
        c = _campaign(s, response_days=14)
        svc.build_audience(s, actor=SYSTEM, campaign_id=c.id)
        with pytest.raises(ConflictError, match="not been sent"):
            svc.report(s, actor=SYSTEM, campaign_id=c.id)
        svc.launch(s, actor=SYSTEM, campaign_id=c.id, at=T0)
        groups = _groups(s, c.id)
        treat = sorted(k for k, g in groups.items() if g == "treatment")
        ctrl = sorted(k for k, g in groups.items() if g == "control")
        day = dt.timedelta(days=1)
        for i, code in enumerate(treat[:30]):  # 30 of 112 buy: 100 each, one buys twice
            _order(s, code, f"T{i}", T0 + day, 100.0)
        _order(s, treat[0], "T-again", T0 + 3 * day, 50.0)
        for i, code in enumerate(ctrl[:4]):  # 4 of 28 buy 80 each
            _order(s, code, f"C{i}", T0 + 2 * day, 80.0)
        _order(s, treat[40], "late", T0 + 14 * day, 999.0)  # after the window
        _order(s, treat[41], "early", T0 - day, 999.0)  # before the launch
        _order(s, ctrl[10], "void", T0 + day, 999.0, status="cancelled")
        _order(s, "S001", "outsider", T0 + day, 999.0)
        s.flush()
        got = svc.report(s, actor=ANALYST, campaign_id=c.id, as_of=T0 + 20 * day)
        t, k = got["groups"]["treatment"], got["groups"]["control"]
        assert (t["members"], t["converted"], t["orders"], t["revenue"]) == (112, 30, 31, 3050.0)
        assert (k["members"], k["converted"], k["orders"], k["revenue"]) == (28, 4, 4, 320.0)
        expected = diff_proportions(30, 112, 4, 28)
        conv = got["conversion_uplift"]
        assert conv["estimate"] == pytest.approx(30 / 112 - 4 / 28)
        assert (conv["low"], conv["high"]) == pytest.approx((expected.low, expected.high))
        rev = got["revenue_uplift"]
        assert rev["estimate"] == pytest.approx(3050 / 112 - 320 / 28)
        assert rev["low"] < rev["estimate"] < rev["high"] and rev["df"] > 1
        assert got["window"]["complete"] is True
        assert got["incremental"]["conversions"] == pytest.approx(112 * (30 / 112 - 4 / 28))
        with pytest.raises(ForbiddenError):
            svc.report(s, actor=WANG, campaign_id=c.id)
