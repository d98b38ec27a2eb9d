"""Budgets: refuse a request that would exceed a limit, before any gateway call.

Reserve, then settle. Before the gateway call a request stores a reservation of what
it may use at most (`Estimate`) and gets it back as a `Hold`; admissions of one chat are
serialized (an asyncio lock in the process, the reservation INSERT / an advisory lock in
the database), and each admission counts recorded usage plus every live reservation.
The code that records a usage event settles it against the request's hold in the same
transaction (`settle`), and the rest is released when the request ends. Estimates are
upper bounds (chat requests carry an output cap equal to what they reserved), so
simultaneous requests cannot push a limit past it.

A chat turn whose real size is known only once its messages are built grows its hold
with `resize`, which checks the limits again; a hold is never shrunk mid-request (that
would cost a write per turn for a few seconds' accuracy): the request's end releases it.

A reservation belongs to the instance that made it: when that process is gone, the next
start (or another replica) releases it at once (bot.lifecycle.recovery); as a last resort
a reservation stops counting after BUDGET_RESERVATION_TTL.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from bot.errors import BudgetExceeded
from bot.i18n import Say, Text, t, tn
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


ADMISSIONS_PER_TRANSACTION = 200  # bounded, so one transaction never holds the write lock long


@dataclass
class _Ask:
    """An admission waiting for the next shared transaction."""

    chat_key: str
    user_id: str
    estimate: Estimate
    done: asyncio.Future[int | None] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
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


def _sum(a: Reserved, b: Reserved) -> Reserved:
    return Reserved(
        a.cost + b.cost, a.tokens + b.tokens, a.images + b.images, a.mj_tasks + b.mj_tasks, a.count + b.count
    )


class _Sums:
    """Per-(chat, person) sums with each chat's total beside them, for a batch of admissions.

    The chat totals are kept, not summed per request: a batch of n requests over n chats
    would otherwise scan every sum for each of them (n² steps: 11 ms of a 150-chat batch).
    """

    def __init__(self, by_user: Mapping[tuple[str, str], Reserved]) -> None:
        self._by_user = dict(by_user)
        self._by_chat: dict[str, Reserved] = {}
        for (chat, _user), value in by_user.items():
            self._by_chat[chat] = _sum(self._by_chat.get(chat, Reserved()), value)

    def of(self, ask: _Ask, scope: Scope) -> Reserved:
        """The asker's own sum, or their chat's over all its people."""
        if scope is Scope.USER:
            return self._by_user.get((ask.chat_key, ask.user_id), Reserved())
        return self._by_chat.get(ask.chat_key, Reserved())

    def add(self, ask: _Ask) -> None:
        """Count the asker's estimate in (they were admitted)."""
        e = ask.estimate
        value = Reserved(e.cost, e.tokens, e.images, e.mj_tasks, 1)
        mine = (ask.chat_key, ask.user_id)
        self._by_user[mine] = _sum(self._by_user.get(mine, Reserved()), value)
        self._by_chat[ask.chat_key] = _sum(self._by_chat.get(ask.chat_key, Reserved()), value)


@dataclass(frozen=True)
class Ceiling:
    """The most a chat's own admins may allow (None: no limit), and the operator's default."""

    value: Decimal | None
    default: Decimal | None
    capped: bool


def _parts(key: LimitKey) -> tuple[str, str, str]:
    return key.scope.value, key.period.value, key.metric.value


