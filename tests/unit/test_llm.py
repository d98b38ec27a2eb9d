"""One way to ask any chat model: its API format and kind from configuration, and the output cap."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.chat.llm import Llm, matches_any
from bot.gateway.client import GatewayClient
from bot.gateway.downloads import Downloader, DownloadPolicy

BASE = "https://gw.example.test"


@pytest.fixture
async def sent() -> AsyncIterator[tuple[Llm, list[dict[str, Any]]]]:
    """An Llm over a mock gateway that records each request body."""
    bodies: list[dict[str, Any]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if request.url.path == "/v1/messages":
            return httpx.Response(
                200,
                json={
                    "id": "msg_1",
                    "type": "message",
                    "role": "assistant",
                    "model": "claude-x",
                    "content": [{"type": "text", "text": "hi"}],
                    "stop_reason": "end_turn",
                    "usage": {"input_tokens": 1, "output_tokens": 1},
                },
            )
        return httpx.Response(
            200,
            json={
                "id": "c1",
                "model": "m",
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}
                ],
            },
        )

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    downloads = Downloader(DownloadPolicy.for_gateway(BASE), http)
    gateway = GatewayClient(http, BASE, SecretStr("sk-x"), downloads=downloads)
    llm = Llm(
        gateway, anthropic_prefixes=("claude", "anthropic/"), image_models=("gpt-4o-image*",), max_tokens=512
    )
    yield llm, bodies
    await downloads.aclose()
    await http.aclose()


def test_anthropic_by_configurable_prefix(sent: tuple[Llm, list[dict[str, Any]]]) -> None:
    llm, _ = sent
    assert llm.is_anthropic("claude-3-5-sonnet-20241022")
    assert llm.is_anthropic("Claude-Opus")
    assert llm.is_anthropic("anthropic/sonnet")
    assert not llm.is_anthropic("gpt-4o")


def test_image_capable_chat_models_by_pattern(sent: tuple[Llm, list[dict[str, Any]]]) -> None:
    llm, _ = sent
    assert llm.is_image_model("gpt-4o-image")
    assert llm.is_image_model("GPT-4o-image-vip")
    assert not llm.is_image_model("gpt-4o-mini")


def test_allowed_patterns() -> None:
    assert matches_any("gpt-4o", ("gpt-4*",))
    assert not matches_any("gpt-image-1", ("gpt-4*", "claude-*"))


async def test_every_request_carries_the_output_cap_in_its_formats_field(
    sent: tuple[Llm, list[dict[str, Any]]],
) -> None:
    llm, bodies = sent
    messages = [{"role": "user", "content": "hello"}]
    await llm.complete("gpt-4o-mini", messages)
    await llm.complete("o3-mini", messages)
    await llm.complete("claude-3-5-haiku", messages)
    await llm.complete("gpt-4o-mini", messages, max_tokens=200)
    assert bodies[0]["max_tokens"] == 512 and "max_completion_tokens" not in bodies[0]
    assert bodies[1]["max_completion_tokens"] == 512 and "max_tokens" not in bodies[1]
    assert bodies[2]["max_tokens"] == 512
    assert bodies[3]["max_tokens"] == 200
