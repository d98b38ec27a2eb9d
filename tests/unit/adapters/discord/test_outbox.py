"""The Discord outbox against an in-memory channel: splitting, buttons, images, streaming."""

from __future__ import annotations

import asyncio
import io
from dataclasses import dataclass, field
from typing import Any

import discord
import pytest
from PIL import Image

from adapters.discord.outbox import (
    ChannelLink,
    DiscordOutbox,
    StreamPacing,
    _batches,
    _retry_after,
    markdown,
)
from bot.model import Activity, Button, ChatAddress, ChatKind, OutImage, SentMessage
from bot.rich import Rich, Span, bold, code, italic
from bot.streaming import CURSOR
from bot.text import FENCE, split_text

ADDRESS = ChatAddress("dc", "600", ChatKind.GROUP)


@dataclass
class Posted:
    id: int
    content: str | None
    kwargs: dict[str, Any]


@dataclass
class Sent:
    """What discord.py returns from send(): only the id is read."""

    id: int


class FakeResponse:
    status = 413
    reason = "Payload Too Large"


@dataclass
class ErrorResponse:
    """The aiohttp response behind an error discord.py passed on."""

    status: int
    retry_after: str | None = None
    reason: str = "Error"

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": self.retry_after} if self.retry_after is not None else {}


def too_many(retry_after: str | None = None) -> discord.HTTPException:
    """A 429 discord.py did not wait out itself (it gave up after its own retries)."""
    return discord.HTTPException(ErrorResponse(429, retry_after), {"message": "You are being rate limited."})


def refused(status: int) -> discord.HTTPException:
    return discord.HTTPException(ErrorResponse(status), {"message": "no"})


@dataclass
class MemoryChannel:
    """The slice of `discord.PartialMessageable` the outbox uses."""

    upload_limit: int = 10 * 1024 * 1024
    posted: list[Posted] = field(default_factory=list)
    edits: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    typing_calls: int = 0
    send_delay: float = 0.0
    # Errors the next edits raise, one each, in order (then edits succeed).
    edit_errors: list[Exception] = field(default_factory=list)
    edit_times: list[float] = field(default_factory=list)

    async def send(self, content: str | None = None, **kwargs: Any) -> Sent:
        await asyncio.sleep(self.send_delay)
        files = kwargs.get("files") or []
        total = sum(len(f.fp.getvalue()) for f in files)
        if total > self.upload_limit:
            raise discord.HTTPException(FakeResponse(), {"code": 40005, "message": "too large"})
        message = Posted(len(self.posted) + 1, content, kwargs)
        self.posted.append(message)
        return Sent(message.id)

    def get_partial_message(self, message_id: int) -> PartialEdit:
        return PartialEdit(self, message_id)

    async def typing(self) -> None:
        self.typing_calls += 1


@dataclass
class PartialEdit:
    channel: MemoryChannel
    id: int

    async def edit(self, **kwargs: Any) -> None:
        self.channel.edit_times.append(asyncio.get_running_loop().time())
        if self.channel.edit_errors:
            raise self.channel.edit_errors.pop(0)
        self.channel.edits.append((self.id, kwargs))


IMMEDIATE = StreamPacing(interval=0.0, first_delay=0.0)


def outbox(
    channel: MemoryChannel,
    reply_to: str | None = "77",
    guild_limit: int = 10 * 1024 * 1024,
    pacing: StreamPacing = IMMEDIATE,
) -> DiscordOutbox:
    async def ready() -> None:
        return None

    link = ChannelLink(channel=lambda _id: channel, upload_limit=lambda _id: guild_limit, ready=ready)  # type: ignore[arg-type,return-value]
    return DiscordOutbox(link, ADDRESS, reply_to, pacing=pacing)


async def shown() -> None:
    """Let the stream's background task show what was pushed."""
    await asyncio.sleep(0.02)


