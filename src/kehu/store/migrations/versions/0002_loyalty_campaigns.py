"""Loyalty debt, birthdays and rule versions; campaign audience and delivery attempts;
the loyalty ledger made append-only in the database.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

#: the figures of a posting; ``order_id`` and ``posted_by`` stay updatable so that
#: ``ON DELETE SET NULL`` of an order or a user still works
FROZEN = "account_id, key, kind, points, balance_after, debt, expires_on, posted_at"
MESSAGE = "loyalty_ledger is append-only: post a new entry instead of changing one"


def upgrade() -> None:
    with op.batch_alter_table("loyalty_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("debt", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("birthday", sa.Date(), nullable=True))
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("debt", sa.Integer(), server_default="0", nullable=False))
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.add_column(sa.Column("audience", sa.JSON(), nullable=True))
    with op.batch_alter_table("campaign_members", schema=None) as batch_op:
        batch_op.add_column(sa.Column("attempts", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("last_error", sa.Text(), nullable=True))
    op.create_table(
        "loyalty_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_loyalty_rules_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_loyalty_rules")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION kehu_ledger_append_only() RETURNS trigger AS $$ "
            f"BEGIN RAISE EXCEPTION '{MESSAGE}'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            f"CREATE TRIGGER loyalty_ledger_append_only BEFORE UPDATE OF {FROZEN} "
            "ON loyalty_ledger FOR EACH ROW EXECUTE FUNCTION kehu_ledger_append_only()"
        )
    else:
        op.execute(
            f"CREATE TRIGGER loyalty_ledger_append_only BEFORE UPDATE OF {FROZEN} "
            f"ON loyalty_ledger BEGIN SELECT RAISE(ABORT, '{MESSAGE}'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS loyalty_ledger_append_only ON loyalty_ledger")
        op.execute("DROP FUNCTION IF EXISTS kehu_ledger_append_only()")
    else:
        op.execute("DROP TRIGGER IF EXISTS loyalty_ledger_append_only")
    op.drop_table("loyalty_rules")
    with op.batch_alter_table("campaign_members", schema=None) as batch_op:
        batch_op.drop_column("last_error")
        batch_op.drop_column("attempts")
    with op.batch_alter_table("campaigns", schema=None) as batch_op:
        batch_op.drop_column("audience")
    with op.batch_alter_table("loyalty_ledger", schema=None) as batch_op:
        batch_op.drop_column("debt")
    with op.batch_alter_table("loyalty_accounts", schema=None) as batch_op:
        batch_op.drop_column("birthday")
        batch_op.drop_column("debt")
