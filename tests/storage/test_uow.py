from __future__ import annotations

import pytest

from storage import Database, RecordNotFound

from .conftest import add_chat


async def test_changes_are_rolled_back_unless_committed(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.chats.ensure("tg:1", "tg", "1", "private", "Ann")
        assert await uow.chats.get("tg:1") is not None  # visible inside the unit of work

    async with db.unit_of_work() as uow:
        assert await uow.chats.get("tg:1") is None


async def test_an_error_rolls_back_everything(db: Database) -> None:
    await add_chat(db, "tg:1", "private")
    with pytest.raises(RuntimeError):
        async with db.unit_of_work() as uow:
            await uow.chats.set_system_prompt("tg:1", "be brief")
            raise RuntimeError("handler failed")

    async with db.unit_of_work() as uow:
        chat = await uow.chats.get("tg:1")
    assert chat is not None
    assert chat.system_prompt is None


async def test_commit_persists_and_later_changes_still_need_a_commit(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.chats.ensure("tg:1", "tg", "1", "private", "Ann")
        await uow.commit()
        await uow.chats.set_chat_model("tg:1", "gpt-x")  # after the commit: discarded

    async with db.unit_of_work() as uow:
        chat = await uow.chats.get("tg:1")
    assert chat is not None
    assert chat.chat_model is None


async def test_a_unit_of_work_is_entered_once(db: Database) -> None:
    uow = db.unit_of_work()
    async with uow:
        pass
    with pytest.raises(RuntimeError):
        async with uow:
            pass


async def test_rows_need_their_chat(db: Database) -> None:
    """Foreign keys are enforced on SQLite too."""
    from sqlalchemy.exc import IntegrityError

    async with db.unit_of_work() as uow:
        with pytest.raises(IntegrityError):
            await uow.conversations.add("tg:unknown", 0, "user", "hi", 1)


async def test_changing_a_missing_chat_raises(db: Database) -> None:
    async with db.unit_of_work() as uow:
        with pytest.raises(RecordNotFound):
            await uow.chats.new_conversation("tg:nobody")
        with pytest.raises(RecordNotFound):
            await uow.chats.set_system_prompt("tg:nobody", "x")