def noise_png(side: int) -> bytes:
    image = Image.effect_noise((side, side), 80).convert("RGB")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_long_text_is_split_only_first_replies_and_last_has_buttons() -> None:
    channel = MemoryChannel()
    text = "\n\n".join(f"paragraph {n} " + "word " * 60 for n in range(30))
    sent = await outbox(channel).send_text(text, buttons=[[Button("Again", "mj:t:0")]])
    assert len(channel.posted) > 1
    assert all(len(p.content or "") <= 2000 for p in channel.posted)
    assert "reference" in channel.posted[0].kwargs
    assert all("reference" not in p.kwargs for p in channel.posted[1:])
    assert "view" in channel.posted[-1].kwargs
    assert all("view" not in p.kwargs for p in channel.posted[:-1])
    assert sent == SentMessage(str(channel.posted[-1].id))


async def test_code_blocks_are_closed_and_reopened_across_messages() -> None:
    channel = MemoryChannel()
    code = "```python\n" + "\n".join(f"print({n})  # line" for n in range(400)) + "\n```"
    await outbox(channel).send_text("Here:\n\n" + code)
    assert len(channel.posted) > 1
    for post in channel.posted:
        assert (post.content or "").count(FENCE) % 2 == 0
    assert all((p.content or "").startswith("```python") for p in channel.posted[1:])


async def test_no_reply_reference_without_a_message() -> None:
    channel = MemoryChannel()
    await outbox(channel, reply_to=None).send_text("hi")
    assert "reference" not in channel.posted[0].kwargs


async def test_edit_truncates_to_one_message_and_clears_buttons() -> None:
    channel = MemoryChannel()
    await outbox(channel).edit_text(SentMessage("5"), "x " * 3000)
    ((message_id, kwargs),) = channel.edits
    assert message_id == 5
    assert len(kwargs["content"]) <= 2000
    assert kwargs["view"] is None


async def test_an_edit_cut_to_one_message_never_cuts_a_code_fence() -> None:
    # A first part of 1999 characters that ends by closing the code block it was cut in.
    text = "```py\n" + "xxxx\n" * 800
    assert len(split_text(text, 2000)[0]) == 1999
    channel = MemoryChannel()
    await outbox(channel).edit_text(SentMessage("5"), text)
    ((_, kwargs),) = channel.edits
    content = kwargs["content"]
    assert len(content) <= 2000
    assert content.endswith(FENCE + " …")
    assert content.count(FENCE) == 2


async def test_a_text_of_exactly_one_message_is_edited_in_whole() -> None:
    channel = MemoryChannel()
    await outbox(channel).edit_text(SentMessage("5"), "y" * 2000)
    assert channel.edits[0][1]["content"] == "y" * 2000


async def test_oversized_image_is_reencoded_under_the_guild_limit() -> None:
    channel = MemoryChannel()
    big = noise_png(700)
    limit = len(big) // 3
    await outbox(channel, guild_limit=limit).send_images([OutImage(big, "grid.png")], caption="a cat")
    (post,) = channel.posted
    (file,) = post.kwargs["files"]
    assert file.filename == "grid.jpg"
    assert len(file.fp.getvalue()) <= limit
    assert post.content == "a cat"


