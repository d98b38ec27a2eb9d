"""The one HTTP client for the wenwen gateway: typed calls, explicit timeouts, one error tree."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal, Protocol, TypeVar

import httpx
from httpx_sse import EventSource, SSEError, aconnect_sse
from pydantic import BaseModel, SecretStr
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential

from bot import errors
from bot.gateway import anthropic, responses
from bot.gateway.downloads import Downloader
from bot.gateway.openai_stream import ChatStreamReader
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
    OnText,
    Speech,
    Transcription,
    TranscriptionResponse,
)

log = logging.getLogger(__name__)

# Seconds to wait for a stream's end after its last event, to keep its connection.
DRAIN_AFTER_DONE = 1.0

M = TypeVar("M", bound=BaseModel)
# What a call ended with: an HTTP status, or why there was none ("busy": no free connection).
Outcome = int | Literal["timeout", "transport", "busy"]
Observe = Callable[[str, Outcome, float], None]


def _ignore(_path: str, _status: Outcome, _seconds: float) -> None:
    return None


class StreamReader(Protocol):
    """Folds one API format's SSE events into a ChatResult (openai_stream, anthropic)."""

    result: ChatResult

    async def feed(self, data: str) -> bool:
        """Apply one event's data; True once the answer is whole."""
        ...

    def finish(self) -> ChatResult: ...


class CallKind(StrEnum):
    """Endpoint families, each with its own read timeout."""

    CHAT = "chat"
    AUDIO = "audio"
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
    pool: float = 60.0  # waiting for a free connection: our own queue, not the gateway

    def for_kind(self, kind: CallKind) -> httpx.Timeout:
        read = {
            CallKind.CHAT: self.chat,
            # Speech in and out takes about as long as a chat answer.
            CallKind.AUDIO: self.chat,
            CallKind.IMAGE: self.image,
            CallKind.MJ: self.mj,
            CallKind.SMALL: self.small,
        }[kind]
        return httpx.Timeout(connect=self.connect, read=read, write=read, pool=self.pool)


@dataclass(frozen=True)
class UploadFile:
    name: str
    data: bytes
    mime: str


