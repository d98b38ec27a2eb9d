"""Conversation memory: the turns of each chat's current epoch, with their images."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.records import ROLES, Role, Turn, TurnImage
from storage.tables import TurnImageRow, TurnRow


class ConversationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(
        self,
        chat_key: str,
        epoch: int,
        role: Role,
        content: str,
        tokens: int,
        *,
        user_id: str | None = None,
        images: Iterable[TurnImage] = (),
    ) -> int:
        if role not in ROLES:
            raise ValueError(f"role must be one of {sorted(ROLES)}, not {role!r}")
        row = TurnRow(
            chat_key=chat_key,
            epoch=epoch,
            role=role,
            content=content,
            tokens=tokens,
            user_id=user_id,
            images=[TurnImageRow(mime=i.mime, data=i.data) for i in images],
        )
        self._session.add(row)
        await self._session.flush()
        return row.id

    async def recent(self, chat_key: str, epoch: int, token_budget: int, max_turns: int = 50) -> list[Turn]:
        """The newest turns whose tokens fit the budget together, oldest first.

        Stops at the first turn that does not fit, so the history has no gaps; a
        newest turn larger than the whole budget yields an empty list.
        """
        if token_budget <= 0 or max_turns <= 0:
            return []
        # Pick by (id, tokens) first, so images are read only for the turns kept.
        sizes = await self._session.execute(
            select(TurnRow.id, TurnRow.tokens)
            .where(TurnRow.chat_key == chat_key, TurnRow.epoch == epoch)
            .order_by(TurnRow.id.desc())
            .limit(max_turns)
        )
        kept: list[int] = []
        used = 0
        for turn_id, tokens in sizes:
            used += tokens
            if used > token_budget:
                break
            kept.append(turn_id)
        if not kept:
            return []
        return await self._load(select(TurnRow).where(TurnRow.id.in_(kept)).order_by(TurnRow.id))

    async def by_ids(self, ids: Iterable[int]) -> list[Turn]:
        """The given turns (those that exist), oldest first."""
        wanted = list(ids)
        if not wanted:
            return []
        return await self._load(select(TurnRow).where(TurnRow.id.in_(wanted)).order_by(TurnRow.id))

    async def latest_with_images(
        self, chat_key: str, epoch: int, *, before_id: int | None = None, role: Role | None = None
    ) -> Turn | None:
        """The newest turn of the epoch that carries images (optionally: older than, by role)."""
        query = (
            select(TurnRow)
            .where(TurnRow.chat_key == chat_key, TurnRow.epoch == epoch, TurnRow.images.any())
            .order_by(TurnRow.id.desc())
            .limit(1)
        )
        if before_id is not None:
            query = query.where(TurnRow.id < before_id)
        if role is not None:
            query = query.where(TurnRow.role == role)
        found = await self._load(query)
        return found[0] if found else None

    async def older_than(self, chat_key: str, epoch: int, turn_id: int) -> list[Turn]:
        """Every turn of the epoch before `turn_id`, oldest first."""
        return await self._load(
            select(TurnRow)
            .where(TurnRow.chat_key == chat_key, TurnRow.epoch == epoch, TurnRow.id < turn_id)
            .order_by(TurnRow.id)
        )

    async def _load(self, query: Select[TurnRow]) -> list[Turn]:
        rows = await self._session.scalars(query.options(selectinload(TurnRow.images)))
        return [_turn(row) for row in rows]


def _turn(row: TurnRow) -> Turn:
    return Turn(
        id=row.id,
        role=cast(Role, row.role),
        content=row.content,
        tokens=row.tokens,
        created_at=row.created_at,
        images=_images(row.images),
        user_id=row.user_id,
    )


def _images(rows: Sequence[TurnImageRow]) -> tuple[TurnImage, ...]:
    return tuple(TurnImage(mime=i.mime, data=i.data) for i in rows)
