"""What a dall-e-2 edit needs (wenwen-api.md §5.2): one square RGBA PNG under 4 MB, and a mask
of the same size whose fully transparent pixels mark where to edit.

Photos are rarely square: `crop` keeps the middle, `pad` adds transparent margins — which
dall-e-2 treats as the area to paint, so padding without a mask extends the picture.
Chat photos carry no transparency (Telegram sends JPEG), so a mask without alpha is read
by brightness: white (or light) means "change this", black means "keep".
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal

from bot.errors import BadImage
from bot.i18n import t
from bot.imaging import open_image

if TYPE_CHECKING:  # Pillow itself is imported on first use (bot.imaging)
    from PIL import Image

MAX_BYTES = 4 * 1024 * 1024
SIDES = (1024, 768, 512, 256)
Fit = Literal["crop", "pad"]


def prepare(image: bytes, mask: bytes | None = None, *, fit: Fit = "crop") -> tuple[bytes, bytes | None]:
    """(image PNG, mask PNG or None), both square, the same size, each under 4 MB."""
    photo = _open(image).convert("RGBA")
    square = _square(photo, fit)
    # A mask of another resolution is stretched onto the photo first, so both crop alike.
    mask_square = None if mask is None else _square(mask_alpha(_open(mask)).resize(photo.size), fit)
    edge = square.width
    for side in SIDES:
        size = (min(side, edge), min(side, edge))
        encoded = _png(square.resize(size))
        if len(encoded) >= MAX_BYTES:
            continue
        if mask_square is None:
            return encoded, None
        return encoded, _png(mask_square.resize(size))
    raise BadImage(t("Could not make that image small enough for dall-e-2."))


def mask_png(mask: bytes, size: tuple[int, int]) -> bytes:
    """A mask for another model (gpt-image-1): RGBA PNG stretched to the photo's size."""
    return _png(mask_alpha(_open(mask)).resize(size))


def mask_alpha(img: Image.Image) -> Image.Image:
    """An RGBA mask: its own transparency if it has any, else transparent where it is light."""
    if img.mode in ("RGBA", "LA") or "transparency" in img.info:
        rgba = img.convert("RGBA")
        low = rgba.getchannel("A").getextrema()[0]
        if isinstance(low, int) and low < 255:
            return rgba
    from PIL import Image

    keep = img.convert("L").point(lambda value: 0 if value > 127 else 255)
    out = Image.new("RGBA", img.size, (0, 0, 0, 255))
    out.putalpha(keep)
    return out


def _open(data: bytes) -> Image.Image:
    from PIL import ImageOps, UnidentifiedImageError

    try:
        with open_image(data) as img:
            img.load()
            return ImageOps.exif_transpose(img) or img
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise BadImage(t("That file is not a readable image.")) from exc


def _square(img: Image.Image, fit: Fit) -> Image.Image:
    width, height = img.size
    if fit == "pad":
        from PIL import Image

        edge = max(width, height)
        canvas = Image.new("RGBA", (edge, edge), (0, 0, 0, 0))
        canvas.paste(img, ((edge - width) // 2, (edge - height) // 2))
        return canvas
    edge = min(width, height)
    left, top = (width - edge) // 2, (height - edge) // 2
    return img.crop((left, top, left + edge, top + edge))


def _png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return out.getvalue()
