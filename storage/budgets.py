"""Budgets: limits admins set per chat, and reservations held by requests in flight.

A request reserves its expected usage before calling the gateway and the reservation
is deleted in the transaction that records the real usage event, so concurrent
requests always see each other (see bot/budgets.py for the admission rule).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Executable,
    SQLColumnExpression,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.clock import as_utc, utc_now
from storage.records import BudgetLimit, Reservation, Reserved
from storage.tables import BudgetLimitRow, BudgetReservationRow, UsageEventRow, table_of

R = BudgetReservationRow
# What live reservations add up to, in the order `_reserved` reads them.
_RESERVED_SUMS = (
    func.coalesce(func.sum(R.cost), 0),
    func.coalesce(func.sum(R.tokens), 0),
    func.coalesce(func.sum(R.images), 0),
    func.coalesce(func.sum(R.mj_tasks), 0),
    func.count(R.id),
)


class BudgetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- limits ---------------------------------------------------------------------

    async def limits(self, chat_key: str) -> list[BudgetLimit]:
        return (await self.limits_of([chat_key])).get(chat_key, [])

    async def limits_of(self, chat_keys: Iterable[str]) -> dict[str, list[BudgetLimit]]:
        """The limits set in each of these chats (chats without any are left out): one query."""
        rows = await self._run(self._batch().limits_of, {"chat_keys": list(chat_keys)})
        found: dict[str, list[BudgetLimit]] = {}
        for row in rows:
            found.setdefault(row[0], []).append(BudgetLimit(*row))
        return found

    async def set_limit(self, limit: BudgetLimit) -> None:
        """Create or replace one limit of a chat (amount None: explicitly unlimited).

        `limit.capped` (a bot admin's setting) also sets the ceiling; otherwise a ceiling
        already stored is kept.
        """
        insert = dialect.insert(self._session, BudgetLimitRow).values(
            chat_key=limit.chat_key,
            scope=limit.scope,
            period=limit.period,
            metric=limit.metric,
            amount=limit.amount,
            set_by=limit.set_by,
            capped=limit.capped,
            ceiling=limit.ceiling,
            updated_at=utc_now(),
        )
        changes: dict[str, Any] = {
            "amount": insert.excluded.amount,
            "set_by": insert.excluded.set_by,
            "updated_at": insert.excluded.updated_at,
        }
        if limit.capped:
            changes |= {"capped": insert.excluded.capped, "ceiling": insert.excluded.ceiling}
        await self._session.execute(
            insert.on_conflict_do_update(
                index_elements=["chat_key", "scope", "period", "metric"], set_=changes
            )
        )

    async def clear_limit(self, chat_key: str, scope: str, period: str, metric: str) -> bool:
        """Back to the configured default; False if the chat had no limit of its own."""
        result = await self._session.execute(
            delete(BudgetLimitRow)
            .where(
                BudgetLimitRow.chat_key == chat_key,
                BudgetLimitRow.scope == scope,
                BudgetLimitRow.period == period,
                BudgetLimitRow.metric == metric,
            )
            .returning(BudgetLimitRow.chat_key)
        )
        return result.first() is not None

    # --- reservations ---------------------------------------------------------------

    async def lock_chat(self, chat_key: str) -> None:
        """Serialize admissions for one chat until the transaction ends.

        SQLite needs nothing here: the reservation INSERT that starts the transaction
        takes the database's single write lock. PostgreSQL gets an advisory lock.
        """
        await self.lock_chats([chat_key])

    async def lock_chats(self, chat_keys: Sequence[str]) -> None:
        """`lock_chat` for many chats in one statement, in the order given (sort them, so
        that two transactions locking overlapping chats cannot deadlock)."""
        if dialect.backend(self._session) == "postgresql" and chat_keys:
            # unnest yields the array's elements in order, and each row takes its lock as it
            # is scanned: one round trip instead of one per chat.
            await self._session.execute(
                text(
                    "SELECT pg_advisory_xact_lock(hashtext('budget:' || k))"
                    " FROM unnest(CAST(:keys AS text[])) AS k"
                ),
                {"keys": list(chat_keys)},
            )

    async def reserve(self, reservation: Reservation) -> int:
        row = R(
            chat_key=reservation.chat_key,
            user_id=reservation.user_id,
            cost=reservation.cost,
            tokens=reservation.tokens,
            images=reservation.images,
            mj_tasks=reservation.mj_tasks,
            expires_at=as_utc(reservation.expires_at),
            instance_id=reservation.instance_id,
        )
        self._session.add(row)
        await self._session.flush()
        return row.id

    async def consume(
        self, reservation_id: int, *, cost: Decimal, tokens: int, images: int, mj_tasks: int
    ) -> None:
        """Settle part of a reservation: recorded usage replaces what was held for it."""

        def less(column: SQLColumnExpression[Any], amount: Decimal | int) -> ColumnElement[Any]:
            return case((column > amount, column - amount), else_=0)

        await self._session.execute(
            update(R)
            .where(R.id == reservation_id)
            .values(
                cost=less(R.cost, cost),
                tokens=less(R.tokens, tokens),
                images=less(R.images, images),
                mj_tasks=less(R.mj_tasks, mj_tasks),
            )
        )

    async def resize(
        self, reservation_id: int, *, cost: Decimal, tokens: int, images: int, mj_tasks: int
    ) -> None:
        """Replace what a reservation holds (a chat turn whose size became known)."""
        await self._session.execute(
            update(R)
            .where(R.id == reservation_id)
            .values(cost=cost, tokens=tokens, images=images, mj_tasks=mj_tasks)
        )

    async def release(self, reservation_id: int) -> None:
        """Forget a reservation (settled or abandoned); a no-op when already gone."""
        await self._session.execute(delete(R).where(R.id == reservation_id))

    # --- many chats at once (admissions made together) ---------------------------------

    async def spent_by_user(
        self, chat_keys: Iterable[str], since: datetime
    ) -> dict[tuple[str, str], Reserved]:
        """Recorded usage since `since`, per (chat, user), for the given chats: one query."""
        rows = await self._run(
            self._batch().spent_by_user, {"chat_keys": list(chat_keys), "since": as_utc(since)}
        )
        return {(chat, user): _reserved(row) for chat, user, *row in rows}

    async def reserved_by_user(
        self, chat_keys: Iterable[str], now: datetime
    ) -> dict[tuple[str, str], Reserved]:
        """Live reservations per (chat, user), for the given chats: one query."""
        rows = await self._run(
            self._batch().reserved_by_user, {"chat_keys": list(chat_keys), "now": as_utc(now)}
        )
        return {(chat, user): _reserved(row) for chat, user, *row in rows}

    def _batch(self) -> _Batch:
        return _batch(dialect.backend(self._session))

    async def _run(self, statement: Executable, values: dict[str, Any]) -> Sequence[Sequence[Any]]:
        # Through the session's connection: plain rows need none of the ORM's work (these run
        # for every batch of admissions).
        connection = await self._session.connection()
        return (await connection.execute(statement, values)).all()

    async def reserve_many(self, reservations: Iterable[Reservation]) -> list[int]:
        """Insert reservations; their ids, in the order given."""
        rows = [
            {
                "chat_key": r.chat_key,
                "user_id": r.user_id,
                "cost": r.cost,
                "tokens": r.tokens,
                "images": r.images,
                "mj_tasks": r.mj_tasks,
                "created_at": utc_now(),
                "expires_at": as_utc(r.expires_at),
                "instance_id": r.instance_id,
            }
            for r in reservations
        ]
        if not rows:
            return []
        table = table_of(R)
        if dialect.backend(self._session) == "sqlite":
            # SQLAlchemy does not trust the order of SQLite's RETURNING and would insert row
            # by row (150 statements for 150 admissions). One statement instead: SQLite gives
            # each row one more than the largest rowid so far, in VALUES order, and no other
            # writer comes between (ours is the write lock), so the ids sorted are in order.
            result = await self._session.execute(insert(table).returning(table.c.id), rows)
            return sorted(int(reservation_id) for (reservation_id,) in result)
        result = await self._session.execute(
            insert(table).returning(table.c.id, sort_by_parameter_order=True), rows
        )
        return [int(reservation_id) for (reservation_id,) in result]

    async def reserved(
        self,
        chat_key: str,
        now: datetime,
        *,
        user_id: str | None = None,
        excluding: int | None = None,
    ) -> Reserved:
        """Live (unexpired) reservations of a chat, or of one user in it."""
        where = [R.chat_key == chat_key, R.expires_at > as_utc(now)]
        if user_id is not None:
            where.append(R.user_id == user_id)
        if excluding is not None:
            where.append(R.id != excluding)
        return _reserved((await self._session.execute(select(*_RESERVED_SUMS).where(*where))).one())

    async def release_owned_by(self, owners: Iterable[str]) -> int:
        """Reservations of instances that are gone: what they held is free at once."""
        gone = list(owners)
        if not gone:
            return 0
        result = await self._session.execute(delete(R).where(R.instance_id.in_(gone)).returning(R.id))
        return len(result.all())

    async def purge_expired(self, now: datetime) -> int:
        return len(await self._run(_PURGE_EXPIRED, {"now": as_utc(now)}))


@dataclass(frozen=True)
class _Batch:
    """The statements of every admission batch: built once per backend (building one cost
    more than running it), the chats bound per batch as one list."""

    limits_of: Executable
    spent_by_user: Executable
    reserved_by_user: Executable


@functools.cache
def _batch(backend: str) -> _Batch:
    # The limit's columns in BudgetLimit's order: the record is built from them as they come.
    limits_of = select(*(getattr(BudgetLimitRow, f.name) for f in fields(BudgetLimit))).where(
        dialect.among(backend, BudgetLimitRow.chat_key, "chat_keys")
    )
    spent = (
        select(
            UsageEventRow.chat_key,
            UsageEventRow.user_id,
            func.coalesce(func.sum(UsageEventRow.cost), 0),
            func.coalesce(func.sum(UsageEventRow.total_tokens), 0),
            func.coalesce(func.sum(UsageEventRow.images), 0),
            func.coalesce(func.sum(UsageEventRow.mj_tasks), 0),
            func.count(UsageEventRow.id),
        )
        .where(
            dialect.among(backend, UsageEventRow.chat_key, "chat_keys"),
            UsageEventRow.created_at >= bindparam("since"),
        )
        .group_by(UsageEventRow.chat_key, UsageEventRow.user_id)
    )
    reserved = (
        select(R.chat_key, R.user_id, *_RESERVED_SUMS)
        .where(dialect.among(backend, R.chat_key, "chat_keys"), R.expires_at > bindparam("now"))
        .group_by(R.chat_key, R.user_id)
    )
    return _Batch(limits_of, spent, reserved)


_PURGE_EXPIRED = delete(R).where(R.expires_at <= bindparam("now")).returning(R.id)


def _reserved(row: Sequence[Any]) -> Reserved:
    cost, tokens, images, mj_tasks, count = row
    return Reserved(Decimal(cost), int(tokens), int(images), int(mj_tasks), int(count))
