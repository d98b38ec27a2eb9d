"""Turning gateway answers into usage events (one per successful billable call)."""

from __future__ import annotations

import logging

from bot.gateway.types import ImageResult
from bot.model import ChatAddress, User
from storage import UnitOfWork, UsageEvent

log = logging.getLogger(__name__)


class Ledger:
    """Builds usage events and adds them inside the caller's unit of work.

    Callers record usage in the same transaction as their other bookkeeping, so an
    event is never lost between the gateway's answer and the reply.
    """

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

    async def add(self, uow: UnitOfWork, event: UsageEvent) -> None:
        if not await uow.usage.add(event):
            log.info("usage for %s already recorded; not counted twice", event.request_key)
