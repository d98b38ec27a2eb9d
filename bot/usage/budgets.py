"""Budgets: refuse a request that would exceed a limit, before any gateway call.

Reserve, then settle. Before the gateway call a request stores a reservation of what
it may use at most (`Estimate`) and gets it back as a `Hold`; admissions of one chat are
serialized (an asyncio lock in the process, the reservation INSERT / an advisory lock in
the database), and each admission counts recorded usage plus every live reservation.
The code that records a usage event settles it against the request's hold in the same
transaction (`settle`), and the rest is released when the request ends. Estimates are
upper bounds (chat requests carry an output cap equal to what they reserved), so
simultaneous requests cannot push a limit past it.

A chat turn whose real size is known only once its messages are built grows or shrinks
its hold with `resize`, which checks the limits again when it grows.

A reservation belongs to the instance that made it: when that process is gone, the next
start (or another replica) releases it at once (bot.lifecycle.recovery); as a last resort
a reservation stops counting after BUDGET_RESERVATION_TTL.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from bot.errors import BudgetExceeded
from bot.usage.limits import LimitKey, Metric, Period, Scope, period_end, period_start
from bot.usage.pricing import PriceTable
from storage import BudgetLimit, Database, Reservation, Reserved, UnitOfWork, UsageEvent, UsageTotals
from storage.clock import utc_now

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Estimate:
    """The most a request may use (exact for images and Midjourney tasks, an upper bound for tokens)."""

    cost: Decimal = Decimal(0)
    tokens: int = 0
    images: int = 0
    mj_tasks: int = 0

    def amount(self, metric: Metric) -> Decimal:
        if metric is Metric.COST:
            return self.cost
        return Decimal({Metric.TOKENS: self.tokens, Metric.IMAGES: self.images}.get(metric, self.mj_tasks))

    def __add__(self, other: Estimate) -> Estimate:
        return Estimate(
            cost=self.cost + other.cost,
            tokens=self.tokens + other.tokens,
            images=self.images + other.images,
            mj_tasks=self.mj_tasks + other.mj_tasks,
        )


@dataclass(frozen=True)
class Hold:
    """A request's reservation, made by admission and settled where its usage is recorded.

    `reservation` is None when no limit covered the request (nothing was reserved).
    """

    chat_key: str
    user_id: str
    reservation: int | None
    estimate: Estimate = Estimate()


NO_HOLD = Hold("", "", None)


@dataclass(frozen=True)
class Ceiling:
    """The most a chat's own admins may allow (None: no limit), and the operator's default."""

    value: Decimal | None
    default: Decimal | None
    capped: bool


def _parts(key: LimitKey) -> tuple[str, str, str]:
    return key.scope.value, key.period.value, key.metric.value


def _spent(metric: Metric, spent: UsageTotals) -> Decimal:
    return {
        Metric.COST: spent.cost,
        Metric.TOKENS: Decimal(spent.total_tokens),
        Metric.IMAGES: Decimal(spent.images),
        Metric.MJ_TASKS: Decimal(spent.mj_tasks),
    }[metric]


def _held(metric: Metric, held: Reserved) -> Decimal:
    return {
        Metric.COST: held.cost,
        Metric.TOKENS: Decimal(held.tokens),
        Metric.IMAGES: Decimal(held.images),
        Metric.MJ_TASKS: Decimal(held.mj_tasks),
    }[metric]


@dataclass(frozen=True)
class LimitState:
    key: LimitKey
    limit: Decimal
    spent: Decimal  # recorded usage this period
    held: Decimal  # reserved by (other) requests in flight
    resets: datetime
    from_chat: bool  # set for this chat by an admin (else the configured default)

    @property
    def used(self) -> Decimal:
        return self.spent + self.held

    @property
    def left(self) -> Decimal:
        return max(self.limit - self.used, Decimal(0))

    def admits(self, estimate: Estimate) -> bool:
        """Does a request that uses at most `estimate` fit under this limit?"""
        return self.used + estimate.amount(self.key.metric) <= self.limit


async def settle(uow: UnitOfWork, hold: Hold, event: UsageEvent) -> None:
    """Recorded usage replaces part of the request's reservation, in the recording transaction."""
    if hold.reservation is not None:
        await uow.budgets.consume(
            hold.reservation,
            cost=event.cost,
            tokens=event.total_tokens,
            images=event.images,
            mj_tasks=event.mj_tasks,
        )


