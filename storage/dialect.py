"""The few statements that differ between the supported backends."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    SQLColumnExpression,
    Table,
    any_,
    bindparam,
    func,
    literal_column,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import QueryableAttribute

from storage.tables import Base

if TYPE_CHECKING:  # each dialect is imported when first used: PostgreSQL's costs ~0.1 s
    from sqlalchemy.dialects import postgresql, sqlite

SUPPORTED_BACKENDS = frozenset({"sqlite", "postgresql"})


def backend(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def insert(session: AsyncSession, entity: type[Base] | Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that supports ON CONFLICT on the session's backend."""
    return insert_for(backend(session), entity)


def insert_for(name: str, entity: type[Base] | Table) -> sqlite.Insert | postgresql.Insert:
    """An INSERT that supports ON CONFLICT on the backend of that name."""
    if name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(entity)
    if name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as postgresql_insert

        return postgresql_insert(entity)
    raise NotImplementedError(f"unsupported database backend {name!r}")


def utc_day(session: AsyncSession, column: SQLColumnExpression[Any]) -> ColumnElement[Any]:
    """The UTC calendar day of a timestamp column (a date, or ISO text on SQLite)."""
    if backend(session) == "sqlite":
        return func.date(column)  # stored as naive UTC text
    # A literal, not a bound parameter: GROUP BY must repeat the exact expression.
    return func.date(func.timezone(literal_column("'UTC'"), column))


def among(name: str, column: ColumnElement[Any] | QueryableAttribute[Any], param: str) -> ColumnElement[bool]:
    """`column` is one of a list bound as `param`, on the backend of that name.

    PostgreSQL: `= ANY(array)`, one parameter however long the list, so the statement's text
    (and with it the server's prepared statement) is the same for every batch, and nothing
    is rendered per value. SQLite has no arrays: an IN with one parameter per value.
    """
    if name == "postgresql":
        return column == any_(bindparam(param, type_=ARRAY(column.type)))
    return column.in_(bindparam(param, expanding=True))
