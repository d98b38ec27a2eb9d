"""POST /v1/images/generations and /v1/images/edits."""

from __future__ import annotations

import asyncio
import base64
import math
from typing import Any

import httpx

from simulator import Simulator

from .util import AUTH, decode_png, picture


async def generate(client: httpx.AsyncClient, **body: Any) -> httpx.Response:
    return await client.post("/v1/images/generations", json=body)


async def test_dalle3_returns_served_url_with_revised_prompt(client: httpx.AsyncClient) -> None:
    response = await generate(
        client, model="dall-e-3", prompt="一只可爱的小海獭", quality="hd", style="vivid", size="1792x1024"
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "usage" not in body
    (item,) = body["data"]
    assert item["revised_prompt"].startswith("一只可爱的小海獭")
    image = await client.get(item["url"])
    assert image.status_code == 200
    assert decode_png(image.content).size == (64, 37)  # 1792x1024 scaled to a 64 px long edge


async def test_dalle_b64_json_on_request(client: httpx.AsyncClient) -> None:
    response = await generate(
        client, model="dall-e-2", prompt="cat", n=2, size="256x256", response_format="b64_json"
    )
    data = response.json()["data"]
    assert len(data) == 2
    first, second = (base64.b64decode(d["b64_json"]) for d in data)
    assert decode_png(first).size == (64, 64)
    assert first != second  # each of n images differs


async def test_gpt_image_1_returns_b64_and_usage(client: httpx.AsyncClient) -> None:
    response = await generate(client, model="gpt-image-1", prompt="a red fox", quality="high", n=2)
    assert response.status_code == 200
    body = response.json()
    assert all(set(item) == {"b64_json"} for item in body["data"])
    text = math.ceil(len("a red fox") / 4)
    assert body["usage"] == {
        "total_tokens": text + 2 * 4160,
        "input_tokens": text,
        "output_tokens": 2 * 4160,
        "input_tokens_details": {"text_tokens": text, "image_tokens": 0},
    }


async def test_generation_validation(client: httpx.AsyncClient) -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"model": "dall-e-3"}, "Missing required parameter: 'prompt'"),
        ({"model": "dall-e-2", "prompt": "x" * 1001}, "maximum length 1000"),
        ({"model": "dall-e-3", "prompt": "x" * 4001}, "maximum length 4000"),
        ({"model": "gpt-image-1", "prompt": "x" * 32001}, "maximum length 32000"),
        ({"model": "dall-e-3", "prompt": "cat", "n": 2}, "n=1"),
        ({"model": "dall-e-2", "prompt": "cat", "n": 11}, "<= 10"),
        ({"model": "dall-e-3", "prompt": "cat", "size": "256x256"}, "Supported values for 'size'"),
        ({"model": "gpt-image-1", "prompt": "cat", "size": "1792x1024"}, "Supported values for 'size'"),
        ({"model": "dall-e-3", "prompt": "cat", "quality": "ultra"}, "'quality'"),
        ({"model": "dall-e-2", "prompt": "cat", "response_format": "png"}, "'response_format'"),
    ]
    for body, fragment in cases:
        response = await generate(client, **body)
        assert response.status_code == 400, body
        error = response.json()["error"]
        assert fragment in error["message"], (body, error)
    assert (await generate(client, model="gpt-image-1", prompt="x" * 32000)).status_code == 200


async def test_served_urls_expire() -> None:
    sim = Simulator(image_px=32, url_ttl_seconds=0.2)
    await sim.start()
    try:
        async with httpx.AsyncClient(base_url=sim.base_url, headers=AUTH) as client:
            url = (await generate(client, model="dall-e-2", prompt="cat")).json()["data"][0]["url"]
            assert (await client.get(url)).status_code == 200
            await asyncio.sleep(0.3)
            assert (await client.get(url)).status_code == 404
    finally:
        await sim.stop()


# ---- edits ------------------------------------------------------------------


async def edit(
    client: httpx.AsyncClient, files: list[tuple[str, tuple[str, bytes, str]]], **fields: str
) -> httpx.Response:
    return await client.post("/v1/images/edits", data=fields, files=files)


