"""Engine, sessions and migrations for one database URL."""

from __future__ import annotations

import logging
import sqlite3
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import URL, Connection, event, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine

from storage.dialect import SUPPORTED_BACKENDS
from storage.uow import UnitOfWork

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().with_name("migrations")
BUSY_TIMEOUT_MS = 5000
# Any constant works; it only has to be the same for every process migrating.
_PG_MIGRATION_LOCK = 0x77656E77656E


class Database:
    """Owns the engine; hands out units of work. Create once at start-up, dispose at exit."""

    def __init__(self, url: str | URL, *, echo: bool = False) -> None:
        self.engine = create_engine(url, echo=echo)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)

    async def migrate(self, revision: str = "head") -> None:
        """Bring the schema to `revision` with Alembic; a no-op when already there."""
        log.info("migrating %s to %s", self.engine.url.render_as_string(hide_password=True), revision)
        async with self.engine.begin() as conn:
            await conn.run_sync(upgrade, revision)

    def unit_of_work(self) -> UnitOfWork:
        return UnitOfWork(self._sessions)

    async def dispose(self) -> None:
        await self.engine.dispose()


def create_engine(url: str | URL, *, echo: bool = False) -> AsyncEngine:
    """An async engine for a supported URL, with the SQLite settings we rely on."""
    url = make_url(url)
    backend = url.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise ValueError(f"unsupported database {backend!r}; use sqlite+aiosqlite or postgresql")
    if backend != "sqlite":
        return create_async_engine(url, echo=echo, pool_pre_ping=True)
    _create_parent_folder(url)
    engine = create_async_engine(url, echo=echo)
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


def alembic_config(script_location: Path = MIGRATIONS) -> Config:
    """Alembic settings for running from code (no alembic.ini needed)."""
    config = Config()
    # ConfigParser interpolation: a literal % in the path must be doubled.
    config.set_main_option("script_location", str(script_location).replace("%", "%%"))
    return config


def upgrade(connection: Connection, revision: str = "head", script_location: Path = MIGRATIONS) -> None:
    """Run Alembic's upgrade on an open connection, inside its transaction."""
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
