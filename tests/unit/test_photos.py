"""Fetching users' photos: checked off the event loop, refused with a reason."""

from __future__ import annotations

import threading

import pytest

from bot.errors import UserError
from bot.imaging import CheckedImage, check_image
from bot.usecases import attachments as photos
from tests.integration.fakes import photo, png


async def test_photos_are_decoded_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    # A full decode of a 20 MB photo takes long enough to stall every other chat.
    threads: list[int] = []

    def checking(data: bytes, *, max_bytes: int) -> CheckedImage:
        threads.append(threading.get_ident())
        return check_image(data, max_bytes=max_bytes)

    monkeypatch.setattr(photos, "check_image", checking)
    checked = await photos.fetch_images((photo(png("red")), photo(png("blue"))), 1_000_000)
    assert [image.mime for image in checked] == ["image/png", "image/png"]
    assert threads and threading.get_ident() not in threads


async def test_a_corrupt_photo_is_refused_naming_it() -> None:
    with pytest.raises(UserError, match="Photo 2: That file is not a readable image"):
        await photos.fetch_images((photo(png()), photo(b"not an image")), 1_000_000)
