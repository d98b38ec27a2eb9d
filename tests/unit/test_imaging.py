"""Image checks and conversions with real Pillow images built in memory."""

from __future__ import annotations

import base64
import io
import random
import struct
import zlib

import pytest
from PIL import Image

from bot.imaging import BadImage, check_image, fit_under, thumbnail_jpeg

MB = 1024 * 1024


def encode(img: Image.Image, fmt: str, **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def plain(size: tuple[int, int] = (64, 48), mode: str = "RGB", color: object = (200, 30, 30)) -> Image.Image:
    return Image.new(mode, size, color)  # type: ignore[arg-type]


def noisy(size: tuple[int, int], mode: str = "RGB", seed: int = 1) -> Image.Image:
    channels = len(mode)
    return Image.frombytes(mode, size, random.Random(seed).randbytes(size[0] * size[1] * channels))


def decoded(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def blank_png(width: int, height: int) -> bytes:
    """A valid 1-bit PNG of any size: a few KB on disk, `width * height` pixels once decoded."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    rows = (b"\x00" * (1 + (width + 7) // 8)) * height
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


# --- check_image -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fmt", "mime"), [("PNG", "image/png"), ("JPEG", "image/jpeg"), ("WEBP", "image/webp")]
)
def test_accepted_formats_pass_unchanged(fmt: str, mime: str) -> None:
    data = encode(plain(), fmt)
    checked = check_image(data, max_bytes=MB)
    assert checked.data == data
    assert checked.mime == mime
    assert (checked.width, checked.height) == (64, 48)
    assert checked.data_url() == f"data:{mime};base64,{base64.b64encode(data).decode()}"


def test_extension() -> None:
    assert check_image(encode(plain(), "JPEG"), max_bytes=MB).extension == "jpg"
    assert check_image(encode(plain(), "PNG"), max_bytes=MB).extension == "png"
    assert check_image(encode(plain(), "WEBP"), max_bytes=MB).extension == "webp"


@pytest.mark.parametrize(("fmt", "mode"), [("GIF", "P"), ("BMP", "RGB"), ("TIFF", "RGB"), ("PNG", "I;16")])
def test_other_formats_become_png(fmt: str, mode: str) -> None:
    img = plain(mode="RGB").convert(mode) if mode != "I;16" else Image.new("I;16", (64, 48), 1000)
    checked = check_image(encode(img, fmt), max_bytes=MB)
    if fmt == "PNG":
        assert checked.mime == "image/png"
        return
    assert checked.mime == "image/png"
    out = decoded(checked.data)
    assert out.format == "PNG"
    assert out.size == (64, 48)


def test_animated_gif_becomes_a_still_png() -> None:
    frames = [plain(color=(i * 40, 0, 0)).convert("P") for i in range(3)]
    out = io.BytesIO()
    frames[0].save(out, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    checked = check_image(out.getvalue(), max_bytes=MB)
    assert checked.mime == "image/png"
    assert decoded(checked.data).format == "PNG"


def test_truncated_jpeg_is_refused() -> None:
    data = encode(noisy((256, 256)), "JPEG", quality=90)
    with pytest.raises(BadImage):
        check_image(data[: len(data) // 2], max_bytes=MB)


def test_truncated_png_is_refused() -> None:
    data = encode(noisy((128, 128)), "PNG")
    with pytest.raises(BadImage):
        check_image(data[: len(data) // 2], max_bytes=MB)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"hello, this is not an image",
        b"%PDF-1.7\n" + b"\x00" * 100,
        b"\xff\xd8\xff\xe0" + random.Random(3).randbytes(500),
        b"\x89PNG\r\n\x1a\n" + random.Random(4).randbytes(500),
    ],
    ids=["empty", "text", "pdf", "jpeg-magic-garbage", "png-magic-garbage"],
)
def test_non_images_are_refused(data: bytes) -> None:
    with pytest.raises(BadImage, match="not a readable image"):
        check_image(data, max_bytes=MB)


def test_max_bytes_is_enforced() -> None:
    data = encode(noisy((300, 300)), "PNG")
    with pytest.raises(BadImage, match="limit"):
        check_image(data, max_bytes=len(data) - 1)
    assert check_image(data, max_bytes=len(data)).data == data


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
@pytest.mark.parametrize(("width", "height"), [(9000, 9000), (12000, 12000)])
def test_decompression_bombs_are_refused(width: int, height: int) -> None:
    assert check_image(blank_png(4000, 4000), max_bytes=MB).width == 4000
    with pytest.raises(BadImage, match="too many pixels"):
        check_image(blank_png(width, height), max_bytes=MB)


def test_decompression_bomb_warning_as_error_is_still_bad_image() -> None:
    # pytest turns warnings into errors here (filterwarnings = error), as `-W error` would.
    with pytest.raises(BadImage, match="too many pixels"):
        check_image(blank_png(9000, 9000), max_bytes=MB)


# --- fit_under ---------------------------------------------------------------------------


def test_fit_under_keeps_small_images() -> None:
    data = encode(plain(), "PNG")
    assert fit_under(data, MB) == (data, "image/png")
    jpeg = encode(plain(), "JPEG")
    assert fit_under(jpeg, MB) == (jpeg, "image/jpeg")


def test_fit_under_shrinks_a_big_noisy_image() -> None:
    data = encode(noisy((1200, 900)), "PNG")
    limit = 200 * 1024
    assert len(data) > limit
    fitted = fit_under(data, limit)
    assert fitted is not None
    out, mime = fitted
    assert mime == "image/jpeg"
    assert len(out) <= limit
    assert decoded(out).format == "JPEG"


def test_fit_under_handles_transparency() -> None:
    data = encode(noisy((800, 800), "RGBA"), "PNG")
    fitted = fit_under(data, 150 * 1024)
    assert fitted is not None
    assert len(fitted[0]) <= 150 * 1024


def test_fit_under_gives_up_on_an_impossible_limit() -> None:
    assert fit_under(encode(noisy((400, 400)), "PNG"), 200) is None


# --- thumbnail_jpeg ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"), [((3000, 1500), (1024, 512)), ((800, 2400), (341, 1024)), ((200, 100), (200, 100))]
)
def test_thumbnail_bounds_the_long_edge(size: tuple[int, int], expected: tuple[int, int]) -> None:
    out = decoded(thumbnail_jpeg(encode(plain(size), "PNG")))
    assert out.format == "JPEG"
    assert out.size == expected


def test_thumbnail_of_rgba_and_palette_images() -> None:
    for img in (noisy((500, 300), "RGBA"), plain((500, 300)).convert("P")):
        out = decoded(thumbnail_jpeg(encode(img, "PNG"), max_side=256))
        assert out.mode == "RGB"
        assert max(out.size) == 256


def test_exif_rotated_photos_come_out_upright() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90° clockwise to display
    data = encode(plain((400, 200)), "JPEG", exif=exif.tobytes())
    assert decoded(thumbnail_jpeg(data, max_side=1024)).size == (200, 400)
