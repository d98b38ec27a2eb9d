"""The servers the tests run against: the database under test, and Redis.

`TEST_DATABASE_URL` picks the database of the storage, integration and end-to-end tests.
Unset, each test gets its own SQLite file under its tmp_path. A `postgresql+asyncpg://` URL
names a server (its database name is only a prefix): each test gets an empty database of its
own there, copied from an empty template this process made (so one per pytest-xdist worker),
and dropped when the test ends. The copying and dropping run on a background thread, one
database ahead, so a test rarely waits for either.

`TEST_REDIS_URL` names the Redis of the `redis_url` fixture. Tests share its logical database
and keep apart by key prefix: each test writes under its own `redis_prefix`, deleted afterwards.

A server that does not answer skips the tests needing it, with a reason naming it and its URL;
with `REQUIRE_SERVICES=1` (CI) they fail instead. `python -m tests.services postgres URL`
checks a server the same way (`./scripts/test` asks it before the PostgreSQL run).
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import re
import socket
import sys
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, NoReturn

import pytest
from sqlalchemy import URL, make_url
from sqlalchemy.exc import ArgumentError

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")
# Tells this machine's leftovers from those of another (a container with its own process ids).
HOST = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:6]
CONNECT_TIMEOUT = 5.0
# How a missing server reads in a skip (or failure) reason; the terminal summary counts these.
MISSING = re.compile(
    r"(?P<service>PostgreSQL|Redis) at (?P<url>\S+) is not reachable \((?P<why>.*)\); "
    r"(?:set )?REQUIRE_SERVICES"
)


def require_services() -> bool:
    return os.environ.get("REQUIRE_SERVICES", "").strip().lower() in ("1", "true", "yes")


def missing(service: str, url: str, why: str) -> NoReturn:
    """Skip the test, or fail it under REQUIRE_SERVICES=1, because `service` does not answer."""
    reason = f"{service} at {url} is not reachable ({why})"
    if require_services():
        pytest.fail(f"{reason}; REQUIRE_SERVICES=1 makes this an error", pytrace=False)
    pytest.skip(f"{reason}; set REQUIRE_SERVICES=1 to fail instead")


def shown(url: str | URL) -> str:
    """A URL fit for a log line: no password (database or Redis)."""
    return make_url(url).render_as_string(hide_password=True)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}" if str(error) else type(error).__name__


# --- the database under test ---------------------------------------------------------------


def database_url_setting() -> str | None:
    """TEST_DATABASE_URL, checked; None means SQLite (a file per test, whatever path it names)."""
    url = os.environ.get("TEST_DATABASE_URL", "").strip()
    if not url or url.startswith("sqlite"):
        return None
    try:
        driver = make_url(url).drivername
    except ArgumentError:
        driver = ""
    if driver != "postgresql+asyncpg":
        raise pytest.UsageError("TEST_DATABASE_URL must be unset (SQLite) or postgresql+asyncpg://…")
    return url


def backend_name() -> str:
    return "sqlite" if database_url_setting() is None else "postgresql"


class _Admin:
    """One connection to the server's maintenance database; one statement at a time."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn  # an asyncpg.Connection
        self._lock = asyncio.Lock()

    async def execute(self, sql: str) -> None:
        async with self._lock:
            await self.conn.execute(sql)

    @classmethod
    async def connect(cls, url: URL) -> _Admin:
        import asyncpg

        for maintenance in ("postgres", "template1"):
            dsn = url.set(drivername="postgresql", database=maintenance).render_as_string(hide_password=False)
            try:
                return cls(await asyncpg.connect(dsn, timeout=CONNECT_TIMEOUT))
            except asyncpg.InvalidCatalogNameError:
                if maintenance == "template1":
                    raise
        raise AssertionError("unreachable")


