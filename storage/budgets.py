"""Budgets: limits admins set per chat, and reservations held by requests in flight.

A request reserves its expected usage before calling the gateway and the reservation
is deleted in the transaction that records the real usage event, so concurrent
requests always see each other (see bot/budgets.py for the admission rule).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, case, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.clock import as_utc, utc_now
from storage.records import BudgetLimit, Reservation, Reserved
from storage.tables import BudgetLimitRow, BudgetReservationRow

R = BudgetReservationRow


class BudgetRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    # --- limits ---------------------------------------------------------------------

    async def limits(self, chat_key: str) -> list[BudgetLimit]:
        rows = await self._session.scalars(select(BudgetLimitRow).where(BudgetLimitRow.chat_key == chat_key))
        return [
            BudgetLimit(
                row.chat_key,
                row.scope,
                row.period,
                row.metric,
                row.amount,
                row.set_by,
                row.capped,
                row.ceiling,
            )
            for row in rows
        ]

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
        if dialect.backend(self._session) == "postgresql":
            await self._session.execute(
                text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": "budget:" + chat_key}
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
        row = (
            await self._session.execute(
                select(
                    func.coalesce(func.sum(R.cost), 0),
                    func.coalesce(func.sum(R.tokens), 0),
                    func.coalesce(func.sum(R.images), 0),
                    func.coalesce(func.sum(R.mj_tasks), 0),
                    func.count(R.id),
                ).where(*where)
            )
        ).one()
        return Reserved(Decimal(row[0]), int(row[1]), int(row[2]), int(row[3]), int(row[4]))

    async def release_owned_by(self, owners: Iterable[str]) -> int:
        """Reservations of instances that are gone: what they held is free at once."""
        gone = list(owners)
        if not gone:
            return 0
        result = await self._session.execute(delete(R).where(R.instance_id.in_(gone)).returning(R.id))
        return len(result.all())

    async def purge_expired(self, now: datetime) -> int:
        result = await self._session.execute(delete(R).where(R.expires_at <= as_utc(now)).returning(R.id))
        return len(result.all())
