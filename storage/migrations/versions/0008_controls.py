"""Answer controls: a durable name for each chat answer, which its 🔄 / ⏹ / "continue" buttons
carry, and ⏹ presses handed from one replica to the one streaming the answer.

Revision ID: 0007_controls
Revises: 0007_voice
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007_controls"
down_revision: str | None = "0007_voice"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("conversation_turns") as batch:
        batch.add_column(sa.Column("answer_key", sa.String(), nullable=True))
        batch.create_index("ix_conversation_turns_answer_key", ["answer_key"], unique=True)
    op.create_table(
        "answer_stops",
        sa.Column("answer_key", sa.String(), nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("by_admin", sa.Boolean(), nullable=False),
        sa.Column("outcome", sa.String(), nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("answer_key", name="pk_answer_stops"),
    )


def downgrade() -> None:
    op.drop_table("answer_stops")
    with op.batch_alter_table("conversation_turns") as batch:
        batch.drop_index("ix_conversation_turns_answer_key")
        batch.drop_column("answer_key")
