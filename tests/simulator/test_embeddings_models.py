"""POST /v1/embeddings and GET /v1/models."""

from __future__ import annotations

import base64
import math
import struct

import httpx

from .util import KEY


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_embeddings_are_deterministic_unit_vectors(client: httpx.AsyncClient) -> None:
    texts = ["a red fox jumps", "the red fox jumps high", "quarterly tax report", "a red fox jumps"]
    response = await client.post("/v1/embeddings", json={"model": "text-embedding-3-small", "input": texts})
    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list" and body["model"] == "text-embedding-3-small"
    vectors = [item["embedding"] for item in sorted(body["data"], key=lambda d: d["index"])]
    assert [item["index"] for item in body["data"]] == [0, 1, 2, 3]
    assert all(len(v) == 256 for v in vectors)
    assert all(math.isclose(cosine(v, v), 1.0, rel_tol=1e-9) for v in vectors)
    assert vectors[0] == vectors[3]
    assert cosine(vectors[0], vectors[1]) > 0.5 > cosine(vectors[0], vectors[2])
    tokens = sum(math.ceil(len(t) / 4) for t in texts)
    assert body["usage"] == {"prompt_tokens": tokens, "total_tokens": tokens}


async def test_embedding_options_and_errors(client: httpx.AsyncClient) -> None:
    single = await client.post("/v1/embeddings", json={"model": "m", "input": "hello", "dimensions": 8})
    assert len(single.json()["data"][0]["embedding"]) == 8
    packed = await client.post(
        "/v1/embeddings", json={"model": "m", "input": "hello", "dimensions": 8, "encoding_format": "base64"}
    )
    raw = base64.b64decode(packed.json()["data"][0]["embedding"])
    floats = struct.unpack("<8f", raw)
    expected = single.json()["data"][0]["embedding"]
    assert all(math.isclose(a, b, abs_tol=1e-6) for a, b in zip(floats, expected, strict=True))
    tokens = await client.post("/v1/embeddings", json={"model": "m", "input": [[1, 2, 3], [4]]})
    assert len(tokens.json()["data"]) == 2
    for body in (
        {"model": "m", "input": ""},
        {"model": "m", "input": []},
        {"input": "x"},
        {"model": "m", "input": "x", "dimensions": 0},
    ):
        assert (await client.post("/v1/embeddings", json=body)).status_code == 400, body


async def test_models_list_in_both_shapes(client: httpx.AsyncClient) -> None:
    body = (await client.get("/v1/models")).json()
    assert body["success"] is True and body["object"] == "list"
    ids = [m["id"] for m in body["data"]]
    for expected in (
        "gpt-4o-mini",
        "gpt-4o",
        "gpt-4o-image",
        "gemini-2.5-flash-image-preview",
        "claude-3-5-sonnet-20241022",
        "gpt-image-1",
        "dall-e-2",
        "dall-e-3",
        "text-embedding-3-small",
    ):
        assert expected in ids
    assert all(m["owned_by"] and m["supported_endpoint_types"] for m in body["data"])
    async with httpx.AsyncClient(base_url=str(client.base_url)) as sdk:
        anthropic = await sdk.get("/v1/models", headers={"x-api-key": KEY, "anthropic-version": "2023-06-01"})
    data = anthropic.json()
    assert data["has_more"] is False
    assert data["first_id"] == data["data"][0]["id"]
    assert data["data"][0]["type"] == "model"
