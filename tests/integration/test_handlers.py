"""Handlers through the core: one usage event per billable call, budgets held, neutral wording."""

from __future__ import annotations

import json
from dataclasses import replace

import httpx

from bot.model import ChatAddress, ChatKind, Incoming
from storage import Database, UsageEvent
from tests.integration.fakes import ANN, CHAT, completion, handle, photo, png, services, sse


async def events(db: Database) -> list[UsageEvent]:
    async with db.unit_of_work() as uow:
        return [event async for event in uow.usage.events(CHAT.key)]


async def test_an_empty_answer_without_a_request_id_is_still_billed_once(db: Database) -> None:
    # Some gateways send no id; the model may also say nothing. The call was still made and billed.
    empty = sse(
        {"choices": [{"index": 0, "delta": {"content": ""}, "finish_reason": "stop"}]},
        {"choices": [], "usage": {"prompt_tokens": 12, "completion_tokens": 0}},
    )
    async with services(db, {"/v1/chat/completions": empty}) as s:
        out = await handle(s, Incoming(CHAT, ANN, "hello?"))
    assert out.streams and out.streams[0].final == "(the model returned an empty answer)"
    recorded = await events(db)
    assert [(e.kind, e.input_tokens) for e in recorded] == [("chat", 12)]


async def test_a_caption_classified_as_a_blend_holds_the_midjourney_budget(db: Database) -> None:
    submitted: list[str] = []

    def blend(request: httpx.Request) -> httpx.Response:
        submitted.append(request.url.path)
        return httpx.Response(200, json={"code": 1, "description": "ok", "result": "task-1"})

    classifier = completion(json.dumps({"intent": "blend", "prompt": "merge them"}))
    routes = {"/v1/chat/completions": classifier, "/mj/submit/blend": blend}
    photos = (photo(png("red")), photo(png("blue")))
    async with services(db, routes, budgets="user.day.mj=0") as s:
        out = await handle(s, Incoming(CHAT, ANN, "merge these two", images=photos))
    assert submitted == [], "the blend must be refused before it reaches Midjourney"
    assert any("Midjourney budget" in text for text in out.texts), out.texts
    assert [e.kind for e in await events(db)] == ["classification"]


async def test_help_in_a_discord_server_does_not_talk_about_telegram(db: Database) -> None:
    server = ChatAddress("dc", "9", ChatKind.GROUP)
    async with services(db, {}) as s:
        discord = await handle(s, Incoming(server, ANN, "/help"))
        telegram = await handle(s, Incoming(replace(server, platform="tg"), ANN, "/help"))
    assert "In groups I answer when mentioned" in discord.texts[0]
    for word in ("Telegram", "caption", "album"):
        assert word not in discord.texts[0]
    assert "Telegram's privacy mode" in telegram.texts[0]
