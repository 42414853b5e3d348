"""Loyalty: tiers, earning, redemption, expiry, reversals, referral and birthday rewards.

The ledger
    Every change of points is one :class:`LedgerEntry`, never updated or
    deleted (migration 0002 makes the database refuse an UPDATE of a posting's
    figures).  ``key`` is the posting's natural key and unique, so the same
    thing never posts twice: ``earn:order:<order>``,
    ``reverse:order:<order>:<refund>``, ``redeem:<account>:<request>``,
    ``referral:<referred customer>``, ``birthday:<account>:<year>``,
    ``expire:<account>:<date>``, ``settle:<key of the earning>``.  The account
    caches ``balance`` (= sum of points = last ``balance_after``) and ``debt``
    (= sum of debt changes); :func:`check_account` verifies both.

Lots and expiry
    A credit (earning, referral, birthday) is a lot expiring ``expiry_days``
    after the order date (or the posting).  Debits (redemptions, expiries,
    reversals) consume lots oldest-expiring first, so what is left of each lot
    is *derived* from the ledger: lot ``i`` in (expiry, id) order keeps
    ``clamp(cumulative credits through i - total debits, 0, points_i)``.

Reversals and the debt rule
    A refund of ``r`` out of an order of ``A`` reverses ``round(E * r / A)`` of
    the ``E`` points the order earned (a cancellation reverses what is left),
    never more than ``E`` in total.  If part of those points were already
    spent, the balance only goes to zero; the shortfall is recorded as the
    account's *debt* (on the entry and cached on the account) and settled from
    the next credits, which post in full and are followed by a ``reverse``
    entry ``settle:<key>`` taking back up to the debt.

Concurrency
    A posting locks the account row (``SELECT ... FOR UPDATE``) on PostgreSQL;
    on SQLite it takes the database write lock first (``BEGIN IMMEDIATE``), so
    postings serialise and each sees the previous one's balance.  The
    balance check, the key check and the insert happen under that lock;
    creating an account uses ``INSERT ... ON CONFLICT DO NOTHING``.  The
    account's ``version`` column adds an optimistic check on top.

Roles
    Reading an account follows the rep-scoping rule; posting needs a role of
    ``loyalty.post`` and the customer in scope; the programme (rules, tier
    recomputation, expiry and birthday runs, adjustments) needs ``loyalty.manage``.
"""

from kehu.services.loyalty.accounts import account_summary, check_account, ledger
from kehu.services.loyalty.batch import birthday_rewards, expire_points, recompute_tiers
from kehu.services.loyalty.entries import Lot, Posting, about, lots, serialise_writes
from kehu.services.loyalty.postings import (
    adjust,
    earn_for_order,
    earnable_amount,
    enroll,
    redeem,
    reverse_order,
    reward_referral,
)
from kehu.services.loyalty.rules import (
    CANCELLED,
    DEFAULT_TIERS,
    MAX_POINTS,
    MAX_REFUND_ID,
    ProgramRules,
    Tier,
    current_rules,
    parse_rules,
    set_rules,
)

__all__ = [
    "CANCELLED",
    "DEFAULT_TIERS",
    "MAX_POINTS",
    "MAX_REFUND_ID",
    "Lot",
    "Posting",
    "ProgramRules",
    "Tier",
    "about",
    "account_summary",
    "adjust",
    "birthday_rewards",
    "check_account",
    "current_rules",
    "earn_for_order",
    "earnable_amount",
    "enroll",
    "expire_points",
    "ledger",
    "lots",
    "parse_rules",
    "recompute_tiers",
    "redeem",
    "reverse_order",
    "reward_referral",
    "serialise_writes",
    "set_rules",
]