class PostgresDatabases:
    """Empty databases on one server, made and dropped on a thread of their own.

    Names are `<prefix>_<host>_<worker>_<pid>_<n>`, so parallel workers and parallel runs never
    meet; a run that was killed leaves its databases behind, and the next run on the same
    machine drops those whose process is gone.
    """

    def __init__(self, url: str) -> None:
        self.url = make_url(url)
        base = re.sub(r"[^a-z0-9_]", "_", (self.url.database or "wenwen_test").lower())[:24]
        self._base = base
        self._prefix = f"{base}_{HOST}_{WORKER}_{os.getpid()}"
        self._template = f"{self._prefix}_template"
        self._numbers = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="test-databases", daemon=True)
        # Two connections, so making the next test's database never waits behind a drop.
        self._maker: _Admin | None = None
        self._dropper: _Admin | None = None
        self._spare: Future[str] | None = None
        self._drops: list[Future[None]] = []

    # Called from the tests' thread.

    def start(self) -> None:
        """Connect and make the template; raises when the server cannot be used."""
        self._thread.start()
        try:
            self._call(self._connect())
        except BaseException:
            self.close()
            raise
        self._spare = self._submit(self._create())

    def take(self) -> str:
        """The URL of a new, empty database for one test."""
        spare = self._spare
        self._spare = self._submit(self._create())
        assert spare is not None, "start() first"
        return self.url_of(spare.result(timeout=60))

    def give_back(self, url: str) -> None:
        """Drop the test's database (in the background; open connections are cut)."""
        self._drops = [d for d in self._drops if not d.done()]
        self._drops.append(self._submit(self._drop(make_url(url).database or "")))

    def url_of(self, name: str) -> str:
        return self.url.set(database=name).render_as_string(hide_password=False)

    def close(self) -> None:
        if self._thread.is_alive():
            try:
                self._call(self._close())
            finally:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._thread.join(timeout=10)
        self._loop.close()

    def _submit(self, work: Coroutine[Any, Any, Any]) -> Future[Any]:
        return asyncio.run_coroutine_threadsafe(work, self._loop)

    def _call(self, work: Coroutine[Any, Any, Any]) -> Any:
        return self._submit(work).result(timeout=120)

    # On the background thread.

    async def _connect(self) -> None:
        self._maker = await _Admin.connect(self.url)
        self._dropper = await _Admin.connect(self.url)
        await self._drop_leftovers()
        await self._maker.execute(f'CREATE DATABASE "{self._template}" TEMPLATE template0')

    async def _create(self) -> str:
        name = f"{self._prefix}_{next(self._numbers)}"
        assert self._maker is not None
        await self._maker.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        return name

    async def _drop(self, name: str) -> None:
        assert self._dropper is not None
        await self._dropper.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    async def _close(self) -> None:
        if self._maker is None or self._dropper is None:
            for admin in (self._maker, self._dropper):
                if admin is not None:
                    await admin.conn.close()
            return
        pending: list[Future[Any]] = [*self._drops]
        if self._spare is not None:
            pending.append(self._spare)
        for future in pending:
            try:
                name = await asyncio.wrap_future(future)
            except Exception:
                continue  # best effort: a later run drops what is left
            if future is self._spare:
                await self._drop(name)
        await self._drop(self._template)
        await self._maker.conn.close()
        await self._dropper.conn.close()

    async def _drop_leftovers(self) -> None:
        """Databases of earlier runs on this machine whose process has gone (killed runs)."""
        ours = re.compile(rf"^{re.escape(self._base)}_{HOST}_(?:gw\d+|main)_(\d+)_(?:template|\d+)$")
        assert self._dropper is not None
        rows = await self._dropper.conn.fetch("SELECT datname FROM pg_database WHERE NOT datistemplate")
        for row in rows:
            found = ours.match(row["datname"])
            if found and not _alive(int(found.group(1))):
                await self._drop(row["datname"])


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def open_postgres(url: str) -> PostgresDatabases | str:
    """The databases helper for this process, or why the server cannot be used."""
    try:
        import asyncpg  # noqa: F401
    except ImportError:
        return "asyncpg is not installed; pip install -e '.[test]'"
    databases = PostgresDatabases(url)
    try:
        databases.start()
    except Exception as e:
        return _describe(e)
    return databases


# --- Redis -----------------------------------------------------------------------------------


def redis_url_setting() -> str:
    return os.environ.get("TEST_REDIS_URL", "").strip() or DEFAULT_REDIS_URL


def redis_problem(url: str) -> str | None:
    """None when Redis at `url` answers PING; otherwise why not."""
    try:
        import redis
    except ImportError:
        return "the redis package is not installed; pip install -e '.[test]'"
    try:
        client = _redis_client(url)
        try:
            client.ping()
        finally:
            client.close()
    except (redis.RedisError, OSError, ValueError) as e:
        return _describe(e)
    return None


def _redis_client(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=CONNECT_TIMEOUT)


def delete_keys(url: str, prefix: str) -> None:
    """Delete every key under `prefix` (what one test wrote)."""
    client = _redis_client(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=500))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


# --- `python -m tests.services postgres URL` ---------------------------------------------------


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("postgres", "redis"):
        print("usage: python -m tests.services postgres|redis URL", file=sys.stderr)
        return 2
    service, url = argv
    if service == "redis":
        problem = redis_problem(url)
        name = "Redis"
    else:
        opened = open_postgres(url)
        problem = opened if isinstance(opened, str) else None
        if isinstance(opened, PostgresDatabases):
            opened.close()
        name = "PostgreSQL"
    if problem is None:
        print(f"{name} at {shown(url)} answers")
        return 0
    print(f"{name} at {shown(url)} is not reachable ({problem})")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
