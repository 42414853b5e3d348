"""An index on ``customers.updated_at``: the last change to a customer is read on every page
of figures (the store's version, ``services/memo.py``), a look-up instead of a scan.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05
"""

from __future__ import annotations

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_customers_updated_at", "customers", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_customers_updated_at", table_name="customers")
