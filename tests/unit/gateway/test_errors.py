"""HTTP results → the client's exception tree; the key never leaks into errors or logs."""

from __future__ import annotations

import email.utils
import logging
import traceback
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from bot import errors
from tests.unit.gateway.conftest import KEY, MakeClient, json_reply

MESSAGES = [{"role": "user", "content": "hi"}]


def openai_error(message: str, status: int, code: str = "") -> httpx.Response:
    return json_reply({"error": {"message": message, "type": "new_api_error", "code": code}}, status)


def everything_about(exc: BaseException) -> str:
    """All text an exception could put into a log or a chat."""
    parts = [str(exc), repr(exc), *map(str, exc.args), "".join(traceback.format_exception(exc))]
    parts += [str(getattr(exc, name, "")) for name in ("user_message", "detail", "request_id", "description")]
    return "\n".join(parts)


async def raised_by(make_client: MakeClient, response: httpx.Response) -> errors.GatewayError:
    client = make_client(lambda _r: response)
    with pytest.raises(errors.GatewayError) as info:
        await client.chat("gpt-4o-mini", MESSAGES)
    return info.value


@pytest.mark.parametrize(
    ("status", "message", "expected"),
    [
        (401, "无效的令牌 (request id: 2025061412)", errors.AuthError),
        (403, "用户额度不足, 剩余额度: $0.00 (request id: 2025061413)", errors.QuotaError),
        (413, "request body too large (request id: 2025061414)", errors.PayloadTooLarge),
        (500, "upstream error: do request failed (request id: 2025061415)", errors.Unavailable),
        (502, "bad gateway", errors.Unavailable),
        (504, "gateway timeout", errors.Unavailable),
        (
            503,
            "当前分组 default 下对于模型 gpt-x 无可用渠道 (request id: 2025061416)",
            errors.ModelUnavailable,
        ),
        (503, "service temporarily unavailable", errors.Unavailable),
        (404, "Invalid URL (POST /v1/chat/completion)", errors.MalformedResponse),
    ],
)
async def test_status_maps_to_its_exception(
    make_client: MakeClient, status: int, message: str, expected: type[errors.GatewayError]
) -> None:
    exc = await raised_by(make_client, openai_error(message, status))
    assert type(exc) is expected
    assert exc.status == status
    assert message in str(exc)
    assert exc.user_message


async def test_request_id_is_taken_from_the_message(make_client: MakeClient) -> None:
    exc = await raised_by(make_client, openai_error("无效的令牌 (request id: 20250614121314abc)", 401))
    assert exc.request_id == "20250614121314abc"


async def test_rate_limited_carries_retry_after(make_client: MakeClient) -> None:
    response = json_reply(
        {"error": {"message": "rate limit reached", "type": "new_api_error"}},
        429,
        headers={"Retry-After": "17"},
    )
    exc = await raised_by(make_client, response)
    assert isinstance(exc, errors.RateLimited)
    assert exc.retry_after == 17.0
    assert "17 s" in exc.user_message


async def test_rate_limited_without_or_with_a_date_retry_after(make_client: MakeClient) -> None:
    exc = await raised_by(make_client, openai_error("slow down", 429))
    assert isinstance(exc, errors.RateLimited)
    assert exc.retry_after is None
    response = json_reply(
        {"error": {"message": "x"}}, 429, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}
    )
    exc = await raised_by(make_client, response)
    assert isinstance(exc, errors.RateLimited)
    assert exc.retry_after is None
    assert exc.user_message


async def test_rate_limited_with_a_future_date_retry_after(make_client: MakeClient) -> None:
    later = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    response = json_reply({"error": {"message": "x"}}, 429, headers={"Retry-After": later})
    exc = await raised_by(make_client, response)
    assert isinstance(exc, errors.RateLimited)
    assert exc.retry_after is not None and 80 < exc.retry_after <= 90


@pytest.mark.parametrize("value", ["inf", "nan", "-5", "soon"])
async def test_rate_limited_ignores_retry_after_that_is_no_wait(make_client: MakeClient, value: str) -> None:
    response = json_reply({"error": {"message": "x"}}, 429, headers={"Retry-After": value})
    exc = await raised_by(make_client, response)
    assert isinstance(exc, errors.RateLimited)
    assert exc.retry_after is None
    assert exc.user_message.endswith("in a minute.")


@pytest.mark.parametrize(
    "body",
    [
        {
            "error": {
                "message": "Invalid value for 'n' (request id: 20250614aa)",
                "type": "invalid_request_error",
            }
        },
        {"type": "error", "error": {"type": "invalid_request_error", "message": "Invalid value for 'n'"}},
        {"description": "Invalid value for 'n' ", "type": "upstream_error", "code": 4},
        {"error": "Invalid value for 'n'"},
    ],
    ids=["openai", "anthropic", "midjourney", "bare-string"],
)
async def test_bad_request_shapes_keep_the_gateway_message(make_client: MakeClient, body: object) -> None:
    exc = await raised_by(make_client, json_reply(body, 400))
    assert isinstance(exc, errors.BadRequest)
    assert exc.status == 400
    assert "Invalid value for 'n'" in exc.detail
    assert exc.user_message == "The gateway rejected the request: Invalid value for 'n'"
    assert "request id" not in exc.user_message


