"""Turning gateway answers into priced usage events (one per successful billable call).

The ledger only prices and stores; `bot.usage.recorder` is where an event is recorded
together with settling the request's budget hold.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal

from bot.gateway.types import ImageResult
from bot.model import ChatAddress, User
from bot.usage.pricing import PriceTable, load_prices
from storage import UnitOfWork, UsageEvent

log = logging.getLogger(__name__)


class Ledger:
    """Builds usage events and adds them inside the caller's unit of work.

    Callers record usage in the same transaction as their other bookkeeping, so an
    event is never lost between the gateway's answer and the reply.
    """

    def __init__(self, prices: PriceTable | None = None) -> None:
        self._prices = prices if prices is not None else load_prices()

    def event(
        self,
        address: ChatAddress,
        user: User,
        kind: str,
        model: str,
        *,
        request_key: str | None,
        input_tokens: int = 0,
        output_tokens: int = 0,
        image_tokens: int = 0,
        images: int = 0,
        mj_tasks: int = 0,
        task_id: str | None = None,
        total_tokens: int | None = None,
    ) -> UsageEvent:
        return UsageEvent(
            chat_key=address.key,
            platform=address.platform,
            user_id=user.id,
            user_name=user.name,
            kind=kind,
            model=model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=total_tokens if total_tokens is not None else input_tokens + output_tokens,
            image_tokens=image_tokens,
            images=images,
            mj_tasks=mj_tasks,
            request_key=request_key,
            task_id=task_id,
        )

    def image_event(self, address: ChatAddress, user: User, kind: str, result: ImageResult) -> UsageEvent:
        usage = result.usage
        details = usage.input_tokens_details if usage else None
        return self.event(
            address,
            user,
            kind,
            result.model,
            request_key=result.request_id,
            input_tokens=usage.input_tokens if usage else 0,
            output_tokens=usage.output_tokens if usage else 0,
            total_tokens=usage.total_tokens if usage else 0,
            image_tokens=details.image_tokens if details else 0,
            images=len(result.images),
        )

    def audio_event(
        self,
        address: ChatAddress,
        user: User,
        kind: str,
        model: str,
        *,
        request_key: str | None,
        cost: Decimal | None,
    ) -> UsageEvent:
        """Transcription (by the minute) and speech (by the character), priced by the caller.

        The ledger's counters are tokens, images and tasks; audio has none of them, so its
        event carries only its cost (none and no currency when the model is not priced).
        """
        event = self.event(address, user, kind, model, request_key=request_key)
        if cost is None:
            log.info("no price for audio model %r; recorded at 0", model)
            return event
        return replace(event, cost=cost, currency=self._prices.currency)

    @property
    def prices(self) -> PriceTable:
        return self._prices

    async def add(self, uow: UnitOfWork, event: UsageEvent) -> UsageEvent | None:
        """Price and store the event; None when this request key was recorded before."""
        event = self.priced(event)
        if not await uow.usage.add(event):
            log.info("usage for %s already recorded; not counted twice", event.request_key)
            return None
        return event

    def priced(self, event: UsageEvent) -> UsageEvent:
        """The event with its cost at today's prices; unchanged if it has a currency already.

        A model missing from the price table keeps cost 0 and no currency, which is how
        /usage tells unpriced usage apart from free usage.
        """
        if event.currency is not None:
            return event
        cost = self._prices.cost(
            event.model,
            input_tokens=event.input_tokens,
            output_tokens=event.output_tokens,
            images=event.images,
            mj_tasks=event.mj_tasks,
        )
        if cost is None:
            log.info("no price for model %r; recorded at 0", event.model)
            return event
        return replace(event, cost=cost, currency=self._prices.currency)
