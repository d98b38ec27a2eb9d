"""The checks every request passes before it may call the gateway, cheapest first.

1. access (allowed chats/users, admins' allow/deny) — one polite refusal, then silence;
2. the per-user request rate — one "slow down" per burst, then silence (bot admins are exempt);
3. per-chat caps on jobs in flight (image jobs; unfinished Midjourney tasks), so one group
   cannot starve the others;
4. budgets — what the request may use at most is reserved while it runs, and returned as
   the `Permit`'s hold, which the code recording its usage settles.

Commands, the caption classifier's follow-up and the chat model's tool calls all come
through `admit`, so a tool call can never do what the command it stands for may not.
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass

from bot.admission.access import Access, Rules
from bot.admission.permissions import Permissions
from bot.admission.ratelimit import Locks, RateLimiter, Slots, SlotsFull
from bot.errors import Silent, UserError
from bot.i18n import t
from bot.model import Incoming
from bot.observability.metrics import Metrics
from bot.usage.budgets import NO_HOLD, Budgets, Hold
from bot.usage.estimates import Estimator, Job, Work, job_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Permit:
    """What an admitted request holds: its budget reservation (settled as usage is recorded)."""

    hold: Hold = NO_HOLD


@dataclass(frozen=True)
class Caps:
    rate_per_minute: int
    mj_tasks_per_chat: int


class Admission:
    def __init__(
        self,
        *,
        access: Access,
        permissions: Permissions,
        rate: RateLimiter,
        image_slots: Slots,
        locks: Locks,
        budgets: Budgets,
        estimator: Estimator,
        mj_pending: Callable[[str], Awaitable[int]],
        caps: Caps,
        metrics: Metrics,
    ) -> None:
        self._access = access
        self._permissions = permissions
        self._rate = rate
        self._image_slots = image_slots
        self._locks = locks
        self._budgets = budgets
        self._estimator = estimator
        self._mj_pending = mj_pending
        self._caps = caps
        self._metrics = metrics

    @asynccontextmanager
    async def admit(
        self,
        msg: Incoming,
        work: Work | None,
        *,
        chat_model: str,
        rated: bool = True,
        rules: Rules | None = None,
        own_limits: bool = True,
    ) -> AsyncIterator[Permit]:
        """Raise UserError (with the reply) or Silent; else hold what `work` needs while it runs.

        `rated` False: a step of a message already counted (a voice note's question, its
        spoken answer), so one message is one request against the rate limit. `rules`: the
        chat's access rules when already read with the message; `own_limits` False: the
        message's first read found no budget limits set in the chat.
        """
        await self._access.check(msg, rules)
        if rated and not self._permissions.is_bot_admin(msg):
            await self._throttle(msg)
        if work is None:
            yield Permit()
            return
        job = job_of(work, self._estimator.settings)
        estimate = self._estimator.of(work, chat_model)
        async with AsyncExitStack() as held:
            if job is Job.IMAGE:
                await self._take_image_slot(held, msg)
            elif job is Job.MIDJOURNEY:
                await self._take_mj_slot(held, msg)
            hold = await held.enter_async_context(
                self._budgets.hold(msg.address.key, msg.user.id, estimate, own_limits=own_limits)
            )
            yield Permit(hold)

    async def _throttle(self, msg: Incoming) -> None:
        throttled = await self._rate.hit(f"{msg.address.platform}:{msg.user.id}")
        if throttled is None:
            return
        self._metrics.rate_limited()
        log.info("rate limit for %s in %s", msg.user.id, msg.address.key)
        if not throttled.first:
            raise Silent
        raise UserError(
            t(
                "🐢 Slow down a little: I take {rate} requests a minute per person. Try again in {seconds} s.",  # noqa: E501 - one sentence, one literal (translation catalogs)
                rate=self._caps.rate_per_minute,
                seconds=math.ceil(throttled.retry_after),
            )
        )

    async def _take_image_slot(self, held: AsyncExitStack, msg: Incoming) -> None:
        try:
            await held.enter_async_context(self._image_slots.take(msg.address.key))
        except SlotsFull as full:
            raise UserError(
                t(
                    "⏳ This chat already has {n} image jobs running. Please wait for one to finish.",
                    n=full.running,
                )
            ) from None

    async def _take_mj_slot(self, held: AsyncExitStack, msg: Incoming) -> None:
        cap = self._caps.mj_tasks_per_chat
        if cap <= 0:
            return
        key = msg.address.key
        # One Midjourney submission at a time per chat, held until its task is stored, so the
        # stored count is exact when the next request is checked (no check-then-act overshoot).
        await held.enter_async_context(self._locks.lock(f"mj-admission:{key}"))
        running = await self._mj_pending(key)
        if running >= cap:
            raise UserError(
                t(
                    "⏳ This chat already has {n} Midjourney jobs running. Please wait for one to finish.",
                    n=running,
                )
            )
