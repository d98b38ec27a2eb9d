"""Voice messages and documents on Discord, through the real discord.py stack and the simulator."""

from __future__ import annotations

from bot.documents import HEADER
from simulator import Simulator
from tests.e2e.discord.conftest import BOT_ID, GENERAL, DiscordWorld, RunBot
from tests.e2e.documents import make_pdf, voice_note
from tests.e2e.gateway_log import chat_completion_bodies


def requests_to(sim: Simulator, path: str) -> list:
    return [r for r in sim.requests if r.path == path]


async def test_voice_message_is_transcribed_and_answered(
    world: DiscordWorld, run_bot: RunBot, dm: int, sim: Simulator
) -> None:
    async with run_bot():
        sent = await world.say(
            dm,
            attachments=[("voice-message.ogg", voice_note("what is a quasar?", 9), "audio/ogg")],
            voice_seconds=9.2,
        )
        await world.wait_text(dm, "🎙 what is a quasar?", after=int(sent["id"]))
        answer = await world.wait_text(dm, "Echo: what is a quasar?", after=int(sent["id"]))
    assert answer["message_reference"]["message_id"] == sent["id"]
    [transcription] = requests_to(sim, "/v1/audio/transcriptions")
    assert transcription.form["model"] == "whisper-1"
    assert transcription.files[0].filename == "voice-message.ogg"
    assert sim.ledger.requests["transcription"] == 1


async def test_voice_on_answers_come_with_an_audio_file(
    world: DiscordWorld, run_bot: RunBot, dm: int, sim: Simulator
) -> None:
    async with run_bot():
        await world.slash(dm, "voice", mode="on")
        await world.wait_text(dm, "Voice answers are on")
        sent = await world.say(
            dm,
            attachments=[("voice-message.ogg", voice_note("tell me a joke"), "audio/ogg")],
            voice_seconds=4.0,
        )
        spoken = await world.wait_message(dm, lambda m: bool(m["attachments"]), after=int(sent["id"]))
        texts = [m["content"] for m in world.bot_messages(dm, after=int(sent["id"]))]
    [attachment] = spoken["attachments"]
    assert attachment["filename"] == "answer.ogg"
    _, data, _ = world.fake.attachment(int(attachment["id"]))
    assert data.startswith(b"OggS") and b"OpusHead" in data
    answer = next(t for t in texts if "Echo: tell me a joke" in t)
    [speech] = requests_to(sim, "/v1/audio/speech")
    assert speech.json["input"] == answer, "the spoken answer is the text answer"


async def test_too_long_voice_message_is_refused_before_any_call(
    world: DiscordWorld, run_bot: RunBot, dm: int, sim: Simulator
) -> None:
    async with run_bot():
        sent = await world.say(
            dm, attachments=[("voice-message.ogg", voice_note("a saga"), "audio/ogg")], voice_seconds=900.0
        )
        await world.wait_text(dm, "at most 300 seconds", after=int(sent["id"]))
    assert sim.ledger.requests == {}


async def test_guild_voice_message_is_for_the_bot_only_as_a_reply(
    world: DiscordWorld, run_bot: RunBot, sim: Simulator
) -> None:
    async with run_bot():
        await world.say(
            GENERAL, attachments=[("voice-message.ogg", voice_note("humans"), "audio/ogg")], voice_seconds=2
        )
        asked = await world.say(GENERAL, f"<@{BOT_ID}> hi")
        answer = await world.wait_text(GENERAL, "Echo: hi", after=int(asked["id"]))
        reply = await world.fake.send_message(
            GENERAL,
            world.alice,
            attachments=[("voice-message.ogg", voice_note("and you?"), "audio/ogg")],
            reference_message_id=int(answer["id"]),
            guild_id=world.fake.channel(GENERAL).guild_id,
            voice_seconds=2,
        )
        await world.wait_text(GENERAL, "Echo: and you?", after=int(reply["id"]))
    assert len(requests_to(sim, "/v1/audio/transcriptions")) == 1


async def test_pdf_and_python_file_are_asked_about(
    world: DiscordWorld, run_bot: RunBot, dm: int, sim: Simulator
) -> None:
    pdf = make_pdf("Quarterly report", "Revenue grew by 42 percent in Q3.")
    source = b"def add(a, b):\n    return a + b\n"
    async with run_bot():
        first = await world.say(
            dm, "how much did revenue grow?", attachments=[("report.pdf", pdf, "application/pdf")]
        )
        await world.wait_text(dm, "Echo:", after=int(first["id"]))
        second = await world.say(dm, "what does add do?", attachments=[("calc.py", source, "text/x-python")])
        await world.wait_text(dm, "Echo:", after=int(second["id"]))
        third = await world.say(dm, "and the revenue again?")
        await world.wait_text(dm, "Echo: and the revenue again?", after=int(third["id"]))
    about_pdf, about_code, later = chat_completion_bodies(sim)
    question = about_pdf["messages"][-1]["content"]
    assert question.startswith(HEADER)
    assert "Revenue grew by 42 percent in Q3." in question
    assert question.endswith("how much did revenue grow?")
    assert (
        '<document name="calc.py">\ndef add(a, b):\n    return a + b\n\n</document>'
        in about_code["messages"][-1]["content"]
    )
    assert any("Revenue grew" in str(m["content"]) for m in later["messages"][:-1]), "remembered"


async def test_binary_file_is_refused(world: DiscordWorld, run_bot: RunBot, dm: int, sim: Simulator) -> None:
    async with run_bot():
        sent = await world.say(
            dm, "read it", attachments=[("data.json", b"\x00\x00\x01\x02", "application/json")]
        )
        await world.wait_text(dm, "can't read data.json", after=int(sent["id"]))
    assert chat_completion_bodies(sim) == []


async def test_slash_ask_takes_a_file(world: DiscordWorld, run_bot: RunBot, sim: Simulator) -> None:
    pdf = make_pdf("Minutes", "The launch moved to March.")
    async with run_bot():
        interaction = await world.slash(
            GENERAL,
            "ask",
            prompt="when is the launch?",
            attachments={"file": ("minutes.pdf", pdf, "application/pdf")},
        )
        echo = await world.wait_until(lambda: interaction.original and interaction.original["content"])
        await world.wait_text(GENERAL, "Echo:", after=int(interaction.original_message_id or 0))
    assert echo == "**/ask** when is the launch? · minutes.pdf"
    [body] = chat_completion_bodies(sim)
    question = body["messages"][-1]["content"]
    assert question.startswith(HEADER) and "The launch moved to March." in question
    assert question.endswith("when is the launch?")