async def test_a_server_side_413_shrinks_and_retries() -> None:
    big = noise_png(600)
    channel = MemoryChannel(upload_limit=len(big) // 4)
    await outbox(channel).send_images([OutImage(big, "x.png")])
    (post,) = channel.posted
    assert len(post.kwargs["files"][0].fp.getvalue()) <= channel.upload_limit


async def test_an_image_that_cannot_fit_is_explained() -> None:
    channel = MemoryChannel()
    await outbox(channel, guild_limit=100).send_images([OutImage(noise_png(200), "x.png")], caption="cap")
    (post,) = channel.posted
    assert "files" not in post.kwargs
    assert post.content is not None and post.content.startswith("cap\n⚠️ The image could not be made small")


async def test_stream_shows_one_growing_message_then_the_final_text() -> None:
    channel = MemoryChannel()
    stream = outbox(channel).stream()
    await stream.push("Hel")
    await shown()
    await stream.push("Hello wor")
    await shown()
    await stream.finish("Hello world")
    assert [p.content for p in channel.posted] == ["Hel" + CURSOR]
    assert "reference" in channel.posted[0].kwargs, "the answer replies to the question"
    assert [kwargs["content"] for _, kwargs in channel.edits] == ["Hello wor" + CURSOR, "Hello world"]


async def test_push_never_waits_for_discord() -> None:
    channel = MemoryChannel(send_delay=0.2)
    stream = outbox(channel).stream()
    loop = asyncio.get_running_loop()
    started = loop.time()
    for n in range(1, 30):
        await stream.push("word " * n)
        await asyncio.sleep(0)
    assert loop.time() - started < 0.1, "the model's stream is read at full speed"
    await stream.finish("word " * 30)
    assert len(channel.posted) == 1
    assert channel.edits[-1][1]["content"] == ("word " * 30).strip()


async def test_a_quick_answer_is_sent_whole_without_edits() -> None:
    channel = MemoryChannel()
    stream = outbox(channel, pacing=StreamPacing(interval=0.0, first_delay=0.5)).stream()
    await stream.push("Hi")
    await stream.push("Hi there")
    await stream.finish("Hi there!")
    assert [p.content for p in channel.posted] == ["Hi there!"]
    assert channel.edits == []


async def test_nothing_is_sent_for_an_empty_answer() -> None:
    channel = MemoryChannel()
    stream = outbox(channel).stream()
    await stream.push("   ")
    await stream.finish("")
    assert channel.posted == [] and channel.edits == []


async def test_an_unchanged_text_is_never_edited_again() -> None:
    channel = MemoryChannel()
    stream = outbox(channel).stream()
    await stream.push("same")
    await shown()
    await stream.push("same")
    await shown()
    await stream.push("same  ")
    await shown()
    assert channel.edits == []
    await stream.finish("same" + CURSOR)  # the final text is exactly what is shown
    assert [p.content for p in channel.posted] == ["same" + CURSOR]
    assert channel.edits == []


async def test_a_429_on_an_edit_is_waited_out() -> None:
    channel = MemoryChannel(edit_errors=[too_many("0.2")])
    stream = outbox(channel).stream()
    await stream.push("one")
    await shown()
    await stream.push("one two")
    await asyncio.sleep(0.3)
    assert [kwargs["content"] for _, kwargs in channel.edits] == ["one two" + CURSOR]
    refused, retried = channel.edit_times
    assert retried - refused >= 0.19, "the edit waited as Discord asked"
    await stream.finish("one two three")
    assert channel.edits[-1][1]["content"] == "one two three"


async def test_rate_limited_by_discord_py_pauses_the_preview_too() -> None:
    channel = MemoryChannel(edit_errors=[discord.RateLimited(0.2)])
    stream = outbox(channel).stream()
    await stream.push("one")
    await shown()
    await stream.push("one two")
    await shown()
    await stream.finish("one two three")  # sits out the rest of the pause, then edits
    refused, final = channel.edit_times
    assert final - refused >= 0.15
    assert [kwargs["content"] for _, kwargs in channel.edits] == ["one two three"]


def test_retry_after_comes_from_the_header_else_one_second() -> None:
    assert _retry_after(too_many("3")) == 3.0
    assert _retry_after(too_many(None)) == 1.0
    assert _retry_after(too_many("soon")) == 1.0


async def test_a_failed_preview_stops_the_preview_but_the_answer_lands() -> None:
    channel = MemoryChannel(edit_errors=[refused(500)])
    stream = outbox(channel).stream()
    await stream.push("one")
    await shown()
    await stream.push("one two")
    await shown()
    await stream.push("one two three")
    await shown()
    await stream.finish("one two three four")
    assert [p.content for p in channel.posted] == ["one" + CURSOR]
    assert [kwargs["content"] for _, kwargs in channel.edits] == ["one two three four"]


async def test_a_failed_final_edit_sends_the_answer_anew() -> None:
    channel = MemoryChannel()
    stream = outbox(channel).stream()
    await stream.push("start")
    await shown()
    channel.edit_errors.append(refused(400))
    await stream.finish("start and the end")
    assert [p.content for p in channel.posted] == ["start" + CURSOR, "start and the end"]


async def test_a_long_stream_is_split_and_code_blocks_are_never_cut() -> None:
    channel = MemoryChannel()
    stream = outbox(channel).stream()
    code = "```python\n" + "\n".join(f"print({n})  # line" for n in range(300)) + "\n```"
    final = "Here:\n\n" + code + "\n\nThat is all."
    await stream.push(final[:3000])
    await shown()
    (preview,) = channel.posted
    assert preview.content is not None and len(preview.content) <= 2000
    assert preview.content.endswith("…" + CURSOR)
    await stream.finish(final)
    chunks = split_text(final, 2000)
    assert len(chunks) >= 3
    assert [kwargs["content"] for _, kwargs in channel.edits] == [chunks[0]]
    rest = channel.posted[1:]
    assert [p.content for p in rest] == chunks[1:]
    assert all("reference" not in p.kwargs for p in rest), "continuations are not replies"
    for content in [chunks[0], *(p.content or "" for p in rest)]:
        assert len(content) <= 2000 and content.count(FENCE) % 2 == 0


async def test_typing_is_shown_during_activity() -> None:
    channel = MemoryChannel()
    async with outbox(channel).activity(Activity.TYPING):
        await asyncio.sleep(0.01)
    assert channel.typing_calls == 1


@pytest.mark.parametrize("count", [1, 10, 11, 25])
def test_batches_respect_count_and_size(count: int) -> None:
    files = [(f"{n}.png", b"x" * 100) for n in range(count)]
    batches = _batches(files, limit=450)
    assert sum(len(b) for b in batches) == count
    assert all(len(b) <= 10 and sum(len(d) for _, d in b) <= 450 for b in batches)


def test_markdown_styles_and_escapes_user_text() -> None:
    assert markdown(bold("Total")) == "**Total**"
    assert markdown(italic("… and 2 more")) == "*… and 2 more*"
    assert markdown(code("gpt-4o`x")) == "`gpt-4oˋx`"
    assert markdown(Span("• my_name*: 3")) == "• my\\_name\\*: 3"


async def test_rich_reports_are_split_between_lines() -> None:
    channel = MemoryChannel()
    doc = Rich.of(bold("Report"), *[f"line {n} " + "x" * 80 for n in range(60)])
    await outbox(channel).send_rich(doc)
    assert len(channel.posted) > 1
    assert channel.posted[0].content is not None and channel.posted[0].content.startswith("**Report**")
    assert all(len(p.content or "") <= 2000 for p in channel.posted)
    assert all((p.content or "").split("\n")[-1].startswith("line ") for p in channel.posted)


async def test_an_answer_cut_off_by_shutdown_says_so_and_loses_its_buttons() -> None:
    channel = MemoryChannel()
    stream = outbox(channel).stream([[Button("⏹ Stop", "stop:a1")]])
    await stream.push("Once upon")
    await shown()
    await stream.abandon("[cut off]")
    (_, last), *_ = reversed(channel.edits)
    assert last["content"] == "Once upon\n\n[cut off]" and last["view"] is None


async def test_a_finished_answer_is_left_as_it_is_by_a_late_abandon() -> None:
    """Shutdown may cancel a turn after its answer was finished: the note is not for it."""
    channel = MemoryChannel()
    stream = outbox(channel).stream()
    await stream.push("Once upon")
    await shown()
    await stream.finish("Once upon a time")
    edits = list(channel.edits)
    await stream.abandon("[cut off]")
    assert channel.edits == edits
