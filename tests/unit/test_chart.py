"""/usage chart: a PNG that decodes, for busy, empty and tiny data."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from PIL import Image

from bot.i18n import Catalog, Lang, Tr
from bot.usage.chart import _axis, _decimals, cost_label, usage_chart
from bot.usage.pricing import load_prices
from storage import UsageTotals


def day_totals(requests: int, cost: str) -> UsageTotals:
    return UsageTotals(requests, 0, 0, 0, 0, 0, 0, Decimal(cost))


@pytest.mark.parametrize(
    "values",
    [
        [(n % 7, f"{n * 0.37:.4f}") for n in range(30)],
        [(0, "0")] * 30,
        [(1, "0.00004")],
        [(5000, "12345.5")] * 3,
    ],
)
def test_the_chart_is_a_png_of_phone_friendly_size(values: list[tuple[int, str]]) -> None:
    start = date(2025, 3, 1)
    days = [(start + timedelta(days=n), day_totals(r, c)) for n, (r, c) in enumerate(values)]
    png = usage_chart(days, load_prices(), "Usage", Tr(Catalog.load(), Lang.EN))
    image = Image.open(io.BytesIO(png))
    image.load()
    assert image.format == "PNG"
    assert image.size == (1200, 1000)


@pytest.mark.parametrize(
    ("peak", "whole", "step", "steps"),
    [
        (0, False, 1.0, 4),
        (37, True, 10.0, 4),
        (3, True, 1.0, 3),
        (2.9, False, 1.0, 3),
        (0.042, False, 0.02, 3),
    ],
)
def test_axis_steps_are_round(peak: float, whole: bool, step: float, steps: int) -> None:
    got_step, got_steps = _axis(peak, whole=whole)
    assert got_step == pytest.approx(step)
    assert got_steps == steps
    assert got_step * got_steps >= peak


@pytest.mark.parametrize(
    ("step", "decimals"), [(0.025, 3), (0.02, 2), (0.05, 2), (2.5, 1), (10.0, 0), (1.0, 0), (1e-05, 5)]
)
def test_a_step_gets_the_decimals_it_needs(step: float, decimals: int) -> None:
    assert _decimals(step) == decimals


@pytest.mark.parametrize(
    ("peak", "lang", "labels"),
    [
        # A $0.025 step once gave "$0.02" and "$0.08" beside "$0.05": the ticks looked uneven.
        (0.0903, Lang.EN, ["$0.000", "$0.025", "$0.050", "$0.075", "$0.100"]),
        (0.042, Lang.EN, ["$0.00", "$0.02", "$0.04", "$0.06"]),
        (7.3, Lang.EN, ["$0", "$2", "$4", "$6", "$8"]),
        (9.1, Lang.ZH, ["US$0.0", "US$2.5", "US$5.0", "US$7.5", "US$10.0"]),
        (0.00004, Lang.EN, ["$0.00000", "$0.00001", "$0.00002", "$0.00003", "$0.00004"]),
    ],
)
def test_every_cost_tick_is_written_exactly(peak: float, lang: Lang, labels: list[str]) -> None:
    label = cost_label(load_prices(), Tr(Catalog.load(), lang), peak)
    step, steps = _axis(peak, whole=False)
    assert [label(step * n) for n in range(steps + 1)] == labels
