"""Files the simulator serves at /__sim/files/<name>, with an expiry like dall-e URLs."""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class StoredFile:
    data: bytes
    content_type: str
    expires_at: float


class FileStore:
    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._files: dict[str, StoredFile] = {}

    def put(self, data: bytes, *, content_type: str = "image/png", ext: str = "png") -> str:
        """Store ``data`` and return its file name (``<hex>.<ext>``)."""
        name = f"{uuid.uuid4().hex}.{ext}"
        self._files[name] = StoredFile(data, content_type, time.monotonic() + self._ttl)
        return name

    def get(self, name: str) -> StoredFile | None:
        stored = self._files.get(name)
        if stored is None:
            return None
        if time.monotonic() >= stored.expires_at:
            del self._files[name]
            return None
        return stored

    def clear(self) -> None:
        self._files.clear()

    def __len__(self) -> int:
        return len(self._files)
