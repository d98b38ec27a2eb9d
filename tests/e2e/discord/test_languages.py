"""English and Simplified Chinese through the real discord.py stack.

Li's Discord client is set to Chinese (interactions carry `locale` "zh-CN"), Alice's to
English. Slash command descriptions are uploaded with zh-CN localizations; replies follow
each person's locale in the same channel; `/lang` overrides it and survives a restart.
"""

from __future__ import annotations

from tests.e2e.discord.conftest import BOT_ID, GENERAL, GUILD, DiscordWorld, RunBot
from tests.fakes.discord_api import FakeUser

ZH = "zh-CN"


def li_of(world: DiscordWorld) -> FakeUser:
    return world.fake.user(103, "li", locale=ZH)


def registered(world: DiscordWorld) -> dict[str, dict[str, object]]:
    return {c["name"]: c for c in world.fake.registered_commands[None]}


async def test_slash_commands_are_described_in_chinese_for_chinese_clients(
    world: DiscordWorld, run_bot: RunBot
) -> None:
    async with run_bot():
        commands = registered(world)
    new = commands["new"]
    assert new["description"] == "Start a fresh conversation"
    assert new["description_localizations"] == {"zh-CN": "开始新的对话", "zh-TW": "开始新的对话"}
    assert new.get("name_localizations") in (None, {}), "names stay what people type"
    (prompt,) = [o for o in commands["ask"]["options"] if o["name"] == "prompt"]  # type: ignore[attr-defined]
    assert prompt["description_localizations"][ZH] == "你的问题"
    (show,) = [o for o in commands["usage"]["options"] if o["name"] == "show"]  # type: ignore[attr-defined]
    chart = next(c for c in show["choices"] if c["value"] == "chart")
    assert chart["name_localizations"][ZH] == "最近 30 天的图表"
    assert "lang" in commands


async def test_a_chinese_and_an_english_user_in_one_channel_each_read_their_language(
    world: DiscordWorld, run_bot: RunBot
) -> None:
    li = li_of(world)
    async with run_bot():
        await world.slash(GENERAL, "help", user=li)
        li_help = await world.wait_text(GENERAL, "你好！我已连接到 wenwen AI 网关。")
        await world.slash(GENERAL, "help")
        alice_help = await world.wait_text(GENERAL, "Hi! I'm connected to the wenwen AI gateway.")
        await world.slash(GENERAL, "ask", user=li, prompt="你好")
        await world.wait_text(GENERAL, "Echo: 你好")
        await world.slash(GENERAL, "usage", user=li, period="all")
        li_usage = (await world.wait_text(GENERAL, "📊 本聊天用量 — 全部时间"))["content"]
        await world.slash(GENERAL, "usage", period="all")
        alice_usage = (await world.wait_text(GENERAL, "📊 Usage in this chat — all time"))["content"]
        await world.slash(GENERAL, "usage", user=li, show="chart")
        chart = await world.wait_message(GENERAL, lambda m: "每日费用和请求数" in m["content"])
        await world.slash(GENERAL, "imagine", user=li, prompt=" ")
        hint = await world.wait_text(GENERAL, "用法：/imagine")

    assert "/new — 开始新的对话" in li_help["content"]
    assert "/new — Start a fresh conversation" in alice_help["content"]
    assert "合计：**US$" in li_usage and "次请求" in li_usage
    assert "Total: **$" in alice_usage
    assert chart["attachments"][0]["filename"] == "usage.png"
    assert hint["content"].startswith("用法：/imagine <提示词>")


async def test_lang_overrides_the_client_language_and_survives_a_restart(
    world: DiscordWorld, run_bot: RunBot
) -> None:
    async with run_bot():
        await world.slash(GENERAL, "lang", language="zh")
        done = await world.wait_text(GENERAL, "🌐")
        # A plain message carries no client language: the stored choice still applies.
        await world.say(GENERAL, f"<@{BOT_ID}>")
        nudge = await world.wait_text(GENERAL, "在呢？")
    async with run_bot():
        await world.slash(GENERAL, "new")
        after_restart = await world.wait_text(GENERAL, "🧹")
        await world.slash(GENERAL, "lang", language="auto")
        await world.wait_text(GENERAL, "🌐 I now follow your app's language (English).")
        await world.slash(GENERAL, "lang", user=world.bob, scope="chat", language="zh")
        refused = await world.wait_text(GENERAL, "Only this chat's admins can set its language.")

    assert done["content"] == "🌐 我将用简体中文回答你。"
    assert nudge["content"] == "在呢？请在提到我之后写下你的问题，或发送 /help。"
    assert after_restart["content"] == "🧹 已开始新的对话，之前的消息已被遗忘。"
    assert refused


async def test_lang_alone_offers_buttons_that_switch_the_language(
    world: DiscordWorld, run_bot: RunBot
) -> None:
    li = li_of(world)
    async with run_bot():
        await world.slash(GENERAL, "lang", user=li)
        shown = await world.wait_text(GENERAL, "🌐 我用简体中文回答你（你的应用语言）。")
        await world.fake.press_button(GENERAL, li, int(shown["id"]), "lang:en", guild_id=GUILD)
        done = await world.wait_text(GENERAL, "🌐 I will answer you in English.")
    labels = [c["label"] for row in shown["components"] for c in row["components"]]
    assert labels == ["English", "简体中文", "自动"]
    assert done
