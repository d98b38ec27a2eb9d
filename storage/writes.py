"""The writes every request makes, as values, applied many at a time with bulk statements.

A chat turn, an image job and every incoming update end in the same few writes: journal an
update, append conversation turns, record usage, end a budget reservation, mark updates
handled. Expressed as `Writes`, the writes of many requests add up to one value, which
`BulkWrites.apply` turns into a handful of multi-row statements in one transaction
(storage.writer batches them): the cost of a commit and of a statement is shared.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from itertools import chain, groupby
from typing import Any, TypeVar

from sqlalchemy import Executable, bindparam, delete, insert, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from storage import dialect
from storage.clock import as_utc, utc_now
from storage.conversations import ConversationRepository
from storage.inbound import HANDLED, RECEIVED
from storage.records import CHAT_KINDS, ROLES, Role, TurnImage, UsageEvent
from storage.tables import (
    BudgetReservationRow,
    ChatRow,
    InboundRow,
    JobRow,
    TurnImageRow,
    TurnRow,
    UsageEventRow,
    table_of,
)

# Rows per INSERT: far below SQLite's 32766 bound parameters and PostgreSQL's 32767.
_CHUNK = 200

UpdateKey = tuple[str, str]  # (platform, update id)
T = TypeVar("T")


@dataclass(frozen=True)
class Journal:
    """An incoming update to journal before it is acknowledged."""

    platform: str
    update_id: str
    payload: str
    instance_id: str

    @property
    def key(self) -> UpdateKey:
        return self.platform, self.update_id


@dataclass(frozen=True)
class NewTurn:
    """A conversation turn to append."""

    chat_key: str
    epoch: int
    role: Role
    content: str
    tokens: int
    user_id: str | None = None
    images: tuple[TurnImage, ...] = ()
    answer_key: str | None = None  # an answer's name on its buttons (storage.tables.TurnRow)
    source: str | None = None  # the update an answer was asked in (storage.tables.TurnRow)

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValueError(f"role must be one of {sorted(ROLES)}, not {self.role!r}")


@dataclass(frozen=True)
class AnswerUpdate:
    """A regenerated or continued answer, replacing the stored one (found by its key) in place."""

    answer_key: str
    content: str
    tokens: int
    images: tuple[TurnImage, ...] | None = None  # None: keep the answer's pictures
    source: str | None = None  # the press that asked for it (storage.tables.TurnRow.source)


@dataclass(frozen=True)
class SeenChat:
    """A chat to store on first sight, or whose kind or title changed."""

    key: str
    platform: str
    chat_id: str
    kind: str
    title: str

    def __post_init__(self) -> None:
        if self.kind not in CHAT_KINDS:
            raise ValueError(f"chat kind must be one of {sorted(CHAT_KINDS)}, not {self.kind!r}")


@dataclass(frozen=True)
class Writes:
    """What one request (or many, added up) writes; order within a kind is kept."""

    journal: tuple[Journal, ...] = ()
    turns: tuple[NewTurn, ...] = ()
    events: tuple[UsageEvent, ...] = ()  # priced; an event whose request_key is known is skipped
    released: tuple[int, ...] = ()  # budget reservations that end here
    handled: tuple[UpdateKey, ...] = ()
    answers: tuple[AnswerUpdate, ...] = ()
    chats: tuple[SeenChat, ...] = ()  # written first: the rest may refer to them
    # Jobs that end with this write, "started" → "done" (a chat turn's tool job, with its answer).
    done_jobs: tuple[str, ...] = ()

    def __add__(self, other: Writes) -> Writes:
        return Writes.merged((self, other))

    @staticmethod
    def merged(many: Sequence[Writes]) -> Writes:
        """All of them as one, in order: one pass (adding a batch's hundreds pairwise copies
        the growing tuples again at every step)."""
        return Writes(*(tuple(chain.from_iterable(getattr(w, name) for w in many)) for name in _FIELDS))

    def __bool__(self) -> bool:
        return any(getattr(self, name) for name in _FIELDS)


_FIELDS = tuple(f.name for f in fields(Writes))


@dataclass(frozen=True)
class Written:
    """What a `Writes` changed: which journal entries were new (the rest were redeliveries)."""

    fresh: frozenset[UpdateKey] = frozenset()


class BulkWrites:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def apply(self, writes: Writes) -> Written:
        # Through the session's connection: these statements need none of the ORM's work.
        connection = await self._session.connection()
        await _chats(connection, writes.chats)
        fresh = await _journal(connection, writes.journal)
        await self._turns(connection, writes.turns)
        conversations = ConversationRepository(self._session)
        for answer in writes.answers:
            await conversations.replace_answer(
                answer.answer_key, answer.content, answer.tokens, answer.images, source=answer.source
            )
        await _events(connection, writes.events)
        if writes.released:
            await connection.execute(_statements(connection).release, {"ids": list(writes.released)})
        await _handled(connection, writes.handled)
        if writes.done_jobs:
            await connection.execute(
                update(JobRow)
                .where(JobRow.id.in_(writes.done_jobs), JobRow.state == "started")
                .values(state="done", updated_at=utc_now())
            )
        return Written(fresh)

    async def _turns(self, connection: AsyncConnection, turns: Sequence[NewTurn]) -> None:
        """In the order given (ids order a conversation): runs of plain turns many to a statement,
        a turn with images on its own (rare: a photo; its image rows need the turn's id)."""
        now = utc_now()
        for with_images, run in groupby(turns, key=lambda t: bool(t.images)):
            if not with_images:
                await connection.execute(_INSERT_TURN, [_turn_row(t, now) for t in run])
                continue
            for turn in run:
                turn_id = await self._session.scalar(
                    insert(TurnRow).values(_turn_row(turn, now)).returning(TurnRow.id)
                )
                images = [{"turn_id": turn_id, "mime": i.mime, "data": i.data} for i in turn.images]
                await self._session.execute(insert(TurnImageRow).values(images))


# Statements are built once and reused (building one costs more than running it here).
_INSERT_TURN = insert(table_of(TurnRow))


@dataclass(frozen=True)
class _DialectStatements:
    journal: Executable
    events: Executable
    chats: Executable
    mark_handled: Executable
    release: Executable


@functools.cache
def _dialect_statements(backend: str) -> _DialectStatements:
    """The INSERT … ON CONFLICT statements and those given lists, per backend (their syntax differs)."""
    journal = (
        dialect.insert_for(backend, table_of(InboundRow))
        .on_conflict_do_nothing(index_elements=["platform", "update_id"])
        .returning(InboundRow.platform, InboundRow.update_id)
    )
    events = dialect.insert_for(backend, table_of(UsageEventRow)).on_conflict_do_nothing(
        index_elements=["request_key"]
    )
    chats = dialect.insert_for(backend, table_of(ChatRow))
    upsert_chats = chats.on_conflict_do_update(
        index_elements=["key"], set_={"kind": chats.excluded.kind, "title": chats.excluded.title}
    )
    mark_handled = (
        update(InboundRow)
        .where(
            InboundRow.platform == bindparam("of_platform"),
            dialect.among(backend, InboundRow.update_id, "ids"),
        )
        .values(state=bindparam("new_state"), handled_at=bindparam("at"))
    )
    release = delete(BudgetReservationRow).where(dialect.among(backend, BudgetReservationRow.id, "ids"))
    return _DialectStatements(journal, events, upsert_chats, mark_handled, release)


def _statements(connection: AsyncConnection) -> _DialectStatements:
    return _dialect_statements(connection.dialect.name)


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _turn_row(turn: NewTurn, now: Any) -> dict[str, Any]:
    return {
        "chat_key": turn.chat_key,
        "epoch": turn.epoch,
        "role": turn.role,
        "content": turn.content,
        "tokens": turn.tokens,
        "user_id": turn.user_id,
        "answer_key": turn.answer_key,
        "source": turn.source,
        "created_at": now,
    }


def _event_row(event: UsageEvent, now: Any) -> dict[str, Any]:
    return {
        "chat_key": event.chat_key,
        "platform": event.platform,
        "user_id": event.user_id,
        "user_name": event.user_name,
        "kind": event.kind,
        "model": event.model,
        "input_tokens": event.input_tokens,
        "output_tokens": event.output_tokens,
        "total_tokens": event.total_tokens,
        "image_tokens": event.image_tokens,
        "images": event.images,
        "mj_tasks": event.mj_tasks,
        "request_key": event.request_key,
        "task_id": event.task_id,
        "cost": event.cost,
        "currency": event.currency,
        "created_at": now if event.created_at is None else as_utc(event.created_at),
    }


async def _chats(connection: AsyncConnection, chats: Sequence[SeenChat]) -> None:
    if not chats:
        return
    now = utc_now()
    latest = {chat.key: chat for chat in chats}  # the same chat twice in a batch: once
    rows = [
        {
            "key": c.key,
            "platform": c.platform,
            "chat_id": c.chat_id,
            "kind": c.kind,
            "title": c.title,
            "created_at": now,
            "updated_at": now,
        }
        for c in latest.values()
    ]
    await connection.execute(_statements(connection).chats, rows)


async def _journal(connection: AsyncConnection, entries: Sequence[Journal]) -> frozenset[UpdateKey]:
    inserted: set[UpdateKey] = set()
    now = utc_now()
    # One row per update: ON CONFLICT skips one journaled before, or earlier in the batch.
    unique = list({entry.key: entry for entry in reversed(entries)}.values())
    if not unique:
        return frozenset()
    rows = [
        {
            "platform": e.platform,
            "update_id": e.update_id,
            "payload": e.payload,
            "state": RECEIVED,
            "instance_id": e.instance_id,
            "received_at": now,
        }
        for e in unique
    ]
    result = await connection.execute(_statements(connection).journal, rows)
    inserted.update((platform, update_id) for platform, update_id in result)
    return frozenset(inserted)


async def _events(connection: AsyncConnection, events: Sequence[UsageEvent]) -> None:
    if not events:
        return
    now = utc_now()
    await connection.execute(_statements(connection).events, [_event_row(e, now) for e in events])


async def _handled(connection: AsyncConnection, keys: Iterable[UpdateKey]) -> None:
    now = utc_now()
    for platform, group in groupby(sorted(set(keys)), key=lambda key: key[0]):
        ids = [update_id for _, update_id in group]
        for chunk in _chunks(ids):
            await connection.execute(
                _statements(connection).mark_handled,
                {"of_platform": platform, "ids": list(chunk), "new_state": HANDLED, "at": now},
            )
