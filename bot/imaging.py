"""Image checks and conversions (Pillow), kept away from handlers and adapters.

Pillow is imported by the first call that needs it, not at start-up: a bot that never sees
a picture does not carry it (about 2 MB of memory).
"""

from __future__ import annotations

import base64
import functools
import io
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from bot.errors import BadImage
from bot.i18n import t

if TYPE_CHECKING:
    from PIL import Image

# What gpt-image-1 edits and vision accept as they are; anything else is re-encoded.
ACCEPTED = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp"}
MAX_PIXELS = 64_000_000  # refuse decompression bombs well before memory runs out


@functools.cache
def pillow_ready() -> None:
    """Import Pillow and set its decompression-bomb limit: once, before any image is opened."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def open_image(data: bytes) -> Image.Image:
    """Pillow's lazy open (reads the header only), with the pixel limit in force."""
    pillow_ready()
    from PIL import Image

    return Image.open(io.BytesIO(data))


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    mime: str
    width: int
    height: int

    @property
    def extension(self) -> str:
        return self.mime.split("/", 1)[1].replace("jpeg", "jpg")

    def data_url(self) -> str:
        return f"data:{self.mime};base64,{base64.b64encode(self.data).decode()}"


def megabytes(size: int, places: int) -> Decimal:
    """A byte count in MB, rounded for showing ("3.2", "20")."""
    return (Decimal(size) / 1_048_576).quantize(Decimal(1).scaleb(-places))


def check_image(data: bytes, *, max_bytes: int) -> CheckedImage:
    """Decode fully (catches truncated/corrupt files); convert odd formats to PNG."""
    if len(data) > max_bytes:
        raise BadImage(
            t(
                "That image is {size} MB; the limit is {limit} MB.",
                size=megabytes(len(data), 1),
                limit=megabytes(max_bytes, 0),
            )
        )
    from PIL import Image, UnidentifiedImageError

    try:
        with open_image(data) as img:
            fmt = img.format or ""
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; refuse before decoding.
            if img.width * img.height > MAX_PIXELS:
                raise BadImage(t("That image has too many pixels."))
            img.load()
            width, height = img.size
            if fmt in ACCEPTED and not getattr(img, "is_animated", False):
                return CheckedImage(data, ACCEPTED[fmt], width, height)
            return CheckedImage(_encode(img, "PNG"), "image/png", width, height)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise BadImage(t("That image has too many pixels.")) from exc
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BadImage(t("That file is not a readable image (corrupt or unsupported format).")) from exc


def _encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    if fmt == "JPEG" and img.mode not in ("RGB", "L"):
        img = img.convert("RGB")
    elif fmt == "PNG" and img.mode not in ("RGB", "RGBA", "L", "LA", "P"):
        img = img.convert("RGBA")
    img.save(out, fmt, **params)
    return out.getvalue()


def _upright(img: Image.Image) -> Image.Image:
    """Apply the EXIF orientation: re-encoding drops EXIF, and phone photos would turn sideways."""
    from PIL import ImageOps

    return ImageOps.exif_transpose(img) or img


def thumbnail_jpeg(data: bytes, max_side: int = 1024, quality: int = 85) -> bytes:
    """A compact copy for memory and vision: long edge ≤ max_side, JPEG."""
    with open_image(data) as img:
        upright = _upright(img)
        upright.thumbnail((max_side, max_side))
        return _encode(upright, "JPEG", quality=quality)


def fit_under(data: bytes, max_bytes: int) -> tuple[bytes, str] | None:
    """Re-encode an image (JPEG, shrinking if needed) to fit a platform's upload limit."""
    if len(data) <= max_bytes:
        return data, _mime_of(data)
    with open_image(data) as img:
        img.load()
        current: Image.Image = img
        for _ in range(8):
            for quality in (90, 80, 70, 60):
                encoded = _encode(current, "JPEG", quality=quality, optimize=True)
                if len(encoded) <= max_bytes:
                    return encoded, "image/jpeg"
            width, height = current.size
            if width < 64 or height < 64:
                break
            current = current.resize((int(width * 0.75), int(height * 0.75)))
    return None


def _mime_of(data: bytes) -> str:
    from PIL import Image, UnidentifiedImageError

    try:
        with open_image(data) as img:
            return Image.MIME.get(img.format or "", "image/png")
    except (UnidentifiedImageError, OSError):
        return "application/octet-stream"
