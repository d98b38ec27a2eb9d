"""Conversation memory: the turns of each chat's current epoch, with their images."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

from sqlalchemy import Select, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from storage.records import ROLES, Role, Turn, TurnImage, Window
from storage.tables import TurnImageRow, TurnRow

_NO_ID_LIMIT = 2**62
# Built once: the newest turns of a conversation, newest first, with what a window needs
# (contents included: reading a few more than are kept is cheaper than a second query).
_NEWEST_TURNS = (
    select(
        TurnRow.id,
        TurnRow.role,
        TurnRow.content,
        TurnRow.tokens,
        TurnRow.created_at,
        TurnRow.user_id,
        TurnRow.answer_key,
        TurnRow.images.any().label("has_images"),
    )
    .where(
        TurnRow.chat_key == bindparam("chat_key"),
        TurnRow.epoch == bindparam("epoch"),
        TurnRow.id < bindparam("before_id"),
    )
    .order_by(TurnRow.id.desc())
    .limit(bindparam("n"))
)


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
        """The newest turns whose tokens fit the budget together, oldest first."""
        return (await self.window(chat_key, epoch, token_budget, max_turns)).turns

    async def window(
        self,
        chat_key: str,
        epoch: int,
        token_budget: int,
        max_turns: int = 50,
        *,
        before_id: int | None = None,
    ) -> Window:
        """The newest turns whose tokens fit the budget together (oldest first), and whether
        they are the whole conversation.

        Stops at the first turn that does not fit, so the history has no gaps; a newest turn
        larger than the whole budget yields no turns. `before_id`: the conversation as it was
        before that turn (a regenerated answer sees what its question saw). Two queries at
        most: sizes first, so contents and images are read only for the turns kept (images
        only if any has some).
        """
        if token_budget <= 0 or max_turns <= 0:
            return Window([], complete=False)
        # Through the session's connection: plain rows need none of the ORM's work (every turn).
        connection = await self._session.connection()
        rows = (
            await connection.execute(
                _NEWEST_TURNS,
                {
                    "chat_key": chat_key,
                    "epoch": epoch,
                    "before_id": _NO_ID_LIMIT if before_id is None else before_id,
                    "n": max_turns + 1,
                },
            )
        ).all()
        count = used = 0
        for row in rows[:max_turns]:
            used += row.tokens
            if used > token_budget:
                break
            count += 1
        complete = count == len(rows)
        kept = rows[count - 1 :: -1] if count else []
        images = await self._images_of([row.id for row in kept if row.has_images])
        turns = [
            Turn(
                id=row.id,
                role=cast(Role, row.role),
                content=row.content,
                tokens=row.tokens,
                created_at=row.created_at,
                images=images.get(row.id, ()),
                user_id=row.user_id,
                answer_key=row.answer_key,
            )
            for row in kept
        ]
        return Window(turns, complete)

    async def _images_of(self, turn_ids: list[int]) -> dict[int, tuple[TurnImage, ...]]:
        if not turn_ids:
            return {}
        found: dict[int, list[TurnImage]] = {}
        rows = await self._session.execute(
            select(TurnImageRow.turn_id, TurnImageRow.mime, TurnImageRow.data)
            .where(TurnImageRow.turn_id.in_(turn_ids))
            .order_by(TurnImageRow.id)
        )
        for turn_id, mime, data in rows:
            found.setdefault(turn_id, []).append(TurnImage(mime=mime, data=data))
        return {turn_id: tuple(images) for turn_id, images in found.items()}

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

    async def latest_starting_with(
        self, chat_key: str, epoch: int, prefix: str, *, before_id: int | None = None
    ) -> Turn | None:
        """The newest user turn of the epoch whose text starts with `prefix` (files sent with it)."""
        query = (
            select(TurnRow)
            .where(
                TurnRow.chat_key == chat_key,
                TurnRow.epoch == epoch,
                TurnRow.role == "user",
                TurnRow.content.startswith(prefix, autoescape=True),
            )
            .order_by(TurnRow.id.desc())
            .limit(1)
        )
        if before_id is not None:
            query = query.where(TurnRow.id < before_id)
        found = await self._load(query)
        return found[0] if found else None

    async def older_than(self, chat_key: str, epoch: int, turn_id: int) -> list[Turn]:
        """Every turn of the epoch before `turn_id`, oldest first."""
        return await self._load(
            select(TurnRow)
            .where(TurnRow.chat_key == chat_key, TurnRow.epoch == epoch, TurnRow.id < turn_id)
            .order_by(TurnRow.id)
        )

    async def answer(self, chat_key: str, epoch: int, answer_key: str) -> tuple[Turn, Turn] | None:
        """An answer of the chat's current epoch by its key, with the question it answers."""
        answer = await self._load(
            select(TurnRow).where(
                TurnRow.answer_key == answer_key,
                TurnRow.chat_key == chat_key,
                TurnRow.epoch == epoch,
                TurnRow.role == "assistant",
            )
        )
        if not answer:
            return None
        question = await self._load(
            select(TurnRow)
            .where(
                TurnRow.chat_key == chat_key,
                TurnRow.epoch == epoch,
                TurnRow.role == "user",
                TurnRow.id < answer[0].id,
            )
            .order_by(TurnRow.id.desc())
            .limit(1)
        )
        return (question[0], answer[0]) if question else None

    async def answer_to(self, chat_key: str, source: str) -> Turn | None:
        """The answer stored for the update `source`, if that update was answered before."""
        found = await self._load(
            select(TurnRow).where(
                TurnRow.chat_key == chat_key, TurnRow.source == source, TurnRow.role == "assistant"
            )
        )
        return found[0] if found else None

    async def rename_answer(self, old_key: str, new_key: str) -> bool:
        """Take an answer over by giving it a new key; False when another press took it first."""
        result = await self._session.execute(
            update(TurnRow).where(TurnRow.answer_key == old_key).values(answer_key=new_key),
            execution_options={"synchronize_session": False},
        )
        return bool(getattr(result, "rowcount", 0))

    async def replace_answer(
        self,
        answer_key: str,
        content: str,
        tokens: int,
        images: Iterable[TurnImage] | None,
        *,
        source: str | None = None,
    ) -> None:
        """A regenerated (or continued) answer, in place: the conversation keeps one answer.

        `images` None keeps the answer's pictures; a tuple replaces them. `source`: the update
        that asked for it, which its answer is found by now.
        """
        turn_id = await self._session.scalar(select(TurnRow.id).where(TurnRow.answer_key == answer_key))
        if turn_id is None:
            return
        await self._session.execute(
            update(TurnRow)
            .where(TurnRow.id == turn_id)
            .values(content=content, tokens=tokens, **({"source": source} if source else {})),
            execution_options={"synchronize_session": False},
        )
        if images is not None:
            await self._session.execute(delete(TurnImageRow).where(TurnImageRow.turn_id == turn_id))
            for image in images:
                self._session.add(TurnImageRow(turn_id=turn_id, mime=image.mime, data=image.data))
            await self._session.flush()

    async def _load(self, query: Select[TurnRow]) -> list[Turn]:
        rows = await self._session.scalars(query.options(selectinload(TurnRow.images)))
        return [_turn(row) for row in rows]


def _turn(row: TurnRow, images: tuple[TurnImage, ...] | None = None) -> Turn:
    return Turn(
        id=row.id,
        role=cast(Role, row.role),
        content=row.content,
        tokens=row.tokens,
        created_at=row.created_at,
        images=_images(row.images) if images is None else images,
        user_id=row.user_id,
        answer_key=row.answer_key,
    )


def _images(rows: Sequence[TurnImageRow]) -> tuple[TurnImage, ...]:
    return tuple(TurnImage(mime=i.mime, data=i.data) for i in rows)
