"""The checks every command passes before its handler runs, cheapest first.

1. access (allowed chats/users, admins' allow/deny) — one polite refusal, then silence;
2. the per-user request rate — one "slow down" per burst, then silence;
3. per-chat caps on image jobs in flight, so one group cannot starve the others;
4. budgets — the request's expected usage is reserved for as long as the handler runs,
   and settled by the ledger when the real usage is recorded.
"""

from __future__ import annotations

import asyncio
import logging
import math
import weakref
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from bot.access import Refused
from bot.estimates import Job, estimate, job_of
from bot.handlers.errors import UserError
from bot.model import Incoming
from bot.ratelimit import JobSlots, RateLimiter, SlotsFull
from bot.services import Context, Services

log = logging.getLogger(__name__)


class Silent(Exception):
    """Refused, and the user was already told: no reply this time."""


class Guard:
    def __init__(self, services: Services) -> None:
        self._services = services
        settings = services.settings
        self._rate = RateLimiter(settings.rate_limit_per_minute)
        self._image_slots = JobSlots(settings.image_jobs_per_chat)
        self._mj_cap = settings.mj_tasks_per_chat
        # One Midjourney submission at a time per chat, held until its task is stored, so the
        # stored count is exact when the next request is checked (no check-then-act overshoot).
        self._mj_admission: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()

    @asynccontextmanager
    async def admit(self, command: object, msg: Incoming) -> AsyncIterator[None]:
        """Raise UserError (with the reply) or Silent, or hold what the command needs while it runs."""
        s = self._services
        try:
            await s.access.check(msg)
        except Refused as exc:
            if exc.notice is None:
                raise Silent from None
            raise UserError(exc.notice) from None
        if not s.access.is_bot_admin(msg):
            self._throttle(msg)
        job = job_of(command, s.settings)
        expected = estimate(command, s.settings, s.prices)
        async with AsyncExitStack() as held:
            if job is Job.IMAGE:
                self._take_image_slot(held, msg)
            elif job is Job.MIDJOURNEY:
                await self._take_mj_slot(held, msg)
            if expected is not None:
                await held.enter_async_context(s.budgets.hold(msg.address.key, msg.user.id, expected))
            yield

    def _throttle(self, msg: Incoming) -> None:
        throttled = self._rate.hit(f"{msg.address.platform}:{msg.user.id}")
        if throttled is None:
            return
        log.info("rate limit for %s in %s", msg.user.id, msg.address.key)
        if not throttled.first:
            raise Silent
        limit = self._services.settings.rate_limit_per_minute
        raise UserError(
            f"🐢 Slow down a little: I take {limit} requests a minute per person. "
            f"Try again in {math.ceil(throttled.retry_after)} s."
        )

    def _take_image_slot(self, held: AsyncExitStack, msg: Incoming) -> None:
        key = msg.address.key
        try:
            held.enter_context(self._image_slots.take(key))
        except SlotsFull:
            raise UserError(
                f"⏳ This chat already has {self._image_slots.running(key)} image jobs running. "
                "Please wait for one to finish."
            ) from None

    async def _take_mj_slot(self, held: AsyncExitStack, msg: Incoming) -> None:
        if self._mj_cap <= 0:
            return
        key = msg.address.key
        lock = self._mj_admission.get(key)
        if lock is None:
            lock = self._mj_admission[key] = asyncio.Lock()
        await held.enter_async_context(lock)
        async with self._services.db.unit_of_work() as uow:
            running = await uow.mj_tasks.count_pending(key)
        if running >= self._mj_cap:
            raise UserError(
                f"⏳ This chat already has {running} Midjourney jobs running. Please wait for one to finish."
            )


@asynccontextmanager
async def budget_for(command: object, ctx: Context) -> AsyncIterator[None]:
    """The budget check of `command`, for a gateway call a handler makes on its own.

    Chat tools draw or edit pictures inside a chat turn: wrapping that call in
    `async with budget_for(c.GenerateImage(prompt), ctx):` holds the image budget exactly
    as the /image command would (holds nest; the innermost one is settled first).
    """
    s = ctx.services
    expected = estimate(command, s.settings, s.prices)
    if expected is None:
        yield
        return
    async with s.budgets.hold(ctx.msg.address.key, ctx.msg.user.id, expected):
        yield
