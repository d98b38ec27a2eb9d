"""Budget ceilings: the highest a chat's own admins may set a limit (a bot admin's value).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("budget_limits") as batch:
        batch.add_column(sa.Column("capped", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("ceiling", sa.Numeric(18, 8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("budget_limits") as batch:
        batch.drop_column("ceiling")
        batch.drop_column("capped")