async def test_mj_overload_429_is_mj_busy(make_client: MakeClient) -> None:
    client = make_client(
        lambda _r: json_reply(
            {"description": "当前分组负载已饱和，请稍后再试 ", "type": "upstream_error", "code": 30}, 429
        ),
        mj_busy_attempts=1,
    )
    with pytest.raises(errors.MjBusy) as info:
        await client.mj_fetch("1730621826053455")
    assert info.value.code == 30
    assert info.value.status == 429


async def test_html_with_status_200_is_malformed(make_client: MakeClient) -> None:
    response = httpx.Response(
        200, headers={"content-type": "text/html; charset=utf-8"}, text="<!doctype html>"
    )
    exc = await raised_by(make_client, response)
    assert isinstance(exc, errors.MalformedResponse)
    assert "HTML" in str(exc)


@pytest.mark.parametrize("content", [b"\x00\xff garbage", b"", b'{"choices": [', b"\xff\xfe\x00"])
async def test_garbage_body_with_status_200_is_malformed(make_client: MakeClient, content: bytes) -> None:
    response = httpx.Response(200, headers={"content-type": "application/json"}, content=content)
    exc = await raised_by(make_client, response)
    assert isinstance(exc, errors.MalformedResponse)


async def test_json_of_the_wrong_shape_is_malformed(make_client: MakeClient) -> None:
    exc = await raised_by(make_client, json_reply({"choices": "nope"}))
    assert isinstance(exc, errors.MalformedResponse)
    exc = await raised_by(make_client, json_reply([1, 2, 3]))
    assert isinstance(exc, errors.MalformedResponse)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (401, errors.AuthError),
        (413, errors.PayloadTooLarge),
        (429, errors.RateLimited),
        (502, errors.Unavailable),
        (503, errors.Unavailable),
    ],
)
async def test_status_decides_even_when_a_proxy_answers_html_or_text(
    make_client: MakeClient, status: int, expected: type[errors.GatewayError]
) -> None:
    # nginx in front of the gateway answers 413/502 with its own HTML page.
    html = httpx.Response(status, headers={"content-type": "text/html"}, text="<h1>nginx</h1>")
    assert type(await raised_by(make_client, html)) is expected
    text = httpx.Response(status, headers={"content-type": "text/plain"}, text="Too Many Requests")
    assert type(await raised_by(make_client, text)) is expected
    empty = httpx.Response(status)
    assert type(await raised_by(make_client, empty)) is expected


async def test_read_timeout_is_gateway_timeout(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("The read operation timed out", request=request)

    with pytest.raises(errors.GatewayTimeout):
        await make_client(handler).chat("m", MESSAGES)


async def test_connect_error_is_unavailable(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    with pytest.raises(errors.Unavailable):
        await make_client(handler).chat("m", MESSAGES)


async def test_the_key_never_appears_in_errors_or_logs(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out", request=request)

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    answers = [
        openai_error("无效的令牌 (request id: 1)", 401),
        openai_error("quota", 403),
        openai_error("bad", 400),
        openai_error("无可用渠道", 503),
        httpx.Response(500, text="boom"),
        # An upstream that echoes the key it was given.
        openai_error(f"Incorrect API key provided: {KEY} (request id: 2)", 401),
        json_reply({"type": "error", "error": {"message": f"bad header Bearer {KEY}"}}, 400),
        httpx.Response(200, headers={"content-type": "text/html"}, text="<html></html>"),
    ]
    raised: list[BaseException] = []
    for answer in answers:
        with pytest.raises(errors.GatewayError) as info:
            await make_client(lambda _r, a=answer: a).chat("m", MESSAGES)
        raised.append(info.value)
    for handler in (timeout, refused):
        with pytest.raises(errors.GatewayError) as info:
            await make_client(handler).chat("m", MESSAGES)
        raised.append(info.value)

    for exc in raised:
        assert KEY not in everything_about(exc)
    assert caplog.records
    assert KEY not in caplog.text
    assert all(KEY not in r.getMessage() for r in caplog.records)


# --- the exception classes themselves ------------------------------------------------------


def test_exceptions_build_without_detail() -> None:
    for cls in (
        errors.GatewayError,
        errors.AuthError,
        errors.QuotaError,
        errors.RateLimited,
        errors.BadRequest,
        errors.PayloadTooLarge,
        errors.Unavailable,
        errors.ModelUnavailable,
        errors.GatewayTimeout,
        errors.MalformedResponse,
    ):
        exc = cls()
        assert str(exc)
        assert exc.user_message


def test_rate_limited_user_message() -> None:
    assert "in 3 s" in errors.RateLimited("x", retry_after=3.2, status=429).user_message
    assert "a minute" in errors.RateLimited("x").user_message


def test_shorten_drops_request_id_and_caps_length() -> None:
    assert errors.shorten("prompt blocked (request id: 2025abc)") == "prompt blocked"
    long = "x" * 500
    assert len(errors.shorten(long)) == 200
    assert errors.shorten(long).endswith("…")


def test_mj_rejections() -> None:
    banned = errors.MjBanned(24, "可能包含敏感词")
    assert isinstance(banned, errors.MjRejected)
    assert "rephrase" in banned.user_message
    assert "queue" in errors.MjBusy(23, "队列已满").user_message
    rejected = errors.MjRejected(4, "base64List参数错误")
    assert "base64List参数错误" in rejected.user_message
    assert rejected.code == 4
