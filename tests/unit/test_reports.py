"""Usage reports as documents: periods, sections, caps, the unpriced warning."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from bot.i18n import Catalog, Lang, Tr
from bot.usage.pricing import load_prices
from bot.usage.reports import MAX_ROWS, UsagePeriod, chats_report, period_range, period_title, usage_report
from storage import ChatUsage, UsageReport, UsageTotals, UserUsage

PRICES = load_prices()
CATALOG = Catalog.load()
EN = Tr(CATALOG, Lang.EN)
ZH = Tr(CATALOG, Lang.ZH)
NOW = datetime(2025, 3, 13, 15, 0, tzinfo=UTC)  # a Thursday


def totals(requests: int = 1, cost: str = "0.5", unpriced: int = 0, **kw: int) -> UsageTotals:
    values = dict.fromkeys(("input_tokens", "output_tokens", "total_tokens", "image_tokens"), 0)
    values |= {"images": 0, "mj_tasks": 0} | kw
    return UsageTotals(requests=requests, cost=Decimal(cost), unpriced=unpriced, **values)


def test_periods_start_today_on_monday_on_the_first_or_never() -> None:
    assert period_range(UsagePeriod.TODAY, NOW) == (datetime(2025, 3, 13, tzinfo=UTC), None)
    assert period_range(UsagePeriod.WEEK, NOW) == (datetime(2025, 3, 10, tzinfo=UTC), None)
    assert period_range(UsagePeriod.MONTH, NOW) == (datetime(2025, 3, 1, tzinfo=UTC), None)
    assert period_range(UsagePeriod.ALL, NOW) == (None, None)
    assert period_title(UsagePeriod.WEEK, NOW, EN) == "this week, since Mon, Mar 10 (UTC)"
    assert period_title(UsagePeriod.MONTH, NOW, EN) == "March 2025 (UTC)"
    assert period_title(UsagePeriod.TODAY, NOW, ZH) == "今天，3月13日（UTC）"
    assert period_title(UsagePeriod.MONTH, NOW, ZH) == "2025年3月（UTC）"


def test_a_report_has_totals_kinds_models_and_users() -> None:
    report = UsageReport(
        totals=totals(3, "1.25", input_tokens=100, output_tokens=20, total_tokens=120, images=2),
        by_kind={"chat": totals(1, "0.25"), "image_generation": totals(2, "1", images=2)},
        by_model={"gpt-4o-mini": totals(1, "0.25"), "gpt-image-1": totals(2, "1", images=2)},
        top_users=[UserUsage("1", "ann", totals(2, "1")), UserUsage("2", "", totals(1, "0.25"))],
    )
    text = usage_report("📊 Usage", report, PRICES, EN, with_users=True).plain()
    lines = text.splitlines()
    assert lines[0] == "📊 Usage"
    assert lines[1] == "Total: $1.2500 · 3 requests"
    assert lines[2] == "120 tokens (100 in / 20 out) · 2 images"
    assert "• images: $1.0000 · 2 req · 2 img" in lines
    assert "• gpt-image-1: $1.0000 · 2 req · 2 img" in lines
    assert "• ann: $1.0000 · 2 req" in lines
    assert "• 2: $0.2500 · 1 req" in lines, "a user without a name shows the id"
    assert "⚠️" not in text
    assert "Top users" not in usage_report("x", report, PRICES, EN, with_users=False).plain()


def test_unpriced_models_are_flagged() -> None:
    report = UsageReport(
        totals=totals(2, "0.1", unpriced=1),
        by_kind={"chat": totals(2, "0.1", unpriced=1)},
        by_model={"gpt-4o": totals(1, "0.1"), "mystery": totals(1, "0", unpriced=1)},
        top_users=[],
    )
    text = usage_report("x", report, PRICES, EN, with_users=True).plain()
    assert "• mystery: $0.0000 · 1 req ⚠️ no price" in text
    assert text.endswith("⚠️ 1 request used models without a price (counted as $0.0000): mystery")


def test_long_breakdowns_are_capped() -> None:
    models = {f"model-{n:02d}": totals() for n in range(25)}
    report = UsageReport(totals(25), {"chat": totals(25)}, models, [])
    text = usage_report("x", report, PRICES, EN, with_users=False).plain()
    assert text.count("• model-") == MAX_ROWS
    assert f"… and {25 - MAX_ROWS} more" in text


def test_an_empty_period() -> None:
    report = UsageReport(UsageTotals.zero(), {}, {}, [])
    text = usage_report("📊 x", report, PRICES, EN, with_users=True).plain()
    assert text == "📊 x\nNothing used in this period."


def test_the_cross_chat_report_lists_chats_with_keys() -> None:
    doc = chats_report("🌐 All", totals(5, "2"), [ChatUsage("tg:-1", "Team", totals(5, "2"))], PRICES, EN)
    assert "• Team tg:-1: $2.0000 · 5 req" in doc.plain()


def test_a_chinese_reader_gets_the_report_in_chinese_with_locale_money() -> None:
    report = UsageReport(
        totals=totals(3, "1.25", input_tokens=100, output_tokens=20, total_tokens=1200, images=2),
        by_kind={"image_generation": totals(2, "1", images=2)},
        by_model={"gpt-image-1": totals(2, "1", images=2)},
        top_users=[],
    )
    lines = usage_report("📊", report, PRICES, ZH, with_users=True).plain().splitlines()
    assert lines[1] == "合计：US$1.2500 · 3 次请求"
    assert lines[2] == "1,200 个 token（输入 100 / 输出 20） · 2 张图片"
    assert "• 图片: US$1.0000 · 2 次请求 · 2 张图" in lines
