"""aiogram's HTTP session, checking Bot API answers with each result type's own validator.

aiogram validates every answer as `Response[T]`, a generic pydantic model it parametrizes on
each call. pydantic keeps parametrized models only weakly, so under load they are rebuilt
over and over (about 10 ms of schema building each time for `Response[Message]`, the
largest single cost of a chat turn when profiled), and the first of each is built during
start-up. The result types' own validators were built when `aiogram.types` was imported:
a successful answer is validated with those. Anything else — an error, an unusual result
type, a result that does not validate — goes through aiogram's own check, unchanged.
"""

from __future__ import annotations

import ssl
import types
from collections.abc import Callable
from functools import cache
from http import HTTPStatus
from typing import Any, Union, cast, get_args, get_origin

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.methods import TelegramMethod
from aiogram.methods.base import Response, TelegramType
from aiohttp import TCPConnector
from pydantic import BaseModel, ValidationError

Validate = Callable[[Any, Bot], Any]
_SCALARS: tuple[type, ...] = (bool, int, str)


class FastSession(AiohttpSession):
    def __init__(self, *, tls: ssl.SSLContext, limit: int = 100, **kwargs: Any) -> None:
        # AiohttpSession.__init__ would read certifi's bundle into a TLS context of its own
        # (about 20 ms of start-up and 1 MB kept for good); the bot hands in the one its other
        # clients share. The rest is aiogram's init as it is: test_session.py checks they agree.
        BaseSession.__init__(self, **kwargs)
        self._session = None
        self._connector_type = TCPConnector
        self._connector_init = {
            "ssl": tls,
            "limit": limit,
            "ttl_dns_cache": 3600,  # as aiogram sets it (its issue #1500)
        }
        self._should_reset_connector = True
        self._proxy = None

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        validate = validator_for(method.__returning__)
        if validate is None or not HTTPStatus.OK <= status_code <= HTTPStatus.IM_USED:
            return super().check_response(bot, method, status_code, content)
        try:
            data = self.json_loads(content)
            if not (isinstance(data, dict) and data.get("ok") is True and "result" in data):
                raise ValueError("not a successful answer")
            result = validate(data["result"], bot)
        except (ValueError, TypeError, ValidationError):
            return super().check_response(bot, method, status_code, content)  # raises as aiogram does
        # The unparametrized model: built once, at import, like the result's own.
        return cast("Response[TelegramType]", Response.model_construct(ok=True, result=result))


@cache
def validator_for(returning: Any) -> Validate | None:
    """A validator for a method's result type, or None to leave it to aiogram."""
    if isinstance(returning, type) and issubclass(returning, BaseModel):
        model = returning
        return lambda value, bot: model.model_validate(value, context={"bot": bot})
    if returning in _SCALARS:
        kind = returning
        return lambda value, _bot: _scalar(value, kind)
    origin, args = get_origin(returning), get_args(returning)
    if origin is list and len(args) == 1:
        item = validator_for(args[0])
        if item is None:
            return None
        return lambda value, bot: [item(v, bot) for v in _list(value)]
    if origin in (Union, types.UnionType):
        models = [a for a in args if isinstance(a, type) and issubclass(a, BaseModel)]
        scalars = [a for a in args if a in _SCALARS]
        if len(models) != 1 or len(models) + len(scalars) != len(args):
            return None
        model = models[0]
        return lambda value, bot: (
            model.model_validate(value, context={"bot": bot})
            if isinstance(value, dict)
            else _scalar_of(value, scalars)
        )
    return None


def _scalar(value: Any, kind: type) -> Any:
    # bool is an int in Python, not in JSON: keep them apart as pydantic's strict mode would.
    if type(value) is not kind:
        raise TypeError(f"expected {kind.__name__}, got {type(value).__name__}")
    return value


def _scalar_of(value: Any, kinds: list[type]) -> Any:
    if type(value) not in kinds:
        raise TypeError(f"unexpected {type(value).__name__}")
    return value


def _list(value: Any) -> list[Any]:
    if not isinstance(value, list):
        raise TypeError("expected a list")
    return value
