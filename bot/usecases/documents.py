"""Reading the files a user sent with a question, within the size and token limits."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from bot.chat.memory import estimate_tokens
from bot.documents import UnreadableDocument, extract_text, frame, refusal, safe_name
from bot.errors import AttachmentUnavailable, UserError
from bot.i18n import t
from bot.model import DocumentAttachment

log = logging.getLogger(__name__)


DOWNLOAD_FAILED = t("I couldn't download your file. Please send it again.")


@dataclass(frozen=True)
class DocumentLimits:
    max_bytes: int
    max_tokens: int


def _too_large(name: str, size: int, limit: int) -> UserError:
    return UserError(
        t(
            "{name} is {size_mb} MB; the limit for files is {limit_mb} MB.",
            name=safe_name(name),
            size_mb=round(size / 1_048_576, 1),
            limit_mb=round(limit / 1_048_576),
        )
    )


async def with_documents(
    question: str, documents: tuple[DocumentAttachment, ...], limits: DocumentLimits
) -> str:
    """The question with the files' text framed before it; refused with the limit named.

    Runs before any paid call: sizes first, then the download, then the text's length.
    """
    if not documents:
        return question
    for doc in documents:
        if doc.size is not None and doc.size > limits.max_bytes:
            raise _too_large(doc.file_name, doc.size, limits.max_bytes)
    try:
        blobs = await asyncio.gather(*(doc.fetch() for doc in documents))
    except UserError:
        raise
    except Exception as exc:
        log.warning("document download failed: %s", type(exc).__name__)
        raise AttachmentUnavailable(DOWNLOAD_FAILED) from exc
    max_chars = limits.max_tokens * 4
    texts: list[tuple[str, str]] = []
    for doc, blob in zip(documents, blobs, strict=True):
        if len(blob) > limits.max_bytes:
            raise _too_large(doc.file_name, len(blob), limits.max_bytes)
        try:
            # PDF parsing takes a while on big files: off the event loop.
            text = await asyncio.to_thread(extract_text, blob, doc.file_name, doc.mime_type, max_chars)
        except UnreadableDocument as exc:
            log.info("refused %s (%d bytes): %s", doc.mime_type, len(blob), exc)
            raise UserError(refusal(exc.why, safe_name(doc.file_name))) from None
        texts.append((doc.file_name, text))
    tokens = sum(estimate_tokens(text) for _, text in texts)
    if tokens > limits.max_tokens:
        raise UserError(
            t(
                "That file has about {tokens} tokens of text; I can take at most {limit} with a question. "
                "Please send a shorter part of it.",
                tokens=tokens,
                limit=limits.max_tokens,
            )
        )
    log.info("%d file(s), about %d tokens of text, added to a question", len(texts), tokens)
    return frame(texts, question)
