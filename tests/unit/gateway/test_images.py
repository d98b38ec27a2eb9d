"""Image generation and edits: base64 decoding, immediate download of URLs, multipart edits."""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json

import httpx
import pytest

from bot import errors
from bot.gateway.client import UploadFile
from tests.unit.gateway.conftest import BASE, KEY, MakeClient, json_reply

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
JPEG = b"\xff\xd8\xff\xe0" + b"\x01" * 40
IMAGE_USAGE = {
    "total_tokens": 100,
    "input_tokens": 50,
    "output_tokens": 50,
    "input_tokens_details": {"text_tokens": 10, "image_tokens": 40},
}
CDN = "https://cdn.example.test/img-abc.png"


def multipart_parts(request: httpx.Request) -> list[tuple[str, str | None, bytes]]:
    """(field name, file name, content) of every part, in order."""
    head = f"Content-Type: {request.headers['content-type']}\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + request.content)
    parts = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        assert isinstance(payload, bytes)
        parts.append((str(name), part.get_filename(), payload))
    return parts


async def test_generate_decodes_b64_json_and_usage(make_client: MakeClient) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_reply(
            {"created": 1, "data": [{"b64_json": base64.b64encode(PNG).decode()}], "usage": IMAGE_USAGE},
            headers={"x-oneapi-request-id": "req-42"},
        )

    result = await make_client(handler).generate_image(
        "a fox", "gpt-image-1", size="1024x1024", quality="high"
    )

    (request,) = seen
    assert str(request.url) == f"{BASE}/v1/images/generations"
    assert json.loads(request.content) == {
        "model": "gpt-image-1",
        "prompt": "a fox",
        "n": 1,
        "size": "1024x1024",
        "quality": "high",
    }
    assert request.extensions["timeout"]["read"] == 300.0
    assert result.images == [PNG]
    assert result.model == "gpt-image-1"
    assert result.request_id == "req-42"
    assert result.usage is not None
    assert result.usage.total_tokens == 100
    assert result.usage.input_tokens_details is not None
    assert result.usage.input_tokens_details.image_tokens == 40


async def test_generate_with_invalid_base64_is_malformed(make_client: MakeClient) -> None:
    client = make_client(lambda _r: json_reply({"data": [{"b64_json": "not base64!!"}]}))
    with pytest.raises(errors.MalformedResponse):
        await client.generate_image("a fox", "gpt-image-1")


async def test_generate_without_any_image_is_malformed(make_client: MakeClient) -> None:
    with pytest.raises(errors.MalformedResponse):
        await make_client(lambda _r: json_reply({"data": [{}]})).generate_image("a fox", "dall-e-3")
    with pytest.raises(errors.MalformedResponse):
        await make_client(lambda _r: json_reply({"data": []})).generate_image("a fox", "dall-e-3")


async def test_generate_downloads_url_images_without_the_key(make_client: MakeClient) -> None:
    downloads: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "cdn.example.test":
            downloads.append(request)
            return httpx.Response(200, headers={"content-type": "image/png"}, content=PNG)
        return json_reply({"created": 1, "data": [{"url": CDN, "revised_prompt": "a red fox"}]})

    result = await make_client(handler).generate_image("a fox", "dall-e-3")

    assert result.images == [PNG]
    assert result.usage is not None
    (download,) = downloads
    assert str(download.url) == CDN
    assert "authorization" not in download.headers
    assert KEY not in str(download.headers)


async def test_data_url_images_are_decoded(make_client: MakeClient) -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    result = await make_client(lambda _r: json_reply({"data": [{"url": url}]})).generate_image("x", "m")
    assert result.images == [PNG]


@pytest.mark.parametrize("content_type", ["text/html; charset=utf-8", "application/json", "text/plain"])
async def test_download_refuses_a_page_that_is_not_an_image(
    make_client: MakeClient, content_type: str
) -> None:
    def handler(_r: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": content_type}, content=b"<html>expired</html>")

    with pytest.raises(errors.DownloadRefused):
        await make_client(handler).download(CDN)


async def test_download_accepts_octet_stream(make_client: MakeClient) -> None:
    def handler(_r: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "application/octet-stream"}, content=JPEG)

    assert await make_client(handler).download(CDN) == JPEG


