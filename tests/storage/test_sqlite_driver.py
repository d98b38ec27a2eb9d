"""The SQLite adapter: one trip to aiosqlite's thread per statement, same database behaviour."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from storage import Database

pytestmark = pytest.mark.sqlite_only("the SQLite driver adapter")


@pytest.fixture
def trips(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Every call queued for aiosqlite's thread, by name (observed, then passed on)."""
    seen: list[str] = []
    queue = aiosqlite.Connection._execute

    async def counted(self: aiosqlite.Connection, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        seen.append(getattr(fn, "__name__", repr(fn)))
        return await queue(self, fn, *args, **kwargs)

    monkeypatch.setattr(aiosqlite.Connection, "_execute", counted)
    yield seen


@pytest.fixture
async def db(tmp_path: Path) -> Any:
    database = Database(f"sqlite+aiosqlite:///{tmp_path / 'driver.db'}")
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL)"))
    yield database
    await database.dispose()


async def test_a_read_is_one_trip_and_needs_no_rollback(db: Database, trips: list[str]) -> None:
    async with db.engine.connect() as conn:  # connected (and set up) before counting
        await conn.execute(text("SELECT 1"))
    trips.clear()
    async with db.engine.connect() as conn:
        rows = (await conn.execute(text("SELECT 1 AS one, 'a' AS two"))).all()
    assert [tuple(r) for r in rows] == [(1, "a")]
    assert trips == ["_run"], "one statement, one trip; no rollback of a transaction never opened"


async def test_a_write_is_one_trip_and_one_commit(db: Database, trips: list[str]) -> None:
    async with db.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    trips.clear()
    async with db.engine.begin() as conn:
        inserted = await conn.execute(text("INSERT INTO t (name) VALUES ('ann') RETURNING id, name"))
        assert [tuple(r) for r in inserted] == [(1, "ann")]
        changed = await conn.execute(text("UPDATE t SET name = 'bob' WHERE id = 1"))
        assert changed.rowcount == 1
        added = await conn.execute(text("INSERT INTO t (name) VALUES ('cy')"))
        assert added.lastrowid == 2
        many = await conn.execute(
            text("UPDATE t SET name = name || '!' WHERE id = :id"), [{"id": 1}, {"id": 2}]
        )
        assert many.rowcount == 2
    assert trips == ["_run", "_run", "_run", "_run", "commit"]
    async with db.engine.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM t ORDER BY id"))).scalars().all()
    assert names == ["bob!", "cy!"]


async def test_what_is_not_committed_is_rolled_back(db: Database) -> None:
    async with db.engine.connect() as conn:
        await conn.execute(text("INSERT INTO t (name) VALUES ('ann')"))
        await conn.rollback()
        await conn.execute(text("INSERT INTO t (name) VALUES ('bob')"))
    # Closed without a commit: the pool's reset rolls the open transaction back.
    async with db.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar_one() == 0


async def test_errors_are_sqlalchemy_errors_and_leave_the_connection_usable(db: Database) -> None:
    async with db.unit_of_work() as uow:
        session: Any = uow._active()
        await session.execute(text("INSERT INTO t (name) VALUES ('ann')"))
        with pytest.raises(IntegrityError):
            await session.execute(text("INSERT INTO t (name) VALUES ('ann')"))
        await uow.rollback()
        await session.execute(text("INSERT INTO t (name) VALUES ('bob')"))
        await uow.commit()
    async with db.engine.connect() as conn:
        names = (await conn.execute(text("SELECT name FROM t"))).scalars().all()
    assert names == ["bob"]
