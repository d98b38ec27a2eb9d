"""`/usage chart`: daily cost and requests as a PNG, drawn with Pillow.

Two stacked bar panels sharing the day axis, big type and few labels: it is read on
a phone, where Telegram shows photos about 400 px wide.
"""

from __future__ import annotations

import functools
import io
import math
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from importlib import resources

from PIL import Image, ImageDraw, ImageFont

from bot.i18n import Lang, Tr, t
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
Fonts = Callable[[int], Font]

# Noto Sans CJK (package `noto-cjk-sans-otc`, OFL): a collection; this face is Simplified Chinese.
CJK_PACKAGE, CJK_FILE, CJK_SC_INDEX = "noto_cjk_sans_otc", "NotoSansCJK-Regular.ttc", 2


def _latin(size: int) -> Font:
    return ImageFont.load_default(size=size)


def _cjk(size: int) -> Font:
    # Read only when a Chinese chart is drawn: the collection is ~19 MB.
    with resources.files(CJK_PACKAGE).joinpath(CJK_FILE).open("rb") as font:
        return ImageFont.truetype(io.BytesIO(font.read()), size, index=CJK_SC_INDEX)


def fonts_for(lang: Lang) -> Fonts:
    """Pillow's bundled font has Latin only; Chinese needs a CJK face."""
    return _cjk if lang is Lang.ZH else _latin


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


def _decimals(step: float) -> int:
    """Decimals that write every multiple of `step` exactly: a 0.025 step is labelled
    $0.025, $0.050, $0.075, not a rounded $0.02 and $0.08 beside an exact $0.05."""
    exponent = Decimal(f"{step:.12g}").normalize().as_tuple().exponent
    assert isinstance(exponent, int)  # a finite step
    return max(0, -exponent)


def cost_label(prices: PriceTable, tr: Tr, peak: float) -> Callable[[float], str]:
    """The cost panel's tick labels: as many decimals as its step needs, so "$10" and
    "$0.25" rather than "$10.0000"."""
    places = _decimals(_axis(peak, whole=False)[0])
    return lambda value: tr.money(prices.amount(Decimal(str(value)), places))


def _panel(
    draw: ImageDraw.ImageDraw,
    font: Fonts,
    box: tuple[int, int, int, int],
    *,
    title: str,
    values: Sequence[float],
    color: tuple[int, int, int],
    label: Callable[[float], str],
    whole: bool = False,
) -> None:
    left, top, right, bottom = box
    # Clear of the top tick's label below it, which starts at the same left edge.
    draw.text((left - MARGIN_LEFT + 20, top - 68), title, font=font(34), fill=INK)
    step, steps = _axis(max(values, default=0.0), whole=whole)
    peak = step * steps
    small = font(24)
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


def usage_chart(days: Sequence[tuple[date, UsageTotals]], prices: PriceTable, title: str, tr: Tr) -> bytes:
    """PNG of daily cost (top) and requests (bottom), one bar per day, oldest first."""
    font = functools.cache(fonts_for(tr.lang))
    image = Image.new("RGB", (WIDTH, HEIGHT), BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((30, 24), title, font=font(40), fill=INK)
    total_cost = sum((day.cost for _, day in days), Decimal(0))
    total_requests = sum(day.requests for _, day in days)
    summary = tr(
        t(
            "{cost} · {requests} requests in {days} days (UTC)",
            cost=prices.amount(total_cost),
            requests=total_requests,
            days=len(days),
        )
    )
    draw.text((30, 80), summary, font=font(28), fill=MUTED)

    left, right = MARGIN_LEFT, WIDTH - MARGIN_RIGHT
    costs = [float(day.cost) for _, day in days]
    _panel(
        draw,
        font,
        (left, 230, right, 520),
        title=tr(t("Cost per day")),
        values=costs,
        color=COST_BAR,
        label=cost_label(prices, tr, max(costs, default=0.0)),
    )
    _panel(
        draw,
        font,
        (left, 650, right, 900),
        title=tr(t("Requests per day")),
        values=[float(day.requests) for _, day in days],
        color=REQUEST_BAR,
        label=lambda v: tr.number(round(v)),
        whole=True,
    )
    # Day labels under the lower panel: every fifth day, and the last one.
    small = font(24)
    slot = (right - left) / max(len(days), 1)
    for n, (day, _) in enumerate(days):
        if n % 5 == 0 or n == len(days) - 1:
            text = tr.date(day)
            width = draw.textlength(text, font=small)
            x = min(left + (n + 0.5) * slot - width / 2, WIDTH - width - 8)
            draw.text((x, 915), text, font=small, fill=MUTED)
    buffer = io.BytesIO()
    image.save(buffer, "PNG", optimize=True)
    return buffer.getvalue()
