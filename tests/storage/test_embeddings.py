from __future__ import annotations

from storage import Database

from .conftest import add_chat

CHAT = "tg:-100123"
MODEL = "text-embedding-3-small"


async def add_turns(db: Database, epoch: int, *texts: str) -> list[int]:
    async with db.unit_of_work() as uow:
        ids = [await uow.conversations.add(CHAT, epoch, "user", text, 5) for text in texts]
        await uow.commit()
    return ids


async def test_unembedded_lists_older_turns_without_vectors_oldest_first(db: Database) -> None:
    await add_chat(db, CHAT)
    first, second, third = await add_turns(db, 0, "one", "two", "three")
    await add_turns(db, 1, "next epoch")
    async with db.unit_of_work() as uow:
        await uow.embeddings.add(CHAT, 0, first, MODEL, [1.0, 0.0])
        await uow.commit()
    async with db.unit_of_work() as uow:
        pending = await uow.embeddings.unembedded(CHAT, 0, before_id=third)
        limited = await uow.embeddings.unembedded(CHAT, 0, before_id=10**9, limit=1)
    assert [(t.id, t.role, t.content) for t in pending] == [(second, "user", "two")]
    assert [t.id for t in limited] == [second]


async def test_vectors_round_trip_per_model_and_a_second_add_is_ignored(db: Database) -> None:
    await add_chat(db, CHAT)
    first, second = await add_turns(db, 0, "one", "two")
    async with db.unit_of_work() as uow:
        await uow.embeddings.add(CHAT, 0, first, MODEL, [0.5, -0.25])
        await uow.embeddings.add(CHAT, 0, first, MODEL, [9.0, 9.0])  # a racing reply
        await uow.embeddings.add(CHAT, 0, second, "other-model", [1.0, 1.0])
        await uow.commit()
    async with db.unit_of_work() as uow:
        stored = await uow.embeddings.vectors(CHAT, 0, MODEL, before_id=10**9)
        older = await uow.embeddings.vectors(CHAT, 0, MODEL, before_id=first)
    assert [(v.turn_id, v.vector) for v in stored] == [(first, (0.5, -0.25))]
    assert older == []


async def test_latest_with_images_and_by_ids(db: Database) -> None:
    from storage import TurnImage

    await add_chat(db, CHAT)
    async with db.unit_of_work() as uow:
        plain = await uow.conversations.add(CHAT, 0, "user", "text only", 5)
        photo = await uow.conversations.add(
            CHAT, 0, "user", "photo", 90, images=[TurnImage("image/jpeg", b"j")]
        )
        drawn = await uow.conversations.add(
            CHAT, 0, "assistant", "drawing", 5, images=[TurnImage("image/jpeg", b"d")]
        )
        await uow.commit()
    async with db.unit_of_work() as uow:
        latest = await uow.conversations.latest_with_images(CHAT, 0)
        users = await uow.conversations.latest_with_images(CHAT, 0, role="user")
        before = await uow.conversations.latest_with_images(CHAT, 0, before_id=photo)
        found = await uow.conversations.by_ids([drawn, plain, 999])
    assert latest is not None and latest.id == drawn
    assert users is not None and users.id == photo and users.images[0].data == b"j"
    assert before is None
    assert [t.id for t in found] == [plain, drawn]


async def test_a_limit_keeps_the_newest_vectors_oldest_first(db: Database) -> None:
    await add_chat(db, CHAT)
    turns = await add_turns(db, 0, "one", "two", "three")
    async with db.unit_of_work() as uow:
        for n, turn in enumerate(turns):
            await uow.embeddings.add(CHAT, 0, turn, MODEL, [float(n), 1.0])
        await uow.commit()
    async with db.unit_of_work() as uow:
        newest = await uow.embeddings.vectors(CHAT, 0, MODEL, before_id=10**9, limit=2)
    assert [v.turn_id for v in newest] == list(turns[1:])
