"""The request log: what clients sent, minus secrets and bulky base64."""

from __future__ import annotations

import dataclasses
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SECRET_HEADERS = frozenset({"authorization", "x-api-key", "mj-api-secret"})
REDACTED = "<redacted>"

# Long runs of base64 (with or without a data: prefix) are noise in a log.
_BASE64ISH = re.compile(r"^(data:[\w/+.-]+;base64,)?[A-Za-z0-9+/=\s]+$")
_KEEP = 48
_LONG = 200


def shorten_value(value: Any) -> Any:
    """Copy of a JSON value with long base64-looking strings cut down."""
    if isinstance(value, str):
        if len(value) > _LONG and _BASE64ISH.match(value):
            return f"{value[:_KEEP]}...<{len(value)} chars>"
        return value
    if isinstance(value, list):
        return [shorten_value(v) for v in value]
    if isinstance(value, dict):
        return {k: shorten_value(v) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class Upload:
    field: str
    filename: str
    content_type: str
    size: int


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    at: float = field(default_factory=time.time)
    body_bytes: int = 0
    json: Any = None
    form: dict[str, str] = field(default_factory=dict)
    files: list[Upload] = field(default_factory=list)
    status: int | None = None
    fault: str | None = None
    # The client's address and port: requests over one kept-alive connection share it.
    peer: str = ""

    @classmethod
    def of(cls, request: web.Request) -> RecordedRequest:
        address = request.transport.get_extra_info("peername") if request.transport else None
        return cls(
            method=request.method,
            path=request.path,
            query=dict(request.query),
            headers=redact_headers(request.headers),
            peer=f"{address[0]}:{address[1]}" if address else "",
        )

    @property
    def file_count(self) -> int:
        return len(self.files)

    @property
    def file_sizes(self) -> list[int]:
        return [f.size for f in self.files]

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "headers": self.headers,
            "at": self.at,
            "body_bytes": self.body_bytes,
            "json": self.json,
            "form": self.form,
            "files": [dataclasses.asdict(f) for f in self.files],
            "file_count": self.file_count,
            "status": self.status,
            "fault": self.fault,
        }


def redact_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lower-cased header names; auth secrets replaced so tests can see which was used."""
    out: dict[str, str] = {}
    for name, value in headers.items():
        key = name.lower()
        out[key] = REDACTED if key in SECRET_HEADERS else value
    return out


RECORD = web.RequestKey("sim_record", RecordedRequest)
