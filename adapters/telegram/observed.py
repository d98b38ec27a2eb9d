"""aiogram request middlewares: API errors counted by code, and the journal before an acknowledgement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramConflictError,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramNotFound,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates, TelegramMethod
from aiogram.methods.base import Response, TelegramType

CountError = Callable[[str, int | str], None]

_CODES: tuple[tuple[type[TelegramAPIError], int | str], ...] = (
    (TelegramRetryAfter, 429),
    (TelegramBadRequest, 400),
    (TelegramUnauthorizedError, 401),
    (TelegramForbiddenError, 403),
    (TelegramNotFound, 404),
    (TelegramConflictError, 409),
    (TelegramEntityTooLarge, 413),
    (TelegramServerError, 500),
    (TelegramNetworkError, "network"),
)


def code_of(exc: TelegramAPIError) -> int | str:
    return next((code for kind, code in _CODES if isinstance(exc, kind)), "other")


class CountErrors(BaseRequestMiddleware):
    def __init__(self, count: CountError) -> None:
        self._count = count

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        try:
            return await make_request(bot, method)
        except TelegramAPIError as exc:
            self._count("tg", code_of(exc))
            raise


class JournalBeforeAck(BaseRequestMiddleware):
    """getUpdates acknowledges every update before its offset: they are journaled first."""

    def __init__(self, journaled: Callable[[], Awaitable[None]]) -> None:
        self._journaled = journaled

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, GetUpdates):
            await self._journaled()
        return await make_request(bot, method)
