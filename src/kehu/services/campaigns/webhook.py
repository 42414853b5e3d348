"""Delivery to the campaign's webhook: signed JSON batches, each member's outcome recorded."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import httpx
from sqlalchemy.orm import Session

from kehu.exceptions import ConflictError, SchemaError
from kehu.services import audit
from kehu.services.access import Actor, require
from kehu.services.campaigns.members import member_rows
from kehu.services.campaigns.records import get_campaign
from kehu.store.models import Campaign, utcnow

MAX_BATCH = 1000


def webhook_signature(key: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """Headers that sign a webhook body: ``X-Kehu-Timestamp`` and ``X-Kehu-Signature``.

    The signature is ``sha256=`` + hex HMAC-SHA256 of ``"{timestamp}.{body}"``
    under ``key``; a receiver recomputes it and rejects old timestamps (replays).

    Examples
    --------
    >>> webhook_signature("k" * 16, b"{}", now=0)["X-Kehu-Signature"][:15]
    'sha256=543c08f8'
    """
    stamp = str(int(time.time() if now is None else now))
    mac = hmac.new(key.encode("utf-8"), stamp.encode() + b"." + body, hashlib.sha256)
    return {"X-Kehu-Timestamp": stamp, "X-Kehu-Signature": "sha256=" + mac.hexdigest()}


def send_to_webhook(
    session: Session,
    *,
    actor: Actor,
    campaign_id: int,
    batch_size: int = 200,
    timeout: float = 10.0,
    transport: httpx.BaseTransport | None = None,
    signing_key: str | None = None,
) -> dict[str, int]:
    """POST the treatment members not yet sent to the webhook, in JSON batches.

    Each batch is ``{"campaign_id", "campaign", "channel", "batch", "members":
    [{"customer_id", "name", "phone", "email"}]}`` with an ``Idempotency-Key``
    header derived from the campaign and the batch's members, and, with a
    ``signing_key``, the signature headers of :func:`webhook_signature` (the
    receiver recomputes it to know the personal data came from kehu).  A 2xx answer
    marks the batch's members ``sent``; anything else marks them ``failed``
    with the reason.  Sending again retries only the members not sent.  The
    campaign row is locked while sending, so two sends never overlap.
    """
    require(actor, "campaigns.manage")
    if not 1 <= batch_size <= MAX_BATCH:
        raise SchemaError(f"batch_size must be between 1 and {MAX_BATCH}, got {batch_size}")
    campaign = get_campaign(session, actor=actor, campaign_id=campaign_id, lock=True)
    if campaign.status == "draft":
        raise ConflictError(f"campaign {campaign_id} has no audience yet: build it first")
    if not campaign.webhook_url:
        raise ConflictError(f"campaign {campaign_id} has no webhook_url: export the list instead")
    pending = member_rows(session, campaign_id, "treatment", pending_only=True)
    counts = {"sent": 0, "failed": 0, "batches": 0}
    with httpx.Client(timeout=timeout, follow_redirects=False, transport=transport) as http:
        for start in range(0, len(pending), batch_size):
            batch = pending[start : start + batch_size]
            error = _post_batch(http, campaign, batch, counts["batches"] + 1, signing_key)
            _record_outcome(batch, error)
            counts["failed" if error else "sent"] += len(batch)
            counts["batches"] += 1
            session.flush()  # each batch's outcome is recorded before the next is sent
    if counts["sent"] and campaign.launched_at is None:
        campaign.launched_at = utcnow()
        campaign.status = "sent"
    audit.record(
        session,
        actor=actor,
        action="campaign.send",
        entity="campaign",
        entity_id=campaign_id,
        changes=counts,
    )
    session.flush()
    return counts


def _post_batch(
    http: httpx.Client, campaign: Campaign, batch, number: int, signing_key: str | None
) -> str | None:
    """POST one batch; the reason it failed, or None: a failure must not stop the next batch."""
    codes = [c.code for _m, c in batch]
    key = hashlib.sha256(json.dumps([campaign.id, codes]).encode()).hexdigest()[:32]
    payload = {
        "campaign_id": campaign.id,
        "campaign": campaign.name,
        "channel": campaign.channel,
        "batch": number,
        "members": [
            {"customer_id": c.code, "name": c.name, "phone": c.phone, "email": c.email}
            for _m, c in batch
        ],
    }
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Idempotency-Key": key, "Content-Type": "application/json"}
    if signing_key:
        headers.update(webhook_signature(signing_key, body))
    error = None
    try:
        r = http.post(campaign.webhook_url, content=body, headers=headers)
        if not 200 <= r.status_code < 300:
            error = f"HTTP {r.status_code}: {r.text[:200]}"
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    return error


def _record_outcome(batch, error: str | None) -> None:
    """Mark the batch's members sent or failed, so a re-send retries only the failed ones."""
    now = utcnow()
    for member, _c in batch:
        member.attempts = member.attempts + 1
        member.send_status = "failed" if error else "sent"
        member.last_error = error
        if not error:
            member.sent_at = now
