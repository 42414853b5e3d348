"""Campaigns: audience, control group, export or webhook, attribution and uplift.

Audience
    The target is the customer list's own selection (classes of the current
    run, tier, tags and the safe filter language, :mod:`kehu.services.customers`).
    From it are excluded the customers who opted out of personalised marketing
    (anonymised customers are opted out) and those whose latest consent record
    for the channel's purpose (``marketing_<channel>``) is not a grant -- no
    record means no consent.

Control group
    Members are ordered by ``sha256("<seed>:<customer id>")`` and the first
    ``round(share x n)`` form the control group: the assignment depends only
    on the seed and the audience, so rebuilding reproduces it, and it is
    stored per member (``group``).

Delivery
    The treatment group is exported (CSV/Excel) or POSTed to the campaign's
    webhook as JSON batches with an ``Idempotency-Key`` header; each member's
    delivery status (``sent``/``failed``, attempts, last error) is recorded,
    and a re-send posts only the members not yet sent.  Control members are
    ``held_out``.

Attribution and report
    Orders of a member from the launch up to ``response_days`` later count
    for that member (cancelled orders excluded).  The report compares the
    groups as assigned (intention to treat, failed deliveries stay in the
    treatment group): conversion with the Newcombe (or Wald) interval of the
    difference, revenue per member with the Welch interval
    (:mod:`kehu.analytics.uplift`).

Permissions (:mod:`kehu.services.access`): ``campaigns.manage`` to create, build,
send and launch; ``campaigns.read`` to read campaigns, export lists (personal data
masked by role) and reports.
"""

from kehu.services.campaigns.audience import build_audience, preview_audience
from kehu.services.campaigns.groups import GROUPS, assignment_key, split_groups
from kehu.services.campaigns.members import export_members, list_members
from kehu.services.campaigns.records import (
    campaign_dict,
    create_campaign,
    get_campaign,
    launch,
    list_campaigns,
)
from kehu.services.campaigns.results import report
from kehu.services.campaigns.target import CHANNELS, TARGET_KEYS, purpose_of
from kehu.services.campaigns.webhook import MAX_BATCH, send_to_webhook, webhook_signature

__all__ = [
    "CHANNELS",
    "GROUPS",
    "MAX_BATCH",
    "TARGET_KEYS",
    "assignment_key",
    "build_audience",
    "campaign_dict",
    "create_campaign",
    "export_members",
    "get_campaign",
    "launch",
    "list_campaigns",
    "list_members",
    "preview_audience",
    "purpose_of",
    "report",
    "send_to_webhook",
    "split_groups",
    "webhook_signature",
]