class GatewayClient:
    """Typed access to every gateway endpoint the bot uses.

    The `httpx.AsyncClient` is owned by the caller (one per process); this class only adds
    the base URL, the key and the error mapping. Image URLs go through `downloads`, the one
    download policy (bot.gateway.downloads), never with the key.
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        api_key: SecretStr,
        timeouts: Timeouts | None = None,
        *,
        downloads: Downloader,
        mj_busy_attempts: int = 3,
        mj_busy_wait: float = 5.0,
        observe: Observe | None = None,
    ) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._key = api_key
        self._timeouts = timeouts or Timeouts()
        self._downloads = downloads
        self._mj_busy_attempts = mj_busy_attempts
        self._mj_busy_wait = mj_busy_wait
        # Every call's path, status (or "timeout"/"transport") and duration, for metrics.
        self._observe = observe or _ignore

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
        binary: bool = False,
    ) -> tuple[Any, httpx.Response]:
        """The decoded JSON answer (or, with `binary`, the raw bytes of a non-JSON success)."""
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
        except httpx.PoolTimeout:
            self._observe(path, "busy", time.monotonic() - started)
            log.warning("gateway %s %s: no free connection within %.0fs", method, path, self._timeouts.pool)
            raise errors.Busy(f"{method} {path}: no free connection") from None
        except httpx.TimeoutException as exc:
            self._observe(path, "timeout", time.monotonic() - started)
            log.warning("gateway %s %s timed out after %.1fs", method, path, time.monotonic() - started)
            raise errors.GatewayTimeout(f"{method} {path}: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            self._observe(path, "transport", time.monotonic() - started)
            log.warning("gateway %s %s transport error: %s", method, path, type(exc).__name__)
            raise errors.Unavailable(f"{method} {path}: {type(exc).__name__}") from None
        elapsed = time.monotonic() - started
        self._observe(path, response.status_code, elapsed)
        if binary and response.status_code < 400 and responses.is_binary(response):
            log.info("gateway %s %s -> %s in %.2fs", method, path, response.status_code, elapsed)
            return response.content, response
        payload = responses.decode(response, path)
        log.info(
            "gateway %s %s -> %s in %.2fs (request id: %s)",
            method,
            path,
            response.status_code,
            elapsed,
            responses.request_id(response, payload),
        )
        if response.status_code >= 400:
            raise responses.error_for(response, payload, path, self._key)
        return payload, response

    async def _typed(
        self, model: type[M], method: str, path: str, kind: CallKind, **kw: Any
    ) -> tuple[M, str]:
        payload, response = await self._call(method, path, kind, **kw)
        return responses.parse(model, payload, path), responses.request_id(response, payload)

    # --- chat (OpenAI format) ---------------------------------------------------------

    async def chat(
        self,
        model: str,
        messages: Sequence[dict[str, Any]],
        *,
        on_text: OnText | None = None,
        stop: asyncio.Event | None = None,
        **extra: Any,
    ) -> ChatResult:
        """One chat completion; streamed (SSE) when `on_text` wants the text as it grows.

        `stop` set while streaming ends the answer where it is (`ChatResult.stopped`).
        """
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
        return await self._read_stream(
            "/v1/chat/completions", body, {}, ChatStreamReader(model, on_text), stop
        )

    async def _read_stream(
        self,
        path: str,
        body: dict[str, Any],
        headers: dict[str, str],
        reader: StreamReader,
        stop: asyncio.Event | None = None,
    ) -> ChatResult:
        """Feed each event to `reader` until it says the answer is whole, or the stream ends.

        A stream that stalls or breaks after the user has seen text ends quietly with
        the text so far, marked incomplete; before any text it is an error. A stream
        stopped by the user (`stop`) is closed at once and ends with the text so far.
        """
        partial = reader.result
        started = time.monotonic()
        try:
            status = await _unless_stopped(self._pump(path, body, headers, reader), stop)
            if status is None:
                partial.stopped = True
                log.info("%s stream stopped by the user after %d chars", path, len(partial.text))
            else:
                self._observe(path, status, time.monotonic() - started)
        except httpx.PoolTimeout:
            self._observe(path, "busy", time.monotonic() - started)
            log.warning("%s: no free gateway connection within %.0fs", path, self._timeouts.pool)
            raise errors.Busy(f"{path}: no free connection") from None
        except httpx.TimeoutException:
            self._observe(path, "timeout", time.monotonic() - started)
            if not partial.text:
                raise errors.GatewayTimeout(f"{path} stream timed out") from None
            log.warning("%s stream stalled after %d chars", path, len(partial.text))
        except (httpx.TransportError, SSEError) as exc:
            self._observe(path, "transport", time.monotonic() - started)
            if not partial.text:
                raise errors.Unavailable(f"{path} stream failed: {type(exc).__name__}") from None
            log.warning("%s stream broke off after %d chars", path, len(partial.text))
        result = reader.finish()
        log.info(
            "gateway stream %s done (request id: %s, complete=%s)", path, result.request_id, result.complete
        )
        return result

    async def _pump(
        self, path: str, body: dict[str, Any], headers: dict[str, str], reader: StreamReader
    ) -> int:
        async with self._open_stream(path, body, headers) as source:
            events = source.aiter_sse()
            async for event in events:
                if await reader.feed(event.data):
                    break
            else:
                return source.response.status_code
            # The answer is whole; what follows is normally only the body's end. Read it, so
            # the connection goes back to the pool: closed with unread bytes, it is dropped,
            # and every streamed answer paid for a new connection.
            with contextlib.suppress(TimeoutError, httpx.HTTPError, SSEError):
                async with asyncio.timeout(DRAIN_AFTER_DONE):
                    async for _ in events:
                        pass
        return source.response.status_code

    @asynccontextmanager
    async def _open_stream(
        self, path: str, body: dict[str, Any], headers: dict[str, str]
    ) -> AsyncIterator[EventSource]:
        """POST and hand over the event stream; an error answer raises from the tree instead."""
        async with aconnect_sse(
            self._http,
            "POST",
            self._base + path,
            json=body,
            headers={**self._headers(), **headers},
            timeout=self._timeouts.for_kind(CallKind.CHAT),
        ) as source:
            response = source.response
            if response.status_code >= 400 or "text/event-stream" not in response.headers.get(
                "content-type", ""
            ):
                await response.aread()
                payload = responses.decode(response, path)
                if response.status_code >= 400:
                    raise responses.error_for(response, payload, path, self._key)
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
        stop: asyncio.Event | None = None,
    ) -> ChatResult:
        """POST /v1/messages with OpenAI-shaped messages and tools, converted on the way."""
        path = "/v1/messages"
        body = anthropic.request_body(
            model, messages, max_tokens=max_tokens, tools=tools, tool_choice=tool_choice
        )
        version = {"anthropic-version": anthropic.ANTHROPIC_VERSION}
        if on_text is None:
            payload, response = await self._call("POST", path, CallKind.CHAT, json_body=body, headers=version)
            return anthropic.result_of(payload, model, responses.request_id(response, payload))
        body["stream"] = True
        return await self._read_stream(path, body, version, anthropic.StreamReader(model, on_text), stop)

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
        """An image URL the gateway gave (dall-e, Midjourney), fetched now under the download policy."""
        return await self._downloads.fetch_image(url, max_bytes=max_bytes)

    # --- Midjourney -------------------------------------------------------------------

    # `state` is echoed back in the task (wenwen-api.md §6.1): we send our job id, so a task
    # can always be told apart and traced to the request that made it.

    async def mj_imagine(
        self, prompt: str, *, images: Sequence[str] = (), mode: str = "RELAX", state: str = ""
    ) -> str:
        return await self._mj_submit(
            "/mj/submit/imagine",
            {"prompt": prompt, "base64Array": list(images), "mode": mode, "state": state},
        )

    async def mj_blend(
        self, images: Sequence[str], *, dimensions: str = "SQUARE", mode: str = "RELAX", state: str = ""
    ) -> str:
        return await self._mj_submit(
            "/mj/submit/blend",
            {"base64Array": list(images), "dimensions": dimensions, "mode": mode, "state": state},
        )

    async def mj_action(self, task_id: str, custom_id: str, *, state: str = "") -> str:
        return await self._mj_submit(
            "/mj/submit/action",
            {"taskId": task_id, "customId": custom_id, "chooseSameChannel": True, "state": state},
        )

    async def mj_describe(self, image: str, *, mode: str = "RELAX", state: str = "") -> str:
        """Describe one picture (a data URL): the task ends with four numbered prompts."""
        return await self._mj_submit("/mj/submit/describe", {"base64": image, "mode": mode, "state": state})

    async def mj_modal(self, task_id: str, prompt: str, *, mask: str = "") -> str:
        """Answer a task waiting in MODAL (custom zoom, remix) with its prompt; returns the task id."""
        return await self._mj_submit(
            "/mj/submit/modal", {"taskId": task_id, "prompt": prompt, "maskBase64": mask}
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
                if answer.code in MJ_ACCEPTED:
                    if not answer.result:
                        raise errors.MalformedResponse(f"{path}: accepted without a task id")
                    return answer.result
                raise responses.mj_failure(answer.code, responses.redact(answer.description, self._key))
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
        return [responses.parse(MjTask, item, "/mj/task/list-by-condition") for item in payload]

    async def mj_image_seed(self, task_id: str) -> str:
        payload, _ = await self._call("GET", f"/mj/task/{task_id}/image-seed", CallKind.SMALL)
        if isinstance(payload, dict) and "code" in payload:
            answer = responses.parse(MjSubmitResponse, payload, "image-seed")
            if answer.code not in MJ_ACCEPTED or not answer.result:
                raise responses.mj_failure(answer.code, responses.redact(answer.description, self._key))
            return answer.result
        raise errors.MalformedResponse("unexpected image-seed answer")

    # --- audio ------------------------------------------------------------------------

    async def transcribe(self, audio: UploadFile, model: str) -> Transcription:
        """POST /v1/audio/transcriptions (OpenAI shape): the text of a voice note."""
        answer, request_id = await self._typed(
            TranscriptionResponse,
            "POST",
            "/v1/audio/transcriptions",
            CallKind.AUDIO,
            data={"model": model, "response_format": "json"},
            files=[("file", (audio.name, audio.data, audio.mime))],
        )
        seconds = answer.usage.seconds if answer.usage and answer.usage.type == "duration" else None
        return Transcription(answer.text, model, request_id, seconds or answer.duration)

    async def speech(self, text: str, model: str, voice: str, *, response_format: str = "opus") -> Speech:
        """POST /v1/audio/speech: the text read aloud (Ogg/Opus by default: what voice messages use)."""
        body = {"model": model, "input": text, "voice": voice, "response_format": response_format}
        payload, response = await self._call(
            "POST", "/v1/audio/speech", CallKind.AUDIO, json_body=body, binary=True
        )
        if not isinstance(payload, bytes) or not payload:
            raise errors.MalformedResponse("/v1/audio/speech: no audio in the answer")
        mime = response.headers.get("content-type", "").split(";", 1)[0].strip() or "audio/ogg"
        request_id = responses.request_id(response, None)
        return Speech(payload, mime, model, request_id)

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


T = TypeVar("T")


async def _unless_stopped(work: Coroutine[Any, Any, T], stop: asyncio.Event | None) -> T | None:
    """`work`'s result, or None when `stop` is set first (then `work` is cancelled and awaited)."""
    if stop is None:
        return await work
    task = asyncio.create_task(work)
    stopped = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait((task, stopped), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
        if not task.done():
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return None if task.cancelled() else task.result()
