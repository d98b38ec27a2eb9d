from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from storage import Database


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    # A folder that does not exist yet: Database must create it.
    return f"sqlite+aiosqlite:///{tmp_path / 'data' / 'wenwen.db'}"


@pytest.fixture
async def open_db(db_url: str) -> AsyncIterator[Callable[[], Database]]:
    """Opens Database objects on the same file (a "restart" is just another one)."""
    opened: list[Database] = []

    def open_() -> Database:
        db = Database(db_url)
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