def _within(estimate: Estimate, held: Estimate) -> bool:
    return all(estimate.amount(metric) <= held.amount(metric) for metric in Metric)


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
        self._has_defaults = any(value is not None for value in self._defaults.values())
        self._ttl = timedelta(seconds=ttl)
        self._clock = clock
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        # Reservations a request's final write already deleted: the hold need not release them.
        self._ended: set[int] = set()
        # Admissions waiting for the next shared transaction, and the task that runs them.
        self._asks: list[_Ask] = []
        self._deciding: list[_Ask] = []
        self._admitting: asyncio.Task[None] | None = None
        self._releasing: set[asyncio.Task[None]] = set()

    @asynccontextmanager
    async def hold(
        self, chat_key: str, user_id: str, estimate: Estimate, *, own_limits: bool = True
    ) -> AsyncIterator[Hold]:
        """Admit the request (or raise BudgetExceeded) and keep its reservation while it runs.

        `own_limits` False: the chat is known (from the message's first read) to have no limits
        of its own, so with no operator defaults either there is nothing to read or hold.
        """
        if own_limits or self._has_defaults:
            reservation = await self._admit(chat_key, user_id, estimate)
        else:
            reservation = None
        try:
            yield Hold(chat_key, user_id, reservation, estimate)
        finally:
            if reservation is not None and not self._took_back(reservation):
                await self._release(reservation)

    @staticmethod
    def releasing(hold: Hold) -> tuple[int, ...]:
        """The reservation a final write may delete along with recording the request's usage."""
        return () if hold.reservation is None else (hold.reservation,)

    def released(self, hold: Hold) -> None:
        """The final write that deleted `hold`'s reservation was committed."""
        if hold.reservation is not None:
            self._ended.add(hold.reservation)

    def _took_back(self, reservation: int) -> bool:
        if reservation in self._ended:
            self._ended.discard(reservation)
            return True
        return False

    async def resize(self, hold: Hold, estimate: Estimate) -> Hold:
        """Make `hold` reserve `estimate` (still unsettled) instead; growing is checked like admission.

        A hold that reserved nothing stays so: no limit covered that kind of usage. A hold
        that would shrink is kept as it is (no write on the request's hot path): it only
        overstates for the seconds until the request ends and releases it.
        """
        if hold.reservation is None:
            return Hold(hold.chat_key, hold.user_id, None, estimate)
        if _within(estimate, hold.estimate):
            return hold
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
        return self._in_force(await uow.budgets.limits(chat_key))

    def _in_force(self, own: Sequence[BudgetLimit]) -> dict[LimitKey, tuple[Decimal, bool]]:
        """The defaults, with what a chat set itself over them (None: that limit is off)."""
        merged: dict[LimitKey, tuple[Decimal | None, bool]] = {
            key: (value, False) for key, value in self._defaults.items()
        }
        for row in own:
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
        """The request's reservation (None: no limit covers it), made in a shared transaction.

        Admissions arriving together are made one after another in one transaction (one
        commit for all, where each used to queue for its own). Within it each admission
        counts the reservations made before it, so the limits hold exactly as before.
        """
        ask = _Ask(chat_key, user_id, estimate)
        self._asks.append(ask)
        if self._admitting is None or self._admitting.done():
            self._admitting = asyncio.create_task(self._admit_queued(), name="budget-admissions")
        try:
            return await asyncio.shield(ask.done)
        except asyncio.CancelledError:
            # The request is gone, but its admission may still commit: give that back.
            ask.done.add_done_callback(self._give_back)
            raise

    async def _admit_queued(self) -> None:
        # Admissions that come while a batch is being decided wait for the next one.
        try:
            await self._admit_all_queued()
        finally:
            # Cancelled (the loop is closing): no admission is left waiting for ever.
            for ask in self._deciding + self._asks:
                if not ask.done.done():
                    ask.done.cancel()
            self._deciding, self._asks = [], []

    async def _admit_all_queued(self) -> None:
        while self._asks:
            batch, self._asks = (
                self._asks[:ADMISSIONS_PER_TRANSACTION],
                self._asks[ADMISSIONS_PER_TRANSACTION:],
            )
            self._deciding = batch
            try:
                outcomes = await self._admit_together(batch)
            except Exception as exc:
                log.warning("admitting %d requests failed", len(batch), exc_info=True)
                outcomes = [(ask, exc) for ask in batch]
            for ask, outcome in outcomes:
                if ask.done.done():
                    continue
                if isinstance(outcome, BaseException):
                    ask.done.set_exception(outcome)
                else:
                    ask.done.set_result(outcome)

    async def _admit_together(self, batch: list[_Ask]) -> list[tuple[_Ask, int | BaseException | None]]:
        """One transaction for the batch, with a few set-based queries however large it is.

        What every chat of the batch has spent (per period) and holds is read once; the
        requests are then decided in arrival order, each counting those admitted before
        it; the admitted ones' reservations are inserted together.
        """
        outcomes: list[tuple[_Ask, int | BaseException | None]] = []
        async with self._db.unit_of_work() as uow:
            own = await uow.budgets.limits_of({ask.chat_key for ask in batch})
            limited: list[tuple[_Ask, dict[LimitKey, tuple[Decimal, bool]]]] = []
            for ask in batch:
                limits = self._relevant(self._in_force(own.get(ask.chat_key, ())), ask.estimate)
                if limits:
                    limited.append((ask, limits))
                else:  # nothing to hold: no limit covers what this request uses
                    outcomes.append((ask, None))
            if not limited:
                return outcomes  # no write at all
            chats = sorted({ask.chat_key for ask, _ in limited})
            now = self._clock()
            # A write first: on SQLite it takes the write lock, so another process admitting
            # at the same time waits and then sees these reservations.
            await uow.budgets.purge_expired(now)
            await uow.budgets.lock_chats(chats)  # PostgreSQL: one advisory lock per chat, in one order
            periods = {key.period for _, limits in limited for key in limits}
            spent = {
                period: _Sums(await uow.budgets.spent_by_user(chats, period_start(period, now)))
                for period in periods
            }
            held = _Sums(await uow.budgets.reserved_by_user(chats, now))
            admitted: list[_Ask] = []
            for ask, limits in limited:
                states = [
                    LimitState(
                        key,
                        limit,
                        _held(key.metric, spent[key.period].of(ask, key.scope)),
                        _held(key.metric, held.of(ask, key.scope)),
                        period_end(key.period, now),
                        chat_set,
                    )
                    for key, (limit, chat_set) in limits.items()
                ]
                over = [state for state in states if not state.admits(ask.estimate)]
                if over:
                    worst = self._worst(over)
                    log.info("budget %s reached in %s by %s", worst.key, ask.chat_key, ask.user_id)
                    outcomes.append((ask, BudgetExceeded(self._refusal(worst, ask.estimate, now))))
                    continue
                admitted.append(ask)
                held.add(ask)
            ids = await uow.budgets.reserve_many(
                Reservation(
                    ask.chat_key,
                    ask.user_id,
                    now + self._ttl,
                    cost=ask.estimate.cost,
                    tokens=ask.estimate.tokens,
                    images=ask.estimate.images,
                    mj_tasks=ask.estimate.mj_tasks,
                    instance_id=self._instance,
                )
                for ask in admitted
            )
            await uow.commit()
        outcomes += zip(admitted, ids, strict=True)
        return outcomes

    def _give_back(self, done: asyncio.Future[int | None]) -> None:
        if done.cancelled() or done.exception() is not None:
            return
        reservation = done.result()
        if reservation is None:
            return
        task = asyncio.create_task(self._release(reservation))
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)

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

    def amount(self, metric: Metric, value: Decimal, *, unit: bool = True) -> Say:
        """`$0.0420`, `3 images`; `unit=False` leaves counts bare ("3 of 10 images")."""
        if metric is Metric.COST:
            return t("{amount}", amount=self._prices.amount(value))
        count = int(value)
        if not unit:
            return t("{n}", n=count)
        match metric:
            case Metric.TOKENS:
                return tn("{n} token", "{n} tokens", n=count)
            case Metric.IMAGES:
                return tn("{n} image", "{n} images", n=count)
            case _:
                return tn("{n} Midjourney task", "{n} Midjourney tasks", n=count)

    def describe(self, key: LimitKey) -> Text:
        return t(
            "{whose} {period} {what} budget{where}",
            whose=t("This chat's") if key.scope is Scope.CHAT else t("Your"),
            period=t("daily") if key.period is Period.DAY else t("monthly"),
            what=_WHAT[key.metric],
            where="" if key.scope is Scope.CHAT else t(" in this chat"),
        )

    def _refusal(self, state: LimitState, estimate: Estimate, now: datetime) -> Text:
        metric = state.key.metric
        limit = self.amount(metric, state.limit)
        budget = self.describe(state.key)
        head: Text
        if state.limit == 0:
            head = t("⛔ {budget} is set to {limit}.", budget=budget, limit=limit)
        elif state.spent >= state.limit:
            head = t("⛔ {budget} is used up ({limit}).", budget=budget, limit=limit)
        elif state.left <= 0 or state.spent + estimate.amount(metric) <= state.limit:
            # It would fit but for requests still running: what they do not use comes back.
            head = t(
                "⛔ {budget} is nearly used up: {spent} of {limit} used, and requests still running "
                "may take the rest. Try again in a moment.",
                budget=budget,
                spent=self.amount(metric, state.spent, unit=False),
                limit=limit,
            )
        else:
            head = t(
                "⛔ {budget} would be exceeded: this needs about {need}, {left} of {limit} is left.",
                budget=budget,
                need=self.amount(metric, estimate.amount(metric)),
                left=self.amount(metric, state.left),
                limit=limit,
            )
        return t("{refusal} It resets {when}.", refusal=head, when=when(state.resets, now))


_WHAT = {
    Metric.COST: t("spending"),
    Metric.TOKENS: t("token"),
    Metric.IMAGES: t("image"),
    Metric.MJ_TASKS: t("Midjourney"),
}


def when(moment: datetime, now: datetime) -> Text:
    """ "at 00:00 UTC (in 3 h 12 min)" or "on 1 Apr 00:00 UTC (in 12 d 4 h)"."""
    left = moment - now
    minutes = max(int(left.total_seconds() // 60), 1)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        span = t("{days} d {hours} h", days=days, hours=hours)
    elif hours:
        span = t("{hours} h {minutes} min", hours=hours, minutes=mins)
    else:
        span = t("{minutes} min", minutes=mins)
    if left <= timedelta(days=1):
        return t("at {time} UTC (in {span})", time=f"{moment:%H:%M}", span=span)
    return t("on {date} {time} UTC (in {span})", date=moment.date(), time=f"{moment:%H:%M}", span=span)
