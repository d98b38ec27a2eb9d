"""The usage ledger: one row per billable gateway call, summed per chat."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import fields
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import ColumnElement, Row, UnaryExpression, case, desc, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage import dialect
from storage.clock import as_utc, utc_now
from storage.records import ChatUsage, UsageEvent, UsageReport, UsageTotals, UserUsage
from storage.tables import ChatRow
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
        # No currency: the price table did not know the model when the event was recorded.
        func.coalesce(func.sum(case((E.currency.is_(None), 1), else_=0)), 0).label("unpriced"),
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
        total tokens, then requests). One pass over the chat's events, grouped by
        (kind, model, user) and folded here: reading the rows once is what keeps
        /usage fast on a big ledger (bench/usage_query.py).
        """
        rows = await self._session.execute(
            select(E.kind, E.model, E.user_id, *_sums(), func.max(E.id).label("last_id"))
            .where(*_filters(chat_key, since, until, user_id))
            .group_by(E.kind, E.model, E.user_id)
        )
        totals = UsageTotals.zero()
        by_kind: dict[str, UsageTotals] = {}
        by_model: dict[str, UsageTotals] = {}
        by_user: dict[str, UsageTotals] = {}
        last_id: dict[str, int] = {}
        for row in rows:
            group = _totals(row)
            totals = _plus(totals, group)
            by_kind[row.kind] = _plus(by_kind.get(row.kind), group)
            by_model[row.model] = _plus(by_model.get(row.model), group)
            by_user[row.user_id] = _plus(by_user.get(row.user_id), group)
            last_id[row.user_id] = max(last_id.get(row.user_id, 0), int(row.last_id))
        top = _heaviest_first(by_user)[: max(top_n, 0)]
        # The name on each user's latest event: people rename themselves.
        names: dict[int, str] = {}
        if top:
            named = await self._session.execute(
                select(E.id, E.user_name).where(E.id.in_([last_id[user] for user, _ in top]))
            )
            names = dict(named.all())
        return UsageReport(
            totals=totals,
            by_kind=dict(_heaviest_first(by_kind)),
            by_model=dict(_heaviest_first(by_model)),
            top_users=[UserUsage(user, names.get(last_id[user], ""), t) for user, t in top],
        )

    async def totals(
        self,
        chat_key: str,
        since: datetime | None = None,
        until: datetime | None = None,
        user_id: str | None = None,
    ) -> UsageTotals:
        """Just the totals of `report` (one query; budgets ask for these on every request)."""
        where = _filters(chat_key, since, until, user_id)
        return _totals((await self._session.execute(select(*_sums()).where(*where))).one())

    async def by_chat(
        self, since: datetime | None = None, until: datetime | None = None, top_n: int = 10
    ) -> tuple[UsageTotals, list[ChatUsage]]:
        """Totals across every chat, and the heaviest chats (for the bot's admins)."""
        where = _period(since, until)
        overall = _totals((await self._session.execute(select(*_sums()).where(*where))).one())
        top = (
            select(E.chat_key, *_sums())
            .where(*where)
            .group_by(E.chat_key)
            .order_by(*_HEAVIEST_FIRST, E.chat_key)
            .limit(top_n)
            .subquery()
        )
        rows = await self._session.execute(
            select(top, ChatRow.title)
            .join(ChatRow, ChatRow.key == top.c.chat_key, isouter=True)
            .order_by(top.c.cost.desc(), top.c.total_tokens.desc(), top.c.requests.desc(), top.c.chat_key)
        )
        return overall, [ChatUsage(row.chat_key, row.title or "", _totals(row)) for row in rows]

    async def events(
        self, chat_key: str, since: datetime | None = None, until: datetime | None = None
    ) -> AsyncIterator[UsageEvent]:
        """Every event of a chat, oldest first, streamed (an export may be large)."""
        rows = await self._session.stream_scalars(
            select(E)
            .where(*_filters(chat_key, since, until, None))
            .order_by(E.id)
            .execution_options(yield_per=1000)
        )
        async for row in rows:
            yield UsageEvent(
                chat_key=row.chat_key,
                platform=row.platform,
                user_id=row.user_id,
                user_name=row.user_name,
                kind=row.kind,
                model=row.model,
                input_tokens=row.input_tokens,
                output_tokens=row.output_tokens,
                total_tokens=row.total_tokens,
                image_tokens=row.image_tokens,
                images=row.images,
                mj_tasks=row.mj_tasks,
                request_key=row.request_key,
                task_id=row.task_id,
                cost=row.cost,
                currency=row.currency,
                created_at=row.created_at,
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


def _filters(
    chat_key: str, since: datetime | None, until: datetime | None, user_id: str | None
) -> list[ColumnElement[bool]]:
    where = [E.chat_key == chat_key, *_period(since, until)]
    if user_id is not None:
        where.append(E.user_id == user_id)
    return where


def _period(since: datetime | None, until: datetime | None) -> list[ColumnElement[bool]]:
    where = []
    if since is not None:
        where.append(E.created_at >= as_utc(since))
    if until is not None:
        where.append(E.created_at < as_utc(until))
    return where


def _plus(a: UsageTotals | None, b: UsageTotals) -> UsageTotals:
    if a is None:
        return b
    return UsageTotals(**{f.name: getattr(a, f.name) + getattr(b, f.name) for f in fields(UsageTotals)})


def _heaviest_first(groups: dict[str, UsageTotals]) -> list[tuple[str, UsageTotals]]:
    return sorted(groups.items(), key=lambda kv: (-kv[1].cost, -kv[1].total_tokens, -kv[1].requests, kv[0]))


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
        unpriced=int(row.unpriced),
    )


def _as_date(value: object) -> date:
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))  # SQLite's date() returns text
