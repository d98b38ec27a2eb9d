"""Pillow drawing and inspection: every picture the simulator makes or reads.

Generated pictures are deterministic functions of their inputs (prompt text,
source images) so tests can tell them apart, and outputs visibly derive from
inputs (edits tile and tint the sources, upscales crop the grid).
"""

from __future__ import annotations

import functools
import hashlib
import io
import math
import warnings
from collections import Counter
from dataclasses import dataclass

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps, UnidentifiedImageError

Rgb = tuple[int, int, int]

# Nearest-name palette; several shades may share one name.
_PALETTE: tuple[tuple[str, Rgb], ...] = (
    ("red", (255, 0, 0)),
    ("red", (200, 30, 30)),
    ("green", (0, 128, 0)),
    ("green", (0, 255, 0)),
    ("blue", (0, 0, 255)),
    ("blue", (30, 60, 200)),
    ("yellow", (255, 255, 0)),
    ("orange", (255, 165, 0)),
    ("purple", (128, 0, 128)),
    ("pink", (255, 192, 203)),
    ("brown", (139, 69, 19)),
    ("black", (0, 0, 0)),
    ("white", (255, 255, 255)),
    ("gray", (128, 128, 128)),
    ("cyan", (0, 255, 255)),
    ("magenta", (255, 0, 255)),
)

_DECODE_ERRORS = (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError)


def colour_name(rgb: Rgb) -> str:
    r, g, b = rgb
    return min(
        _PALETTE, key=lambda item: (r - item[1][0]) ** 2 + (g - item[1][1]) ** 2 + (b - item[1][2]) ** 2
    )[0]


@dataclass(frozen=True)
class ImageInfo:
    width: int
    height: int
    format: str
    colour: str

    def describe(self) -> str:
        """E.g. ``64x48 red``."""
        return f"{self.width}x{self.height} {self.colour}"


def open_image(data: bytes) -> Image.Image | None:
    """Fully decoded image, or None when the bytes are not a readable picture."""
    try:
        with warnings.catch_warnings():
            # Huge uploads are a legitimate test case; decode them without the bomb warning.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            img.load()
    except _DECODE_ERRORS:
        return None
    return img


def dominant_colour(img: Image.Image) -> str:
    small = img.copy()
    small.thumbnail((32, 32), Image.Resampling.NEAREST)
    rgba = small.convert("RGBA")
    # Transparent areas count as the white page they would be shown on.
    flat = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    flat.alpha_composite(rgba)
    votes: Counter[str] = Counter()
    for count, colour in flat.convert("RGB").getcolors(32 * 32) or []:
        if isinstance(colour, tuple) and len(colour) >= 3:
            votes[colour_name((colour[0], colour[1], colour[2]))] += count
    return votes.most_common(1)[0][0] if votes else "white"


def inspect(data: bytes) -> ImageInfo | None:
    img = open_image(data)
    if img is None:
        return None
    return ImageInfo(img.width, img.height, img.format or "", dominant_colour(img))


def encode_png(img: Image.Image) -> bytes:
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _colours(text: str, salt: str = "") -> tuple[Rgb, Rgb]:
    digest = hashlib.sha256(f"{salt}\x00{text}".encode()).digest()
    return (digest[0], digest[1], digest[2]), (digest[3], digest[4], digest[5])


@functools.lru_cache(maxsize=32)
def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.load_default(size=size)
    except (OSError, ImportError):  # no FreeType: the fixed bitmap font
        return ImageFont.load_default()


def _caption(img: Image.Image, text: str) -> None:
    """Draw the first words of ``text`` across the picture."""
    words = " ".join(text.split()[:4])
    # The bitmap fallback font only knows Latin-1; keep captions ASCII.
    words = words.encode("ascii", "replace").decode("ascii")
    if not words:
        return
    draw = ImageDraw.Draw(img)
    font = _font(max(10, img.width // 14))
    draw.text(
        (img.width // 20, img.height // 2),
        words,
        fill=(255, 255, 255),
        font=font,
        stroke_width=2,
        stroke_fill=(0, 0, 0),
    )


def fit_size(width: int, height: int, long_edge: int) -> tuple[int, int]:
    """Scale ``width`` x ``height`` so the long edge is ``long_edge``."""
    scale = long_edge / max(width, height, 1)
    return max(1, round(width * scale)), max(1, round(height * scale))


def prompt_card(text: str, size: tuple[int, int], *, salt: str = "") -> Image.Image:
    """A diagonal gradient in colours derived from the text, captioned with it."""
    start, end = _colours(text, salt)
    ramp = Image.linear_gradient("L").rotate(45, resample=Image.Resampling.BILINEAR, expand=False)
    img = ImageOps.colorize(ramp, black=start, white=end).resize(size)
    _caption(img, text)
    return img


def tile(sources: list[Image.Image], size: tuple[int, int]) -> Image.Image:
    """Lay the sources out in a near-square grid filling ``size``."""
    cols = math.ceil(math.sqrt(len(sources)))
    rows = math.ceil(len(sources) / cols)
    cell_w, cell_h = max(1, size[0] // cols), max(1, size[1] // rows)
    canvas = Image.new("RGB", size, (255, 255, 255))
    for i, src in enumerate(sources):
        cell = src.convert("RGB").resize((cell_w, cell_h))
        canvas.paste(cell, ((i % cols) * cell_w, (i // cols) * cell_h))
    return canvas


def derive(sources: list[Image.Image], text: str, size: tuple[int, int]) -> Image.Image:
    """An "edit": the sources tiled, lightly tinted by the prompt, captioned."""
    base = tile(sources, size)
    tint = Image.new("RGB", size, _colours(text)[0])
    img = Image.blend(base, tint, 0.25)
    _caption(img, text)
    return img


def _cells(size: tuple[int, int]) -> list[tuple[int, int, int, int]]:
    """The four boxes of a 2x2 grid covering exactly ``size``, row-major."""
    w, h = size
    xs, ys = (0, w // 2, w), (0, h // 2, h)
    return [(xs[c], ys[r], xs[c + 1], ys[r + 1]) for r in range(2) for c in range(2)]


def mj_grid(
    prompt: str, seed: str, size: tuple[int, int], refs: list[Image.Image] | None = None
) -> Image.Image:
    """A Midjourney-style 2x2 grid of four variants, numbered 1-4."""
    canvas = Image.new("RGB", size)
    for i, box in enumerate(_cells(size)):
        cell = (max(1, box[2] - box[0]), max(1, box[3] - box[1]))
        if refs:
            variant = derive([refs[i % len(refs)]], f"{i + 1} {prompt}", cell)
        else:
            variant = prompt_card(f"{i + 1} {prompt}", cell, salt=f"{seed}:{i}")
        canvas.paste(variant, box[:2])
    return canvas


def quadrant(grid: Image.Image, index: int, long_edge: int) -> Image.Image:
    """Cell ``index`` (1-4, row-major) of a 2x2 grid, scaled back up."""
    cell = grid.crop(_cells(grid.size)[index - 1])
    return cell.resize(fit_size(cell.width, cell.height, long_edge))


def preview(img: Image.Image) -> Image.Image:
    """The blurry in-progress look of an unfinished Midjourney job."""
    return img.filter(ImageFilter.GaussianBlur(radius=max(2, img.width // 24)))
