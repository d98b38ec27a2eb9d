"""The one HTTP client for the wenwen gateway: typed calls, explicit timeouts, one error tree."""

from __future__ import annotations

import base64
import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar

import httpx
from httpx_sse import EventSource, SSEError, aconnect_sse
from pydantic import BaseModel, SecretStr, ValidationError
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from bot.gateway import anthropic, errors
from bot.gateway.types import (
    MJ_ACCEPTED,
    ChatCompletion,
    ChatResult,
    EmbeddingsResponse,
    ImageResult,
    ImagesResponse,
    ImageUsage,
    MjSubmitResponse,
    MjTask,
    ModelsResponse,
    ToolCall,
    ToolCallFunction,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
OnText = Callable[[str], Awaitable[None]]

_REQUEST_ID = re.compile(r"\(request id: ([^)]+)\)")


class CallKind(StrEnum):
    """Endpoint families, each with its own read timeout."""

    CHAT = "chat"
    IMAGE = "image"
    MJ = "mj"
    SMALL = "small"


@dataclass(frozen=True)
class Timeouts:
    connect: float = 10.0
    chat: float = 120.0
    image: float = 300.0
    mj: float = 60.0
    small: float = 30.0

    def for_kind(self, kind: CallKind) -> httpx.Timeout:
        read = {
            CallKind.CHAT: self.chat,
            CallKind.IMAGE: self.image,
            CallKind.MJ: self.mj,
            CallKind.SMALL: self.small,
        }[kind]
        return httpx.Timeout(connect=self.connect, read=read, write=read, pool=self.connect)


@dataclass(frozen=True)
class UploadFile:
    name: str
    data: bytes
    mime: str


class GatewayClient:
    """Typed access to every gateway endpoint the bot uses.

    The `httpx.AsyncClient` is owned by the caller (one per process) and shared with
    image downloads; this class only adds the base URL, the key and the error mapping.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: SecretStr,
        timeouts: Timeouts | None = None,
        *,
        mj_busy_attempts: int = 3,
        mj_busy_wait: float = 5.0,
        max_download_bytes: int = 30 * 1024 * 1024,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._timeouts = timeouts or Timeouts()
        self._mj_busy_attempts = mj_busy_attempts
        self._mj_busy_wait = mj_busy_wait
        self._max_download = max_download_bytes

    # --- plumbing ---------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._key.get_secret_value()}"}

    async def _call(
        self,
        method: str,
        path: str,
        kind: CallKind,
        *,
        json_body: Any = None,
        data: dict[str, str] | None = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[Any, httpx.Response]:
        url = self._base + path
        started = time.monotonic()
        try:
            response = await self._http.request(
                method,
                url,
                json=json_body,
                data=data,
                files=files,
                headers={**self._headers(), **(headers or {})},
                timeout=self._timeouts.for_kind(kind),
            )
        except httpx.TimeoutException as exc:
            log.warning("gateway %s %s timed out after %.1fs", method, path, time.monotonic() - started)
            raise errors.GatewayTimeout(f"{method} {path}: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            log.warning("gateway %s %s transport error: %s", method, path, type(exc).__name__)
            raise errors.Unavailable(f"{method} {path}: {type(exc).__name__}") from None
        elapsed = time.monotonic() - started
        payload = _decode(response, path)
        log.info(
            "gateway %s %s -> %s in %.2fs (request id: %s)",
            method,
            path,
            response.status_code,
            elapsed,
            _request_id(response, payload),
        )
        if response.status_code >= 400:
            raise _error_for(response, payload, path, self._key)
        return payload, response

    async def _typed(
        self, model: type[M], method: str, path: str, kind: CallKind, **kw: Any
    ) -> tuple[M, str]:
        payload, response = await self._call(method, path, kind, **kw)
        return _parse(model, payload, path), _request_id(response, payload)

    # --- chat (OpenAI format) ---------------------------------------------------------

    async def chat(
        self,
        model: str,
        messages: Sequence[dict[str, Any]],
        *,
        on_text: OnText | None = None,
        **extra: Any,
    ) -> ChatResult:
        """One chat completion; streamed (SSE) when `on_text` wants the text as it grows."""
        body: dict[str, Any] = {"model": model, "messages": list(messages), **extra}
        if on_text is None:
            completion, request_id = await self._typed(
                ChatCompletion, "POST", "/v1/chat/completions", CallKind.CHAT, json_body=body
            )
            if not completion.choices:
                raise errors.MalformedResponse("chat completion without choices")
            usage = completion.usage
            return ChatResult(
                text=completion.text or (completion.message.refusal or ""),
                model=completion.model or model,
                request_id=completion.id or request_id,
                input_tokens=usage.prompt_tokens if usage else 0,
                output_tokens=usage.completion_tokens if usage else 0,
                finish_reason=completion.choices[0].finish_reason,
                tool_calls=list(completion.message.tool_calls or []),
                image_urls=completion.image_urls,
            )
        body["stream"] = True
        body["stream_options"] = {"include_usage": True}
        return await self._stream_chat(body, on_text)

    async def _stream_chat(self, body: dict[str, Any], on_text: OnText) -> ChatResult:
        path = "/v1/chat/completions"
        result = ChatResult(text="", model=body["model"], request_id="", complete=False)
        calls: dict[int, ToolCall] = {}
        try:
            async with self._open_stream(path, body) as source:
                async for event in source.aiter_sse():
                    if event.data.strip() == "[DONE]":
                        result.complete = True
                        break
                    try:
                        chunk = json.loads(event.data)
                    except json.JSONDecodeError:
                        log.warning("skipping undecodable stream chunk")
                        continue
                    if not isinstance(chunk, dict):
                        log.warning("skipping stream chunk that is not an object")
                        continue
                    await self._apply_chunk(chunk, result, calls, on_text)
        except httpx.TimeoutException:
            if not result.text:
                raise errors.GatewayTimeout("chat stream timed out") from None
            # The user has already seen this text: keep it, marked incomplete.
            log.warning("chat stream stalled after %d chars", len(result.text))
        except (httpx.TransportError, SSEError) as exc:
            if not result.text:
                raise errors.Unavailable(f"chat stream failed: {type(exc).__name__}") from None
            log.warning("chat stream broke off after %d chars", len(result.text))
        result.tool_calls = [calls[i] for i in sorted(calls)]
        if result.finish_reason is not None:
            # Some gateways drop [DONE]; a finish_reason still means the answer is whole.
            result.complete = True
        log.info(
            "gateway stream %s done (request id: %s, complete=%s)", path, result.request_id, result.complete
        )
        return result

    @asynccontextmanager
    async def _open_stream(
        self, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
    ) -> AsyncIterator[EventSource]:
        """POST and hand over the event stream; an error answer raises from the tree instead."""
        async with aconnect_sse(
            self._http,
            "POST",
            self._base + path,
            json=body,
            headers={**self._headers(), **(headers or {})},
            timeout=self._timeouts.for_kind(CallKind.CHAT),
        ) as source:
            response = source.response
            if response.status_code >= 400 or "text/event-stream" not in response.headers.get(
                "content-type", ""
            ):
                await response.aread()
                payload = _decode(response, path)
                if response.status_code >= 400:
                    raise _error_for(response, payload, path, self._key)
                raise errors.MalformedResponse("expected an event stream")
            yield source

    # --- chat (Anthropic format) ------------------------------------------------------

    async def messages(
        self,
        model: str,
        messages: Sequence[dict[str, Any]],
        *,
        max_tokens: int,
        on_text: OnText | None = None,
        tools: Sequence[dict[str, Any]] | None = None,
        tool_choice: str | None = None,
    ) -> ChatResult:
        """POST /v1/messages with OpenAI-shaped messages and tools, converted on the way."""
        path = "/v1/messages"
        body = anthropic.request_body(
            model, messages, max_tokens=max_tokens, tools=tools, tool_choice=tool_choice
        )
        version = {"anthropic-version": anthropic.ANTHROPIC_VERSION}
        if on_text is None:
            payload, response = await self._call("POST", path, CallKind.CHAT, json_body=body, headers=version)
            return anthropic.result_of(payload, model, _request_id(response, payload))
        body["stream"] = True
        reader = anthropic.StreamReader(model, on_text)
        try:
            async with self._open_stream(path, body, version) as source:
                async for event in source.aiter_sse():
                    if await reader.feed(event.data):
                        break
        except httpx.TimeoutException:
            raise errors.GatewayTimeout("messages stream timed out") from None
        except (httpx.TransportError, SSEError) as exc:
            if not reader.result.text:
                raise errors.Unavailable(f"messages stream failed: {type(exc).__name__}") from None
            log.warning("messages stream broke off after %d chars", len(reader.result.text))
        result = reader.finish()
        log.info(
            "gateway stream %s done (request id: %s, complete=%s)", path, result.request_id, result.complete
        )
        return result

    @staticmethod
    async def _apply_chunk(
        chunk: dict[str, Any], result: ChatResult, calls: dict[int, ToolCall], on_text: OnText
    ) -> None:
        result.request_id = result.request_id or str(chunk.get("id") or "")
        result.model = str(chunk.get("model") or result.model)
        usage = chunk.get("usage")
        if isinstance(usage, dict):
            result.input_tokens = int(usage.get("prompt_tokens") or 0)
            result.output_tokens = int(usage.get("completion_tokens") or 0)
        for choice in chunk.get("choices") or []:
            delta = choice.get("delta") or {}
            if choice.get("finish_reason"):
                result.finish_reason = choice["finish_reason"]
            for fragment in delta.get("tool_calls") or []:
                call = calls.setdefault(int(fragment.get("index", 0)), ToolCall())
                call.id = fragment.get("id") or call.id
                function = fragment.get("function") or {}
                call.function = ToolCallFunction(
                    name=function.get("name") or call.function.name,
                    arguments=call.function.arguments + (function.get("arguments") or ""),
                )
            text = delta.get("content")
            if text:
                result.text += text
                await on_text(result.text)

    # --- images -----------------------------------------------------------------------

    async def generate_image(
        self, prompt: str, model: str, *, size: str | None = None, quality: str | None = None, n: int = 1
    ) -> ImageResult:
        body: dict[str, Any] = {"model": model, "prompt": prompt, "n": n}
        if size:
            body["size"] = size
        if quality:
            body["quality"] = quality
        response, request_id = await self._typed(
            ImagesResponse, "POST", "/v1/images/generations", CallKind.IMAGE, json_body=body
        )
        return await self._images(response, model, request_id)

    async def edit_images(
        self,
        images: Sequence[UploadFile],
        prompt: str,
        model: str,
        *,
        mask: UploadFile | None = None,
        size: str | None = None,
        quality: str | None = None,
    ) -> ImageResult:
        """One edit call with every image as a repeated `image[]` part; `model` always sent."""
        data = {"model": model, "prompt": prompt}
        if size:
            data["size"] = size
        if quality:
            data["quality"] = quality
        if model.startswith("dall-e"):
            data["response_format"] = "b64_json"
        files = [("image[]", (f.name, f.data, f.mime)) for f in images]
        if mask is not None:
            files.append(("mask", (mask.name, mask.data, mask.mime)))
        response, request_id = await self._typed(
            ImagesResponse, "POST", "/v1/images/edits", CallKind.IMAGE, data=data, files=files
        )
        return await self._images(response, model, request_id)

    async def _images(self, response: ImagesResponse, model: str, request_id: str) -> ImageResult:
        images: list[bytes] = []
        for datum in response.data:
            if datum.b64_json:
                try:
                    images.append(base64.b64decode(datum.b64_json, validate=True))
                except ValueError:
                    raise errors.MalformedResponse("image data is not valid base64") from None
            elif datum.url:
                images.append(await self.download(datum.url))
        if not images:
            raise errors.MalformedResponse("the gateway returned no image")
        return ImageResult(
            images=images, model=model, usage=response.usage or ImageUsage(), request_id=request_id
        )

    async def download(self, url: str, *, max_bytes: int | None = None) -> bytes:
        """Fetch an image URL now (gateway URLs expire), capped in size and time."""
        limit = max_bytes or self._max_download
        if url.startswith("data:"):
            data = decode_data_url(url)
            if len(data) > limit:
                raise errors.MalformedResponse(f"image larger than {limit} bytes")
            return data
        if not url.startswith(("http://", "https://")):
            raise errors.MalformedResponse("image URL with an unsupported scheme")
        try:
            async with self._http.stream(
                "GET", url, timeout=self._timeouts.for_kind(CallKind.SMALL), follow_redirects=True
            ) as response:
                if response.status_code >= 400:
                    raise errors.Unavailable(f"image download answered {response.status_code}")
                if not response.headers.get("content-type", "image/").startswith(
                    ("image/", "application/octet-stream")
                ):
                    raise errors.MalformedResponse("image URL did not return an image")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > limit:
                        raise errors.MalformedResponse(f"image larger than {limit} bytes")
                    chunks.append(chunk)
                return b"".join(chunks)
        except httpx.TimeoutException:
            raise errors.GatewayTimeout("image download timed out") from None
        except httpx.TransportError as exc:
            raise errors.Unavailable(f"image download failed: {type(exc).__name__}") from None

    # --- Midjourney -------------------------------------------------------------------

    async def mj_imagine(self, prompt: str, *, images: Sequence[str] = (), mode: str = "RELAX") -> str:
        return await self._mj_submit(
            "/mj/submit/imagine", {"prompt": prompt, "base64Array": list(images), "mode": mode}
        )

    async def mj_blend(
        self, images: Sequence[str], *, dimensions: str = "SQUARE", mode: str = "RELAX"
    ) -> str:
        return await self._mj_submit(
            "/mj/submit/blend", {"base64Array": list(images), "dimensions": dimensions, "mode": mode}
        )

    async def mj_action(self, task_id: str, custom_id: str) -> str:
        return await self._mj_submit(
            "/mj/submit/action", {"taskId": task_id, "customId": custom_id, "chooseSameChannel": True}
        )

    async def _mj_submit(self, path: str, body: dict[str, Any]) -> str:
        """Submit with backoff while the queue is busy (codes 23/30); returns the task id."""
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(errors.MjBusy),
            stop=stop_after_attempt(self._mj_busy_attempts),
            wait=wait_exponential(multiplier=self._mj_busy_wait, max=60),
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                answer, _ = await self._typed(MjSubmitResponse, "POST", path, CallKind.MJ, json_body=body)
                if answer.code in MJ_ACCEPTED and answer.result:
                    return answer.result
                raise _mj_failure(answer.code, answer.description)
        raise AssertionError("unreachable: tenacity reraises")

    async def mj_fetch(self, task_id: str) -> MjTask:
        task, _ = await self._typed(MjTask, "GET", f"/mj/task/{task_id}/fetch", CallKind.SMALL)
        return task

    async def mj_list(self, task_ids: Sequence[str]) -> list[MjTask]:
        payload, _ = await self._call(
            "POST", "/mj/task/list-by-condition", CallKind.SMALL, json_body={"ids": list(task_ids)}
        )
        if not isinstance(payload, list):
            raise errors.MalformedResponse("task list is not an array")
        return [_parse(MjTask, item, "/mj/task/list-by-condition") for item in payload]

    async def mj_image_seed(self, task_id: str) -> str:
        payload, _ = await self._call("GET", f"/mj/task/{task_id}/image-seed", CallKind.SMALL)
        if isinstance(payload, dict) and "code" in payload:
            answer = _parse(MjSubmitResponse, payload, "image-seed")
            if answer.code not in MJ_ACCEPTED or not answer.result:
                raise _mj_failure(answer.code, answer.description)
            return answer.result
        raise errors.MalformedResponse("unexpected image-seed answer")

    # --- embeddings / models ----------------------------------------------------------

    async def embeddings(self, inputs: Sequence[str], model: str) -> tuple[list[list[float]], int, str]:
        response, request_id = await self._typed(
            EmbeddingsResponse,
            "POST",
            "/v1/embeddings",
            CallKind.SMALL,
            json_body={"model": model, "input": list(inputs)},
        )
        vectors = [d.embedding for d in sorted(response.data, key=lambda d: d.index)]
        if len(vectors) != len(inputs):
            raise errors.MalformedResponse("embedding count does not match the inputs")
        tokens = response.usage.prompt_tokens if response.usage else 0
        return vectors, tokens, request_id

    async def models(self) -> list[str]:
        response, _ = await self._typed(ModelsResponse, "GET", "/v1/models", CallKind.SMALL)
        return [m.id for m in response.data]


# --- helpers ----------------------------------------------------------------------------


def decode_data_url(url: str) -> bytes:
    header, _, data = url.partition(",")
    if ";base64" not in header:
        raise errors.MalformedResponse("data URL is not base64")
    try:
        return base64.b64decode(data, validate=False)
    except ValueError:
        raise errors.MalformedResponse("data URL is not valid base64") from None


def _decode(response: httpx.Response, path: str) -> Any:
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


def _parse(model: type[M], payload: Any, path: str) -> M:
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        raise errors.MalformedResponse(
            f"{path}: unexpected answer shape ({exc.error_count()} errors)"
        ) from None


def _message(payload: Any) -> str:
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


def _request_id(response: httpx.Response, payload: Any) -> str:
    found = _REQUEST_ID.search(_message(payload))
    if found:
        return found.group(1)
    for header in ("x-oneapi-request-id", "x-request-id"):
        if header in response.headers:
            return response.headers[header]
    if isinstance(payload, dict) and isinstance(payload.get("id"), str):
        return str(payload["id"])
    return uuid.uuid4().hex


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _error_for(
    response: httpx.Response, payload: Any, path: str, secret: SecretStr | None = None
) -> errors.GatewayError:
    status = response.status_code
    message = _redact(_message(payload), secret)
    request_id = _request_id(response, payload)
    detail = message or f"HTTP {status}"
    kw: dict[str, Any] = {"status": status, "request_id": request_id}
    log.warning("gateway error on %s: %s %s", path, status, detail)
    if isinstance(payload, dict) and payload.get("code") == 30:
        return errors.MjBusy(30, detail)
    if status == 401:
        return errors.AuthError(detail, **kw)
    if status == 403:
        return errors.QuotaError(detail, **kw)
    if status == 413:
        return errors.PayloadTooLarge(detail, **kw)
    if status == 429:
        return errors.RateLimited(detail, retry_after=_retry_after(response), **kw)
    if status == 503 and "无可用渠道" in message:
        return errors.ModelUnavailable(detail, **kw)
    if status >= 500:
        return errors.Unavailable(detail, **kw)
    if status == 404:
        return errors.MalformedResponse(f"{path} not found on the gateway: {detail}", **kw)
    return errors.BadRequest(detail, **kw)


def _redact(text: str, secret: SecretStr | None) -> str:
    """Upstreams sometimes echo the key they were given; it must not reach logs or chats."""
    if secret is None:
        return text
    key = secret.get_secret_value()
    for form in (key, key.removeprefix("sk-")):
        if len(form) >= 6:
            text = text.replace(form, "***")
    return text


def _mj_failure(code: int, description: str) -> errors.MjRejected:
    if code == 24:
        return errors.MjBanned(code, description)
    if code in (23, 30):
        return errors.MjBusy(code, description)
    return errors.MjRejected(code, description)
