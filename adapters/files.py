"""Files a person sent, sorted into what the core takes: images, a voice message or audio
file, text-like documents, and a name for the rest (for a polite refusal).

Shared by the adapters whose messages carry plain files with a name and a content type
(Discord's attachments, the console's paths); Telegram's messages say what they carry.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from bot.documents import is_text_like
from bot.model import AudioAttachment, DocumentAttachment, ImageAttachment

_IMAGE_SUFFIXES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".gif": "image/gif",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
}


def bare_mime(content_type: str | None) -> str:
    """An attachment's content type without its parameters, in lower case ("" when none)."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def image_mime(filename: str, content_type: str | None) -> str | None:
    """The image type of an attachment, from its content type or, failing that, its name."""
    kind = bare_mime(content_type)
    if kind.startswith("image/"):
        return kind
    if kind:
        return None
    suffix = "." + filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
    return _IMAGE_SUFFIXES.get(suffix)


def document_mime(filename: str, content_type: str | None) -> str | None:
    """The type of a text-like file (text, source code, PDF) a question may carry; None for others."""
    kind = bare_mime(content_type)
    return (kind or "text/plain") if is_text_like(filename, kind) else None


@dataclass(frozen=True)
class FileRef:
    """A file as sent: its bytes on demand, its name and type as told; `url` where it can be
    fetched again (a journaled Discord message is replayed from it)."""

    fetch: Callable[[], Awaitable[bytes]]
    filename: str
    content_type: str | None
    size: int
    url: str
    duration: float | None = None
    voice: bool = False


def image_of(attachment: FileRef, mime: str) -> ImageAttachment:
    return ImageAttachment(
        fetch=attachment.fetch, file_name=attachment.filename, mime_type=mime, size=attachment.size
    )


class Sorted(NamedTuple):
    images: tuple[ImageAttachment, ...]
    audio: AudioAttachment | None
    documents: tuple[DocumentAttachment, ...]
    unsupported: str | None


def sort_attachments(
    attachments: Sequence[FileRef], *, media: bool = True, documents: bool = False
) -> Sorted:
    """Images; with `media`, also the first audio file (voice messages) and text-like files;
    with `documents`, text-like files alone.

    Whatever is left is named for a polite refusal.
    """
    take_documents = media or documents
    images: list[ImageAttachment] = []
    texts: list[DocumentAttachment] = []
    audio: AudioAttachment | None = None
    others: list[str] = []
    for attachment in attachments:
        mime = image_mime(attachment.filename, attachment.content_type)
        kind = bare_mime(attachment.content_type)
        if mime is not None:
            images.append(image_of(attachment, mime))
        elif media and audio is None and (kind.startswith("audio/") or attachment.voice):
            audio = AudioAttachment(
                fetch=attachment.fetch,
                file_name=attachment.filename,
                mime_type=kind or "audio/ogg",
                size=attachment.size,
                duration=attachment.duration,
            )
        elif take_documents and (document := document_mime(attachment.filename, attachment.content_type)):
            texts.append(
                DocumentAttachment(
                    fetch=attachment.fetch,
                    file_name=attachment.filename,
                    mime_type=document,
                    size=attachment.size,
                )
            )
        else:
            others.append(_describe_file(attachment))
    return Sorted(tuple(images), audio, tuple(texts), ", ".join(others) if others else None)


def _describe_file(attachment: FileRef) -> str:
    content_type = bare_mime(attachment.content_type)
    if content_type.startswith("audio/"):
        return "audio"
    if content_type.startswith("video/"):
        return "videos"
    suffix = attachment.filename.rsplit(".", 1)[-1].upper() if "." in attachment.filename else ""
    return f"{suffix} files" if suffix else "that file"
