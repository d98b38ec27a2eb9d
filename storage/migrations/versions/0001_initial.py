"""Initial schema: chats, usage ledger, conversation memory, Midjourney tasks.

Revision ID: 0001
Revises:
Create Date: 2025-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# SQLite only auto-increments an INTEGER PRIMARY KEY, so ids are BIGINT elsewhere only.
BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _timestamp(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _counter(name: str) -> sa.Column[object]:
    return sa.Column(name, sa.Integer(), server_default=sa.text("0"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("title", sa.String(), nullable=False),
        _counter("conversation_epoch"),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("chat_model", sa.String(), nullable=True),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        sa.PrimaryKeyConstraint("key", name="pk_chats"),
    )

    op.create_table(
        "usage_events",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("user_name", sa.String(), nullable=False),
        sa.Column("kind", sa.String(), nullable=False),
        sa.Column("model", sa.String(), nullable=False),
        _counter("input_tokens"),
        _counter("output_tokens"),
        _counter("total_tokens"),
        _counter("image_tokens"),
        _counter("images"),
        _counter("mj_tasks"),
        sa.Column("request_key", sa.String(), nullable=True),
        sa.Column("task_id", sa.String(), nullable=True),
        sa.Column("cost", sa.Numeric(18, 8), server_default=sa.text("0"), nullable=False),
        sa.Column("currency", sa.String(), nullable=True),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(["chat_key"], ["chats.key"], name="fk_usage_events_chat_key_chats"),
        sa.PrimaryKeyConstraint("id", name="pk_usage_events"),
        sa.UniqueConstraint("request_key", name="uq_usage_events_request_key"),
    )
    op.create_index("ix_usage_events_chat_created", "usage_events", ["chat_key", "created_at"])
    op.create_index(
        "ix_usage_events_chat_user_created", "usage_events", ["chat_key", "user_id", "created_at"]
    )

    op.create_table(
        "conversation_turns",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("epoch", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("tokens", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.String(), nullable=True),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(["chat_key"], ["chats.key"], name="fk_conversation_turns_chat_key_chats"),
        sa.PrimaryKeyConstraint("id", name="pk_conversation_turns"),
    )
    op.create_index("ix_conversation_turns_chat_epoch_id", "conversation_turns", ["chat_key", "epoch", "id"])

    op.create_table(
        "turn_images",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("turn_id", BIG_ID, nullable=False),
        sa.Column("mime", sa.String(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["turn_id"],
            ["conversation_turns.id"],
            name="fk_turn_images_turn_id_conversation_turns",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_turn_images"),
    )
    op.create_index("ix_turn_images_turn_id", "turn_images", ["turn_id"])

    op.create_table(
        "mj_tasks",
        sa.Column("task_id", sa.String(), nullable=False),
        sa.Column("chat_key", sa.String(), nullable=False),
        sa.Column("platform", sa.String(), nullable=False),
        sa.Column("chat_id", sa.String(), nullable=False),
        sa.Column("thread_id", sa.String(), nullable=True),
        sa.Column("user_id", sa.String(), nullable=False),
        sa.Column("user_name", sa.String(), nullable=False),
        sa.Column("reply_to_message_id", sa.String(), nullable=True),
        sa.Column("status_message_id", sa.String(), nullable=True),
        sa.Column("result_message_id", sa.String(), nullable=True),
        sa.Column("action", sa.String(), nullable=False),
        sa.Column("prompt", sa.Text(), nullable=False),
        sa.Column("parent_task_id", sa.String(), nullable=True),
        sa.Column("status", sa.String(), server_default=sa.text("''"), nullable=False),
        sa.Column("progress", sa.String(), server_default=sa.text("''"), nullable=False),
        sa.Column("buttons", sa.JSON(), nullable=False),
        sa.Column("image_url", sa.Text(), nullable=True),
        sa.Column("fail_reason", sa.Text(), nullable=True),
        sa.Column("delivered", sa.Boolean(), server_default=sa.false(), nullable=False),
        _timestamp("created_at"),
        _timestamp("updated_at"),
        _timestamp("finished_at", nullable=True),
        sa.ForeignKeyConstraint(["chat_key"], ["chats.key"], name="fk_mj_tasks_chat_key_chats"),
        sa.PrimaryKeyConstraint("task_id", name="pk_mj_tasks"),
    )
    op.create_index("ix_mj_tasks_delivered_created", "mj_tasks", ["delivered", "created_at"])


def downgrade() -> None:
    op.drop_table("mj_tasks")  # drops its indexes too
    op.drop_table("turn_images")
    op.drop_table("conversation_turns")
    op.drop_table("usage_events")
    op.drop_table("chats")
