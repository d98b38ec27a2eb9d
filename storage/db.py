"""Engine, sessions and migrations for one database URL."""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import URL, Connection, event, inspect, make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from storage.dialect import SUPPORTED_BACKENDS
from storage.uow import Gate, UnitOfWork

if TYPE_CHECKING:  # Alembic is imported only when the schema is behind: it costs start-up time
    from alembic.config import Config

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
# The newest migration. A database already there starts without loading Alembic at all;
# tests/storage/test_db.py fails when a new migration is added and this is not moved on.
HEAD_REVISION = "0011_answer_source"
# A writer waits this long for SQLite's write lock. Long, because a burst of writers queues
# behind the group commit and each one's turn does come; failing early would lose a request.
BUSY_TIMEOUT_MS = 60_000
# Any constant works; it only has to be the same for every process migrating.
_PG_MIGRATION_LOCK = 0x77656E77656E


@dataclass(frozen=True)
class Pool:
    """Connections kept open, extra ones allowed in a burst, and how long a request waits for one."""

    size: int = 5
    overflow: int = 5
    wait: float = 120.0


class Database:
    """Owns the engine; hands out units of work. Create once at start-up, dispose at exit."""

    def __init__(self, url: str | URL, *, echo: bool = False, pool: Pool = Pool()) -> None:
        self.engine = create_engine(url, echo=echo, pool=pool)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        # Units of work beyond the pool's connections wait here, as plain futures. Inside
        # SQLAlchemy each would wait for a connection in a greenlet of its own, holding a
        # copy of its C stack: a thousand requests queued that way cost tens of MB.
        self._gate = Gate(pool.size + pool.overflow, pool.wait)

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema to `revision` with Alembic; a no-op when already there."""
        if revision == "head" and await self.revision() == HEAD_REVISION:
            return
        log.info("migrating %s to %s", self.engine.url.render_as_string(hide_password=True), revision)
        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade, revision)

    async def revision(self) -> str | None:
        """The schema's Alembic revision; None for an empty database (or several heads)."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(current_revision)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self._sessions, self._gate)

    async def dispose(self) -> None:
        await self.engine.dispose()


def create_engine(url: str | URL, *, echo: bool = False, pool: Pool = Pool()) -> AsyncEngine:
    """An async engine for a supported URL, with the SQLite settings we rely on."""
    url = make_url(url)
    backend = url.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(f"unsupported database {backend!r}; use sqlite+aiosqlite or postgresql")
    sizing: dict[str, Any] = {
        "pool_size": pool.size,
        "max_overflow": pool.overflow,
        "pool_timeout": pool.wait,
    }
    if url.database in (None, "", ":memory:"):
        sizing = {}  # one in-memory database per connection: SQLAlchemy picks its own pool
    if backend != "sqlite":
        return create_async_engine(url, echo=echo, pool_pre_ping=True, **sizing)
    _create_parent_folder(url)
    if url.get_driver_name() == "aiosqlite":
        from storage.sqlite_driver import one_trip_dbapi  # imports aiosqlite: SQLite only

        sizing["module"] = one_trip_dbapi()
    engine = create_async_engine(url, echo=echo, **sizing)
    event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
    return engine


def _create_parent_folder(url: URL) -> None:
    database = url.database
    if not database or database == ":memory:" or url.query.get("uri") or database.startswith("file:"):
        return
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        # WAL: readers never block the writer; NORMAL is durable enough under WAL.
        _wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _wal(cursor: Any) -> None:
    """Switch a new file to WAL; two processes opening it at once may find it locked.

    Changing the journal mode does not wait out busy_timeout when another connection is
    doing the same, so it is tried again for as long as the busy timeout would have waited.
    """
    for _ in range(BUSY_TIMEOUT_MS // 20):
        try:
            cursor.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc):
                raise
            time.sleep(0.02)
    cursor.execute("PRAGMA journal_mode = WAL")


def current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table("alembic_version"):
        return None
    versions = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    return versions[0] if len(versions) == 1 else None


def alembic_config(script_location: Path = MIGRATIONS) -> Config:
    """Alembic settings for running from code (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    # ConfigParser interpolation: a literal % in the path must be doubled.
    config.set_main_option("script_location", str(script_location).replace("%", "%%"))
    return config


def upgrade(connection: Connection, revision: str = "head", script_location: Path = MIGRATIONS) -> None:
    """Run Alembic's upgrade on an open connection, inside its transaction."""
    from alembic import command

    lock_for_migration(connection)
    config = alembic_config(script_location)
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


def lock_for_migration(connection: Connection) -> None:
    """Serialize migrations across processes and make them all-or-nothing.

    The SQLite driver only opens a transaction before DML, so DDL would otherwise
    auto-commit statement by statement; BEGIN IMMEDIATE also takes the write lock
    before Alembic reads the current revision.
    """
    name = connection.dialect.name
    if name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    elif name == "postgresql":
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})")
