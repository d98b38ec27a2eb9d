"""Chat turns: streamed answers, memory, vision, tools, images from image models; /new.

One turn: recall memory (bot.memory) → ask the chat model (bot.llm; streamed into the
outbox's TextStream) → run the tools it calls (bot.tools, a few rounds at most) → store
the turn and its usage in one transaction → finish the streamed reply. Image-capable chat
models answer whole (their answers carry images), and their images are sent as photos.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from typing import Any

from bot import chat_images, llm, memory, tools
from bot import commands as c
from bot.gateway.errors import BadRequest
from bot.gateway.types import ChatResult
from bot.handlers.photos import fetch_images
from bot.imaging import thumbnail_jpeg
from bot.model import Activity, OutImage, TextStream
from bot.services import Context
from storage import TurnImage, UnitOfWork

log = logging.getLogger(__name__)

CUT_OFF_NOTE = "\n\n[the answer was cut off]"
INTERRUPTED_NOTE = "\n\n[interrupted]"
EMPTY_ANSWER = "(the model returned an empty answer)"
CAPTION_LIMIT = 1000  # longer texts go in their own message before the photos


class Transcript:
    """The reply across tool rounds: each round's text is shown after the earlier ones."""

    def __init__(self, stream: TextStream) -> None:
        self.stream = stream
        self.done: list[str] = []
        self.current = ""

    @property
    def text(self) -> str:
        return "\n\n".join(t for t in [*self.done, self.current] if t.strip())

    async def push(self, text_so_far: str) -> None:
        self.current = text_so_far
        await self.stream.push(self.text)

    def next_round(self) -> None:
        if self.current.strip():
            self.done.append(self.current.strip())
        self.current = ""


@dataclass(frozen=True)
class ChatTurn:
    """One question and what is needed to answer and remember it."""

    ctx: Context
    epoch: int
    model: str
    prompt: str
    images: tuple[TurnImage, ...]
    messages: list[dict[str, Any]]


@dataclass
class TurnRecord:
    """What the turn produced, for memory."""

    notes: list[str] = field(default_factory=list)
    images: list[bytes] = field(default_factory=list)


async def handle_chat(cmd: c.Chat, ctx: Context) -> None:
    s = ctx.services
    key = ctx.msg.address.key
    images: tuple[TurnImage, ...] = ()
    if cmd.images:
        checked = await fetch_images(cmd.images, s.settings.max_image_bytes)
        images = await _thumbnails([i.data for i in checked])

    async with s.db.unit_of_work() as uow:
        chat = await uow.chats.get(key)
    epoch = chat.conversation_epoch if chat else 0
    model = (chat.chat_model if chat else None) or s.settings.chat_model
    system = (chat.system_prompt if chat else None) or s.settings.system_prompt
    recollection = await memory.recall(ctx, epoch, cmd.prompt)
    if llm.is_image_model(s.settings, model):
        # "Now add a hat": an image model changes the pictures it is given, so the
        # conversation's latest ones ride along with a message that brings none.
        shown = images or memory.latest_images(recollection)
        words = memory.without_images(recollection)
        messages = memory.build_messages(system, words, cmd.prompt, shown)
        await _image_model_turn(ChatTurn(ctx, epoch, model, cmd.prompt, images, messages))
        return
    messages = memory.build_messages(system, recollection, cmd.prompt, images)
    turn = ChatTurn(ctx, epoch, model, cmd.prompt, images, messages)
    transcript = Transcript(ctx.out.stream())
    try:
        await _stream_turn(turn, transcript)
    finally:
        # Harmless after finish; a turn cancelled at shutdown must not leave its preview running.
        await transcript.stream.abandon()


async def _stream_turn(turn: ChatTurn, transcript: Transcript) -> None:
    s = turn.ctx.services
    try:
        last, record = await _converse(turn, transcript)
    except Exception:
        if transcript.text:
            with contextlib.suppress(Exception):
                await transcript.stream.finish(transcript.text + INTERRUPTED_NOTE)
        raise
    transcript.next_round()
    answer = transcript.text
    if not answer and not record.notes:
        answer = EMPTY_ANSWER
    if answer and last is not None and not last.complete:
        answer += CUT_OFF_NOTE
    remembered = "\n\n".join([transcript.text, *record.notes]).strip() or EMPTY_ANSWER
    kept = await _thumbnails(record.images)
    async with s.db.unit_of_work() as uow:
        await _remember(turn, uow, remembered, kept, last)
        if last is not None:
            await _record_usage(turn, uow, last)
        await uow.commit()
    if answer:  # empty when a tool delivered the answer and the model said nothing
        await transcript.stream.finish(answer)


