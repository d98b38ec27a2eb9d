"""`/usage export`: a chat's usage events as CSV (one row per billable gateway call)."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import AsyncIterator

from storage import UsageEvent

COLUMNS = (
    "created_at",
    "platform",
    "chat_key",
    "user_id",
    "user_name",
    "kind",
    "model",
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "image_tokens",
    "images",
    "mj_tasks",
    "cost",
    "currency",
    "request_key",
    "task_id",
)
# Spreadsheet apps run cells starting with these as formulas; user names are user input.
_FORMULA_START = ("=", "+", "-", "@", "|", "%")


def _cell(value: object) -> str:
    """The value as text, with a leading quote when a spreadsheet would read it as a formula.

    Spreadsheets skip leading white space and fold full-width forms ("＝" is "="), so the
    test looks at the NFKC form without leading white space (tabs and newlines included).
    """
    text = "" if value is None else str(value)
    folded = unicodedata.normalize("NFKC", text).lstrip()
    return "'" + text if folded.startswith(_FORMULA_START) or text[:1] in ("\t", "\r", "\n") else text


async def usage_csv(events: AsyncIterator[UsageEvent]) -> tuple[bytes, int]:
    """UTF-8 CSV (with a BOM, so Excel reads names right) and the number of rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    rows = 0
    async for event in events:
        created = event.created_at.isoformat() if event.created_at else ""
        writer.writerow(
            [
                created,
                *(_cell(getattr(event, name)) for name in COLUMNS[1:13]),
                f"{event.cost:f}",
                _cell(event.currency),
                _cell(event.request_key),
                _cell(event.task_id),
            ]
        )
        rows += 1
    return ("\ufeff" + buffer.getvalue()).encode("utf-8"), rows
