"""Streamed chat answers on Discord: one message, edited as the answer grows, then final."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from adapters.discord.outbox import StreamPacing
from bot.app import App
from bot.streaming import CURSOR
from tests.e2e.discord.conftest import BOT_ID, GENERAL, DiscordWorld, Message, RunBot, discord_platform

STORY = "[[long:600]] tell me a story"
# Fast enough that a simulated answer (a dozen chunks, 0.04 s apart) is shown several times.
QUICK = StreamPacing(interval=0.05, first_delay=0.05)


def pace(app: App, pacing: StreamPacing = QUICK) -> None:
    discord_platform(app).pacing = pacing


def edits_of(world: DiscordWorld, message_id: int) -> list[float]:
    """When each edit of a message was asked for (refused ones included)."""
    return [
        c.at for c in world.fake.calls if c.method == "PATCH" and c.path.endswith(f"/messages/{message_id}")
    ]


async def finished(world: DiscordWorld, channel_id: int, after: int, start: str) -> Message:
    """The bot's answer once it no longer shows the cursor."""
    return await world.wait_message(
        channel_id,
        lambda m: m["content"].startswith(start) and not m["content"].endswith(CURSOR),
        after=after,
    )


@pytest.mark.sim(chunk_delay=0.04)
async def test_a_streamed_answer_is_one_message_edited_as_it_grows(
    world: DiscordWorld, run_bot: RunBot, dm: int
) -> None:
    async with run_bot() as app:
        pace(app)
        question = await world.say(dm, STORY)
        answer = await finished(world, dm, int(question["id"]), "Echo: tell me a story")

    assert [int(m["id"]) for m in world.bot_messages(dm)] == [int(answer["id"])], "one message"
    assert answer["message_reference"]["message_id"] == question["id"]
    assert len(answer["content"]) >= 590
    versions = [v["content"] for v in world.fake.message_versions(int(answer["id"]))]
    assert len(versions) >= 3, "the answer was shown while it was written"
    assert all(v.endswith(CURSOR) for v in versions[:-1]), "a partial answer shows it is still being written"
    assert all(a != b for a, b in itertools.pairwise(versions)), "no edit repeats what is shown"
    previews = [v.removesuffix(CURSOR) for v in versions[:-1]]
    assert all(len(a) < len(b) for a, b in itertools.pairwise(previews)), "each edit shows more"
    assert all(answer["content"].startswith(p) for p in previews)
    assert all(c.status == 200 for c in world.fake.calls if c.method == "PATCH")


async def test_a_quick_answer_arrives_whole_without_edits(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot():  # the production pacing: nothing is shown within the first second
        await world.say(GENERAL, f"<@{BOT_ID}> hi")
        answer = await world.wait_text(GENERAL, "Echo: hi")
    assert world.fake.message_versions(int(answer["id"])) == [answer]
    assert not [c for c in world.fake.calls if c.method == "PATCH" and "/messages/" in c.path]


@pytest.mark.sim(chunk_delay=0.04)
@pytest.mark.parametrize(
    "refusals",
    [
        pytest.param(1, id="discord.py-waits"),
        pytest.param(5, id="discord.py-gives-up-and-the-stream-backs-off"),
    ],
)
async def test_a_429_on_an_edit_is_waited_out(
    world: DiscordWorld, run_bot: RunBot, dm: int, refusals: int
) -> None:
    async with run_bot() as app:
        pace(app)
        world.fake.fail_next(
            "PATCH",
            rf"/channels/{dm}/messages/\d+$",
            status=429,
            json={"message": "You are being rate limited.", "retry_after": 0.2, "global": False},
            times=refusals,
        )
        question = await world.say(dm, STORY)
        answer = await finished(world, dm, int(question["id"]), "Echo: tell me a story")

    assert [int(m["id"]) for m in world.bot_messages(dm)] == [int(answer["id"])], "no error message"
    patches = [c for c in world.fake.calls if c.method == "PATCH"]
    refused = [c for c in patches if c.status == 429]
    assert len(refused) == refusals
    later = [c for c in patches if c.at > refused[-1].at]
    assert later and later[0].at - refused[-1].at >= 0.19, "the bot waited as Discord asked"
    assert later[-1].status == 200 and later[-1].json["content"] == answer["content"]
    assert len(answer["content"]) >= 590


@pytest.mark.sim(chunk_delay=0.04)
async def test_a_long_streamed_answer_continues_in_new_messages(world: DiscordWorld, run_bot: RunBot) -> None:
    async with run_bot() as app:
        pace(app)
        question = await world.say(GENERAL, f"<@{BOT_ID}> [[long:5000]] tell me everything")

        def complete() -> list[Message] | None:
            messages = world.bot_messages(GENERAL, after=int(question["id"]))
            text = " ".join(m["content"] for m in messages)
            done = len(messages) >= 3 and not text.endswith(CURSOR) and len(text) >= 5000
            return messages if done else None

        messages = await world.wait_until(complete, what="the whole long answer")

    first, *rest = messages
    assert first["message_reference"]["message_id"] == question["id"]
    assert all("message_reference" not in m or m["message_reference"] is None for m in rest), (
        "continuations are not replies"
    )
    assert all(len(m["content"]) <= 2000 for m in messages)
    previews = [v["content"] for v in world.fake.message_versions(int(first["id"]))[:-1]]
    assert previews and all(len(p) <= 2000 and p.endswith(CURSOR) for p in previews)
    assert previews[-1].endswith("…" + CURSOR), "the preview was cut to fit one message"
    words = " ".join(m["content"] for m in messages).split()
    assert words[:4] == ["Echo:", "tell", "me", "everything"]
    assert edits_of(world, int(first["id"])), "the first message was edited to its final part"


@pytest.mark.sim(chunk_delay=0.04)
async def test_stopping_mid_answer_leaves_no_preview_task_behind(
    world: DiscordWorld, run_bot: RunBot, dm: int
) -> None:
    async with run_bot() as app:
        pace(app)
        question = await world.say(dm, STORY)
        # The answer is being shown, not yet finished, when the bot stops.
        await world.wait_message(dm, lambda m: m["content"].endswith(CURSOR), after=int(question["id"]))
    await asyncio.sleep(0.1)
    leftovers = [t.get_name() for t in asyncio.all_tasks() if t.get_name() == "live-text" and not t.done()]
    assert leftovers == []
