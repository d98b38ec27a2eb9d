"""Conversation memory for one chat turn: what the model gets to see of the past.

Three sources, cheapest first:

* the **window** — the newest turns that fit HISTORY_TOKEN_BUDGET, sent as they are;
* the **file in discussion** — the latest question sent with files (bot.documents), re-sent
  when it has left the window, so "and what does page 2 say?" still sees the file;
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
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.documents import HEADER as DOCUMENTS_HEADER
from bot.documents import is_framed
from bot.errors import GatewayError
from bot.gateway.client import GatewayClient
from bot.model import Incoming
from bot.usage.budgets import Hold
from bot.usage.recorder import Recorder
from storage import Database, Turn, TurnImage
from storage.embeddings import StoredVector, pack

log = logging.getLogger(__name__)

EMBED_BATCH = 64  # older turns embedded per call; a backlog catches up over a few turns
EMBED_CHARS = 2000  # of each turn's text
RECALL_CHARS = 600  # of each recalled turn shown to the model
MIN_SIMILARITY = 0.2
# The newest stored vectors searched per question: the work per turn stays bounded however
# long a conversation gets (a thousand 1536-float vectors take a few milliseconds).
RECALL_CANDIDATES = 1000
_NO_LIMIT = 2**62


def estimate_tokens(text: str) -> int:
    """Rough count for budgeting memory; real counts come from the gateway's usage."""
    return len(text) // 4 + 1


@dataclass(frozen=True)
class Recollection:
    history: list[Turn]
    pinned: Turn | None = None
    recalled: list[Turn] = field(default_factory=list)
    # The latest question sent with files, re-sent when it has left the window.
    document: Turn | None = None


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
    if memory.document is not None:
        messages.append(to_openai_message("user", f"(sent earlier) {memory.document.content}"))
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
    return Recollection(
        [replace(t, images=()) for t in memory.history], None, memory.recalled, memory.document
    )


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


def most_similar(
    query: Sequence[float],
    candidates: Sequence[StoredVector],
    k: int,
    *,
    exclude: frozenset[int] = frozenset(),
) -> list[int]:
    """Ids of the `k` candidates closest to the query (above a floor), oldest first.

    Up to RECALL_CANDIDATES vectors of ~1 500 floats each: one matrix product in NumPy over
    the stored bytes as they are (in Python, unpacking and multiplying took ~30 ms a turn).
    """
    # Imported here: only conversations longer than the window get this far (start-up, memory).
    import numpy as np

    width = 4 * len(query)  # float32; vectors of another model's size are skipped
    usable = [c for c in candidates if c.turn_id not in exclude and len(c.packed) == width]
    q = np.asarray(query, dtype=np.float32)
    size = float(np.linalg.norm(q))
    if not usable or not size:
        return []
    matrix = np.frombuffer(b"".join(c.packed for c in usable), dtype="<f4").reshape(len(usable), len(query))
    norms = np.linalg.norm(matrix, axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = (matrix @ q) / (norms * size)  # a zero vector scores NaN, below any floor
    best = sorted(
        (
            (float(score), c.turn_id)
            for score, c in zip(scores, usable, strict=True)
            if score >= MIN_SIMILARITY
        ),
        reverse=True,
    )[:k]
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

    async def recall(
        self, msg: Incoming, hold: Hold, epoch: int, question: str, *, before_id: int | None = None
    ) -> Recollection:
        """The window, the photo in discussion and recalled turns for a new question.

        `before_id`: the conversation as it stood before that turn (a regenerated answer).
        """
        settings = self._settings
        key = msg.address.key
        model = settings.embedding_model
        long_memory = bool(model) and settings.recall_turns > 0
        async with self._db.unit_of_work() as uow:
            window = await uow.conversations.window(
                key, epoch, settings.history_token_budget, before_id=before_id
            )
            history = window.turns
            if window.complete:
                # The whole conversation fits the window: nothing older to pin or recall.
                return Recollection(history, None)
            window_start = history[0].id if history else (before_id or _NO_LIMIT)
            pinned = None
            if not any(turn.images for turn in history):
                pinned = await uow.conversations.latest_with_images(key, epoch, before_id=window_start)
            document = None
            if not any(turn.role == "user" and is_framed(turn.content) for turn in history):
                document = await uow.conversations.latest_starting_with(
                    key, epoch, DOCUMENTS_HEADER, before_id=window_start
                )
            pending = (
                await uow.embeddings.unembedded(key, epoch, window_start, EMBED_BATCH) if long_memory else []
            )
            stored = (
                await uow.embeddings.vectors(key, epoch, model, window_start, limit=RECALL_CANDIDATES)
                if long_memory
                else []
            )
        if not pending and not stored:
            return Recollection(history, pinned, document=document)

        inputs = [question[:EMBED_CHARS]] + [(t.content[:EMBED_CHARS] or "(photo)") for t in pending]
        try:
            vectors, tokens, request_id = await self._gateway.embeddings(inputs, model)
        except GatewayError as exc:
            # Long memory is a bonus: the answer goes ahead with the window alone.
            log.warning("embeddings failed in %s, answering without recall: %s", key, exc.detail)
            return Recollection(history, pinned, document=document)
        question_vector, new_vectors = vectors[0], vectors[1:]
        fresh = [StoredVector(turn.id, pack(v)) for turn, v in zip(pending, new_vectors, strict=True)]
        exclude = frozenset(t.id for t in (pinned, document) if t is not None)
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
        return Recollection(history, pinned, recalled, document)