async def test_gpt_image_1_edit_with_several_field_names(client: httpx.AsyncClient, sim: Simulator) -> None:
    files = [
        ("image[]", ("a.png", picture("red", (40, 40)), "image/png")),
        ("image[]", ("b.webp", picture("blue", (40, 40), "WEBP"), "image/webp")),
        ("image", ("c.jpg", picture("green", (40, 40), "JPEG"), "image/jpeg")),
        ("image[3]", ("d.png", picture("yellow", (40, 40)), "image/png")),
    ]
    response = await edit(client, files, model="gpt-image-1", prompt="gift basket", quality="low")
    assert response.status_code == 200, response.text
    body = response.json()
    output = decode_png(base64.b64decode(body["data"][0]["b64_json"])).convert("RGB")
    assert output.size == (64, 64)
    # Inputs tiled 2x2 under a light tint: top-left stays red, top-right blue.
    red = output.getpixel((2, 2))
    blue = output.getpixel((62, 2))
    assert isinstance(red, tuple) and isinstance(blue, tuple)
    assert red[0] > 150 and red[2] < 100
    assert blue[2] > 150 and blue[0] < 100
    text = math.ceil(len("gift basket") / 4)
    assert body["usage"]["input_tokens_details"] == {"text_tokens": text, "image_tokens": 4 * 85}
    assert body["usage"]["output_tokens"] == 272
    record = sim.requests[-1]
    assert record.file_count == 4
    assert record.form == {"model": "gpt-image-1", "prompt": "gift basket", "quality": "low"}
    assert all(size > 0 for size in record.file_sizes)


async def test_gpt_image_1_edit_rejections(client: httpx.AsyncClient) -> None:
    good = ("image[]", ("a.png", picture(), "image/png"))
    corrupt = ("image[]", ("b.png", b"\x89PNG\r\n\x1a\nnot really", "image/png"))
    gif = ("image[]", ("c.gif", picture(fmt="GIF"), "image/gif"))
    cases = [
        ([good, corrupt], {"prompt": "x"}, "image 2"),
        ([gif], {"prompt": "x"}, "image 1"),
        ([good] * 17, {"prompt": "x"}, "at most 16"),
        ([good], {"prompt": "x" * 32001}, "maximum length 32000"),
        ([good], {}, "prompt"),
        ([("note", ("n.txt", b"x", "text/plain"))], {"prompt": "x"}, "'image'"),
    ]
    for files, fields, fragment in cases:
        response = await edit(client, files, model="gpt-image-1", **fields)
        assert response.status_code == 400, (fragment, response.text)
        assert fragment in response.json()["error"]["message"]
    as_text = await client.post(
        "/v1/images/edits",
        data={"model": "gpt-image-1", "prompt": "x", "image[]": "a.png"},
        files=[("other", ("x.txt", b"x", "text/plain"))],
    )
    assert as_text.status_code == 400
    assert "file upload" in as_text.json()["error"]["message"]
    not_multipart = await client.post("/v1/images/edits", json={"prompt": "x"})
    assert not_multipart.status_code == 400


async def test_dalle2_edit_is_the_default(client: httpx.AsyncClient) -> None:
    square = picture("red", (32, 32))
    ok = await edit(client, [("image[]", ("a.png", square, "image/png"))], prompt="add a hat", size="512x512")
    assert ok.status_code == 200, ok.text
    url = ok.json()["data"][0]["url"]
    assert "usage" not in ok.json()
    assert decode_png((await client.get(url)).content).size == (64, 64)
    cases = [
        ([("image[]", ("a.png", picture("red", (32, 20)), "image/png"))], {}, "square"),
        ([("image[]", ("a.jpg", picture("red", (32, 32), "JPEG"), "image/jpeg"))], {}, "PNG"),
        ([("image[]", ("a.png", square, "image/png"))] * 2, {}, "exactly one"),
        (
            [
                ("image", ("a.png", square, "image/png")),
                ("mask", ("m.png", picture("red", (16, 16)), "image/png")),
            ],
            {},
            "same dimensions",
        ),
        ([("image", ("a.png", square, "image/png"))], {"prompt": "x" * 1001}, "maximum length 1000"),
    ]
    for files, fields, fragment in cases:
        response = await edit(client, files, **{"prompt": "x", **fields})
        assert response.status_code == 400, fragment
        assert fragment in response.json()["error"]["message"]
    with_mask = await edit(
        client,
        [
            ("image", ("a.png", square, "image/png")),
            ("mask", ("m.png", picture("white", (32, 32)), "image/png")),
        ],
        prompt="x",
        response_format="b64_json",
    )
    assert "b64_json" in with_mask.json()["data"][0]


async def test_multipart_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    huge = ("image[]", ("a.png", b"\x00" * (2 * 1024 * 1024 + 1), "image/png"))
    response = await edit(client, [huge], model="gpt-image-1", prompt="x")
    assert response.status_code == 413
