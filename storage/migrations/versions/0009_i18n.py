"""`/lang` choices per person and per chat; the language a Midjourney task reports in.

Revision ID: 0007_i18n
Revises: 0007_controls
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_i18n"
down_revision: str | None = "0007_controls"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "language_choices",
        sa.Column("subject", sa.String(), nullable=False),
        sa.Column("language", sa.String(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subject", name="pk_language_choices"),
    )
    with op.batch_alter_table("mj_tasks") as batch:
        batch.add_column(sa.Column("language", sa.String(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("mj_tasks") as batch:
        batch.drop_column("language")
    op.drop_table("language_choices")
