"""The usage ledger: one row per billable gateway call, summed per chat."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, UnaryExpression, desc, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from storage import dialect
from storage.clock import as_utc, utc_now
from storage.records import UsageEvent, UsageReport, UsageTotals, UserUsage
from storage.tables import UsageEventRow as E

# The summed columns behind UsageTotals, in field order.
_COUNTERS = (
    E.input_tokens,
    E.output_tokens,
    E.total_tokens,
    E.image_tokens,
    E.images,
    E.mj_tasks,
)


def _sums() -> list[ColumnElement[Any]]:
    return [
        func.count(E.id).label("requests"),
        *(func.coalesce(func.sum(c), 0).label(c.key) for c in _COUNTERS),
        func.coalesce(func.sum(E.cost), 0).label("cost"),
    ]


# Biggest spender first; tokens and then requests decide when costs are unknown (0).
_HEAVIEST_FIRST: tuple[UnaryExpression[Any], ...] = (desc("cost"), desc("total_tokens"), desc("requests"))


class UsageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def add(self, event: UsageEvent) -> bool:
        """Record one event; False (and nothing written) if its request_key is known.

        ON CONFLICT DO NOTHING rather than catching IntegrityError: a failed INSERT
        would poison the caller's transaction.
        """
        created_at = utc_now() if event.created_at is None else as_utc(event.created_at)
        inserted = await self._session.scalar(
            dialect.insert(self._session, E)
            .values(
                chat_key=event.chat_key,
                platform=event.platform,
                user_id=event.user_id,
                user_name=event.user_name,
                kind=event.kind,
                model=event.model,
                input_tokens=event.input_tokens,
                output_tokens=event.output_tokens,
                total_tokens=event.total_tokens,
                image_tokens=event.image_tokens,
                images=event.images,
                mj_tasks=event.mj_tasks,
                request_key=event.request_key,
                task_id=event.task_id,
                cost=event.cost,
                currency=event.currency,
                created_at=created_at,
            )
            .on_conflict_do_nothing(index_elements=["request_key"])
            .returning(E.id)
        )
        return inserted is not None

    async def report(
        self,
        chat_key: str,
        since: datetime | None = None,
        until: datetime | None = None,
        user_id: str | None = None,
        top_n: int = 5,
    ) -> UsageReport:
        """Totals for one chat over [since, until), optionally for one user.

        by_kind and by_model are ordered heaviest first, like top_users (cost, then
        total tokens, then requests).
        """
        where = _filters(chat_key, since, until, user_id)
        totals_row = (await self._session.execute(select(*_sums()).where(*where))).one()
        return UsageReport(
            totals=_totals(totals_row),
            by_kind=await self._grouped(E.kind, where),
            by_model=await self._grouped(E.model, where),
            top_users=await self._top_users(where, top_n),
        )

    async def daily(
        self, chat_key: str, days: int, now: datetime | None = None
    ) -> list[tuple[date, UsageTotals]]:
        """Per-UTC-day totals for the last `days` days up to today, oldest first.

        Days without usage are included as zeros, so the list always has `days` items.
        """
        if days < 1:
            raise ValueError("days must be at least 1")
        today = (utc_now() if now is None else as_utc(now)).date()
        first = today - timedelta(days=days - 1)
        since = datetime.combine(first, time(), UTC)
        until = datetime.combine(today + timedelta(days=1), time(), UTC)
        day = dialect.utc_day(self._session, E.created_at).label("day")
        rows = await self._session.execute(
            select(day, *_sums()).where(*_filters(chat_key, since, until, None)).group_by(day)
        )
        by_day = {_as_date(row.day): _totals(row) for row in rows}
        return [
            (d, by_day.get(d, UsageTotals.zero())) for d in (first + timedelta(days=i) for i in range(days))
        ]

    async def _grouped(
        self, column: InstrumentedAttribute[str], where: Sequence[ColumnElement[bool]]
    ) -> dict[str, UsageTotals]:
        name = column.label("name")
        rows = await self._session.execute(
            select(name, *_sums()).where(*where).group_by(name).order_by(*_HEAVIEST_FIRST, name)
        )
        return {row.name: _totals(row) for row in rows}

    async def _top_users(self, where: Sequence[ColumnElement[bool]], top_n: int) -> list[UserUsage]:
        if top_n <= 0:
            return []
        top = (
            select(E.user_id, *_sums(), func.max(E.id).label("last_id"))
            .where(*where)
            .group_by(E.user_id)
            .order_by(*_HEAVIEST_FIRST, E.user_id)
            .limit(top_n)
            .subquery()
        )
        # The name on each user's latest event: people rename themselves.
        named: Select[Any] = (
            select(top, E.user_name)
            .join(E, E.id == top.c.last_id)
            .order_by(top.c.cost.desc(), top.c.total_tokens.desc(), top.c.requests.desc(), top.c.user_id)
        )
        rows = await self._session.execute(named)
        return [UserUsage(row.user_id, row.user_name, _totals(row)) for row in rows]


def _filters(
    chat_key: str, since: datetime | None, until: datetime | None, user_id: str | None
) -> list[ColumnElement[bool]]:
    where = [E.chat_key == chat_key]
    if since is not None:
        where.append(E.created_at >= as_utc(since))
    if until is not None:
        where.append(E.created_at < as_utc(until))
    if user_id is not None:
        where.append(E.user_id == user_id)
    return where


def _totals(row: Row[Any]) -> UsageTotals:
    return UsageTotals(
        requests=int(row.requests),
        input_tokens=int(row.input_tokens),
        output_tokens=int(row.output_tokens),
        total_tokens=int(row.total_tokens),
        image_tokens=int(row.image_tokens),
        images=int(row.images),
        mj_tasks=int(row.mj_tasks),
        cost=Decimal(row.cost),
    )


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))  # SQLite's date() returns text
