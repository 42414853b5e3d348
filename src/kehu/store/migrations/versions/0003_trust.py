"""Sign-in throttle counted atomically per key; runs with an owner and a heartbeat,
and at most one running run.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

RUNNING = sa.text("status = 'running'")


def upgrade() -> None:
    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_started_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    with op.batch_alter_table("classification_runs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    # runs left 'running' by a process that died before this revision: mark them failed
    # so that the one-running index can be built
    op.execute(
        "UPDATE classification_runs SET status = 'failed', "
        "error = 'interrupted: the process doing the run stopped' "
        "WHERE status = 'running' AND id NOT IN "
        "(SELECT max(id) FROM classification_runs WHERE status = 'running')"
    )
    op.create_index(
        "ux_classification_runs_one_running",
        "classification_runs",
        ["status"],
        unique=True,
        sqlite_where=RUNNING,
        postgresql_where=RUNNING,
    )


def downgrade() -> None:
    op.drop_index("ux_classification_runs_one_running", table_name="classification_runs")
    with op.batch_alter_table("classification_runs", schema=None) as batch_op:
        batch_op.drop_column("heartbeat_at")
        batch_op.drop_column("owner")
    op.drop_table("login_throttle")
