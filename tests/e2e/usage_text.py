"""Reading /usage reports the way a person does: from the text the platform shows."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal

_TOTAL = re.compile(r"^Total: (?P<cost>[^ ]+) · (?P<requests>[\d,]+) requests?$", re.MULTILINE)
_TOKENS = re.compile(r"(?P<total>[\d,]+) tokens \((?P<input>[\d,]+) in / (?P<output>[\d,]+) out\)")
_IMAGES = re.compile(r"(?<![\w,])(?P<n>[\d,]+) images?\b")
_MJ = re.compile(r"(?P<n>[\d,]+) Midjourney tasks?")


def _int(text: str | None) -> int:
    return int(text.replace(",", "")) if text else 0


@dataclass(frozen=True)
class ReportTotals:
    requests: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    images: int
    mj_tasks: int
    cost: Decimal

    @classmethod
    def zero(cls) -> ReportTotals:
        return cls(0, 0, 0, 0, 0, 0, Decimal(0))


def report_totals(text: str) -> ReportTotals:
    """The "Total:" line and the details line under it; zero for "Nothing used"."""
    total = _TOTAL.search(text)
    if total is None:
        assert "Nothing used" in text, text
        return ReportTotals.zero()
    detail = text[total.end() :].split("\n", 2)[1] if "\n" in text[total.end() :] else ""
    tokens = _TOKENS.search(detail)
    images = _IMAGES.search(detail)
    mj = _MJ.search(detail)
    return ReportTotals(
        requests=_int(total["requests"]),
        input_tokens=_int(tokens["input"]) if tokens else 0,
        output_tokens=_int(tokens["output"]) if tokens else 0,
        total_tokens=_int(tokens["total"]) if tokens else 0,
        images=_int(images["n"]) if images else 0,
        mj_tasks=_int(mj["n"]) if mj else 0,
        cost=Decimal(re.sub(r"[^\d.]", "", total["cost"])),
    )


def section(text: str, title: str) -> list[str]:
    """The bullet lines under a bold section title ("By kind", "By model", "Top users")."""
    # Discord shows section titles as **markdown**; Telegram's stored text has no markup.
    lines = [line.strip("*") if line.startswith("**") else line for line in text.splitlines()]
    if title not in lines:
        return []
    start = lines.index(title) + 1
    out = []
    for line in lines[start:]:
        if not line.startswith(("• ", "… ")):
            break
        out.append(line)
    return out
