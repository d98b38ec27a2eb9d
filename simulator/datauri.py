"""Data URLs and raw base64 as used in chat parts and Midjourney base64Array."""

from __future__ import annotations

import base64
import binascii
import re

_DATA_URL = re.compile(r"^data:(?P<mime>[\w/+.-]+)?(?:;[\w=.-]+)*;base64,(?P<data>.*)$", re.S)


def b64decode(text: str) -> bytes | None:
    """Strict base64 decode (whitespace tolerated); None when invalid or empty."""
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        return None
    return data or None


def decode_data_url(url: str) -> bytes | None:
    """Bytes of a ``data:<mime>;base64,<...>`` URL, or None if it is not one."""
    match = _DATA_URL.match(url)
    if match is None:
        return None
    return b64decode(match.group("data"))


def is_data_url(url: str) -> bool:
    return url.startswith("data:")


def to_data_url(data: bytes, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def b64encode(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