async def _converse(turn: ChatTurn, transcript: Transcript) -> tuple[ChatResult | None, TurnRecord]:
    """Ask, run the tools asked for, ask again with their results; bounded rounds.

    Each intermediate call's usage is recorded at once; the last one's is left to the
    caller, which stores it with the turn. None instead of a last result: the tools ended
    the turn, and every call made was recorded already.
    """
    ctx, messages = turn.ctx, turn.messages
    s = ctx.services
    rounds = s.settings.max_tool_rounds
    specs = tools.SPECS if rounds > 0 else None
    record = TurnRecord()
    for round_number in range(rounds + 1):
        last_round = round_number == rounds
        async with ctx.out.activity(Activity.TYPING):
            try:
                result = await llm.complete(
                    s,
                    turn.model,
                    messages,
                    on_text=transcript.push,
                    tools=specs,
                    # The last round may not call again, but still sees the tools it used.
                    tool_choice="none" if specs and last_round else None,
                )
            except BadRequest as exc:
                if not (specs and round_number == 0 and _about_tools(exc.detail)):
                    raise
                # Not every model takes tools (wenwen-api.md §3.5); answer without them.
                log.info("%s refused tools (%s); asking again without", turn.model, exc.detail)
                specs = None
                result = await llm.complete(s, turn.model, messages, on_text=transcript.push)
        if not result.tool_calls or last_round or specs is None:
            if result.tool_calls:
                log.warning("tool rounds exhausted in %s; answering without more tools", ctx.msg.address.key)
            return result, record
        async with s.db.unit_of_work() as uow:
            await _record_usage(turn, uow, result)
            await uow.commit()
        messages.append(tools.assistant_message(result.text, result.tool_calls))
        transcript.next_round()
        outcomes = [await tools.run(call, ctx, turn.epoch) for call in result.tool_calls]
        for outcome in outcomes:
            if outcome.note:
                record.notes.append(outcome.note)
            record.images += outcome.images
        if all(outcome.ends_turn for outcome in outcomes):
            # What the user asked for is in the chat; a follow-up call would only say so.
            return None, record
        messages += tools.tool_messages(result.tool_calls, outcomes)
    raise AssertionError("unreachable: the last round returns")


def _about_tools(detail: str) -> bool:
    lowered = detail.lower()
    return "tool" in lowered or "function" in lowered


async def _image_model_turn(turn: ChatTurn) -> None:
    """Image-capable chat models answer whole (3.7: `stream` false); their images go as photos."""
    ctx = turn.ctx
    s = ctx.services
    async with ctx.out.activity(Activity.UPLOAD_PHOTO):
        result = await llm.complete(s, turn.model, turn.messages)
        found = chat_images.find_images(result.text, result.image_urls)
        pictures = await chat_images.download_images(s.gateway, found.urls, s.settings.max_image_bytes)
    text = found.text
    if len(pictures) < len(found.urls):
        text = (text + "\n\n" if text else "") + "(some images could not be downloaded)"
    remembered = text or f"[sent {len(pictures)} image(s)]"
    kept = await _thumbnails([p.data for p in pictures])
    async with s.db.unit_of_work() as uow:
        await _remember(turn, uow, remembered, kept, result)
        await _record_usage(turn, uow, result, images=len(pictures))
        await uow.commit()
    if not pictures:
        await ctx.out.send_text(text or EMPTY_ANSWER)
        return
    outgoing = [OutImage(p.data, f"answer{n}.{p.extension}", p.mime) for n, p in enumerate(pictures, 1)]
    if len(text) > CAPTION_LIMIT:
        await ctx.out.send_text(text)
        text = ""
    await ctx.out.send_images(outgoing, caption=text)


async def _thumbnails(images: list[bytes]) -> tuple[TurnImage, ...]:
    """Small copies for memory, like the user's photos: the edit tool and later questions use them.

    Made off the event loop and before any transaction: decoding a big picture takes a while.
    """
    if not images:
        return ()
    thumbnails = await asyncio.to_thread(lambda: [thumbnail_jpeg(data) for data in images])
    return tuple(TurnImage("image/jpeg", data) for data in thumbnails)


async def _remember(
    turn: ChatTurn, uow: UnitOfWork, answer: str, kept: tuple[TurnImage, ...], result: ChatResult | None
) -> None:
    ctx = turn.ctx
    key = ctx.msg.address.key
    await uow.conversations.add(
        key,
        turn.epoch,
        "user",
        turn.prompt,
        memory.estimate_tokens(turn.prompt) + 85 * len(turn.images),
        user_id=ctx.msg.user.id,
        images=turn.images,
    )
    tokens = (result.output_tokens if result else 0) or memory.estimate_tokens(answer)
    await uow.conversations.add(key, turn.epoch, "assistant", answer, tokens, images=kept)


async def _record_usage(turn: ChatTurn, uow: UnitOfWork, result: ChatResult, *, images: int = 0) -> None:
    """One usage event per gateway call; keyed by the gateway's id so a retry counts once."""
    ctx = turn.ctx
    s = ctx.services
    input_tokens = result.input_tokens or sum(
        memory.estimate_tokens(str(m.get("content"))) for m in turn.messages
    )
    output_tokens = result.output_tokens or memory.estimate_tokens(result.text)
    await s.ledger.add(
        uow,
        s.ledger.event(
            ctx.msg.address,
            ctx.msg.user,
            "chat",
            result.model or turn.model,
            request_key=result.request_id or None,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            images=images,
        ),
    )


async def handle_new_conversation(_: c.NewConversation, ctx: Context) -> None:
    async with ctx.services.db.unit_of_work() as uow:
        await uow.chats.new_conversation(ctx.msg.address.key)
        await uow.commit()
    await ctx.out.send_text("🧹 Started a new conversation. Earlier messages are forgotten.")
