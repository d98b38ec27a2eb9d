"""The budget limit syntax shared by BUDGETS and /admin budget, and budget periods."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from bot.usage.limits import (
    LimitKey,
    LimitSyntaxError,
    Metric,
    Period,
    Scope,
    parse_limit,
    parse_limits,
    period_end,
    period_start,
)


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("chat.day.cost=5", LimitKey(Scope.CHAT, Period.DAY, Metric.COST), Decimal(5)),
        ("user monthly images 40", LimitKey(Scope.USER, Period.MONTH, Metric.IMAGES), Decimal(40)),
        ("USER.Daily.MJ = 3", LimitKey(Scope.USER, Period.DAY, Metric.MJ_TASKS), Decimal(3)),
        ("chat month tokens off", LimitKey(Scope.CHAT, Period.MONTH, Metric.TOKENS), None),
        ("chat.day.cost=0.25", LimitKey(Scope.CHAT, Period.DAY, Metric.COST), Decimal("0.25")),
    ],
)
def test_parses_one_limit(text: str, key: LimitKey, value: Decimal | None) -> None:
    assert parse_limit(text) == (key, value)


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("team.day.cost=5", "write"),
        ("chat.week.cost=5", "period"),
        ("chat.day.dollars=5", "unknown limit"),
        ("chat.day.cost=lots", "not a number"),
        ("chat.day.cost=-1", "zero or more"),
        ("chat.day.images=1.5", "whole numbers"),
        ("chat.day.cost=NaN", "zero or more"),
    ],
)
def test_refuses_bad_limits_with_a_reason(text: str, complaint: str) -> None:
    with pytest.raises(LimitSyntaxError, match=complaint):
        parse_limit(text)


def test_parses_a_list_and_the_last_word_wins() -> None:
    limits = parse_limits("chat.day.cost=5; user.month.images=40,\nchat.day.cost=6")
    assert limits == {
        LimitKey(Scope.CHAT, Period.DAY, Metric.COST): Decimal(6),
        LimitKey(Scope.USER, Period.MONTH, Metric.IMAGES): Decimal(40),
    }
    assert parse_limits("") == {}


def test_the_setting_is_checked_at_start_up() -> None:
    from pydantic import ValidationError

    from bot.config import Settings

    with pytest.raises(ValidationError, match="period"):
        Settings(_env_file=None, budgets="chat.year.cost=5")  # type: ignore[call-arg]


def test_periods_are_utc_days_and_calendar_months() -> None:
    now = datetime(2025, 12, 31, 22, 30, tzinfo=UTC)
    assert period_start(Period.DAY, now) == datetime(2025, 12, 31, tzinfo=UTC)
    assert period_end(Period.DAY, now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert period_start(Period.MONTH, now) == datetime(2025, 12, 1, tzinfo=UTC)
    assert period_end(Period.MONTH, now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert period_end(Period.MONTH, datetime(2025, 1, 31, tzinfo=UTC)) == datetime(2025, 2, 1, tzinfo=UTC)
