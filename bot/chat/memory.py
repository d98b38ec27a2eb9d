"""Conversation memory for one chat turn: what the model gets to see of the past.

Three sources, cheapest first:

* the **window** — the newest turns that fit HISTORY_TOKEN_BUDGET, sent as they are;
* the **picture in discussion** — the latest turn with images (the user's photos or the
  bot's pictures), re-sent when it has left the window, so "and what colour is the car in
  the picture?" still sees it;
* **long memory** — once turns leave the window they are embedded (one batched
  /v1/embeddings call, together with the new question) and the older turns most similar to
  the question are recalled into a system note. No embedding call is made while the whole
  conversation fits the window; the call's tokens are recorded like any other usage.
"""

from __future__ import annotations

import base64
import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.errors import GatewayError
from bot.gateway.client import GatewayClient
from bot.model import Incoming
from bot.usage.budgets import Hold
from bot.usage.recorder import Recorder
from storage import Database, Turn, TurnImage
from storage.embeddings import StoredVector

log = logging.getLogger(__name__)

EMBED_BATCH = 64  # older turns embedded per call; a backlog catches up over a few turns
EMBED_CHARS = 2000  # of each turn's text
RECALL_CHARS = 600  # of each recalled turn shown to the model
MIN_SIMILARITY = 0.2
_NO_LIMIT = 2**62


def estimate_tokens(text: str) -> int:
    """Rough count for budgeting memory; real counts come from the gateway's usage."""
    return len(text) // 4 + 1


@dataclass(frozen=True)
class Recollection:
    history: list[Turn]
    pinned: Turn | None = None
    recalled: list[Turn] = field(default_factory=list)


def data_url(image: TurnImage) -> str:
    return f"data:{image.mime};base64,{base64.b64encode(image.data).decode()}"


def to_openai_message(role: str, text: str, images: Sequence[TurnImage] = ()) -> dict[str, Any]:
    if not images:
        return {"role": role, "content": text}
    parts: list[dict[str, Any]] = [{"type": "text", "text": text}]
    parts += [{"type": "image_url", "image_url": {"url": data_url(i)}} for i in images]
    return {"role": role, "content": parts}


def build_messages(
    system: str, memory: Recollection, text: str, images: Sequence[TurnImage]
) -> list[dict[str, Any]]:
    """The request's messages in the OpenAI shape (converted later for Anthropic models)."""
    messages: list[dict[str, Any]] = [{"role": "system", "content": system}]
    if memory.recalled:
        messages.append({"role": "system", "content": recalled_note(memory.recalled)})
    if memory.pinned is not None:
        pinned = memory.pinned
        label = "photo sent earlier" if pinned.role == "user" else "picture you sent earlier"
        messages.append(to_openai_message("user", f"({label}) {pinned.content}", pinned.images))
    for turn in memory.history:
        if turn.role == "user" or not turn.images:
            messages.append(to_openai_message(turn.role, turn.content, turn.images))
            continue
        # Only user messages may carry images in the OpenAI format: the bot's pictures follow
        # its words as a user message, so the model can still see what it sent.
        messages.append(to_openai_message("assistant", turn.content))
        messages.append(to_openai_message("user", "(the pictures from your answer above)", turn.images))
    messages.append(to_openai_message("user", text, images))
    return messages


def without_images(memory: Recollection) -> Recollection:
    """The same memory in words only (when the pictures travel with the new message)."""
    return Recollection([replace(t, images=()) for t in memory.history], None, memory.recalled)


def latest_images(memory: Recollection) -> tuple[TurnImage, ...]:
    """The images of the newest turn that has any (window first, then the pinned turn)."""
    for turn in reversed(memory.history):
        if turn.images:
            return turn.images
    return memory.pinned.images if memory.pinned else ()


def recalled_note(turns: Sequence[Turn]) -> str:
    lines = ["Earlier in this conversation (recalled because it may be relevant):"]
    for turn in turns:
        content = " ".join(turn.content.split())
        if len(content) > RECALL_CHARS:
            content = content[: RECALL_CHARS - 1] + "…"
        lines.append(f"- {turn.role}: {content}")
    return "\n".join(lines)


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=False))
    norm = math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b))
    return dot / norm if norm else 0.0


def most_similar(
    query: Sequence[float],
    candidates: Sequence[StoredVector],
    k: int,
    *,
    exclude: frozenset[int] = frozenset(),
) -> list[int]:
    """Ids of the `k` candidates closest to the query (above a floor), oldest first."""
    scored = [
        (cosine(query, c.vector), c.turn_id)
        for c in candidates
        if c.turn_id not in exclude and len(c.vector) == len(query)
    ]
    best = sorted((s for s in scored if s[0] >= MIN_SIMILARITY), reverse=True)[:k]
    return sorted(turn_id for _, turn_id in best)


@dataclass(frozen=True)
class MemorySettings:
    history_token_budget: int
    embedding_model: str  # "" turns long memory off
    recall_turns: int


class Memory:
    def __init__(
        self, db: Database, gateway: GatewayClient, recorder: Recorder, settings: MemorySettings
    ) -> None:
        self._db = db
        self._gateway = gateway
        self._recorder = recorder
        self._settings = settings

    async def recall(self, msg: Incoming, hold: Hold, epoch: int, question: str) -> Recollection:
        """The window, the photo in discussion and recalled turns for a new question."""
        settings = self._settings
        key = msg.address.key
        model = settings.embedding_model
        long_memory = bool(model) and settings.recall_turns > 0
        async with self._db.unit_of_work() as uow:
            history = await uow.conversations.recent(key, epoch, settings.history_token_budget)
            window_start = history[0].id if history else _NO_LIMIT
            pinned = None
            if not any(turn.images for turn in history):
                pinned = await uow.conversations.latest_with_images(key, epoch, before_id=window_start)
            pending = (
                await uow.embeddings.unembedded(key, epoch, window_start, EMBED_BATCH) if long_memory else []
            )
            stored = await uow.embeddings.vectors(key, epoch, model, window_start) if long_memory else []
        if not pending and not stored:
            return Recollection(history, pinned)

        inputs = [question[:EMBED_CHARS]] + [(t.content[:EMBED_CHARS] or "(photo)") for t in pending]
        try:
            vectors, tokens, request_id = await self._gateway.embeddings(inputs, model)
        except GatewayError as exc:
            # Long memory is a bonus: the answer goes ahead with the window alone.
            log.warning("embeddings failed in %s, answering without recall: %s", key, exc.detail)
            return Recollection(history, pinned)
        question_vector, new_vectors = vectors[0], vectors[1:]
        fresh = [StoredVector(turn.id, tuple(v)) for turn, v in zip(pending, new_vectors, strict=True)]
        exclude = frozenset({pinned.id}) if pinned else frozenset()
        chosen = most_similar(question_vector, stored + fresh, settings.recall_turns, exclude=exclude)
        event = self._recorder.ledger.event(
            msg.address, msg.user, "embedding", model, request_key=request_id or None, input_tokens=tokens
        )
        async with self._db.unit_of_work() as uow:
            for turn, vector in zip(pending, new_vectors, strict=True):
                await uow.embeddings.add(key, epoch, turn.id, model, vector)
            await self._recorder.add(uow, event, hold)
            recalled = await uow.conversations.by_ids(chosen)
            await uow.commit()
        log.info("recalled %d of %d older turns in %s", len(recalled), len(stored) + len(fresh), key)
        return Recollection(history, pinned, recalled)