async def test_download_refuses_oversize_images(make_client: MakeClient) -> None:
    def handler(_r: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-type": "image/png"}, content=PNG.ljust(5000, b"x"))

    client = make_client(handler, max_download_bytes=4096)
    with pytest.raises(errors.DownloadRefused):
        await client.download(CDN)
    with pytest.raises(errors.DownloadRefused):
        await client.download(CDN, max_bytes=100)
    assert len(await client.download(CDN, max_bytes=5000)) == 5000


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://cdn.example.test/a.png", "javascript:alert(1)", "//cdn/a.png", ""]
)
async def test_download_refuses_other_schemes(make_client: MakeClient, url: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected, got {request.url}")

    with pytest.raises(errors.DownloadRefused):
        await make_client(handler).download(url)


async def test_download_http_errors_and_timeouts(make_client: MakeClient) -> None:
    with pytest.raises(errors.Unavailable):
        await make_client(lambda _r: httpx.Response(404, text="gone")).download(CDN)

    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(errors.GatewayTimeout):
        await make_client(slow).download(CDN)


async def test_download_follows_redirects(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old.png":
            return httpx.Response(302, headers={"location": CDN})
        return httpx.Response(200, headers={"content-type": "image/png"}, content=PNG)

    assert await make_client(handler).download("https://cdn.example.test/old.png") == PNG


async def test_edit_sends_one_multipart_request_with_every_image(make_client: MakeClient) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_reply(
            {"created": 1, "data": [{"b64_json": base64.b64encode(PNG).decode()}], "usage": IMAGE_USAGE}
        )

    images = [UploadFile("kit.png", PNG, "image/png"), UploadFile("soap.jpg", JPEG, "image/jpeg")]
    result = await make_client(handler).edit_images(images, "a gift basket", "gpt-image-1", quality="high")

    (request,) = seen
    assert str(request.url) == f"{BASE}/v1/images/edits"
    assert request.headers["authorization"] == f"Bearer {KEY}"
    assert request.headers["content-type"].startswith("multipart/form-data")
    parts = multipart_parts(request)
    fields = {name: content.decode() for name, filename, content in parts if filename is None}
    assert fields == {"model": "gpt-image-1", "prompt": "a gift basket", "quality": "high"}
    files = [(name, filename, content) for name, filename, content in parts if filename is not None]
    assert files == [("image[]", "kit.png", PNG), ("image[]", "soap.jpg", JPEG)]
    assert result.images == [PNG]


async def test_dall_e_edit_asks_for_base64_and_sends_the_mask(make_client: MakeClient) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_reply({"data": [{"b64_json": base64.b64encode(PNG).decode()}]})

    await make_client(handler).edit_images(
        [UploadFile("a.png", PNG, "image/png")],
        "add a hat",
        "dall-e-2",
        mask=UploadFile("mask.png", PNG, "image/png"),
        size="512x512",
    )
    parts = multipart_parts(seen[0])
    fields = {name: content.decode() for name, filename, content in parts if filename is None}
    assert fields["model"] == "dall-e-2"
    assert fields["response_format"] == "b64_json"
    assert fields["size"] == "512x512"
    assert [name for name, filename, _ in parts if filename is not None] == ["image[]", "mask"]


async def test_edit_payload_too_large(make_client: MakeClient) -> None:
    client = make_client(lambda _r: json_reply({"error": {"message": "request body too large"}}, 413))
    with pytest.raises(errors.PayloadTooLarge):
        await client.edit_images([UploadFile("a.png", PNG, "image/png")], "x", "gpt-image-1")


async def test_data_url_downloads_obey_the_size_cap(make_client: MakeClient) -> None:
    url = "data:image/png;base64," + base64.b64encode(PNG.ljust(5000, b"x")).decode()
    client = make_client(lambda _r: httpx.Response(500), max_download_bytes=4096)
    with pytest.raises(errors.DownloadRefused):
        await client.download(url)
    assert len(await client.download(url, max_bytes=5000)) == 5000


@pytest.mark.parametrize(
    ("call", "read_timeout"),
    [("generate", 300.0), ("imagine", 60.0), ("fetch", 30.0), ("download", 30.0)],
)
async def test_each_call_kind_has_its_read_timeout(
    make_client: MakeClient, call: str, read_timeout: float
) -> None:
    seen: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"]["read"])
        if request.url.path.endswith("/fetch"):
            return json_reply({"id": "1"})
        if request.url.path.startswith("/mj/"):
            return json_reply({"code": 1, "result": "1"})
        if request.url.host == "cdn.example.test":
            return httpx.Response(200, headers={"content-type": "image/png"}, content=PNG)
        return json_reply({"data": [{"b64_json": base64.b64encode(PNG).decode()}]})

    client = make_client(handler)
    if call == "generate":
        await client.generate_image("x", "gpt-image-1")
    elif call == "imagine":
        await client.mj_imagine("x")
    elif call == "fetch":
        await client.mj_fetch("1")
    else:
        await client.download(CDN)
    assert seen == [read_timeout]
