"""Auth, routing, size limit and request ids: the parts every endpoint shares."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from simulator import Simulator

from .util import KEY, assert_request_id, user

CHAT = {"model": "gpt-4o-mini", "messages": [user("hi")]}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/chat/completions", CHAT),
        ("POST", "/v1/messages", {"model": "claude", "max_tokens": 5, "messages": [user("hi")]}),
        ("POST", "/v1/images/generations", {"prompt": "cat"}),
        ("POST", "/v1/embeddings", {"model": "m", "input": "x"}),
        ("GET", "/v1/models", None),
        ("POST", "/mj/submit/imagine", {"prompt": "cat"}),
        ("GET", "/mj/task/1234567890123456/fetch", None),
    ],
)
async def test_missing_or_wrong_key_is_401_openai_shape_everywhere(
    anon: httpx.AsyncClient, method: str, path: str, body: object
) -> None:
    missing = await anon.request(method, path, json=body)
    wrong = await anon.request(method, path, json=body, headers={"Authorization": "Bearer nope"})
    for response in (missing, wrong):
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["type"] == "new_api_error"
        assert_request_id(error["message"])
    assert missing.json()["error"]["message"].startswith("未提供令牌")
    assert wrong.json()["error"]["message"].startswith("无效的令牌")


async def test_alternative_key_headers_only_where_the_gateway_accepts_them(
    anon: httpx.AsyncClient,
) -> None:
    x_api_key = {"x-api-key": KEY}
    messages = {"model": "claude", "max_tokens": 50, "messages": [user("hi")]}
    assert (await anon.post("/v1/messages", json=messages, headers=x_api_key)).status_code == 200
    assert (await anon.get("/v1/models", headers=x_api_key)).status_code == 200
    assert (await anon.post("/v1/chat/completions", json=CHAT, headers=x_api_key)).status_code == 401
    secret = {"mj-api-secret": KEY}
    assert (await anon.post("/mj/submit/imagine", json={"prompt": "cat"}, headers=secret)).json()["code"] == 1
    assert (await anon.post("/v1/chat/completions", json=CHAT, headers=secret)).status_code == 401


async def test_sk_prefix_and_bare_key_are_accepted(anon: httpx.AsyncClient) -> None:
    for value in (f"Bearer sk-{KEY}", KEY):
        response = await anon.post("/v1/chat/completions", json=CHAT, headers={"Authorization": value})
        assert response.status_code == 200, value


async def test_unknown_v1_path_is_404_invalid_url(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/xyz", json={})
    assert response.status_code == 404
    message = response.json()["error"]["message"]
    assert message.startswith("Invalid URL (POST /v1/xyz)")
    assert_request_id(message)
    # Wrong method on a known path is also "Invalid URL", like gin's NoRoute.
    wrong_method = await client.get("/v1/chat/completions")
    assert wrong_method.status_code == 404
    assert "Invalid URL (GET /v1/chat/completions)" in wrong_method.json()["error"]["message"]


async def test_unknown_paths_outside_v1_get_the_console_html_with_200(anon: httpx.AsyncClient) -> None:
    for path in ("/chat/completions", "/mj/submit/imagin", "/"):
        response = await anon.post(path, json={})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/html")
        assert '<div id="root">' in response.text


async def test_request_id_header_on_every_answer(client: httpx.AsyncClient) -> None:
    response = await client.post("/v1/chat/completions", json=CHAT)
    error = await client.post("/v1/chat/completions", json={"messages": []})
    assert response.headers["x-oneapi-request-id"]
    rid = error.headers["x-oneapi-request-id"]
    assert error.json()["error"]["message"].endswith(f"(request id: {rid})")


async def test_body_over_limit_is_413_even_when_chunked(client: httpx.AsyncClient) -> None:
    big = "x" * (2 * 1024 * 1024 + 10)
    response = await client.post("/v1/chat/completions", json={"model": "m", "messages": [user(big)]})
    assert response.status_code == 413
    assert_request_id(response.json()["error"]["message"])

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the limit must hold while reading
        for _ in range(3):
            yield b"x" * (1024 * 1024)

    chunked = await client.post("/v1/embeddings", content=chunks())
    assert chunked.status_code == 413
    messages = await client.post("/v1/messages", content=big.encode())
    assert messages.status_code == 413
    assert messages.json()["type"] == "error"


async def test_invalid_json_is_400_in_each_family_shape(client: httpx.AsyncClient) -> None:
    openai = await client.post("/v1/chat/completions", content=b"{nope")
    anthropic = await client.post("/v1/messages", content=b"{nope")
    mj = await client.post("/mj/submit/imagine", content=b"{nope")
    assert openai.status_code == anthropic.status_code == mj.status_code == 400
    assert "error" in openai.json()
    assert anthropic.json()["type"] == "error"
    assert mj.json()["type"] == "upstream_error"
    assert mj.json()["description"].startswith("bind_request_body_failed")


async def test_request_log_redacts_secrets_and_shortens_base64(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    blob = "QUJD" * 500
    await client.post(
        "/mj/submit/imagine", json={"prompt": "cat", "base64Array": [f"data:image/png;base64,{blob}"]}
    )
    record = sim.requests[-1]
    assert record.headers["authorization"] == "<redacted>"
    assert KEY not in str(record.as_dict())
    logged = record.json["base64Array"][0]
    assert len(logged) < 100
    assert logged.endswith(f"<{len(blob) + 22} chars>")
    assert record.status == 200
