"""dall-e-2 inputs: square RGBA PNGs under 4 MB, masks of the same size."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot.dalle2 import MAX_BYTES, mask_alpha, mask_png, prepare
from bot.imaging import BadImage


def encode(img: Image.Image, fmt: str = "PNG") -> bytes:
    out = io.BytesIO()
    img.save(out, fmt)
    return out.getvalue()


def opened(data: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(data))
    img.load()
    return img


def test_crop_keeps_the_middle_as_an_rgba_square() -> None:
    photo = Image.new("RGB", (300, 100), "blue")
    photo.paste(Image.new("RGB", (100, 100), "red"), (100, 0))
    image, mask = prepare(encode(photo, "JPEG"), fit="crop")
    square = opened(image)
    assert mask is None
    assert square.format == "PNG" and square.mode == "RGBA" and square.size == (100, 100)
    assert square.getpixel((50, 50))[0] > 200, "the red middle"
    assert len(image) < MAX_BYTES


def test_pad_adds_transparent_margins() -> None:
    image, _ = prepare(encode(Image.new("RGB", (200, 100), "green")), fit="pad")
    square = opened(image)
    assert square.size == (200, 200)
    assert square.getpixel((100, 5))[3] == 0 and square.getpixel((100, 100))[3] == 255


def test_large_photos_are_scaled_to_1024() -> None:
    image, _ = prepare(encode(Image.new("RGB", (3000, 2000), "white"), "JPEG"))
    assert opened(image).size == (1024, 1024)


def test_a_jpeg_mask_is_read_by_brightness_and_matches_the_image() -> None:
    mask = Image.new("RGB", (150, 100), "black")
    mask.paste(Image.new("RGB", (50, 100), "white"), (100, 0))  # edit the right third
    image, mask_bytes = prepare(
        encode(Image.new("RGB", (300, 200), "red"), "JPEG"), encode(mask, "JPEG"), fit="pad"
    )
    assert mask_bytes is not None
    squared = opened(mask_bytes)
    assert squared.size == opened(image).size == (300, 300)
    assert squared.getpixel((290, 150))[3] == 0, "white: transparent, edit here"
    assert squared.getpixel((10, 150))[3] == 255, "black: keep"
    assert squared.getpixel((150, 10))[3] == 0, "padding is editable too"


def test_a_mask_with_transparency_is_used_as_drawn() -> None:
    drawn = Image.new("RGBA", (10, 10), (255, 255, 255, 255))
    drawn.putpixel((1, 1), (255, 255, 255, 0))
    alpha = mask_alpha(drawn)
    assert alpha.getpixel((1, 1))[3] == 0 and alpha.getpixel((5, 5))[3] == 255


def test_mask_png_for_gpt_image_1_is_stretched_to_the_photo() -> None:
    out = opened(mask_png(encode(Image.new("L", (10, 10), 255)), (64, 48)))
    assert out.size == (64, 48) and out.mode == "RGBA"


def test_garbage_is_refused() -> None:
    with pytest.raises(BadImage):
        prepare(b"not an image")
