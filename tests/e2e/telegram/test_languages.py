"""English and Simplified Chinese through the real aiogram stack, per person in one group.

Li's Telegram is set to Chinese (`language_code` "zh-hans"), Ann's to English, Bob's app
says nothing. Each reads the bot in their own language in the same group; `/lang`
overrides that per person (and per chat, by its admins) and survives a restart.
"""

from __future__ import annotations

from typing import Any

import pytest
from PIL import ImageChops

from simulator import Fault, Simulator
from tests.e2e.documents import voice_note
from tests.e2e.images import decode, make_image
from tests.e2e.telegram.conftest import BOT_NAME, RunBot
from tests.e2e.telegram.reports import replies_in, reply
from tests.fakes.telegram_api import JSON, FakeTelegram


def li_of(tg: FakeTelegram) -> JSON:
    return tg.user(id=1003, first_name="Li", username="li", language_code="zh-hans")


def ann_en(tg: FakeTelegram) -> JSON:
    return tg.user(id=1001, first_name="Ann", username="ann", language_code="en")


async def test_the_command_menu_is_published_in_english_and_in_chinese(
    run_bot: RunBot, tg: FakeTelegram
) -> None:
    async with run_bot():
        await tg.wait_for("setMyCommands", lambda c: c.params.get("language_code") == "zh")
    default = {c["command"]: c["description"] for c in tg.commands_for()}
    chinese = {c["command"]: c["description"] for c in tg.commands_for(language_code="zh")}
    assert default["new"] == "Start a fresh conversation"
    assert chinese["new"] == "开始新的对话"
    assert chinese["lang"] == "选择我回答所用的语言"
    assert default.keys() == chinese.keys(), "the same commands, only their descriptions differ"


async def test_a_chinese_and_an_english_user_in_one_group_each_read_their_language(
    *, run_bot: RunBot, tg: FakeTelegram, group: JSON
) -> None:
    li, ann = li_of(tg), ann_en(tg)
    async with run_bot():
        li_help = await reply(tg, group, li, "/help", "/lang")
        ann_help = await reply(tg, group, ann, "/help", "/lang")
        # The model answers whatever it is asked; the bot's own words follow the reader.
        await reply(tg, group, li, "/ask 你好", "Echo: 你好")
        hint = await reply(tg, group, li, "/imagine", "/imagine")
        li_usage = await reply(tg, group, li, "/usage all", "📊")
        ann_usage = await reply(tg, group, ann, "/usage all", "📊")
        refused = await reply(tg, group, li, "/usage export", "管理员")
        tg.send_text(group, li, "/usage chart")
        chart = await tg.wait_for("sendPhoto")
        tg.send_text(group, ann, "/usage chart")
        ann_chart = await tg.wait_for("sendPhoto", count=2)

    assert li_help.startswith("你好！我已连接到 wenwen AI 网关。")
    assert "/new — 开始新的对话" in li_help and "在群组中" in li_help
    assert ann_help.startswith("Hi! I'm connected to the wenwen AI gateway.")
    assert "/new — Start a fresh conversation" in ann_help
    assert hint.startswith("用法：/imagine <提示词>")
    assert li_usage.startswith("📊 本聊天用量 — 全部时间")
    assert "合计：US$" in li_usage and "次请求" in li_usage and "按模型" in li_usage
    assert ann_usage.startswith("📊 Usage in this chat — all time")
    assert "Total: $" in ann_usage and "By model" in ann_usage
    assert refused == "只有本聊天的管理员可以导出用量。"
    assert chart.params["caption"] == "📈 Team 最近 30 天的每日费用和请求数（UTC）"
    assert decode(chart.files["photo"]).format == "PNG"
    assert ann_chart.params["caption"] == "📈 Daily cost and requests in Team, last 30 days (UTC)"
    # The same data drawn with Chinese labels (the CJK font) is another picture.
    assert ImageChops.difference(
        decode(chart.files["photo"]).convert("RGB"), decode(ann_chart.files["photo"]).convert("RGB")
    ).getbbox()


async def test_lang_overrides_per_person_and_survives_a_restart(
    *, run_bot: RunBot, tg: FakeTelegram, group: JSON
) -> None:
    ann = ann_en(tg)
    async with run_bot():
        shown = await reply(tg, group, ann, "/lang", "🌐")
        menu = tg.calls_of("sendMessage")[-1]
        tg.press_button(group, ann, menu.result["message_id"], "lang:zh_Hans")
        await tg.wait_for("sendMessage", lambda c: c.ok and "🌐 我将用简体中文回答你。" in c.params["text"])
    async with run_bot():  # a new process, the same database
        after_restart = await reply(tg, group, ann, "/new", "🧹")
        back = await reply(tg, group, ann, "/lang auto", "🌐")
        english_again = await reply(tg, group, ann, "/new", "🧹")
        wrong = await reply(tg, group, ann, "/lang klingon", "/lang")

    assert shown.startswith("🌐 I answer you in English (your app's language).")
    assert after_restart == "🧹 已开始新的对话，之前的消息已被遗忘。"
    assert back == "🌐 I now follow your app's language (English)."
    assert english_again == "🧹 Started a new conversation. Earlier messages are forgotten."
    assert wrong.startswith("Usage: /lang en|zh|auto")


