"""Safe with strangers: what a chat member or a model's answer may not make the bot do.

Each test tries, through the real aiogram stack, what was observed to work before the
bot was hardened (README "Security"): reaching internal addresses through image links,
lifting budgets, starting many jobs through tool calls, changing a group's settings,
pushing a token budget past its limit, and feeding it numbers and files it cannot take.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
from aiohttp import web
from PIL import Image

from simulator import Simulator
from tests.e2e.gateway_log import chat_completion_bodies
from tests.e2e.telegram.conftest import RunBot
from tests.e2e.telegram.reports import replies_in, reply, usage
from tests.e2e.usage_text import report_totals
from tests.fakes.telegram_api import JSON, FakeTelegram

GENERATIONS = "/v1/images/generations"
IMAGINE = "/mj/submit/imagine"


def png(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (16, 16), color).save(out, "PNG")
    return out.getvalue()


SECRET = png("purple")


@dataclass
class Internal:
    """An HTTP server on loopback standing for the host's private network."""

    port: int = 0
    hits: list[str] = field(default_factory=list)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"


@pytest.fixture
async def internal() -> AsyncIterator[Internal]:
    server = Internal()

    async def secret(request: web.Request) -> web.Response:
        server.hits.append(request.path)
        return web.Response(body=SECRET, content_type="image/png")

    async def bare(request: web.Request) -> web.Response:
        server.hits.append(request.path)
        return web.Response(body=SECRET)  # no Content-Type at all: the bytes decide

    async def chain(request: web.Request) -> web.Response:
        server.hits.append(request.path)
        step = int(request.match_info["step"])
        target = "/secret.png" if step == 0 else f"/chain/{step - 1}"
        raise web.HTTPFound(server.url(target, host="localhost"))

    async def to_literal(request: web.Request) -> web.Response:
        server.hits.append(request.path)
        raise web.HTTPFound(server.url("/secret.png"))  # an allowed name sends us to an IP literal

    async def drip(request: web.Request) -> web.StreamResponse:
        server.hits.append(request.path)
        response = web.StreamResponse(headers={"Content-Type": "image/png"})
        await response.prepare(request)
        for byte in SECRET:
            await response.write(bytes([byte]))
            await asyncio.sleep(2)
        return response

    app = web.Application()
    app.router.add_get("/secret.png", secret)
    app.router.add_get("/bare", bare)
    app.router.add_get("/chain/{step}", chain)
    app.router.add_get("/to-literal", to_literal)
    app.router.add_get("/drip.png", drip)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    server.port = runner.addresses[0][1]
    yield server
    await runner.cleanup()


def photos_sent(tg: FakeTelegram) -> list[bytes]:
    return [
        tg.file_bytes(call.result["photo"][-1]["file_id"]) for call in tg.calls_of("sendPhoto") if call.ok
    ]


async def ask_image_model(
    tg: FakeTelegram, ann: dict[str, object], chat: dict[str, object], link: str
) -> str:
    await reply(tg, chat, ann, "/model gpt-4o-image", "now uses gpt-4o-image")
    return await reply(tg, chat, ann, f"answer with ![x]({link})", "did not open")


# --- downloads -----------------------------------------------------------------------------


async def test_a_model_answer_cannot_make_the_bot_fetch_an_internal_address(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator, internal: Internal
) -> None:
    async with run_bot():
        note = await ask_image_model(tg, ann, private, internal.url("/secret.png"))
        report = await usage(tg, private, ann)
    assert internal.hits == [], "not even a connection to the internal address"
    assert SECRET not in photos_sent(tg)
    assert "I did not open an image link in this answer" in note
    assert report_totals(report).requests == sum(sim.ledger.requests.values()), (
        "the chat call is still recorded"
    )


@pytest.mark.parametrize("host", ["localhost", "0x7f.1", "2130706433", "[::ffff:127.0.0.1]"])
async def test_odd_spellings_of_loopback_are_refused(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, internal: Internal, host: str
) -> None:
    async with run_bot():
        await ask_image_model(tg, ann, private, internal.url("/secret.png", host=host))
    assert internal.hits == []


async def test_an_allowed_host_may_not_redirect_to_an_internal_one(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, internal: Internal
) -> None:
    async with run_bot(download_allowed_hosts="localhost"):
        await ask_image_model(tg, ann, private, internal.url("/to-literal", host="localhost"))
    assert internal.hits == ["/to-literal"], "the redirect's target is never fetched"
    assert SECRET not in photos_sent(tg)


async def test_a_redirect_chain_stops_after_three_hops_and_the_call_stays_recorded(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator, internal: Internal
) -> None:
    async with run_bot(download_allowed_hosts="localhost"):
        note = await ask_image_model(tg, ann, private, internal.url("/chain/30", host="localhost"))
        report = await usage(tg, private, ann)
    assert len(internal.hits) == 4, "the first request and three redirects, no more"
    assert "Something went wrong" not in " ".join(replies_in(tg, private))
    assert "did not open" in note
    assert report_totals(report).requests == sum(sim.ledger.requests.values())


