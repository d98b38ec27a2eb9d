"""ORM models. They never leave the package: repositories return `storage.records`.

Alembic owns the schema (`storage/migrations`); a test keeps these models and the
migrations in agreement.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from storage.clock import as_utc, utc_now

# Deterministic constraint names, so later migrations (and SQLite batch mode) can
# refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-increments an INTEGER PRIMARY KEY (a rowid alias), not BIGINT.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Money = Numeric(18, 8)


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, on every backend.

    SQLite has no time zone type: values are stored as naive UTC text (which also
    sorts correctly) and come back tagged as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {  # noqa: RUF012 - SQLAlchemy reads this class attribute
        datetime: UtcDateTime(),
        Decimal: Money,
        str: String(),
    }


class ChatRow(Base):
    __tablename__ = "chats"

    key: Mapped[str] = mapped_column(primary_key=True)
    platform: Mapped[str]
    chat_id: Mapped[str]
    kind: Mapped[str]
    title: Mapped[str]
    conversation_epoch: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    system_prompt: Mapped[str | None] = mapped_column(Text)
    chat_model: Mapped[str | None]
    # /voice on: answers also come back as speech.
    voice_replies: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class UsageEventRow(Base):
    __tablename__ = "usage_events"
    __table_args__ = (
        Index("ix_usage_events_chat_created", "chat_key", "created_at"),
        Index("ix_usage_events_chat_user_created", "chat_key", "user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_key: Mapped[str] = mapped_column(ForeignKey("chats.key"))
    platform: Mapped[str]
    user_id: Mapped[str]
    user_name: Mapped[str]
    kind: Mapped[str]
    model: Mapped[str]
    input_tokens: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    output_tokens: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    total_tokens: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    image_tokens: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    images: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    mj_tasks: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # The gateway's request id (or our idempotency key): a retried call is counted once.
    request_key: Mapped[str | None] = mapped_column(unique=True)
    task_id: Mapped[str | None]
    cost: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default=text("0"))
    currency: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class TurnRow(Base):
    __tablename__ = "conversation_turns"
    __table_args__ = (Index("ix_conversation_turns_chat_epoch_id", "chat_key", "epoch", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_key: Mapped[str] = mapped_column(ForeignKey("chats.key"))
    epoch: Mapped[int]
    role: Mapped[str]
    content: Mapped[str] = mapped_column(Text)
    tokens: Mapped[int]
    user_id: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # An answer's durable name, carried by its buttons (🔄, ⏹, continue); a new one each time
    # the answer is regenerated or continued, so a button pressed twice finds nothing the second time.
    answer_key: Mapped[str | None] = mapped_column(unique=True, index=True)
    # The update an answer was asked in ("tg:<update id>"): a replay of that update after a
    # crash finds the answer it already paid for and sends it, instead of asking again.
    source: Mapped[str | None]

    # lazy="raise": under asyncio an implicit lazy load would fail late; load explicitly.
    images: Mapped[list[TurnImageRow]] = relationship(
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="TurnImageRow.id",
        lazy="raise",
    )


class TurnImageRow(Base):
    __tablename__ = "turn_images"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    turn_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversation_turns.id", ondelete="CASCADE"), index=True
    )
    mime: Mapped[str]
    data: Mapped[bytes] = mapped_column(LargeBinary)


class MjTaskRow(Base):
    __tablename__ = "mj_tasks"
    # pending() asks for undelivered tasks, oldest first.
    __table_args__ = (Index("ix_mj_tasks_delivered_created", "delivered", "created_at"),)

    # Midjourney ids are long digit strings; never store them as numbers.
    task_id: Mapped[str] = mapped_column(primary_key=True)
    chat_key: Mapped[str] = mapped_column(ForeignKey("chats.key"))
    platform: Mapped[str]
    chat_id: Mapped[str]
    thread_id: Mapped[str | None]
    user_id: Mapped[str]
    user_name: Mapped[str]
    reply_to_message_id: Mapped[str | None]
    status_message_id: Mapped[str | None]
    result_message_id: Mapped[str | None]
    action: Mapped[str]
    prompt: Mapped[str] = mapped_column(Text)
    parent_task_id: Mapped[str | None]
    status: Mapped[str] = mapped_column(default="", server_default=text("''"))
    progress: Mapped[str] = mapped_column(default="", server_default=text("''"))
    buttons: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    image_url: Mapped[str | None] = mapped_column(Text)
    fail_reason: Mapped[str | None] = mapped_column(Text)
    delivered: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)
    finished_at: Mapped[datetime | None]
    # The job that submitted it (our id, also sent to Midjourney as `state`).
    job_id: Mapped[str | None]
    # Who follows it: only the lease holder polls, edits progress and delivers.
    lease_owner: Mapped[str | None]
    lease_until: Mapped[datetime | None]
    # The reader's language when they asked: progress and the result are written in it.
    language: Mapped[str | None]
    # A Describe task's result: its four numbered prompts (the "Imagine n" buttons read them).
    final_prompt: Mapped[str | None] = mapped_column(Text)


class MjPromptRow(Base):
    """A task waiting in MODAL (custom zoom, remix): the chat was asked for its prompt."""

    __tablename__ = "mj_prompt_requests"
    __table_args__ = (Index("ix_mj_prompt_requests_chat_message", "chat_key", "message_id"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    # One question per waiting task, whoever follows it.
    task_id: Mapped[str] = mapped_column(unique=True)
    chat_key: Mapped[str]
    user_id: Mapped[str]
    action: Mapped[str]
    message_id: Mapped[str | None]  # the question, once sent (a reply to it is the answer)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    expires_at: Mapped[datetime]
    answered_at: Mapped[datetime | None]


class TurnEmbeddingRow(Base):
    """One embedded conversation turn, for recall once it has left the context window."""

    __tablename__ = "turn_embeddings"
    __table_args__ = (Index("ix_turn_embeddings_chat_epoch", "chat_key", "epoch"),)

    turn_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("conversation_turns.id", ondelete="CASCADE"), primary_key=True
    )
    chat_key: Mapped[str] = mapped_column(ForeignKey("chats.key"))
    epoch: Mapped[int]
    model: Mapped[str]
    dimensions: Mapped[int]
    # Little-endian float32s (see storage.embeddings).
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(default=utc_now)


class BudgetLimitRow(Base):
    """A limit an admin set for one chat, overriding the configured default."""

    __tablename__ = "budget_limits"

    chat_key: Mapped[str] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(primary_key=True)  # chat | user
    period: Mapped[str] = mapped_column(primary_key=True)  # day | month
    metric: Mapped[str] = mapped_column(primary_key=True)  # cost | tokens | images | mj
    # NULL: no limit in this chat, even if the default has one.
    amount: Mapped[Decimal | None]
    set_by: Mapped[str]
    # Set by a bot admin: the chat's own admins may go no higher than `ceiling` (NULL: no limit).
    capped: Mapped[bool] = mapped_column(default=False, server_default=false())
    ceiling: Mapped[Decimal | None]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class BudgetReservationRow(Base):
    """Usage a request in flight is expected to cause; deleted when its event is recorded."""

    __tablename__ = "budget_reservations"
    __table_args__ = (Index("ix_budget_reservations_chat_expires", "chat_key", "expires_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    chat_key: Mapped[str]
    user_id: Mapped[str]
    cost: Mapped[Decimal] = mapped_column(default=Decimal(0), server_default=text("0"))
    tokens: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    images: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    mj_tasks: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    # A crash leaves the row behind; it stops counting after this, or as soon as the
    # instance that made it is known to be gone.
    expires_at: Mapped[datetime]
    instance_id: Mapped[str] = mapped_column(default="", server_default=text("''"))


class ChatAccessRow(Base):
    """An admin's allow/deny for one chat; wins over ALLOWED_CHAT_IDS."""

    __tablename__ = "chat_access"

    chat_key: Mapped[str] = mapped_column(primary_key=True)
    allowed: Mapped[bool]
    set_by: Mapped[str]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class AnswerStopRow(Base):
    """A ⏹ pressed at a replica that does not stream the answer; the one that does answers it."""

    __tablename__ = "answer_stops"

    answer_key: Mapped[str] = mapped_column(primary_key=True)
    chat_key: Mapped[str]
    user_id: Mapped[str]
    by_admin: Mapped[bool]
    outcome: Mapped[str | None]  # "stopped" or "refused", written by the streaming replica
    requested_at: Mapped[datetime] = mapped_column(default=utc_now)


