"""What the bot commits: the tables each write transaction touched, and the journal's state."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.app import App

# The tables a request writes to; leases, heartbeats and trackers write on their own.
REQUEST_TABLES = frozenset(
    {"inbound", "conversation_turns", "usage_events", "chats", "budget_reservations", "jobs", "job_results"}
)


class WriteTransactions:
    """The tables each committed transaction wrote to, in commit order, per connection."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.committed: list[set[str]] = []
        self._open: dict[int, set[str]] = {}
        self._engine = engine.sync_engine
        event.listen(self._engine, "before_cursor_execute", self._statement)
        event.listen(self._engine, "commit", self._commit)
        event.listen(self._engine, "rollback", self._rollback)

    def close(self) -> None:
        event.remove(self._engine, "before_cursor_execute", self._statement)
        event.remove(self._engine, "commit", self._commit)
        event.remove(self._engine, "rollback", self._rollback)

    def _statement(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if found := re.match(r"\s*(?:INSERT INTO|UPDATE|DELETE FROM)\s+\"?(\w+)", statement, re.IGNORECASE):
            self._open.setdefault(id(conn), set()).add(found.group(1))

    def _commit(self, conn: Any) -> None:
        if tables := self._open.pop(id(conn), None):
            self.committed.append(tables)

    def _rollback(self, conn: Any) -> None:
        self._open.pop(id(conn), None)

    def of_requests(self) -> list[set[str]]:
        """The committed transactions that wrote what requests write."""
        return [tables for tables in self.committed if tables & REQUEST_TABLES]


async def all_handled(app: App) -> None:
    """Until every journaled update is marked handled."""
    for _ in range(500):
        async with app.services.db.engine.connect() as conn:
            waiting = await conn.execute(text("SELECT count(*) FROM inbound WHERE state <> 'handled'"))
        if waiting.scalar() == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("an update was never marked handled")
