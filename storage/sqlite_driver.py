"""SQLite through aiosqlite with one trip to its thread per statement.

aiosqlite runs every call on a thread of its own, and each call is a round trip: a queue
hand-off to the thread and a wake-up of the event loop when it is done (0.1–0.2 ms on a
small VM). SQLAlchemy's aiosqlite adapter makes four trips per statement (open a cursor,
execute, fetch, close) and one per commit or rollback, even when nothing was written: a
one-row read cost five trips, which was most of its time. This adapter runs a statement
with its fetch and close in one trip, and skips a commit or rollback when sqlite3 has no
transaction open (both are no-ops then). What the database does is unchanged.

It relies on aiosqlite's `_execute` (queue a function for its thread), as SQLAlchemy's own
adapter relies on aiosqlite's queue; the versions are pinned in pyproject.toml, and the
storage tests run every statement of the project through it.
"""

from __future__ import annotations

import collections
import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any, NamedTuple

import aiosqlite
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_


class _Outcome(NamedTuple):
    description: Any
    rowcount: int
    lastrowid: int | None
    rows: list[Any]


def _run(connection: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> _Outcome:
    """On aiosqlite's thread: the whole statement, its rows read, its cursor closed."""
    cursor = connection.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        # Reading every row also finishes an `… RETURNING` statement, which holds the write
        # lock until it is stepped to the end.
        rows = cursor.fetchall() if cursor.description else []
        return _Outcome(cursor.description, cursor.rowcount, cursor.lastrowid, rows)
    finally:
        cursor.close()


class OneTripCursor(AsyncAdapt_aiosqlite_cursor):
    """A DB-API cursor whose statements each take one trip; its rows are kept here."""

    __slots__ = ("_outcome",)

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # No aiosqlite cursor to open: every statement opens and closes its own on the thread.
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._soft_closed_memoized = EMPTY_DICT
        self._rows = collections.deque()
        self._outcome = _Outcome(None, -1, None, [])

    @property
    def description(self) -> Any:
        return self._outcome.description

    @property
    def rowcount(self) -> int:
        return self._outcome.rowcount

    @property
    def lastrowid(self) -> Any:
        return self._outcome.lastrowid

    async def _async_soft_close(self) -> None:
        return  # nothing is open on the thread between statements

    def close(self) -> None:
        self._rows.clear()

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        self._trip(operation, parameters, many=False)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        self._trip(operation, seq_of_parameters, many=True)

    def _trip(self, operation: str, parameters: Any, *, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        on_thread: Callable[..., Awaitable[_Outcome]] = connection._execute  # untyped in aiosqlite
        try:
            outcome = await_(on_thread(_run, connection._conn, operation, parameters, many))
        except Exception as error:
            self._adapt_connection._handle_exception(error)
        self._outcome = outcome
        self._rows = collections.deque(outcome.rows)


class OneTripConnection(AsyncAdapt_aiosqlite_connection):
    __slots__ = ()
    _cursor_cls = OneTripCursor

    def commit(self) -> None:
        if self._open_transaction():
            super().commit()

    def rollback(self) -> None:
        if self._open_transaction():
            super().rollback()

    def _open_transaction(self) -> bool:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        try:
            return connection.in_transaction
        except ValueError:  # closed: let the adapter raise what it raises for that
            return True


class OneTripDbapi(AsyncAdapt_aiosqlite_dbapi):
    """Passed to SQLAlchemy as the aiosqlite dialect's DB-API module (`module=`)."""

    def connect(self, *arg: Any, **kw: Any) -> OneTripConnection:
        adapted = super().connect(*arg, **kw)
        return OneTripConnection(self, adapted._connection)


def one_trip_dbapi() -> OneTripDbapi:
    return OneTripDbapi(aiosqlite, sqlite3)
