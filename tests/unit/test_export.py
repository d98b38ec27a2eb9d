"""/usage export: CSV that spreadsheets read safely."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.usage.export import COLUMNS, _cell, usage_csv
from storage import UsageEvent


async def events(*items: UsageEvent) -> AsyncIterator[UsageEvent]:
    for item in items:
        yield item


async def test_csv_has_a_header_and_one_row_per_event() -> None:
    event = UsageEvent(
        chat_key="tg:-1",
        platform="tg",
        user_id="7",
        user_name='=HYPERLINK("evil")',
        kind="chat",
        model="gpt-4o",
        input_tokens=10,
        output_tokens=5,
        total_tokens=15,
        cost=Decimal("0.00012500"),
        currency="USD",
        request_key="req-1",
        created_at=datetime(2025, 3, 1, 12, tzinfo=UTC),
    )
    data, count = await usage_csv(events(event, event))
    assert count == 2
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert list(rows[0]) == list(COLUMNS)
    assert rows[0]["created_at"] == "2025-03-01T12:00:00+00:00"
    assert rows[0]["cost"] == "0.00012500"
    assert rows[0]["total_tokens"] == "15"
    assert rows[0]["user_name"].startswith("'="), "a formula is neutralised"
    assert rows[0]["task_id"] == ""


async def test_an_empty_chat_exports_just_the_header() -> None:
    data, count = await usage_csv(events())
    assert count == 0
    assert data.decode("utf-8-sig").strip() == ",".join(COLUMNS)


@pytest.mark.parametrize(
    "name", ["=1+1", " =1+1", "\t=cmd", "\n@SUM(A1)", "＝HYPERLINK()", "　＋1", "-2+3", "%0A=1", "|calc"]
)
def test_formula_cells_are_neutralised_after_white_space_and_full_width_forms(name: str) -> None:
    assert _cell(name) == "'" + name


@pytest.mark.parametrize("name", ["Ann", "李雷", "a=b", "", "1.5"])
def test_ordinary_cells_are_left_alone(name: str) -> None:
    assert _cell(name) == name
