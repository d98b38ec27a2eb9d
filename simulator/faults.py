"""Injected faults and the book that decides which request they hit."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

KINDS = frozenset(
    {
        "status",
        "timeout",
        "garbage",
        "html",
        "cut_stream",
        "slow_stream",
        "slow_first_byte",
        "slow_answer",
        "mj_code",
    }
)


@dataclass(frozen=True)
class Fault:
    """One fault to inject.

    ``route`` is a path prefix ("*" matches every gateway route but not the
    simulator's own ``/__sim/...`` routes). ``status`` is the HTTP status for
    "status" faults and the submit ``code`` for "mj_code". ``delay`` is used by
    "timeout" and "slow_first_byte"; by "slow_answer" as the wait between doing the work
    and answering (the request takes effect at once, its answer arrives late); and as the
    pause between chunks by "slow_stream" (an answer that takes a while to write, for
    stopping it). ``after_chunks`` is used by "cut_stream".
    ``times`` is how many requests it affects; None means until cleared.
    """

    route: str = "*"
    kind: str = "status"
    status: int = 500
    times: int | None = 1
    delay: float = 10.0
    retry_after: float | None = None
    message: str | None = None
    after_chunks: int = 2

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {sorted(KINDS)}")
        if self.times is not None and self.times < 1:
            raise ValueError("times must be >= 1 or None")
        if self.route != "*" and not self.route.startswith("/"):
            raise ValueError("route must be '*' or a path prefix starting with '/'")

    @classmethod
    def from_json(cls, data: Any) -> Fault:
        """Build from a JSON object, rejecting unknown fields (ValueError/TypeError)."""
        if not isinstance(data, dict):
            raise TypeError("fault must be a JSON object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        return cls(**data)

    def matches(self, path: str) -> bool:
        if self.route == "*":
            return not path.startswith("/__sim")
        return path.startswith(self.route)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class _Armed:
    fault: Fault
    remaining: int | None


class FaultBook:
    """Active faults in the order they were added; the first match wins."""

    def __init__(self) -> None:
        self._armed: list[_Armed] = []

    def add(self, fault: Fault) -> None:
        self._armed.append(_Armed(fault, fault.times))

    def clear(self) -> None:
        self._armed.clear()

    def active(self) -> list[dict[str, Any]]:
        return [{**a.fault.as_dict(), "remaining": a.remaining} for a in self._armed]

    def take(self, path: str, kinds: frozenset[str]) -> Fault | None:
        """Consume one use of the first fault of ``kinds`` matching ``path``."""
        for armed in self._armed:
            if armed.fault.kind in kinds and armed.fault.matches(path):
                if armed.remaining is not None:
                    armed.remaining -= 1
                    if armed.remaining <= 0:
                        self._armed.remove(armed)
                return armed.fault
        return None
