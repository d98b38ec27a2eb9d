from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from storage import Database


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated SQLite file: the services under test use the real schema."""
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'wenwen.db'}")
    await database.migrate()
    yield database
    await database.dispose()
