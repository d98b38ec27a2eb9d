"""Budgets (per-chat limits, reservations of requests in flight) and access control.

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-26
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
MONEY = sa.Numeric(18, 8)


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def _counter(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "budget_limits",
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("period", sa.String(), nullable=False),
        sa.Column("metric", sa.String(), nullable=False),
        sa.Column("amount", MONEY, nullable=True),
        sa.Column("set_by", sa.String(), nullable=False),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("chat_key", "scope", "period", "metric", name="pk_budget_limits"),
    )

    op.create_table(
        "budget_reservations",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("cost", MONEY, server_default=sa.text("0"), nullable=False),
        _counter("tokens"),
        _counter("images"),
        _counter("mj_tasks"),
        _timestamp("created_at"),
        _timestamp("expires_at"),
        sa.PrimaryKeyConstraint("id", name="pk_budget_reservations"),
    )
    op.create_index("ix_budget_reservations_chat_expires", "budget_reservations", ["chat_key", "expires_at"])

    op.create_table(
        "chat_access",
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("set_by", sa.String(), nullable=False),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("chat_key", name="pk_chat_access"),
    )

    op.create_table(
        "access_refusals",
        sa.Column("subject", sa.String(), nullable=False),
        _timestamp("refused_at"),
        sa.PrimaryKeyConstraint("subject", name="pk_access_refusals"),
    )


def downgrade() -> None:
    op.drop_table("access_refusals")
    op.drop_table("chat_access")
    op.drop_table("budget_reservations")  # drops its index too
    op.drop_table("budget_limits")