async def test_a_dripping_server_is_cut_off_by_the_deadline(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, internal: Internal
) -> None:
    async with run_bot(download_allowed_hosts="localhost", download_deadline=1.5):
        await reply(tg, private, ann, "/model gpt-4o-image", "now uses gpt-4o-image")
        started = asyncio.get_running_loop().time()
        answer = await reply(
            tg, private, ann, f"answer with ![x]({internal.url('/drip.png', 'localhost')})", "Here"
        )
        waited = asyncio.get_running_loop().time() - started
    assert waited < 6, "one byte every 2 s must not hold the chat"
    assert "could not be downloaded" in answer


async def test_an_allowed_host_serves_an_image_without_content_type(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, internal: Internal
) -> None:
    async with run_bot(download_allowed_hosts="localhost"):
        await reply(tg, private, ann, "/model gpt-4o-image", "now uses gpt-4o-image")
        tg.send_text(private, ann, f"answer with ![x]({internal.url('/bare', 'localhost')})")
        await tg.wait_for("sendPhoto")
    assert photos_sent(tg), "an operator-trusted host works, judged by the bytes"


# --- budgets and settings ----------------------------------------------------------------------


async def test_nobody_but_a_bot_admin_lifts_the_operators_budget(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    owner = tg.user(id=1002, first_name="Olga", username="olga")
    boss = tg.user(id=9, first_name="Boss", username="boss")
    group = tg.group_chat(id=-100400, title="Team")
    tg.set_admins(group, owner=owner)
    async with run_bot(budgets="user.day.images=1, chat.day.images=3", admin_user_ids="tg:9"):
        lifted = await reply(tg, private, ann, "/admin budget user day images off", "⛔")
        raised = await reply(tg, private, ann, "/admin budget user day images 5", "⛔")
        tg.send_text(private, ann, "/image a fox")
        await tg.wait_for("sendPhoto")
        refused = await reply(tg, private, ann, "/image another fox", "⛔")
        member = await reply(tg, group, ann, "/admin budget chat day images 10", "admins")
        group_admin = await reply(tg, group, owner, "/admin budget chat day images 10", "⛔")
        tightened = await reply(tg, group, owner, "/admin budget chat day images 2", "💰")
        loosened_back = await reply(tg, group, owner, "/admin budget chat day images default", "💰")
        by_boss = await reply(tg, group, boss, "/admin budget chat day images 50", "💰")
        within_boss = await reply(tg, group, owner, "/admin budget chat day images 40", "💰")
        above_boss = await reply(tg, group, owner, "/admin budget chat day images 60", "⛔")
    assert "Only the bot's admins can raise or lift this limit" in lifted
    assert "user.day.images = 1 image" in raised
    assert refused.startswith("⛔ Your daily image budget")
    assert member == "Only this chat's admins can see or change its budgets."
    assert "Only the bot's admins" in group_admin
    assert "chat.day.images: 0 of 2 images used" in tightened
    assert "chat.day.images: 0 of 3 images used" in loosened_back and "default" in loosened_back
    assert "0 of 50 images" in by_boss and "0 of 40 images" in within_boss
    assert "chat.day.images = 50 images" in above_boss
    assert sim.ledger.images == 1


async def test_group_settings_belong_to_the_groups_admins(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, sim: Simulator
) -> None:
    owner = tg.user(id=1002, first_name="Olga", username="olga")
    group = tg.group_chat(id=-100400, title="Team")
    tg.set_admins(group, owner=owner)
    async with run_bot():
        model = await reply(tg, group, ann, "/model gpt-4o", "admins")
        system = await reply(tg, group, ann, "/system Always answer in pirate speak", "admins")
        shown = await reply(tg, group, ann, "/system", "📝")
        allowed = await reply(tg, group, owner, "/system Be brief.", "📝")
    assert model == "Only this chat's admins can change its model."
    assert system == "Only this chat's admins can change its system prompt."
    assert "the default" in shown, "nothing was injected"
    assert allowed == "📝 System prompt saved."


async def test_small_groups_may_open_their_settings_to_everyone(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON
) -> None:
    group = tg.group_chat(id=-100400, title="Family")
    async with run_bot(group_settings="everyone"):
        saved = await reply(tg, group, ann, "/system Be brief.", "📝")
        budget = await reply(tg, group, ann, "/admin budget chat day images 1", "admins")
    assert saved == "📝 System prompt saved."
    assert "admins" in budget, "budgets stay with the admins"


# --- tool calls ------------------------------------------------------------------------------------


def calls_to(sim: Simulator, path: str) -> int:
    return len([r for r in sim.requests if r.path == path])


async def test_tool_calls_are_admitted_like_the_commands_they_stand_for(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    settings = {
        "rate_limit_per_minute": 1,
        "image_jobs_per_chat": 1,
        "mj_tasks_per_chat": 1,
        "max_tool_jobs": 13,
    }
    async with run_bot(**settings):
        tg.send_text(private, ann, "tool:generate_image*8 tool:imagine_midjourney*5 a red fox")
        await tg.wait_for("sendMessage", lambda c: c.ok and "Done:" in str(c.result.get("text")))
    assert calls_to(sim, GENERATIONS) == 0, "the message used the one request a minute"
    assert calls_to(sim, IMAGINE) == 0
    bodies = chat_completion_bodies(sim)
    tool_results = [m for body in bodies for m in body["messages"] if m["role"] == "tool"]
    assert len(tool_results) == 13
    assert all(m["content"].startswith("refused:") for m in tool_results)
    assert "Slow down" in tool_results[0]["content"], "the model is told why, and can tell the user"


async def test_one_message_starts_at_most_max_tool_jobs(
    run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator
) -> None:
    async with run_bot(image_jobs_per_chat=1, mj_tasks_per_chat=1):
        tg.send_text(private, ann, "tool:generate_image*8 tool:imagine_midjourney*5 a red fox")
        await tg.wait_for("sendMessage", lambda c: c.ok and "Done:" in str(c.result.get("text")))
    assert calls_to(sim, GENERATIONS) + calls_to(sim, IMAGINE) == 2, "MAX_TOOL_JOBS defaults to 2"
    tool_results = [
        m["content"] for body in chat_completion_bodies(sim) for m in body["messages"] if m["role"] == "tool"
    ]
    assert sum("at most 2 pictures or Midjourney tasks" in r for r in tool_results) == 11


# --- budgets are upper bounds ----------------------------------------------------------------------


async def test_simultaneous_long_answers_never_pass_a_token_limit(
    run_bot: RunBot, tg: FakeTelegram, sim: Simulator
) -> None:
    users = [tg.user(id=3000 + n, first_name=f"U{n}", username=f"u{n}") for n in range(10)]
    group = tg.group_chat(id=-100500, title="Busy")
    async with run_bot(budgets="chat.day.tokens=40000", chat_max_tokens=2048):
        for user in users:
            tg.send_text(group, user, f"/ask [[long:20000]] tell me everything, part {user['first_name']}")
        await tg.wait_for(
            "sendMessage",
            lambda c: c.ok and ("Echo" in str(c.result.get("text")) or "⛔" in str(c.result.get("text"))),
            count=10,
            timeout=30,
        )
        await asyncio.sleep(0.5)
        report = await usage(tg, group, users[0])
    assert sim.ledger.input_tokens + sim.ledger.output_tokens <= 40000
    assert report_totals(report).total_tokens <= 40000
    bodies = chat_completion_bodies(sim)
    assert all(body.get("max_tokens") == 2048 for body in bodies), "every request carries its cap"


# --- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("amount", "why"),
    [("1e309", "too large"), ("1e-26", "smallest amount"), ("0.001", "finer than the currency")],
)
async def test_out_of_range_budget_numbers_are_refused_and_the_chat_keeps_working(
    run_bot: RunBot, tg: FakeTelegram, amount: str, why: str
) -> None:
    boss = tg.user(id=9, first_name="Boss", username="boss")
    chat = tg.private_chat(boss)
    metric = "images" if amount == "1e309" else "cost"
    async with run_bot(admin_user_ids="tg:9"):
        refusal = await reply(tg, chat, boss, f"/admin budget chat day {metric} {amount}", why)
        works = await reply(tg, chat, boss, "hello again", "Echo")
        shown = await reply(tg, chat, boss, "/admin budget", "💰")
    assert why in refusal
    assert "Echo: hello again" in works
    assert "No limits" in shown


@pytest.mark.parametrize(
    "photo",
    [b"", b"\x89PNG\r\n\x1a\n" + b"\x00" * 20, b"just some text, not a picture"],
    ids=["empty", "corrupt", "text"],
)
async def test_a_bad_photo_with_a_caption_costs_no_classifier_call(
    *, run_bot: RunBot, tg: FakeTelegram, ann: JSON, private: JSON, sim: Simulator, photo: bytes
) -> None:
    async with run_bot():
        tg.send_photo(private, ann, photo, caption="make it blue", as_document=True, mime_type="image/png")
        await tg.wait_for("sendMessage", lambda c: c.ok and "image" in str(c.result.get("text")).lower())
    assert sim.requests == [], "refused before any gateway call"
    assert not sim.ledger.requests