class Budgets:
    def __init__(
        self,
        db: Database,
        prices: PriceTable,
        defaults: Mapping[LimitKey, Decimal | None],
        *,
        ttl: float = 900.0,
        clock: Callable[[], datetime] = utc_now,
        instance_id: str = "",
    ) -> None:
        self._db = db
        # Reservations name their owner: when it is gone, what it held is free at once.
        self._instance = instance_id
        self._prices = prices
        self._defaults = dict(defaults)
        self._ttl = timedelta(seconds=ttl)
        self._clock = clock
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def hold(self, chat_key: str, user_id: str, estimate: Estimate) -> AsyncIterator[Hold]:
        """Admit the request (or raise BudgetExceeded) and keep its reservation while it runs."""
        reservation = await self._admit(chat_key, user_id, estimate)
        try:
            yield Hold(chat_key, user_id, reservation, estimate)
        finally:
            if reservation is not None:
                await self._release(reservation)

    async def resize(self, hold: Hold, estimate: Estimate) -> Hold:
        """Make `hold` reserve `estimate` (still unsettled) instead; growing is checked like admission.

        A hold that reserved nothing stays so: no limit covered that kind of usage.
        """
        if hold.reservation is None:
            return Hold(hold.chat_key, hold.user_id, None, estimate)
        async with self._locks.setdefault(hold.chat_key, asyncio.Lock()), self._db.unit_of_work() as uow:
            now = self._clock()
            await uow.budgets.lock_chat(hold.chat_key)
            # The write first (on SQLite it takes the write lock), checked, rolled back if over.
            await uow.budgets.resize(
                hold.reservation,
                cost=estimate.cost,
                tokens=estimate.tokens,
                images=estimate.images,
                mj_tasks=estimate.mj_tasks,
            )
            limits = self._relevant(await self.limits(uow, hold.chat_key), estimate)
            states = await self._states(
                uow, hold.chat_key, hold.user_id, limits, now, excluding=hold.reservation
            )
            over = [state for state in states if not state.admits(estimate)]
            if over:
                await uow.rollback()
                raise BudgetExceeded(self._refusal(self._worst(over), estimate, now))
            await uow.commit()
        return Hold(hold.chat_key, hold.user_id, hold.reservation, estimate)

    async def limits(self, uow: UnitOfWork, chat_key: str) -> dict[LimitKey, tuple[Decimal, bool]]:
        """The limits in force in a chat: value, and whether the chat set it itself."""
        merged: dict[LimitKey, tuple[Decimal | None, bool]] = {
            key: (value, False) for key, value in self._defaults.items()
        }
        for row in await uow.budgets.limits(chat_key):
            key = LimitKey(Scope(row.scope), Period(row.period), Metric(row.metric))
            merged[key] = (row.amount, True)
        return {key: (value, own) for key, (value, own) in sorted(merged.items()) if value is not None}

    async def status(self, chat_key: str, user_id: str) -> list[LimitState]:
        """Every limit in force with its use so far (user limits: for `user_id`)."""
        now = self._clock()
        async with self._db.unit_of_work() as uow:
            limits = await self.limits(uow, chat_key)
            return await self._states(uow, chat_key, user_id, limits, now, excluding=None)

    async def ceiling(self, chat_key: str, key: LimitKey) -> Ceiling:
        """How high the chat's own admins may set `key`: a bot admin's value, else the default."""
        default = self._defaults.get(key)
        async with self._db.unit_of_work() as uow:
            rows = await uow.budgets.limits(chat_key)
        own = next((r for r in rows if (r.scope, r.period, r.metric) == _parts(key)), None)
        if own is not None and own.capped:
            return Ceiling(own.ceiling, default, capped=True)
        return Ceiling(default, default, capped=False)

    async def set_limit(
        self, chat_key: str, key: LimitKey, value: Decimal | None, set_by: str, *, as_ceiling: bool
    ) -> None:
        """`as_ceiling`: a bot admin's limit, which the chat's own admins may only go below."""
        scope, period, metric = _parts(key)
        async with self._db.unit_of_work() as uow:
            await uow.budgets.set_limit(
                BudgetLimit(chat_key, scope, period, metric, value, set_by, capped=as_ceiling, ceiling=value)
            )
            await uow.commit()

    async def clear_limit(self, chat_key: str, key: LimitKey, *, by_bot_admin: bool) -> None:
        """Back to the default; for the chat's own admins, back to a bot admin's ceiling if any."""
        if not by_bot_admin:
            ceiling = await self.ceiling(chat_key, key)
            if ceiling.capped:
                await self.set_limit(chat_key, key, ceiling.value, "ceiling", as_ceiling=False)
                return
        async with self._db.unit_of_work() as uow:
            await uow.budgets.clear_limit(chat_key, *_parts(key))
            await uow.commit()

    # --- admission ------------------------------------------------------------------

    async def _admit(self, chat_key: str, user_id: str, estimate: Estimate) -> int | None:
        async with self._db.unit_of_work() as uow:
            limits = self._relevant(await self.limits(uow, chat_key), estimate)
        if not limits:
            return None  # nothing to hold: no limit covers what this request uses
        async with self._locks.setdefault(chat_key, asyncio.Lock()), self._db.unit_of_work() as uow:
            now = self._clock()
            await uow.budgets.lock_chat(chat_key)
            # The INSERT comes first: on SQLite it takes the write lock, so another process
            # admitting at the same time waits and then sees this reservation.
            reservation = await uow.budgets.reserve(
                Reservation(
                    chat_key,
                    user_id,
                    now + self._ttl,
                    cost=estimate.cost,
                    tokens=estimate.tokens,
                    images=estimate.images,
                    mj_tasks=estimate.mj_tasks,
                    instance_id=self._instance,
                )
            )
            states = await self._states(uow, chat_key, user_id, limits, now, excluding=reservation)
            over = [state for state in states if not state.admits(estimate)]
            if over:
                await uow.rollback()
                worst = self._worst(over)
                log.info("budget %s reached in %s by %s", worst.key, chat_key, user_id)
                raise BudgetExceeded(self._refusal(worst, estimate, now))
            await uow.commit()
        return reservation

    async def _release(self, reservation: int) -> None:
        try:
            async with self._db.unit_of_work() as uow:
                await uow.budgets.release(reservation)
                await uow.budgets.purge_expired(self._clock())
                await uow.commit()
        except Exception:
            # Not fatal: an unreleased reservation expires on its own.
            log.warning("could not release budget reservation %s", reservation, exc_info=True)

    @staticmethod
    def _worst(over: list[LimitState]) -> LimitState:
        # The limit that stays closed longest is the one worth naming.
        return max(over, key=lambda s: (s.resets, s.key.scope is Scope.CHAT))

    @staticmethod
    def _relevant(
        limits: Mapping[LimitKey, tuple[Decimal, bool]], estimate: Estimate
    ) -> dict[LimitKey, tuple[Decimal, bool]]:
        return {key: value for key, value in limits.items() if estimate.amount(key.metric) > 0}

    async def _states(
        self,
        uow: UnitOfWork,
        chat_key: str,
        user_id: str,
        limits: Mapping[LimitKey, tuple[Decimal, bool]],
        now: datetime,
        *,
        excluding: int | None,
    ) -> list[LimitState]:
        spent: dict[tuple[Scope, Period], UsageTotals] = {}
        held: dict[Scope, Reserved] = {}
        states = []
        for key, (limit, own) in limits.items():
            user = user_id if key.scope is Scope.USER else None
            if (key.scope, key.period) not in spent:
                spent[key.scope, key.period] = await uow.usage.totals(
                    chat_key, since=period_start(key.period, now), user_id=user
                )
            if key.scope not in held:
                held[key.scope] = await uow.budgets.reserved(chat_key, now, user_id=user, excluding=excluding)
            states.append(
                LimitState(
                    key,
                    limit,
                    _spent(key.metric, spent[key.scope, key.period]),
                    _held(key.metric, held[key.scope]),
                    period_end(key.period, now),
                    own,
                )
            )
        return states

    # --- wording --------------------------------------------------------------------

    def amount(self, metric: Metric, value: Decimal, *, unit: bool = True) -> str:
        """`$0.0420`, `3 images`; `unit=False` leaves counts bare ("3 of 10 images")."""
        if metric is Metric.COST:
            return self._prices.money(value)
        count = int(value)
        if not unit:
            return f"{count:,}"
        noun = {Metric.TOKENS: "token", Metric.IMAGES: "image", Metric.MJ_TASKS: "Midjourney task"}[metric]
        return f"{count:,} {noun}{'' if count == 1 else 's'}"

    def describe(self, key: LimitKey) -> str:
        whose = "This chat's" if key.scope is Scope.CHAT else "Your"
        period = "daily" if key.period is Period.DAY else "monthly"
        what = {
            Metric.COST: "spending",
            Metric.TOKENS: "token",
            Metric.IMAGES: "image",
            Metric.MJ_TASKS: "Midjourney",
        }[key.metric]
        where = "" if key.scope is Scope.CHAT else " in this chat"
        return f"{whose} {period} {what} budget{where}"

    def _refusal(self, state: LimitState, estimate: Estimate, now: datetime) -> str:
        metric = state.key.metric
        limit = self.amount(metric, state.limit)
        if state.limit == 0:
            head = f"⛔ {self.describe(state.key)} is set to {limit}."
        elif state.spent >= state.limit:
            head = f"⛔ {self.describe(state.key)} is used up ({limit})."
        elif state.left <= 0 or state.spent + estimate.amount(metric) <= state.limit:
            # It would fit but for requests still running: what they do not use comes back.
            spent = self.amount(metric, state.spent, unit=False)
            head = (
                f"⛔ {self.describe(state.key)} is nearly used up: {spent} of {limit} used, and "
                "requests still running may take the rest. Try again in a moment."
            )
        else:
            need = estimate.amount(metric)
            head = (
                f"⛔ {self.describe(state.key)} would be exceeded: this needs about "
                f"{self.amount(metric, need)}, {self.amount(metric, state.left)} of {limit} is left."
            )
        return f"{head} It resets {when(state.resets, now)}."


def when(moment: datetime, now: datetime) -> str:
    """ "at 00:00 UTC (in 3 h 12 min)" or "on 1 Apr 00:00 UTC (in 12 d 4 h)"."""
    left = moment - now
    minutes = max(int(left.total_seconds() // 60), 1)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        span = f"{days} d {hours} h"
    elif hours:
        span = f"{hours} h {mins} min"
    else:
        span = f"{mins} min"
    if left <= timedelta(days=1):
        return f"at {moment:%H:%M} UTC (in {span})"
    return f"on {moment:%-d %b %H:%M} UTC (in {span})"
