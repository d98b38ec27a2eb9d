"""Server-sent events: splitting text into chunks and writing them with pacing."""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from .records import RECORD
from .state import sim_state

log = logging.getLogger(__name__)

_WORDS = re.compile(r"\S+\s*|\s+")
_MAX_CHUNKS = 12


def text_pieces(text: str, max_chunks: int = _MAX_CHUNKS) -> list[str]:
    """Split on word boundaries into at most ``max_chunks`` pieces that join back to ``text``.

    A markdown image or data URL has no spaces, so it always travels whole.
    """
    words = _WORDS.findall(text)
    if not words:
        return []
    per = max(2, math.ceil(len(words) / max_chunks))
    return ["".join(words[i : i + per]) for i in range(0, len(words), per)]


def even_pieces(text: str, count: int = 3) -> list[str]:
    """Split into ``count`` roughly equal slices (for tool-call argument fragments)."""
    if not text:
        return []
    size = max(1, math.ceil(len(text) / count))
    return [text[i : i + size] for i in range(0, len(text), size)]


@dataclass(frozen=True)
class Event:
    data: str
    name: str | None = None

    @classmethod
    def json(cls, payload: Any, name: str | None = None) -> Event:
        return cls(json.dumps(payload, ensure_ascii=False, separators=(",", ":")), name)

    def encode(self) -> bytes:
        head = f"event: {self.name}\n" if self.name else ""
        return f"{head}data: {self.data}\n\n".encode()


async def stream(
    request: web.Request,
    events: Iterable[Event],
    *,
    delay: float,
    cut_after: int | None = None,
) -> tuple[web.StreamResponse, bool]:
    """Write ``events`` as an SSE response; returns (response, completed).

    With ``cut_after`` the stream ends cleanly after that many events, the way
    a gateway ends a response when its upstream dies mid-answer.
    """
    response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
    await response.prepare(request)
    try:
        for sent, event in enumerate(events):
            if cut_after is not None and sent >= cut_after:
                await response.write_eof()
                return response, False
            if sent and delay > 0:
                await asyncio.sleep(delay)
            await response.write(event.encode())
        await response.write_eof()
    except ConnectionResetError:
        log.info("client went away during a stream: %s", request.path)
        return response, False
    return response, True


async def stream_answer(request: web.Request, events: Iterable[Event]) -> tuple[web.StreamResponse, bool]:
    """:func:`stream` at the configured pace (a ``slow_stream`` fault's, if one is pending),
    cut short by a pending ``cut_stream`` fault."""
    state = sim_state(request)
    cut = state.faults.take(request.path, frozenset({"cut_stream"}))
    if cut is not None and (record := request.get(RECORD)) is not None:
        record.fault = "cut_stream"
    slow = state.faults.take(request.path, frozenset({"slow_stream"}))
    if slow is not None and (record := request.get(RECORD)) is not None:
        record.fault = "slow_stream"
    return await stream(
        request,
        events,
        delay=slow.delay if slow else state.config.chunk_delay,
        cut_after=cut.after_chunks if cut else None,
    )
