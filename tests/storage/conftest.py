from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from storage import Database


@pytest.fixture
async def open_db(database_url: str) -> AsyncIterator[Callable[[], Database]]:
    """Opens Database objects on the same database (a "restart" is just another one)."""
    opened: list[Database] = []

    def open_() -> Database:
        db = Database(database_url)
        opened.append(db)
        return db

    yield open_
    for db in opened:
        await db.dispose()


@pytest.fixture
async def db(open_db: Callable[[], Database]) -> Database:
    database = open_db()
    await database.migrate()
    return database


async def add_chat(db: Database, key: str = "tg:-100123", kind: str = "group") -> None:
    platform, chat_id = key.split(":", 1)
    async with db.unit_of_work() as uow:
        await uow.chats.ensure(key, platform, chat_id, kind, f"chat {chat_id}")
        await uow.commit()
