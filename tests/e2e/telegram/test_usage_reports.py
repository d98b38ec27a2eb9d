"""/usage through the real aiogram stack: periods, "me", the chart, the CSV export."""

from __future__ import annotations

import csv
import io

from simulator import Simulator
from tests.e2e.images import decode
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.e2e.telegram.reports import reply, usage
from tests.e2e.usage_text import report_totals, section
from tests.fakes.telegram_api import JSON, FakeTelegram


async def test_every_period_and_me_show_this_chats_usage(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot():
        await reply(tg, group, ann, "/ask what is a ledger", "Echo: what is a ledger")
        await reply(tg, group, ann, f"@{BOT_NAME} and a budget?", "Echo: and a budget")
        tg.send_text(group, bob, "/image a blue whale")
        await tg.wait_for("sendPhoto")
        billed = sim.ledger.as_dict()
        reports = {p: await usage(tg, group, ann, p) for p in ("today", "week", "month", "all")}
        mine = await usage(tg, group, ann, "me")
        default = await usage(tg, group, bob, "")
        private = await usage(tg, tg.private_chat(bob), bob, "all")
        wrong = await reply(tg, group, ann, "/usage yesterday", "Usage: /usage")

    for period, text in reports.items():
        totals = report_totals(text)
        assert totals.requests == sum(billed["requests"].values()), (period, text)
        assert totals.input_tokens == billed["input_tokens"]
        assert totals.output_tokens == billed["output_tokens"]
        assert totals.images == billed["images"] == 1
        assert totals.cost > 0, "gpt-4o-mini and gpt-image-1 have prices"
        assert section(text, "By kind") and section(text, "By model"), text
        users = "\n".join(section(text, "Top users"))
        assert "ann" in users and "bob" in users, text
    assert reports["all"].startswith("📊 Usage in this chat — all time")
    assert report_totals(default) == report_totals(reports["month"]), "/usage is this month"
    assert mine.startswith("📊 Your usage in this chat")
    assert report_totals(mine).requests == 2 and report_totals(mine).images == 0
    assert "Top users" not in mine
    assert "Nothing used in this period." in private, "the private chat is its own ledger"
    assert "/usage chart" in wrong
    sent_html = [c for c in tg.calls_of("sendMessage") if c.params.get("parse_mode") == "HTML"]
    assert any("<b>Top users</b>" in c.params["text"] for c in sent_html)


async def test_the_chart_is_a_png(run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON) -> None:
    async with run_bot():
        await reply(tg, private, ann, "hello", "Echo: hello")
        tg.send_text(private, ann, "/usage chart")
        photo = await tg.wait_for("sendPhoto")
    image = decode(photo.files["photo"])
    assert image.format == "PNG" and image.size == (1200, 1000)
    assert "last 30 days" in photo.params["caption"]


async def test_export_is_a_csv_for_the_chats_admins_only(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, group: JSON, sim: Simulator
) -> None:
    async with run_bot():
        await reply(tg, group, bob, "/ask one", "Echo: one")
        await reply(tg, group, ann, "/ask two", "Echo: two")
        refused = await reply(tg, group, bob, "/usage export", "admins")
        tg.send_text(group, ann, "/usage export")
        document = await tg.wait_for("sendDocument")
        tg.send_text(tg.private_chat(bob), bob, "/usage export")
        own = await tg.wait_for("sendDocument", count=2)
    assert refused == "Only this chat's admins can export its usage."
    assert document.file_names["document"].startswith("usage-tg_-100400-")
    rows = list(csv.DictReader(io.StringIO(document.files["document"].decode("utf-8-sig"))))
    assert [row["user_name"] for row in rows] == ["bob", "ann"]
    assert sum(int(row["input_tokens"]) for row in rows) == sim.ledger.input_tokens
    assert sum(int(row["output_tokens"]) for row in rows) == sim.ledger.output_tokens
    assert {row["currency"] for row in rows} == {"USD"} and all(row["request_key"] for row in rows)
    assert own.files["document"].decode("utf-8-sig").count("\n") == 1, "bob's private chat: header only"
    assert any(c.method == "getChatMember" for c in tg.calls), "rights asked of Telegram"
