from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from storage import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A migrated database (TEST_DATABASE_URL): the services under test use the real schema."""
    database = Database(database_url)
    await database.migrate()
    yield database
    await database.dispose()
