"""``customer_months``: each customer's sales and orders per calendar month, kept as orders
are written (``services/sales_months.py``), filled here from the orders already stored.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customer_months",
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("month", sa.String(length=7), nullable=False),
        sa.Column("sales", sa.Double(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("first_month", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
            name=op.f("fk_customer_months_customer_id_customers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("customer_id", "month", name=op.f("pk_customer_months")),
    )
    op.create_index(op.f("ix_customer_months_month"), "customer_months", ["month"])
    fill()


def fill() -> None:
    """One row per customer and month of the stored orders (as ``sales_months.recount``)."""
    postgres = op.get_bind().dialect.name == "postgresql"
    month = "to_char(order_time, 'YYYY-MM')" if postgres else "strftime('%Y-%m', order_time)"
    op.execute(
        "INSERT INTO customer_months (customer_id, month, sales, orders, first_month) "
        "SELECT customer_id, month, sales, orders, "
        "month = min(month) OVER (PARTITION BY customer_id) FROM ("
        f"SELECT customer_id, {month} AS month, sum(amount) AS sales, count(*) AS orders "
        f"FROM orders WHERE customer_id IS NOT NULL GROUP BY customer_id, {month}) AS per"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_customer_months_month"), table_name="customer_months")
    op.drop_table("customer_months")
