from __future__ import annotations

from storage import Database, Turn, TurnImage

from .conftest import add_chat

CHAT = "tg:-100123"
JPEG = TurnImage("image/jpeg", b"\xff\xd8\xff\xe0 fake jpeg \x00\x01\xff\xd9")


async def add_turns(db: Database, epoch: int, *tokens: int) -> list[int]:
    async with db.unit_of_work() as uow:
        ids = [
            await uow.conversations.add(CHAT, epoch, "user" if i % 2 == 0 else "assistant", f"turn {i}", t)
            for i, t in enumerate(tokens)
        ]
        await uow.commit()
    return ids


async def recent(db: Database, epoch: int, budget: int, max_turns: int = 50) -> list[Turn]:
    async with db.unit_of_work() as uow:
        return await uow.conversations.recent(CHAT, epoch, budget, max_turns)


async def test_recent_keeps_the_newest_turns_that_fit_oldest_first(db: Database) -> None:
    await add_chat(db, CHAT)
    await add_turns(db, 0, 40, 30, 20, 10)

    assert [t.content for t in await recent(db, 0, 1000)] == ["turn 0", "turn 1", "turn 2", "turn 3"]
    assert [t.content for t in await recent(db, 0, 60)] == ["turn 1", "turn 2", "turn 3"]
    assert [t.content for t in await recent(db, 0, 59)] == ["turn 2", "turn 3"]
    assert [t.content for t in await recent(db, 0, 1000, max_turns=2)] == ["turn 2", "turn 3"]
    assert await recent(db, 0, 9) == []  # even the newest turn does not fit
    turns = await recent(db, 0, 10)
    assert [(t.role, t.tokens) for t in turns] == [("assistant", 10)]
    assert turns[0].created_at.tzinfo is not None


async def test_a_new_conversation_starts_from_an_empty_history(db: Database) -> None:
    await add_chat(db, CHAT)
    await add_turns(db, 0, 5, 5)
    async with db.unit_of_work() as uow:
        epoch = await uow.chats.new_conversation(CHAT)
        await uow.commit()

    assert await recent(db, epoch, 1000) == []
    await add_turns(db, epoch, 7)
    assert [t.tokens for t in await recent(db, epoch, 1000)] == [7]
    assert len(await recent(db, 0, 1000)) == 2  # the old epoch is kept, just not recalled


async def test_images_round_trip_with_their_turn(db: Database) -> None:
    await add_chat(db, CHAT)
    png = TurnImage("image/png", bytes(range(256)))
    async with db.unit_of_work() as uow:
        asked = await uow.conversations.add(
            CHAT, 0, "user", "what is this?", 100, user_id="42", images=[JPEG, png]
        )
        await uow.conversations.add(CHAT, 0, "assistant", "a cat", 3)
        await uow.commit()

    question, answer = await recent(db, 0, 1000)
    assert question.id == asked
    assert question.images == (JPEG, png)
    assert question.user_id == "42"
    assert (answer.images, answer.user_id) == ((), None)


async def test_older_than_returns_what_came_before_a_turn(db: Database) -> None:
    await add_chat(db, CHAT)
    ids = await add_turns(db, 0, 1, 2, 3, 4)
    await add_turns(db, 1, 9)
    async with db.unit_of_work() as uow:
        older = await uow.conversations.older_than(CHAT, 0, ids[2])
    assert [t.id for t in older] == ids[:2]
