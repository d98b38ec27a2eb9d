"""Reading the gateway's HTTP answers: JSON or an exception from the tree (wenwen-api.md §2.4, §2.5).

Every message that reaches an exception or a log line passes `redact` first: upstreams
sometimes echo the key they were given.
"""

from __future__ import annotations

import json
import logging
import math
import re
import uuid
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from bot import errors

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)

_REQUEST_ID = re.compile(r"\(request id: ([^)]+)\)")


def decode(response: httpx.Response, path: str) -> Any:
    """The JSON body; HTML or garbage on a success status is a malformed answer."""
    content_type = response.headers.get("content-type", "")
    if "html" in content_type and response.status_code < 400:
        # new-api answers unknown paths with its console page and status 200.
        raise errors.MalformedResponse(
            f"{path} answered HTML (wrong base URL or path?)", status=response.status_code
        )
    try:
        return response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        if response.status_code >= 400:
            # A proxy's own error page (nginx 413/502, plain-text 429): the status says enough.
            return {}
        raise errors.MalformedResponse(
            f"{path} answered a body that is not JSON", status=response.status_code
        ) from None


def is_binary(response: httpx.Response) -> bool:
    """A media answer (audio), not JSON, HTML or text."""
    content_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return bool(content_type) and not content_type.startswith(("text/", "application/json"))


def parse(model: type[M], payload: Any, path: str) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise errors.MalformedResponse(
            f"{path}: unexpected answer shape ({exc.error_count()} errors)"
        ) from None


def gateway_message(payload: Any) -> str:
    """The gateway's message from any of its three error shapes."""
    if isinstance(payload, dict):
        err = payload.get("error")
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])
        if isinstance(err, str):
            return err
        if payload.get("description"):
            return str(payload["description"]).strip()
        if payload.get("message"):
            return str(payload["message"])
    return ""


def request_id(response: httpx.Response, payload: Any) -> str:
    found = _REQUEST_ID.search(gateway_message(payload))
    if found:
        return found.group(1)
    for header in ("x-oneapi-request-id", "x-request-id"):
        if header in response.headers:
            return response.headers[header]
    if isinstance(payload, dict) and isinstance(payload.get("id"), str):
        return str(payload["id"])
    return uuid.uuid4().hex


def retry_after(response: httpx.Response) -> float | None:
    """Seconds from a Retry-After header, which holds delay-seconds or an HTTP date."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
        return seconds if seconds > 0 else None  # a date already past says nothing
    # "inf" and "nan" parse as floats; neither is a wait anyone can show or sleep.
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def error_for(
    response: httpx.Response, payload: Any, path: str, secret: SecretStr | None = None
) -> errors.GatewayError:
    """The exception for an error status; the status class decides, not the message text."""
    status = response.status_code
    message = redact(gateway_message(payload), secret)
    request = request_id(response, payload)
    detail = message or f"HTTP {status}"
    log.warning("gateway error on %s: %s %s", path, status, detail)
    kw: dict[str, Any] = {"status": status, "request_id": request}
    if isinstance(payload, dict) and payload.get("code") == 30:
        return errors.MjBusy(30, detail, **kw)  # Midjourney group overloaded (HTTP 429)
    if status == 401:
        return errors.AuthError(detail, **kw)
    if status == 403:
        return errors.QuotaError(detail, **kw)
    if status == 413:
        return errors.PayloadTooLarge(detail, **kw)
    if status == 429:
        return errors.RateLimited(detail, retry_after=retry_after(response), **kw)
    if status == 503 and "无可用渠道" in message:
        return errors.ModelUnavailable(detail, **kw)
    if status >= 500:
        return errors.Unavailable(detail, **kw)
    if status == 404:
        # A wrong path or base URL: our configuration, not a bad request.
        return errors.MalformedResponse(f"{path} not found on the gateway: {detail}", **kw)
    return errors.BadRequest(detail, **kw)


def redact(text: str, secret: SecretStr | None) -> str:
    """Upstreams sometimes echo the key they were given; it must not reach logs or chats."""
    if secret is None:
        return text
    key = secret.get_secret_value()
    for form in (key, key.removeprefix("sk-")):
        if len(form) >= 6:
            text = text.replace(form, "***")
    return text


def mj_failure(code: int, description: str) -> errors.MjRejected:
    """A submit answered with a failure code (wenwen-api.md §6.3): banned, busy, or refused."""
    if code == 24:
        return errors.MjBanned(code, description)
    if code in (23, 30):
        return errors.MjBusy(code, description)
    return errors.MjRejected(code, description)