class LanguageChoiceRow(Base):
    """A `/lang` choice: a person's ("user:<platform>:<id>") or a chat's ("chat:<chat key>")."""

    __tablename__ = "language_choices"

    subject: Mapped[str] = mapped_column(primary_key=True)
    language: Mapped[str]
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class AccessRefusalRow(Base):
    """Who was already told they may not use the bot (a chat key or "user:<platform>:<id>")."""

    __tablename__ = "access_refusals"

    subject: Mapped[str] = mapped_column(primary_key=True)
    refused_at: Mapped[datetime] = mapped_column(default=utc_now)


class InstanceRow(Base):
    """A running (or stopped) bot process; reservations, jobs and leases name their owner."""

    __tablename__ = "instances"

    id: Mapped[str] = mapped_column(primary_key=True)
    host: Mapped[str]
    pid: Mapped[int]
    started_at: Mapped[datetime] = mapped_column(default=utc_now)
    heartbeat_at: Mapped[datetime] = mapped_column(default=utc_now)
    stopped_at: Mapped[datetime | None]


class JobRow(Base):
    """A paid, slow job: written before the gateway call, finished or answered after a crash."""

    __tablename__ = "jobs"
    __table_args__ = (
        Index("ix_jobs_state_instance", "state", "instance_id"),
        Index("ix_jobs_source", "source"),
    )

    id: Mapped[str] = mapped_column(primary_key=True)
    # Idempotency: the same update redelivered (or replayed) never starts a second job.
    key: Mapped[str | None] = mapped_column(unique=True)
    source: Mapped[str | None]  # the inbound update that asked for it
    kind: Mapped[str]
    state: Mapped[str]
    instance_id: Mapped[str]
    chat_key: Mapped[str]
    platform: Mapped[str]
    chat_id: Mapped[str]
    thread_id: Mapped[str | None]
    user_id: Mapped[str]
    user_name: Mapped[str]
    reply_to_message_id: Mapped[str | None]
    summary: Mapped[str] = mapped_column(Text)
    gateway_id: Mapped[str | None]
    result_message_id: Mapped[str | None]
    created_at: Mapped[datetime] = mapped_column(default=utc_now)
    updated_at: Mapped[datetime] = mapped_column(default=utc_now, onupdate=utc_now)


