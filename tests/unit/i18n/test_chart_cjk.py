"""The /usage chart in Chinese: the CJK font really draws the glyphs (no tofu boxes)."""

from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

from PIL import Image, ImageChops, ImageDraw, ImageFont

from bot.i18n import Catalog, Lang, Tr
from bot.usage.chart import fonts_for, usage_chart
from bot.usage.pricing import load_prices
from storage import UsageTotals

CATALOG = Catalog.load()


def days() -> list[tuple[date, UsageTotals]]:
    start = date(2026, 11, 1)
    return [
        (start + timedelta(days=n), UsageTotals(n % 4, 0, 0, 0, 0, 0, 0, Decimal(n) / 10)) for n in range(30)
    ]


def drawn(text: str, font: ImageFont.FreeTypeFont | ImageFont.ImageFont) -> Image.Image:
    image = Image.new("L", (400, 80), 255)
    ImageDraw.Draw(image).text((10, 10), text, font=font, fill=0)
    return image


def test_the_cjk_font_draws_distinct_chinese_glyphs() -> None:
    font = fonts_for(Lang.ZH)(40)
    # Tofu draws every missing character as the same box: two different words would look alike.
    one, other = drawn("每日费用", font), drawn("请求次数", font)
    assert ImageChops.difference(one, other).getbbox() is not None
    assert one.getbbox() is not None
    # And the Latin-only default font indeed lacks them (which is why the CJK font is needed).
    latin = fonts_for(Lang.EN)(40)
    assert ImageChops.difference(drawn("每日费用", latin), drawn("请求次数", latin)).getbbox() is None


def test_a_chinese_chart_differs_from_the_english_one_and_decodes() -> None:
    prices = load_prices()
    zh = usage_chart(days(), prices, "本聊天用量 · 最近 30 天", Tr(CATALOG, Lang.ZH))
    en = usage_chart(days(), prices, "Usage in this chat · last 30 days", Tr(CATALOG, Lang.EN))
    zh_image = Image.open(io.BytesIO(zh))
    assert zh_image.format == "PNG" and zh_image.size == (1200, 1000)
    # The title band is drawn with real glyphs: ink, unlike a blank or boxed title.
    title = zh_image.convert("L").crop((30, 24, 700, 70))
    assert ImageChops.invert(title).getbbox() is not None
    assert ImageChops.difference(zh_image.convert("RGB"), Image.open(io.BytesIO(en)).convert("RGB")).getbbox()
