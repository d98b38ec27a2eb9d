"""`/usage chart`: daily cost and requests as a PNG, drawn with Pillow.

Two stacked bar panels sharing the day axis, big type and few labels: it is read on
a phone, where Telegram shows photos about 400 px wide.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal

from PIL import Image, ImageDraw, ImageFont

from bot.usage.pricing import PriceTable
from storage import UsageTotals

WIDTH, HEIGHT = 1200, 1000
MARGIN_LEFT, MARGIN_RIGHT = 150, 40
BACKGROUND = (255, 255, 255)
INK = (33, 37, 41)
GRID = (222, 226, 230)
MUTED = (108, 117, 125)
COST_BAR = (13, 110, 253)
REQUEST_BAR = (25, 135, 84)

Font = ImageFont.FreeTypeFont | ImageFont.ImageFont


def _font(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _axis(peak: float, *, whole: bool) -> tuple[float, int]:
    """A round step (1, 2, 2.5 or 5 × 10ⁿ) and how many steps reach `peak` (at most 5)."""
    if peak <= 0:
        return 1.0, 4
    raw = peak / 4
    magnitude = 10.0 ** math.floor(math.log10(raw))
    step = next(s * magnitude for s in (1, 2, 2.5, 5, 10) if s * magnitude >= raw * 0.999999)
    if whole:
        step = float(max(math.ceil(step), 1))
    return step, max(math.ceil(peak / step - 1e-9), 1)


def _panel(
    draw: ImageDraw.ImageDraw,
    box: tuple[int, int, int, int],
    *,
    title: str,
    values: Sequence[float],
    color: tuple[int, int, int],
    label: Callable[[float], str],
    whole: bool = False,
) -> None:
    left, top, right, bottom = box
    draw.text((left - MARGIN_LEFT + 20, top - 52), title, font=_font(34), fill=INK)
    step, steps = _axis(max(values, default=0.0), whole=whole)
    peak = step * steps
    small = _font(24)
    for n in range(steps + 1):
        y = bottom - (bottom - top) * n / steps
        draw.line((left, y, right, y), fill=GRID, width=2)
        text = label(step * n)
        width = draw.textlength(text, font=small)
        draw.text((left - 12 - width, y - 14), text, font=small, fill=MUTED)
    slot = (right - left) / max(len(values), 1)
    for n, value in enumerate(values):
        if value <= 0:
            continue
        x0 = left + n * slot + slot * 0.15
        x1 = left + (n + 1) * slot - slot * 0.15
        y0 = bottom - (bottom - top) * min(value / peak, 1.0)
        draw.rectangle((x0, min(y0, bottom - 3), x1, bottom), fill=color)


def usage_chart(days: Sequence[tuple[date, UsageTotals]], prices: PriceTable, title: str) -> bytes:
    """PNG of daily cost (top) and requests (bottom), one bar per day, oldest first."""
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((30, 24), title, font=_font(40), fill=INK)
    total_cost = sum((t.cost for _, t in days), Decimal(0))
    total_requests = sum(t.requests for _, t in days)
    summary = f"{prices.money(total_cost)} · {total_requests:,} requests in {len(days)} days (UTC)"
    draw.text((30, 80), summary, font=_font(28), fill=MUTED)

    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    costs = [float(t.cost) for _, t in days]
    # Fewer decimals as amounts grow: "$12" and "$0.25" read better than "$12.0000".
    cost_step, _ = _axis(max(costs, default=0.0), whole=False)
    places = 0 if cost_step >= 1 else 2 if cost_step >= 0.01 else 4

    _panel(
        draw,
        (left, 230, right, 520),
        title="Cost per day",
        values=costs,
        color=COST_BAR,
        label=lambda v: prices.money(Decimal(str(v)), places),
    )
    _panel(
        draw,
        (left, 650, right, 900),
        title="Requests per day",
        values=[float(t.requests) for _, t in days],
        color=REQUEST_BAR,
        label=lambda v: f"{v:,.0f}",
        whole=True,
    )
    # Day labels under the lower panel: every fifth day, and the last one.
    font = _font(24)
    slot = (right - left) / max(len(days), 1)
    for n, (day, _) in enumerate(days):
        if n % 5 == 0 or n == len(days) - 1:
            text = f"{day:%-d %b}"
            width = draw.textlength(text, font=font)
            x = min(left + (n + 0.5) * slot - width / 2, WIDTH - width - 8)
            draw.text((x, 915), text, font=font, fill=MUTED)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
