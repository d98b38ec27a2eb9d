from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from sqlalchemy import event, text

from storage import Database, RecordNotFound

from .conftest import add_chat
from .test_mj_tasks import imagine


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


@pytest.mark.sqlite_only("SQLite's single write lock")
async def test_writing_again_while_a_cancelled_returning_statement_unwinds_does_not_wait(
    db: Database,
) -> None:
    """Cancelled in the middle of `UPDATE … RETURNING`, then a write in the `finally`.

    The way the Midjourney tracker stops: the aborted statement's cursor, kept alive by the
    traceback being handled, held SQLite's write lock, and the second write waited out the
    60 s busy timeout (the end-to-end restart tests failed under load, then hung).
    """
    await add_chat(db, "dc:600", "group")
    async with db.unit_of_work() as uow:
        await uow.mj_tasks.add(imagine())
        await uow.commit()

    def slow_function(connection: Any, _record: Any) -> None:
        # Runs in the statement, in aiosqlite's thread: the cancellation lands while it runs.
        connection.create_function("pause", 1, lambda v: time.sleep(0.3) or v)

    event.listen(db.engine.sync_engine, "connect", slow_function)
    await db.engine.dispose()  # new connections, with the function
    sent = asyncio.Event()
    released: list[str] = []

    async def claim_then_release() -> None:
        try:
            async with db.unit_of_work() as uow:
                session = uow.mj_tasks._session
                sent.set()
                await session.execute(text("UPDATE mj_tasks SET lease_owner = 'me' RETURNING pause(task_id)"))
                await asyncio.sleep(3600)  # stands for the rest of a polling round
        finally:
            async with db.unit_of_work() as uow:
                await uow.mj_tasks.release("me")
                await uow.commit()
                released.append("me")

    task = asyncio.create_task(claim_then_release())
    await asyncio.wait_for(sent.wait(), 10)
    await asyncio.sleep(0.1)  # the statement is running
    task.cancel()
    done, _ = await asyncio.wait([task], timeout=10)
    assert done, "the write in `finally` is still waiting for the lock"
    assert task.cancelled() and released == ["me"]
