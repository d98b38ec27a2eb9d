"""Turn embeddings: long conversation memory recalled by similarity.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "turn_embeddings",
        sa.Column("turn_id", BIG_ID, nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        sa.Column("dimensions", sa.Integer(), nullable=False),
        # Little-endian float32s: compact, and the same on every backend.
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["turn_id"],
            ["conversation_turns.id"],
            name="fk_turn_embeddings_turn_id_conversation_turns",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(["chat_key"], ["chats.key"], name="fk_turn_embeddings_chat_key_chats"),
        sa.PrimaryKeyConstraint("turn_id", name="pk_turn_embeddings"),
    )
    op.create_index("ix_turn_embeddings_chat_epoch", "turn_embeddings", ["chat_key", "epoch"])


def downgrade() -> None:
    op.drop_table("turn_embeddings")  # drops its index too
