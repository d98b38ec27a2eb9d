"""Several replicas on one database: leases (leader election), shared album parts, and the
rate limits and job slots shared through the database when there is no Redis.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False)


def upgrade() -> None:
    op.create_table(
        "leases",
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("owner", sa.String(), nullable=False),
        _timestamp("until"),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    op.create_table(
        "album_parts",
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("group_key", sa.String(), nullable=False),
        sa.Column("part_id", sa.String(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        _timestamp("received_at"),
        sa.Column("claimed_by", sa.String(), nullable=True),
        sa.PrimaryKeyConstraint("platform", "group_key", "part_id", name="pk_album_parts"),
    )
    op.create_table(
        "rate_hits",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        _timestamp("at"),
        sa.PrimaryKeyConstraint("id", name="pk_rate_hits"),
    )
    op.create_index("ix_rate_hits_key_at", "rate_hits", ["key", "at"])
    op.create_table(
        "job_slots",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("instance_id", sa.String(), nullable=False),
        _timestamp("taken_at"),
        sa.PrimaryKeyConstraint("id", name="pk_job_slots"),
    )
    op.create_index("ix_job_slots_key", "job_slots", ["key"])


def downgrade() -> None:
    op.drop_table("job_slots")
    op.drop_table("rate_hits")
    op.drop_table("album_parts")
    op.drop_table("leases")
