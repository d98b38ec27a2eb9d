"""Running bot processes: who owns reservations, jobs, journaled updates and leases.

A process registers at start and holds a *liveness lock* for its whole life; the OS or
the database server drops that lock the moment the process dies (even on `kill -9`), so
another process can tell at once that an owner is gone, without waiting for a timeout.

* SQLite (one machine): an exclusive `flock` on a file next to the database;
* PostgreSQL: a session-level advisory lock on a connection kept open for the purpose.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import IO, Protocol

from sqlalchemy import delete, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from storage.clock import as_utc, utc_now
from storage.tables import InstanceRow

log = logging.getLogger(__name__)


class Liveness(Protocol):
    async def hold(self, instance_id: str) -> None:
        """Take this process's lock; kept until `release` or the process's death."""
        ...

    async def alive(self, instance_ids: Iterable[str]) -> set[str]:
        """Which of these instances still hold their lock."""
        ...

    async def release(self) -> None: ...


class FileLiveness:
    """Lock files in one folder: for SQLite, whose writers all share one machine.

    The file operations are a few microseconds on a local disk: done inline.
    """

    def __init__(self, folder: Path) -> None:
        self._folder = folder
        self._own: IO[bytes] | None = None

    async def hold(self, instance_id: str) -> None:
        self._own = self._lock(instance_id)

    async def alive(self, instance_ids: Iterable[str]) -> set[str]:
        return {instance_id for instance_id in instance_ids if self._held(instance_id)}

    async def release(self) -> None:
        if self._own is not None:
            self._unlock(self._own)
            self._own = None

    def _path(self, instance_id: str) -> Path:
        return self._folder / f"{instance_id}.lock"

    def _lock(self, instance_id: str) -> IO[bytes]:
        self._folder.mkdir(parents=True, exist_ok=True)
        handle = self._path(instance_id).open("wb")
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        return handle

    def _held(self, instance_id: str) -> bool:
        path = self._path(instance_id)
        if self._own is not None and Path(self._own.name) == path:
            return True
        try:
            handle = path.open("rb")
        except FileNotFoundError:
            return False  # never held here, or cleaned up: gone
        with handle:
            try:
                fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
        # Nobody holds it: the owner is gone, and its file is litter now.
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        return False

    @staticmethod
    def _unlock(handle: IO[bytes]) -> None:
        path = Path(handle.name)
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def _advisory_key(instance_id: str) -> int:
    digest = hashlib.blake2b(f"wenwen-instance:{instance_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class PostgresLiveness:
    """Session advisory locks: the server releases them when the owner's connection drops."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._conn: AsyncConnection | None = None

    async def hold(self, instance_id: str) -> None:
        self._conn = await self._engine.connect()
        await self._conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _advisory_key(instance_id)})
        await self._conn.commit()

    async def alive(self, instance_ids: Iterable[str]) -> set[str]:
        ids = list(instance_ids)
        if not ids:
            return set()
        keys = {_advisory_key(i): i for i in ids}
        async with self._engine.connect() as conn:
            # An advisory lock on a bigint shows in pg_locks as (classid, objid) = (high, low) halves.
            rows = await conn.execute(
                text(
                    "SELECT ((classid::bigint << 32) | objid::bigint) FROM pg_locks "
                    "WHERE locktype = 'advisory' AND objsubid = 1 AND granted"
                )
            )
            held = {_signed64(int(row[0])) for row in rows}
        return {keys[key] for key in keys if key in held}

    async def release(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        # Not close(): that hands the session back to the pool with its advisory lock still
        # held. Invalidating ends the session, and the server drops the lock with it.
        await conn.invalidate()
        await conn.close()


def _signed64(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


class InstanceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def register(self, instance_id: str, host: str, pid: int) -> None:
        now = utc_now()
        self._session.add(InstanceRow(id=instance_id, host=host, pid=pid, started_at=now, heartbeat_at=now))
        await self._session.flush()

    async def heartbeat(self, instance_id: str) -> None:
        await self._session.execute(
            update(InstanceRow).where(InstanceRow.id == instance_id).values(heartbeat_at=utc_now())
        )

    async def stopped(self, instance_id: str) -> None:
        await self._session.execute(
            update(InstanceRow).where(InstanceRow.id == instance_id).values(stopped_at=utc_now())
        )

    async def known(self) -> list[str]:
        """Every instance on record: running, stopped, or gone without a word (a crash)."""
        return list(await self._session.scalars(select(InstanceRow.id)))

    async def forget_stopped_before(self, moment: datetime) -> None:
        await self._session.execute(
            delete(InstanceRow).where(
                InstanceRow.stopped_at.is_not(None), InstanceRow.stopped_at < as_utc(moment)
            )
        )


def liveness_for(engine: AsyncEngine) -> Liveness:
    if engine.dialect.name == "postgresql":
        return PostgresLiveness(engine)
    database = engine.url.database or ""
    folder = (
        Path(database).expanduser().resolve().parent if database and database != ":memory:" else Path(".")
    )
    return FileLiveness(folder / f".{Path(database).name or 'wenwen'}.instances")


def host_and_pid() -> tuple[str, int]:
    return os.uname().nodename, os.getpid()
