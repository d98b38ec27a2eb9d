"""Midjourney Describe results and the prompts asked for tasks waiting in MODAL.

Revision ID: 0007_mjthreads
Revises: 0007_i18n
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_mjthreads"
down_revision: str | None = "0007_i18n"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("mj_tasks") as batch:
        batch.add_column(sa.Column("final_prompt", sa.Text(), nullable=True))
    op.create_table(
        "mj_prompt_requests",
        sa.Column("id", sa.String(), nullable=False),
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_mj_prompt_requests"),
        sa.UniqueConstraint("task_id", name="uq_mj_prompt_requests_task_id"),
    )
    op.create_index("ix_mj_prompt_requests_chat_message", "mj_prompt_requests", ["chat_key", "message_id"])


def downgrade() -> None:
    op.drop_table("mj_prompt_requests")
    with op.batch_alter_table("mj_tasks") as batch:
        batch.drop_column("final_prompt")