async def test_a_chats_admins_set_its_default_and_a_persons_choice_still_wins(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, bob: JSON, group: JSON
) -> None:
    li = li_of(tg)
    async with run_bot():
        refused = await reply(tg, group, bob, "/lang chat zh", "admins")
        done = await reply(tg, group, ann, "/lang chat zh", "🌐")
        bob_now = await reply(tg, group, bob, "/new", "🧹")
        await reply(tg, group, li, "/lang en", "🌐")
        li_now = await reply(tg, group, li, "/new", "🧹")
        elsewhere = await reply(tg, tg.private_chat(bob), bob, "/new", "🧹")

    assert refused == "Only this chat's admins can set its language."
    assert done == "🌐 本聊天的默认语言现在是简体中文。"
    assert bob_now == "🧹 已开始新的对话，之前的消息已被遗忘。", "no app language: the chat's default"
    assert li_now == "🧹 Started a new conversation. Earlier messages are forgotten.", "own choice wins"
    assert elsewhere.startswith("🧹 Started"), "the chat's default stays in that chat"
    assert replies_in(tg, group, "🌐")


@pytest.mark.sim(mj_step_seconds=0.3)
async def test_midjourney_reports_in_the_askers_language_to_the_end(
    *, run_bot: RunBot, tg: FakeTelegram, group: JSON
) -> None:
    """Progress and the grid come later, from the tracker: still in the language Li asked in."""
    li = li_of(tg)
    async with run_bot():
        tg.send_text(group, li, "/imagine 黎明时的灯塔")
        grid = await tg.wait_for("sendPhoto", timeout=15)
        status = tg.calls_of("sendMessage")[0]
        await tg.wait_for(
            "editMessageText",
            lambda c: c.params["message_id"] == status.result["message_id"] and "✅ 完成" in c.params["text"],
        )
    assert status.params["text"] == "🎨 Midjourney 绘图：黎明时的灯塔\n⏳ 排队中"
    labels = [b["text"] for row in grid.params["reply_markup"]["inline_keyboard"] for b in row]
    assert labels[-1] == "🌱 种子"


def labels(message: JSON) -> dict[str, str]:
    """A message's inline buttons: label → callback data."""
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return {b["text"]: b["callback_data"] for row in rows for b in row}


def sent(needle: str) -> Any:
    return lambda c: c.ok and needle in c.params.get("text", "")


@pytest.mark.sim(chunk_delay=0.0)
async def test_files_voice_stop_and_describe_speak_chinese_to_a_chinese_user(
    *, run_bot: RunBot, tg: FakeTelegram, group: JSON, sim: Simulator
) -> None:
    li = li_of(tg)
    mine = tg.private_chat(li)
    sim.add_fault(Fault(route="/v1/chat/completions", kind="slow_stream", delay=0.15))
    async with run_bot(stream_edit_interval=0.05, stream_group_first_delay=0.05):
        tg.send_document(
            mine, li, b"\x00\x01binary", mime_type="text/plain", file_name="x.txt", caption="读一下"
        )
        refused = await tg.wait_for("sendMessage", sent("x.txt"))
        tg.send_voice(mine, li, voice_note("", seconds=3), duration=3)
        unheard = await tg.wait_for("sendMessage", sent("录音"))
        voice = await reply(tg, mine, li, "/voice", "/voice on")
        # ⏹ under a growing answer in a group, pressed by its asker.
        tg.send_text(group, li, f"@{BOT_NAME} [[long:900]] 讲个故事")
        growing = await tg.wait_for("sendMessage", lambda c: c.ok and "⏹ 停止" in labels(c.result))
        tg.press_button(group, li, growing.result["message_id"], labels(growing.result)["⏹ 停止"])
        stopped = await tg.wait_for("editMessageText", lambda c: c.ok and "🔄" in labels(c.params))
        tg.send_photo(mine, li, make_image("blue", size=(64, 32)), caption="/describe")
        described = await tg.wait_for(
            "sendMessage", lambda c: c.ok and "绘图 1" in labels(c.params), timeout=15
        )
    assert refused.params["text"] == "我无法读取 x.txt：它不是文本文件。"
    assert unheard.params["text"] == "我没能从这段录音中听出任何文字。"
    assert voice.startswith("🔇 本聊天的语音回答已关闭。")
    assert stopped.params["text"].endswith("[已停止]")
    assert described.params["text"].startswith("🖼️ Midjourney 为你的照片推荐了以下提示词")
    assert list(labels(described.params)) == ["绘图 1", "绘图 2", "绘图 3", "绘图 4"]
