from __future__ import annotations

import pytest

from storage import ChatRecord, Database


async def test_ensure_creates_then_keeps_kind_and_title_current(db: Database) -> None:
    async with db.unit_of_work() as uow:
        created = await uow.chats.ensure("dc:600", "dc", "600", "group", "general")
        again = await uow.chats.ensure("dc:600", "dc", "600", "group", "general")
        renamed = await uow.chats.ensure("dc:600", "dc", "600", "group", "lounge")
        await uow.commit()

    assert created == ChatRecord("dc:600", "dc", "600", "group", "general", 0, None, None)
    assert again == created
    assert renamed.title == "lounge"
    async with db.unit_of_work() as uow:
        assert await uow.chats.get("dc:600") == renamed


async def test_ensure_rejects_unknown_kinds(db: Database) -> None:
    async with db.unit_of_work() as uow:
        with pytest.raises(ValueError, match="chat kind"):
            await uow.chats.ensure("tg:1", "tg", "1", "supergroup", "x")


async def test_new_conversation_bumps_the_epoch(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.chats.ensure("console:local", "console", "local", "private", "console")
        assert await uow.chats.new_conversation("console:local") == 1
        assert await uow.chats.new_conversation("console:local") == 2
        chat = await uow.chats.get("console:local")
        await uow.commit()
    assert chat is not None
    assert chat.conversation_epoch == 2


async def test_system_prompt_and_model_can_be_set_and_cleared(db: Database) -> None:
    async with db.unit_of_work() as uow:
        await uow.chats.ensure("tg:1", "tg", "1", "private", "Ann")
        await uow.chats.set_system_prompt("tg:1", "You are terse.")
        await uow.chats.set_chat_model("tg:1", "gpt-4o-mini")
        await uow.commit()
    async with db.unit_of_work() as uow:
        chat = await uow.chats.get("tg:1")
        assert chat is not None
        assert (chat.system_prompt, chat.chat_model) == ("You are terse.", "gpt-4o-mini")
        await uow.chats.set_system_prompt("tg:1", None)
        await uow.chats.set_chat_model("tg:1", None)
        await uow.commit()
    async with db.unit_of_work() as uow:
        chat = await uow.chats.get("tg:1")
    assert chat is not None
    assert (chat.system_prompt, chat.chat_model) == (None, None)
