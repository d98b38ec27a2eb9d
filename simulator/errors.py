"""Error bodies in the three shapes the gateway uses (API reference 2.4).

Handlers raise :class:`ApiError`; the pipeline turns it into a response. The
shape depends on the route family, never on the status code, except that auth
failures are always OpenAI-shaped because the gateway checks keys first.
"""

from __future__ import annotations

import functools
import json
import secrets
import time
from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from aiohttp import web

REQUEST_ID = web.RequestKey("sim_request_id", str)

dumps = functools.partial(json.dumps, ensure_ascii=False)


class Family(StrEnum):
    OPENAI = "openai"
    ANTHROPIC = "anthropic"
    MIDJOURNEY = "midjourney"


def family_of(path: str) -> Family:
    if path.startswith("/v1/messages"):
        return Family.ANTHROPIC
    if path.startswith("/mj/"):
        return Family.MIDJOURNEY
    return Family.OPENAI


def new_request_id() -> str:
    """new-api style: a timestamp followed by random hex."""
    return time.strftime("%Y%m%d%H%M%S") + secrets.token_hex(8)


class ApiError(Exception):
    """An error response ready to be sent; raised anywhere below the pipeline."""

    def __init__(self, status: int, body: Any, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body
        self.headers = dict(headers or {})

    def response(self) -> web.Response:
        return web.json_response(self.body, status=self.status, headers=self.headers, dumps=dumps)


def with_request_id(request: web.Request, message: str) -> str:
    return f"{message} (request id: {request.get(REQUEST_ID, '')})"


def openai_error(
    request: web.Request,
    status: int,
    message: str,
    *,
    type_: str = "invalid_request_error",
    code: str = "",
    headers: Mapping[str, str] | None = None,
) -> ApiError:
    body = {
        "error": {
            "message": with_request_id(request, message),
            "type": type_,
            "code": code,
        }
    }
    return ApiError(status, body, headers)


_ANTHROPIC_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    503: "overloaded_error",
    529: "overloaded_error",
}


def anthropic_error(
    request: web.Request,
    status: int,
    message: str,
    *,
    type_: str | None = None,
    headers: Mapping[str, str] | None = None,
) -> ApiError:
    body = {
        "type": "error",
        "error": {
            "type": type_ or _ANTHROPIC_TYPES.get(status, "api_error"),
            "message": with_request_id(request, message),
        },
    }
    return ApiError(status, body, headers)


def mj_error(
    status: int,
    description: str,
    code: int,
    *,
    result: str = "",
    headers: Mapping[str, str] | None = None,
) -> ApiError:
    """Shape (c): new-api joins the description and the (usually empty) result with a space."""
    body = {"description": f"{description} {result}", "type": "upstream_error", "code": code}
    return ApiError(status, body, headers)


def family_error(
    request: web.Request,
    status: int,
    message: str,
    *,
    code: str = "",
    headers: Mapping[str, str] | None = None,
) -> ApiError:
    """An error in whatever shape the request's route family uses."""
    family = family_of(request.path)
    if family is Family.ANTHROPIC:
        return anthropic_error(request, status, message, headers=headers)
    if family is Family.MIDJOURNEY:
        mj_code = 30 if status == 429 else (4 if status < 500 else 5)
        return mj_error(status, message, mj_code, headers=headers)
    type_ = "new_api_error" if status < 500 else "upstream_error"
    return openai_error(request, status, message, type_=type_, code=code, headers=headers)
