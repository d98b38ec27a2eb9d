"""The ledger equals the sum of every usage the simulator reported, and nothing else."""

from __future__ import annotations

import json

import httpx
from httpx_sse import aconnect_sse

from simulator import Fault, Simulator

from .util import data_url, mj_finished, picture, user


async def test_ledger_matches_reported_usage(sim: Simulator, client: httpx.AsyncClient) -> None:
    reported = {"input": 0, "output": 0, "image_tokens": 0, "images": 0}

    def add(input_tokens: int, output_tokens: int) -> None:
        reported["input"] += input_tokens
        reported["output"] += output_tokens

    chat = (
        await client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [user("hello")]})
    ).json()
    add(chat["usage"]["prompt_tokens"], chat["usage"]["completion_tokens"])

    body = {"model": "gpt-4o", "stream": True, "messages": [user("stream this please")]}
    async with aconnect_sse(client, "POST", "/v1/chat/completions", json=body) as source:
        chunks = [json.loads(e.data) async for e in source.aiter_sse() if e.data != "[DONE]"]
    usage = chunks[-1]["usage"]
    add(usage["prompt_tokens"], usage["completion_tokens"])

    msg = (
        await client.post("/v1/messages", json={"model": "c", "max_tokens": 99, "messages": [user("hey")]})
    ).json()
    add(msg["usage"]["input_tokens"], msg["usage"]["output_tokens"])

    body = {"model": "c", "max_tokens": 99, "stream": True, "messages": [user("hey you")]}
    async with aconnect_sse(client, "POST", "/v1/messages", json=body) as source:
        events = [json.loads(e.data) async for e in source.aiter_sse()]
    add(events[0]["message"]["usage"]["input_tokens"], events[-2]["usage"]["output_tokens"])

    for request in (
        client.post("/v1/images/generations", json={"model": "gpt-image-1", "prompt": "fox", "n": 2}),
        client.post(
            "/v1/images/edits",
            data={"model": "gpt-image-1", "prompt": "hat"},
            files=[("image[]", ("a.png", picture(), "image/png"))],
        ),
    ):
        images = (await request).json()
        add(images["usage"]["input_tokens"], images["usage"]["output_tokens"])
        reported["image_tokens"] += (
            images["usage"]["input_tokens_details"]["image_tokens"] + images["usage"]["output_tokens"]
        )
        reported["images"] += len(images["data"])
    dalle = (await client.post("/v1/images/generations", json={"model": "dall-e-3", "prompt": "fox"})).json()
    reported["images"] += len(dalle["data"])

    emb = (await client.post("/v1/embeddings", json={"model": "e", "input": ["a b", "c"]})).json()
    add(emb["usage"]["prompt_tokens"], 0)

    task = (await client.post("/mj/submit/imagine", json={"prompt": "cat"})).json()["result"]
    blend = [data_url(picture())] * 2
    assert (await client.post("/mj/submit/blend", json={"base64Array": blend})).json()["code"] == 1
    parent = await mj_finished(client, task)
    assert parent["status"] == "SUCCESS", parent
    action = await client.post(
        "/mj/submit/action", json={"taskId": task, "customId": parent["buttons"][0]["customId"]}
    )
    assert action.json()["code"] == 1

    # None of these may be billed: a fault, a validation error, a cut stream, a banned prompt.
    sim.add_fault(Fault(route="/v1/chat/completions", kind="status", status=500))
    await client.post("/v1/chat/completions", json={"model": "gpt-4o", "messages": [user("x")]})
    await client.post("/v1/images/generations", json={"model": "dall-e-3", "prompt": "x", "n": 3})
    sim.add_fault(Fault(kind="cut_stream"))
    async with aconnect_sse(
        client,
        "POST",
        "/v1/chat/completions",
        json={"model": "m", "stream": True, "messages": [user("x y z")]},
    ) as source:
        _ = [e async for e in source.aiter_sse()]
    await client.post("/mj/submit/imagine", json={"prompt": "gore"})

    ledger = sim.ledger
    assert ledger.requests == {
        "chat": 2,
        "messages": 2,
        "image_generation": 2,
        "image_edit": 1,
        "embeddings": 1,
        "mj_imagine": 1,
        "mj_blend": 1,
        "mj_action": 1,
    }
    assert ledger.input_tokens == reported["input"]
    assert ledger.output_tokens == reported["output"]
    assert ledger.total_tokens == reported["input"] + reported["output"]
    assert ledger.image_tokens == reported["image_tokens"]
    assert ledger.images == reported["images"] == 4
    assert ledger.mj_tasks == 3