class JobResultRow(Base):
    """A picture a job produced, kept until it reached the chat (so a crash cannot lose it)."""

    __tablename__ = "job_results"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    mime: Mapped[str]
    data: Mapped[bytes] = mapped_column(LargeBinary)


class InboundRow(Base):
    """An update from a platform, journaled before it is acknowledged (deduplicated by its id)."""

    __tablename__ = "inbound"
    __table_args__ = (Index("ix_inbound_state_instance", "state", "instance_id"),)

    platform: Mapped[str] = mapped_column(primary_key=True)
    update_id: Mapped[str] = mapped_column(primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str]
    instance_id: Mapped[str]
    received_at: Mapped[datetime] = mapped_column(default=utc_now)
    handled_at: Mapped[datetime | None]


class LeaseRow(Base):
    """A named role one instance holds for a while (the Telegram poller, the command sync)."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(primary_key=True)
    owner: Mapped[str]
    until: Mapped[datetime]


class AlbumPartRow(Base):
    """One part of an album, wherever it arrived: the album is handled once, by one replica."""

    __tablename__ = "album_parts"

    platform: Mapped[str] = mapped_column(primary_key=True)
    group_key: Mapped[str] = mapped_column(primary_key=True)
    part_id: Mapped[str] = mapped_column(primary_key=True)
    payload: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime]
    claimed_by: Mapped[str | None]


class RateHitRow(Base):
    """A request counted against a rate limit (replicas without Redis share these)."""

    __tablename__ = "rate_hits"
    __table_args__ = (Index("ix_rate_hits_key_at", "key", "at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    key: Mapped[str]
    at: Mapped[datetime]


class JobSlotRow(Base):
    """A job running now in a chat, held by an instance (replicas without Redis share these)."""

    __tablename__ = "job_slots"
    __table_args__ = (Index("ix_job_slots_key", "key"),)

    id: Mapped[str] = mapped_column(primary_key=True)
    key: Mapped[str]
    instance_id: Mapped[str]
    taken_at: Mapped[datetime]


def table_of(entity: type[Base]) -> Table:
    """An ORM class's Core table: executemany on it skips the ORM's per-row bulk bookkeeping."""
    table = entity.__table__
    assert isinstance(table, Table)
    return table
