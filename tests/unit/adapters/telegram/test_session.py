"""FastSession checks answers like aiogram does, without building `Response[T]` models."""

from __future__ import annotations

import json
import ssl
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import ClientDecodeError, TelegramBadRequest, TelegramRetryAfter
from aiogram.methods import EditMessageText, GetUpdates, SendMessage, SetMyCommands
from aiogram.types import Message, Update
from pydantic._internal import _generics

from adapters.telegram.session import FastSession, validator_for

MESSAGE = {"message_id": 7, "date": 1, "chat": {"id": 5, "type": "private"}, "text": "hi"}


@pytest.fixture
def bot() -> Bot:
    return Bot("123456:TEST-token", session=FastSession(tls=ssl.create_default_context()))


def check(bot: Bot, method: Any, body: Any, status: int = 200) -> Any:
    session = bot.session
    assert isinstance(session, FastSession)
    return session.check_response(bot, method, status, json.dumps(body)).result


async def test_it_is_set_up_as_aiogram_sets_up_its_own_but_with_the_tls_context_it_is_given() -> None:
    # FastSession does AiohttpSession's __init__ itself, to skip the TLS context aiogram would
    # make: a new aiogram that sets up more fails here, not in a chat.
    tls = ssl.create_default_context()
    ours, theirs = FastSession(tls=tls, timeout=12), AiohttpSession(timeout=12)
    assert vars(ours).keys() == vars(theirs).keys()
    assert ours._connector_init.pop("ssl") is tls
    theirs._connector_init.pop("ssl")
    assert type(ours.middleware) is type(theirs.middleware)  # each session has its own
    assert vars(ours) | {"middleware": None} == vars(theirs) | {"middleware": None}
    await theirs.close()


def test_results_are_validated_and_bound_to_the_bot(bot: Bot) -> None:
    sent = check(bot, SendMessage(chat_id=5, text="hi"), {"ok": True, "result": MESSAGE})
    assert isinstance(sent, Message) and sent.message_id == 7 and sent.bot is bot
    edited = check(bot, EditMessageText(text="x", chat_id=5, message_id=7), {"ok": True, "result": True})
    assert edited is True
    updates = check(bot, GetUpdates(), {"ok": True, "result": [{"update_id": 3, "message": MESSAGE}]})
    assert [type(u) for u in updates] == [Update] and updates[0].message.bot is bot


def test_no_generic_response_model_is_built(bot: Bot) -> None:
    before = len(_generics._GENERIC_TYPES_CACHE)
    for _ in range(3):
        check(bot, SendMessage(chat_id=5, text="hi"), {"ok": True, "result": MESSAGE})
        check(bot, SetMyCommands(commands=[]), {"ok": True, "result": True})
    assert len(_generics._GENERIC_TYPES_CACHE) == before


def test_errors_raise_what_aiogram_raises(bot: Bot) -> None:
    method = SendMessage(chat_id=5, text="hi")
    with pytest.raises(TelegramBadRequest, match="chat not found"):
        check(
            bot, method, {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}, 400
        )
    too_many = {"ok": False, "error_code": 429, "description": "Too Many", "parameters": {"retry_after": 3}}
    with pytest.raises(TelegramRetryAfter) as waited:
        check(bot, method, too_many, 429)
    assert waited.value.retry_after == 3


def test_a_result_that_does_not_fit_goes_to_aiogram(bot: Bot) -> None:
    with pytest.raises(ClientDecodeError):
        check(bot, SendMessage(chat_id=5, text="hi"), {"ok": True, "result": {"message_id": "seven"}})
    assert check(bot, SendMessage(chat_id=5, text="hi"), {"ok": True}) is None, "as aiogram answers"
    # A string where a bool belongs: aiogram's lax validation decides, as it always did.
    assert check(bot, SetMyCommands(commands=[]), {"ok": True, "result": "yes"}) is True


def test_unusual_result_types_are_left_to_aiogram() -> None:
    assert validator_for(dict[str, int]) is None
    assert validator_for(Message | Update) is None
    assert validator_for(list[Message]) is not None
