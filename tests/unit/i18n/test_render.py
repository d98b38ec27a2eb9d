"""Rendering a text for one reader: translation, plural forms, numbers, money and dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from bot.i18n import Catalog, Lang, Money, Tr, t, tn
from bot.i18n.catalog import compile_catalog
from bot.i18n.locale import choose, from_platform, parse_name, terminal_language

CATALOG = Catalog.load()
EN = Tr(CATALOG, Lang.EN)
ZH = Tr(CATALOG, Lang.ZH)


def test_a_text_is_translated_with_its_values_formatted_for_the_reader() -> None:
    text = t("Too many photos: {count}. I can take at most {limit} at once.", count=12, limit=10)
    assert EN(text) == "Too many photos: 12. I can take at most 10 at once."
    assert ZH(text) == "照片太多：12 张。我一次最多处理 10 张。"
    assert str(text) == EN(text)


def test_nested_texts_are_translated_too() -> None:
    text = t("Photo {number}: {problem}", number=2, problem=t("That image has too many pixels."))
    assert ZH(text) == "第 2 张照片：该图片像素过多。"


def test_plurals_follow_each_language() -> None:
    assert EN(tn("{n} request", "{n} requests", n=1)) == "1 request"
    assert EN(tn("{n} request", "{n} requests", n=1200)) == "1,200 requests"
    assert ZH(tn("{n} request", "{n} requests", n=1)) == "1 次请求"
    assert ZH(tn("{n} request", "{n} requests", n=3)) == "3 次请求"


def test_money_and_dates_in_the_reader_locale() -> None:
    money = Money(Decimal("1234.5"), "USD", 2)
    assert EN.money(money) == "$1,234.50"
    assert ZH.money(money) == "US$1,234.50"
    assert EN.date(date(2026, 12, 2)) == "Dec 2"
    assert ZH.date(date(2026, 12, 2)) == "12月2日"


def test_a_broken_translation_falls_back_to_english() -> None:
    po = __import__("babel.messages.catalog", fromlist=["Catalog"]).Catalog(locale="zh_Hans")
    po.add("Hello {name}", "你好 {nme}")
    broken = Tr(Catalog({Lang.ZH: compile_catalog(po)}), Lang.ZH)
    assert broken(t("Hello {name}", name="Ann")) == "Hello Ann"


def test_a_plain_string_passes_through_untouched() -> None:
    assert ZH("model output {not a placeholder}") == "model output {not a placeholder}"


@pytest.mark.parametrize(
    ("code", "lang"),
    [("zh-hans", Lang.ZH), ("zh-CN", Lang.ZH), ("zh-TW", Lang.ZH), ("zh", Lang.ZH), ("en-US", Lang.EN),
     ("en", Lang.EN), ("ru", None), (None, None), ("", None)],
)  # fmt: skip
def test_platform_language_codes(code: str | None, lang: Lang | None) -> None:
    assert from_platform(code) is lang


def test_choice_order_user_then_chat_then_app_then_english() -> None:
    assert choose(Lang.EN, Lang.ZH, Lang.ZH) is Lang.EN
    assert choose(None, Lang.ZH, Lang.EN) is Lang.ZH
    assert choose(None, None, Lang.ZH) is Lang.ZH
    assert choose(None, None, None) is Lang.EN
    assert parse_name("中文") is Lang.ZH
    assert parse_name("English") is Lang.EN
    assert parse_name("klingon") is None


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"LANGUAGE": "zh_TW:en", "LANG": "en_US.UTF-8"}, "zh_TW"),  # gettext's order: LANGUAGE first
        ({"LC_ALL": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh_CN.UTF-8"),
        ({"LC_MESSAGES": "en_GB.UTF-8", "LANG": "zh_CN.UTF-8"}, "en_GB.UTF-8"),
        ({"LANGUAGE": "", "LANG": "zh_CN.UTF-8"}, "zh_CN.UTF-8"),
        ({}, None),
    ],
)
def test_the_terminal_language_is_read_as_gettext_reads_it(
    environ: dict[str, str], expected: str | None
) -> None:
    assert terminal_language(environ) == expected
