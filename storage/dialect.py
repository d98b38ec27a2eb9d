"""The few statements that differ between the supported backends."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.tables import Base

SUPPORTED_BACKENDS = frozenset({"sqlite", "postgresql"})


def backend(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert(session: AsyncSession, entity: type[Base]) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that supports ON CONFLICT on the session's backend."""
    name = backend(session)
    if name == "sqlite":
        return sqlite.insert(entity)
    if name == "postgresql":
        return postgresql.insert(entity)
    raise NotImplementedError(f"unsupported database backend {name!r}")


def utc_day(session: AsyncSession, column: SQLColumnExpression[Any]) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column (a date, or ISO text on SQLite)."""
    if backend(session) == "sqlite":
        return func.date(column)  # stored as naive UTC text
    # A literal, not a bound parameter: GROUP BY must repeat the exact expression.
    return func.date(func.timezone(literal_column("'UTC'"), column))
