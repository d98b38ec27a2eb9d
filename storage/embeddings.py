"""Turn embeddings: vectors of conversation turns that have left the context window."""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.tables import TurnEmbeddingRow as E
from storage.tables import TurnRow


@dataclass(frozen=True)
class TurnText:
    """A turn's words, without images: what gets embedded."""

    id: int
    role: str
    content: str


@dataclass(frozen=True)
class StoredVector:
    """A turn's vector as stored: little-endian float32 (`pack`), compared without unpacking."""

    turn_id: int
    packed: bytes

    @property
    def vector(self) -> tuple[float, ...]:
        return unpack(self.packed)


def pack(vector: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


def unpack(data: bytes) -> tuple[float, ...]:
    return struct.unpack(f"<{len(data) // 4}f", data)


class EmbeddingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def unembedded(self, chat_key: str, epoch: int, before_id: int, limit: int = 64) -> list[TurnText]:
        """Turns of the epoch older than `before_id` that have no vector yet, oldest first."""
        rows = await self._session.execute(
            select(TurnRow.id, TurnRow.role, TurnRow.content)
            .outerjoin(E, E.turn_id == TurnRow.id)
            .where(
                TurnRow.chat_key == chat_key,
                TurnRow.epoch == epoch,
                TurnRow.id < before_id,
                E.turn_id.is_(None),
            )
            .order_by(TurnRow.id)
            .limit(limit)
        )
        return [TurnText(id=i, role=r, content=c) for i, r, c in rows]

    async def add(self, chat_key: str, epoch: int, turn_id: int, model: str, vector: Sequence[float]) -> None:
        """Store a turn's vector; a turn embedded twice (two racing replies) keeps the first."""
        await self._session.execute(
            dialect.insert(self._session, E)
            .values(
                turn_id=turn_id,
                chat_key=chat_key,
                epoch=epoch,
                model=model,
                dimensions=len(vector),
                vector=pack(vector),
            )
            .on_conflict_do_nothing(index_elements=["turn_id"])
        )

    async def vectors(
        self, chat_key: str, epoch: int, model: str, before_id: int, *, limit: int | None = None
    ) -> list[StoredVector]:
        """The stored vectors of the epoch made by `model` for turns older than `before_id`.

        Oldest first; with `limit`, only the newest that many.
        """
        rows = await self._session.execute(
            select(E.turn_id, E.vector)
            .where(E.chat_key == chat_key, E.epoch == epoch, E.model == model, E.turn_id < before_id)
            .order_by(E.turn_id.desc())
            .limit(limit)
        )
        return [StoredVector(turn_id=t, packed=v) for t, v in reversed(rows.all())]
