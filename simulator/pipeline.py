"""The middleware every gateway request passes: routing, auth, size limit, faults, logging.

Order follows new-api: unknown routes are answered before auth (404 under
/v1, the console's HTML page elsewhere), then the key is checked, then the
body size, then any injected fault, then the endpoint handler.
"""

from __future__ import annotations

import asyncio
import logging
import secrets

from aiohttp import web
from aiohttp.typedefs import Handler

from .bodies import drain, too_large
from .errors import REQUEST_ID, ApiError, family_error, new_request_id, openai_error
from .faults import Fault
from .midjourney import submit_reply
from .records import RECORD, RecordedRequest
from .state import SimState, sim_state

log = logging.getLogger(__name__)

CONTROL_PREFIX = "/__sim"
PUBLIC_PREFIXES = ("/mj/image/",)
_EARLY_KINDS = frozenset({"status", "timeout", "garbage", "html", "slow_first_byte", "slow_answer"})

CONSOLE_HTML = """<!doctype html>
<html lang="zh">
  <head>
    <meta charset="UTF-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1.0" />
    <title>New API</title>
    <script type="module" crossorigin src="/assets/index-sim.js"></script>
  </head>
  <body>
    <noscript>You need to enable JavaScript to run this app.</noscript>
    <div id="root"></div>
  </body>
</html>
"""
GARBAGE_BODY = '{"id": "chatcmpl-sim", "choices": [ <!-- upstream connection reset --> \x00\x01'

_STATUS_MESSAGES = {
    400: "bad request",
    401: "无效的令牌",
    403: "用户额度不足, 剩余额度: ＄0.000000",
    404: "not found",
    413: "request body too large",
    429: "当前分组上游负载已饱和，请稍后再试",
    500: "upstream error: internal server error",
    502: "upstream error: bad gateway",
    503: "当前分组 default 下对于模型 sim 无可用渠道",
    504: "upstream error: gateway timeout",
}
_STATUS_CODES = {403: "insufficient_user_quota", 429: "rate_limit_exceeded", 503: "model_not_found"}
_MJ_CODE_DESCRIPTIONS = {
    3: "无可用的账号实例",
    4: "参数错误",
    9: "系统异常",
    23: "队列已满，请稍后尝试",
    24: "可能包含敏感词",
}


def console_page() -> web.Response:
    return web.Response(text=CONSOLE_HTML, content_type="text/html")


def _normalise_key(raw: str) -> str:
    # new-api strips "Bearer " and the "sk-" prefix before looking the key up.
    return raw.strip().removeprefix("Bearer ").strip().removeprefix("sk-")


def _presented_key(request: web.Request) -> str | None:
    path = request.path
    headers = request.headers
    if ("/v1/messages" in path or "/v1/models" in path) and headers.get("x-api-key"):
        return headers["x-api-key"]
    if not headers.get("Authorization") and path.startswith("/mj/"):
        return headers.get("mj-api-secret")
    return headers.get("Authorization")


def check_auth(request: web.Request, api_key: str) -> None:
    presented = _presented_key(request)
    # Auth runs before the relay, so its errors are OpenAI-shaped on every route.
    if not presented or not _normalise_key(presented):
        raise openai_error(request, 401, "未提供令牌", type_="new_api_error")
    if not secrets.compare_digest(_normalise_key(presented).encode(), _normalise_key(api_key).encode()):
        raise openai_error(request, 401, "无效的令牌", type_="new_api_error")


def _retry_headers(fault: Fault) -> dict[str, str]:
    if fault.retry_after is None:
        return {}
    seconds = fault.retry_after
    return {"Retry-After": str(int(seconds)) if seconds == int(seconds) else str(seconds)}


def _from_middleware(status: int, message: str) -> bool:
    """Key, quota and channel checks run in new-api's middleware, before any relay format."""
    return status in (401, 403) or (status == 503 and "无可用渠道" in message)


def _status_error(request: web.Request, fault: Fault) -> ApiError:
    message = fault.message or _STATUS_MESSAGES.get(fault.status, f"upstream error: HTTP {fault.status}")
    headers = _retry_headers(fault)
    code = _STATUS_CODES.get(fault.status, "")
    if _from_middleware(fault.status, message):
        # OpenAI-shaped on every route, /v1/messages and /mj/* included (2.4 a).
        return openai_error(request, fault.status, message, type_="new_api_error", code=code, headers=headers)
    return family_error(request, fault.status, message, code=code, headers=headers)


async def _apply(request: web.Request, fault: Fault, handler: Handler) -> web.StreamResponse:
    if fault.kind == "slow_first_byte":
        await asyncio.sleep(fault.delay)
        return await handler(request)
    if fault.kind == "slow_answer":
        response = await handler(request)
        await asyncio.sleep(fault.delay)
        return response
    await drain(request)
    if fault.kind == "status":
        raise _status_error(request, fault)
    if fault.kind == "timeout":
        await asyncio.sleep(fault.delay)
        raise family_error(request, 504, fault.message or _STATUS_MESSAGES[504])
    if fault.kind == "garbage":
        return web.Response(text=GARBAGE_BODY, content_type="application/json")
    if fault.kind == "html":
        return console_page()
    # mj_code: the proxy's own rejection (HTTP 200), or new-api's overload (429 shape c).
    if fault.status == 30:
        raise family_error(
            request, 429, fault.message or "当前分组负载已饱和，请稍后再试", headers=_retry_headers(fault)
        )
    description = fault.message or _MJ_CODE_DESCRIPTIONS.get(fault.status, "提交失败")
    properties = {"promptEn": "", "bannedWord": "sim-fault"} if fault.status == 24 else {}
    return submit_reply(fault.status, description, None, properties)


async def _guarded(request: web.Request, handler: Handler, state: SimState) -> web.StreamResponse:
    path = request.path
    if request.match_info.http_exception is not None:
        await drain(request)
        if path == "/v1" or path.startswith("/v1/"):
            raise openai_error(request, 404, f"Invalid URL ({request.method} {path})")
        return console_page()
    if not path.startswith(PUBLIC_PREFIXES):
        try:
            check_auth(request, state.config.api_key)
        except ApiError:
            await drain(request)
            raise
    length = request.content_length
    if length is not None and length > state.config.max_body_bytes:
        await drain(request)
        raise too_large(request)
    kinds = _EARLY_KINDS | {"mj_code"} if path.startswith("/mj/submit/") else _EARLY_KINDS
    fault = state.faults.take(path, kinds)
    if fault is None:
        return await handler(request)
    request[RECORD].fault = fault.kind
    return await _apply(request, fault, handler)


@web.middleware
async def pipeline(request: web.Request, handler: Handler) -> web.StreamResponse:
    request[REQUEST_ID] = new_request_id()
    if request.path.startswith(CONTROL_PREFIX):
        return await handler(request)
    state = sim_state(request)
    record = RecordedRequest.of(request)
    state.requests.append(record)
    request[RECORD] = record
    try:
        response = await _guarded(request, handler, state)
    except ApiError as exc:
        response = exc.response()
    except Exception:
        log.exception("simulator handler failed: %s %s", request.method, request.path)
        response = family_error(request, 500, "simulator internal error").response()
    record.status = response.status
    return response


async def add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare hook: new-api tags every answer with its request id."""
    if REQUEST_ID in request:
        response.headers["X-Oneapi-Request-Id"] = request[REQUEST_ID]
