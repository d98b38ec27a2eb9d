"""Injected faults, from Python and over the /__sim control routes."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from httpx_sse import aconnect_sse

from simulator import Fault, Simulator

from .util import assert_request_id, user

CHAT = {"model": "gpt-4o-mini", "messages": [user("hi")]}
STREAM = {**CHAT, "stream": True}
MESSAGES = {"model": "claude", "max_tokens": 100, "messages": [user("hi")]}


async def post_chat(client: httpx.AsyncClient, body: dict[str, Any] = CHAT) -> httpx.Response:
    return await client.post("/v1/chat/completions", json=body)


async def test_status_fault_once_then_normal(sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.add_fault(Fault(route="/v1/chat/completions", kind="status", status=500, times=1))
    failed = await post_chat(client)
    assert failed.status_code == 500
    assert_request_id(failed.json()["error"]["message"])
    assert (await post_chat(client)).status_code == 200
    assert sim.ledger.requests == {"chat": 1}
    assert [r.fault for r in sim.requests] == ["status", None]


async def test_status_shapes_per_family_and_retry_after(sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.add_fault(Fault(route="*", kind="status", status=429, retry_after=2, times=3))
    chat = await post_chat(client)
    messages = await client.post("/v1/messages", json=MESSAGES)
    mj = await client.post("/mj/submit/imagine", json={"prompt": "cat"})
    assert chat.status_code == messages.status_code == mj.status_code == 429
    assert chat.headers["retry-after"] == messages.headers["retry-after"] == "2"
    assert chat.json()["error"]["type"] == "new_api_error"
    assert messages.json()["error"]["type"] == "rate_limit_error"
    assert mj.json()["code"] == 30 and mj.json()["type"] == "upstream_error"
    assert sim.ledger.as_dict()["total_tokens"] == 0
    assert sim.ledger.requests == {}


@pytest.mark.parametrize(
    ("status", "code"), [(403, "insufficient_user_quota"), (502, ""), (503, "model_not_found")]
)
async def test_other_statuses(sim: Simulator, client: httpx.AsyncClient, status: int, code: str) -> None:
    sim.add_fault(
        Fault(route="/v1/", kind="status", status=status, message="custom words" if status == 502 else None)
    )
    response = await post_chat(client)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    if status == 502:
        assert response.json()["error"]["message"].startswith("custom words (request id: ")


@pytest.mark.parametrize("status", [401, 403, 503])
async def test_key_quota_and_channel_errors_are_openai_shaped_on_every_route(
    sim: Simulator, client: httpx.AsyncClient, status: int
) -> None:
    # new-api checks these in its middleware, before the relay picks a format (2.4 a).
    sim.add_fault(Fault(route="*", kind="status", status=status, times=3))
    answers = [
        await post_chat(client),
        await client.post("/v1/messages", json=MESSAGES),
        await client.post("/mj/submit/imagine", json={"prompt": "cat"}),
    ]
    for response in answers:
        assert response.status_code == status
        error = response.json()["error"]
        assert error["type"] == "new_api_error"
        assert_request_id(error["message"])


async def test_until_cleared_and_route_prefix(sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.add_fault(Fault(route="/v1/images", kind="status", status=500, times=None))
    for _ in range(3):
        assert (await client.post("/v1/images/generations", json={"prompt": "x"})).status_code == 500
    assert (await post_chat(client)).status_code == 200
    sim.clear_faults()
    assert (await client.post("/v1/images/generations", json={"prompt": "x"})).status_code == 200


async def test_timeout_fault_makes_the_client_time_out(sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.add_fault(Fault(route="/v1/chat/completions", kind="timeout", delay=5))
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        await client.post("/v1/chat/completions", json=CHAT, timeout=0.2)
    assert time.monotonic() - started < 1
    assert sim.ledger.requests == {}


async def test_timeout_fault_answers_504_after_the_delay(sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.add_fault(Fault(kind="timeout", delay=0.1))
    response = await post_chat(client)
    assert response.status_code == 504


async def test_garbage_and_html(sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.add_fault(Fault(kind="garbage"))
    sim.add_fault(Fault(kind="html"))
    garbage = await post_chat(client)
    assert garbage.status_code == 200
    with pytest.raises(ValueError):
        garbage.json()
    html = await post_chat(client)
    assert html.status_code == 200
    assert html.headers["content-type"].startswith("text/html")
    assert sim.ledger.requests == {}


async def test_slow_first_byte(sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.add_fault(Fault(kind="slow_first_byte", delay=0.3))
    started = time.monotonic()
    response = await post_chat(client)
    assert time.monotonic() - started >= 0.3
    assert response.json()["choices"][0]["message"]["content"] == "Echo: hi"
    assert sim.ledger.requests == {"chat": 1}


async def test_slow_answer_takes_effect_before_it_answers(sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.add_fault(Fault(kind="slow_answer", delay=0.5))
    answer = asyncio.create_task(post_chat(client))
    await asyncio.sleep(0.25)
    assert not answer.done()
    assert sim.ledger.requests == {"chat": 1}, "the work is done before the late answer"
    assert (await answer).json()["choices"][0]["message"]["content"] == "Echo: hi"


async def test_cut_stream_chat_and_messages(sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.add_fault(Fault(kind="cut_stream", after_chunks=2, times=2))
    # A non-streaming request does not use up a cut_stream fault.
    assert (await post_chat(client)).status_code == 200
    async with aconnect_sse(client, "POST", "/v1/chat/completions", json=STREAM) as source:
        data = [e.data async for e in source.aiter_sse()]
    assert len(data) == 2
    assert "[DONE]" not in data
    async with aconnect_sse(client, "POST", "/v1/messages", json={**MESSAGES, "stream": True}) as source:
        names = [e.event async for e in source.aiter_sse()]
    assert names == ["message_start", "content_block_start"]
    assert sim.ledger.requests == {"chat": 1}
    async with aconnect_sse(client, "POST", "/v1/chat/completions", json=STREAM) as source:
        assert [e.data async for e in source.aiter_sse()][-1] == "[DONE]"


async def test_mj_code_faults(sim: Simulator, client: httpx.AsyncClient) -> None:
    sim.add_fault(Fault(route="*", kind="mj_code", status=23))
    # Not a submit route: the fault waits for one.
    assert (await client.get("/mj/task/1/fetch")).status_code == 400
    busy = await client.post("/mj/submit/imagine", json={"prompt": "cat"})
    assert busy.status_code == 200
    assert busy.json() == {
        "code": 23,
        "description": "队列已满，请稍后尝试",
        "properties": {},
        "result": None,
    }
    sim.add_fault(Fault(route="/mj/submit/", kind="mj_code", status=24))
    banned = (await client.post("/mj/submit/blend", json={})).json()
    assert banned["code"] == 24 and "bannedWord" in banned["properties"]
    sim.add_fault(Fault(route="/mj/submit/action", kind="mj_code", status=30, retry_after=1))
    overloaded = await client.post("/mj/submit/action", json={})
    assert overloaded.status_code == 429
    assert overloaded.json()["code"] == 30
    assert overloaded.headers["retry-after"] == "1"
    assert sim.ledger.mj_tasks == 0
    assert (await client.post("/mj/submit/imagine", json={"prompt": "cat"})).json()["code"] == 1


def test_fault_validation() -> None:
    with pytest.raises(ValueError, match="unknown fault kind"):
        Fault(kind="explode")
    with pytest.raises(ValueError, match="times"):
        Fault(times=0)
    with pytest.raises(ValueError, match="unknown fault fields"):
        Fault.from_json({"kind": "status", "colour": "red"})


async def test_control_routes(sim: Simulator, anon: httpx.AsyncClient, client: httpx.AsyncClient) -> None:
    added = await anon.post(
        "/__sim/faults", json={"route": "/v1/chat/completions", "kind": "status", "status": 502, "times": 2}
    )
    assert added.status_code == 201
    assert (await anon.get("/__sim/faults")).json()["faults"][0]["remaining"] == 2
    assert (await anon.post("/__sim/faults", json={"kind": "nope"})).status_code == 400
    assert (await anon.post("/__sim/faults", content=b"not json")).status_code == 400
    assert (await post_chat(client)).status_code == 502
    assert (await anon.delete("/__sim/faults")).json() == {"cleared": True}
    ok = await post_chat(client)
    assert ok.status_code == 200
    usage = (await anon.get("/__sim/usage")).json()
    assert usage == sim.ledger.as_dict()
    assert usage["requests"] == {"chat": 1}
    assert usage["total_tokens"] == ok.json()["usage"]["total_tokens"]
    logged = (await anon.get("/__sim/requests")).json()
    assert [r["status"] for r in logged] == [502, 200]
    assert all(r["headers"]["authorization"] == "<redacted>" for r in logged)
    await client.post("/mj/submit/imagine", json={"prompt": "cat"})
    assert len((await anon.get("/__sim/tasks")).json()) == 1
    assert (await anon.post("/__sim/reset")).json() == {"reset": True}
    assert sim.ledger.as_dict()["requests"] == {}
    assert sim.requests == [] and sim.tasks == {}
