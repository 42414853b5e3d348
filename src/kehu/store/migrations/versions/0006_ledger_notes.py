"""Ledger notes keep a person's words only: the English sentences the system wrote into
``loyalty_ledger.note`` (earnings, cancellations, refunds, debt settlements, birthdays,
expiries, referrals) are cleared; a reversal keeps the reason that was given.  Pages and the
API now say what the system did from the entry itself, in the reader's language.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

SYSTEM = "kind IN ('earn', 'birthday', 'expire', 'referral') OR key LIKE 'settle:%'"


def _reason(note: str, order: str) -> str | None:
    """The reason in what the earlier code wrote for a reversal of ``order``:
    "cancellation|refund X of order O[; N points already spent, recorded as debt][: reason]"."""
    m = re.match(
        rf"(?:cancellation|refund \S+) of order {re.escape(order)}"
        r"(?:; \d+ points already spent, recorded as debt)?(?:: (?P<reason>.*))?$",
        note,
        re.DOTALL,
    )
    return m["reason"] if m else note


def upgrade() -> None:
    con = op.get_bind()
    con.execute(sa.text(f"UPDATE loyalty_ledger SET note = NULL WHERE {SYSTEM}"))
    rows = con.execute(
        sa.text(
            "SELECT id, key, note FROM loyalty_ledger "
            "WHERE kind = 'reverse' AND key LIKE 'reverse:order:%' AND note IS NOT NULL"
        )
    ).all()
    for id_, key, note in rows:
        order = key.removeprefix("reverse:order:").rpartition(":")[0]
        con.execute(
            sa.text("UPDATE loyalty_ledger SET note = :note WHERE id = :id"),
            {"note": _reason(note, order), "id": id_},
        )


def downgrade() -> None:
    """The cleared sentences are derived from the entries again by the pages; nothing to undo."""
