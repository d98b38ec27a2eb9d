"""Images that chat models return inside their text (wenwen-api.md §3.7 and §9.2).

Image-capable chat models answer with markdown images (`![…](https://…)` or
`![…](data:image/png;base64,…)`), bare image URLs, or `image_url` content parts. The
bot sends those as photos instead of showing raw links: this module finds them,
removes them from the text and downloads them at once (gateway URLs expire), through
the one download policy (bot.gateway.downloads): a link to an internal address is refused.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bot.errors import BadImage, DownloadRefused, GatewayError
from bot.gateway.downloads import Downloader
from bot.i18n import Text, tn
from bot.imaging import CheckedImage, check_image

log = logging.getLogger(__name__)

MAX_IMAGES = 10

_MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
_BARE_DATA_URL = re.compile(r"data:image/[\w.+-]+;base64,[A-Za-z0-9+/=]+")
_BARE_IMAGE_URL = re.compile(r"https?://[^\s)\]>\"']+?\.(?:png|jpe?g|webp|gif)(?:\?[^\s)\]>\"']*)?", re.I)
_BLANK_LINES = re.compile(r"\n{3,}")


@dataclass(frozen=True)
class FoundImages:
    text: str
    urls: tuple[str, ...]


def find_images(text: str, extra_urls: Sequence[str] = ()) -> FoundImages:
    """Split a chat answer into its words and the image URLs in it (in order, no repeats)."""
    urls: list[str] = []

    def take(match: re.Match[str]) -> str:
        url = match.group(1) if match.re is _MARKDOWN_IMAGE else match.group(0)
        if url.startswith(("http://", "https://", "data:image/")):
            urls.append(url)
            return ""
        return match.group(0)  # other schemes (file:, javascript:) are left as text

    for pattern in (_MARKDOWN_IMAGE, _BARE_DATA_URL, _BARE_IMAGE_URL):
        text = pattern.sub(take, text)
    urls += [u for u in extra_urls if u.startswith(("http://", "https://", "data:image/"))]
    unique = tuple(dict.fromkeys(urls))
    cleaned = _BLANK_LINES.sub("\n\n", "\n".join(line.rstrip() for line in text.splitlines())).strip()
    return FoundImages(cleaned, unique[:MAX_IMAGES])


@dataclass(frozen=True)
class Fetched:
    images: list[CheckedImage]
    refused: int = 0  # links the download policy refused (internal addresses, not images…)
    failed: int = 0  # links that did not answer in time, or with an error


async def download_images(downloader: Downloader, urls: Sequence[str], max_bytes: int) -> Fetched:
    """Fetch and check each image; one that fails is logged and skipped, not fatal."""
    images: list[CheckedImage] = []
    refused = failed = 0
    for url in urls:
        # Only the host: signed image links carry short-lived tokens in their path and query.
        shown = (urlsplit(url).hostname or "?") if url.startswith("http") else "a data URL"
        try:
            data = await downloader.fetch_image(url, max_bytes=max_bytes)
            images.append(await asyncio.to_thread(check_image, data, max_bytes=max_bytes))
        except (DownloadRefused, BadImage) as exc:
            refused += 1
            log.warning("chat image from %s refused: %s", shown, exc)
        except GatewayError as exc:
            failed += 1
            log.warning("chat image from %s skipped: %s", shown, exc)
    return Fetched(images, refused, failed)


def refused_note(count: int) -> Text:
    return tn(
        "(I did not open an image link in this answer: not an allowed address, or not an image.)",
        "(I did not open {n} image links in this answer: not an allowed address, or not an image.)",
        n=count,
    )
