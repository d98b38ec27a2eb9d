"""Budget limits: the words (scope, period, metric) and the one syntax for writing them.

The same syntax is used by the BUDGETS setting and by `/admin budget`::

    chat.day.cost=5          the whole chat may spend 5 (price-table currency) a UTC day
    user.month.images=40     each user of a chat may make 40 images a calendar month
    chat day mj 10           spaces work too (mj = Midjourney tasks)
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from enum import StrEnum

from bot.errors import LimitSyntaxError
from bot.i18n import t


class Scope(StrEnum):
    CHAT = "chat"
    USER = "user"


class Period(StrEnum):
    DAY = "day"
    MONTH = "month"


class Metric(StrEnum):
    COST = "cost"
    TOKENS = "tokens"
    IMAGES = "images"
    MJ_TASKS = "mj"


_PERIODS = {"day": Period.DAY, "daily": Period.DAY, "month": Period.MONTH, "monthly": Period.MONTH}
_METRICS = {
    "cost": Metric.COST,
    "tokens": Metric.TOKENS,
    "images": Metric.IMAGES,
    "image": Metric.IMAGES,
    "mj": Metric.MJ_TASKS,
    "mj_tasks": Metric.MJ_TASKS,
    "midjourney": Metric.MJ_TASKS,
}
OFF = "off"
_KEY = re.compile(r"(chat|user)[\s.]+(\w+)[\s.]+(\w+)", re.IGNORECASE)
_ONE = re.compile(r"(.+?)\s*(?:=\s*|\s+)(\S+)")
# Far above any real budget, far below anything that overflows a float or a NUMERIC(18, 8).
MAX_COUNT = Decimal(10) ** 12
MAX_COST = Decimal(10) ** 9
# The storage keeps 8 decimals; a finer cost limit would be stored as 0.
COST_STEP = Decimal("0.00000001")


@dataclass(frozen=True, order=True)
class LimitKey:
    scope: Scope
    period: Period
    metric: Metric

    def __str__(self) -> str:
        return f"{self.scope}.{self.period}.{self.metric}"


def parse_key(text: str) -> LimitKey:
    """`chat.day.cost`, `user month images`, …"""
    match = _KEY.fullmatch(text.strip())
    if match is None:
        raise LimitSyntaxError(
            t("{text}: write <chat|user>.<day|month>.<cost|tokens|images|mj>", text=repr(text.strip()))
        )
    scope, period, metric = match.groups()
    if period.lower() not in _PERIODS:
        raise LimitSyntaxError(t("unknown period {period}: use day or month", period=repr(period)))
    if metric.lower() not in _METRICS:
        raise LimitSyntaxError(
            t("unknown limit {metric}: use cost, tokens, images or mj", metric=repr(metric))
        )
    return LimitKey(Scope(scope.lower()), _PERIODS[period.lower()], _METRICS[metric.lower()])


def parse_amount(key: LimitKey, value: str, *, cost_step: Decimal = COST_STEP) -> Decimal | None:
    """A limit's value: None for `off`; otherwise a finite number in a sane range.

    `cost_step` is the smallest amount of money a limit may name (a currency's minor unit):
    a positive cost below it would round to 0 and shut the chat.
    """
    if value.lower() == OFF:
        return None
    try:
        amount = Decimal(value)
    except InvalidOperation:
        raise LimitSyntaxError(t("{value} is not a number (or off)", value=repr(value))) from None
    if not amount.is_finite() or amount < 0:
        raise LimitSyntaxError(t("{value} must be zero or more", value=repr(value)))
    ceiling = MAX_COST if key.metric is Metric.COST else MAX_COUNT
    if amount > ceiling:
        raise LimitSyntaxError(
            t("{value} is too large (at most {ceiling})", value=repr(value), ceiling=ceiling)
        )
    if key.metric is not Metric.COST:
        if amount != amount.to_integral_value():
            raise LimitSyntaxError(t("{metric} limits are whole numbers", metric=str(key.metric)))
        return amount.quantize(Decimal(1))
    if 0 < amount < cost_step:
        raise LimitSyntaxError(
            t(
                "{value} is less than the smallest amount of money ({step})",
                value=repr(value),
                step=str(cost_step),
            )
        )
    if amount != amount.quantize(cost_step):
        raise LimitSyntaxError(
            t("{value} has more decimals than the currency ({step})", value=repr(value), step=str(cost_step))
        )
    return amount


def parse_limit(text: str, *, cost_step: Decimal = COST_STEP) -> tuple[LimitKey, Decimal | None]:
    """One limit; the value None means "no limit" (written `off`)."""
    match = _ONE.fullmatch(text.strip())
    if match is None:
        raise LimitSyntaxError(
            t(
                "{text}: write <chat|user>.<day|month>.<cost|tokens|images|mj>=<number|off>",
                text=repr(text.strip()),
            )
        )
    key = parse_key(match.group(1))
    return key, parse_amount(key, match.group(2), cost_step=cost_step)


def parse_limits(text: str) -> dict[LimitKey, Decimal | None]:
    """Several limits separated by commas or semicolons (the BUDGETS setting)."""
    limits: dict[LimitKey, Decimal | None] = {}
    for part in re.split(r"[,;\n]", text):
        if part.strip():
            key, value = parse_limit(part)
            limits[key] = value
    return limits


def period_start(period: Period, now: datetime) -> datetime:
    """Start of the current UTC day or calendar month."""
    day = now.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return day if period is Period.DAY else day.replace(day=1)


def period_end(period: Period, now: datetime) -> datetime:
    """When the current period's budget resets."""
    start = period_start(period, now)
    if period is Period.DAY:
        return start + timedelta(days=1)
    return (start + timedelta(days=32)).replace(day=1)
