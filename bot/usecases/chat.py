"""Answering a chat turn: streamed answers, memory, vision, tools, images from image models.

One turn: recall memory (bot.chat.memory) → size the budget hold to what will be sent →
ask the chat model (bot.chat.llm; streamed into the outbox's TextStream) → run the tools
it calls (bot.chat.tools, a few rounds at most, each round sized and admitted again) →
store the turn and its usage in one transaction → finish the streamed reply. Image-capable
chat models answer whole (their answers carry images), and their images are sent as photos.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.admission.admission import Permit
from bot.chat import images as chat_images
from bot.chat import memory
from bot.chat.llm import Llm
from bot.chat.memory import Memory
from bot.chat.tools import SPECS, Tools, TurnJobs, assistant_message, tool_messages
from bot.errors import BadRequest, BudgetExceeded
from bot.gateway.downloads import Downloader
from bot.gateway.types import ChatResult
from bot.imaging import CheckedImage, thumbnail_jpeg
from bot.lifecycle.jobs import Job, Jobs
from bot.model import Activity, OutImage, TextStream
from bot.usage.budgets import Budgets, Hold
from bot.usage.estimates import Estimator
from bot.usage.recorder import Recorder
from bot.usecases.context import Request
from storage import Database, TurnImage, UnitOfWork

log = logging.getLogger(__name__)

CUT_OFF_NOTE = "\n\n[the answer was cut off]"
INTERRUPTED_NOTE = "\n\n[interrupted]"
EMPTY_ANSWER = "(the model returned an empty answer)"
BUDGET_NOTE = "\n\n[stopped here: {}]"
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


@dataclass
class Turn:
    """One question, what is needed to answer it, and what the answer produced."""

    req: Request
    prompt: str
    images: tuple[TurnImage, ...]
    messages: list[dict[str, Any]]
    hold: Hold
    notes: list[str] = field(default_factory=list)
    made: list[bytes] = field(default_factory=list)
    # A turn that calls tools is a durable job from its first tool round (bot.lifecycle.jobs).
    job: Job | None = None


@dataclass(frozen=True)
class ChatLimits:
    max_tool_rounds: int
    max_image_bytes: int


class ChatTurns:
    def __init__(
        self,
        *,
        llm: Llm,
        memory: Memory,
        tools: Tools,
        recorder: Recorder,
        budgets: Budgets,
        estimator: Estimator,
        downloader: Downloader,
        db: Database,
        jobs: Jobs,
        limits: ChatLimits,
    ) -> None:
        self._llm = llm
        self._memory = memory
        self._tools = tools
        self._recorder = recorder
        self._budgets = budgets
        self._estimator = estimator
        self._downloader = downloader
        self._db = db
        self._jobs = jobs
        self._limits = limits

    async def answer(self, req: Request, permit: Permit, prompt: str, photos: Sequence[CheckedImage]) -> None:
        images = await _thumbnails([p.data for p in photos])
        recollection = await self._memory.recall(req.msg, permit.hold, req.chat.epoch, prompt)
        system = req.chat.system_prompt
        model = req.chat.model
        if self._llm.is_image_model(model):
            # "Now add a hat": an image model changes the pictures it is given, so the
            # conversation's latest ones ride along with a message that brings none.
            shown = images or memory.latest_images(recollection)
            words = memory.without_images(recollection)
            messages = memory.build_messages(system, words, prompt, shown)
            await self._image_model_turn(Turn(req, prompt, images, messages, permit.hold))
            return
        messages = memory.build_messages(system, recollection, prompt, images)
        transcript = Transcript(req.out.stream())
        turn = Turn(req, prompt, images, messages, permit.hold)
        try:
            await self._stream_turn(turn, transcript)
        except Exception:
            if turn.job is not None:
                await self._jobs.finish(turn.job, "failed")
            raise
        finally:
            # Harmless after finish; a turn cancelled at shutdown must not leave its preview running.
            await transcript.stream.abandon()
        if turn.job is not None:
            await self._jobs.finish(turn.job, "done")

    async def new_conversation(self, req: Request) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.chats.new_conversation(req.msg.address.key)
            await uow.commit()
        await req.out.send_text("🧹 Started a new conversation. Earlier messages are forgotten.")

    # --- streamed turns with tools ----------------------------------------------------

    async def _stream_turn(self, turn: Turn, transcript: Transcript) -> None:
        try:
            last = await self._converse(turn, transcript)
        except Exception:
            if transcript.text:
                with contextlib.suppress(Exception):
                    await transcript.stream.finish(transcript.text + INTERRUPTED_NOTE)
            raise
        transcript.next_round()
        answer = transcript.text
        if not answer and not turn.notes:
            answer = EMPTY_ANSWER
        if answer and last is not None and not last.complete:
            answer += CUT_OFF_NOTE
        remembered = "\n\n".join([transcript.text, *turn.notes]).strip() or EMPTY_ANSWER
        kept = await _thumbnails(turn.made)
        async with self._db.unit_of_work() as uow:
            await self._remember(turn, uow, remembered, kept, last)
            if last is not None:
                await self._record_usage(turn, uow, last)
            await uow.commit()
        if answer:  # empty when a tool delivered the answer and the model said nothing
            await transcript.stream.finish(answer)

    async def _converse(self, turn: Turn, transcript: Transcript) -> ChatResult | None:
        """Ask, run the tools asked for, ask again with their results; bounded rounds.

        Each intermediate call's usage is recorded at once; the last one's is left to the
        caller, which stores it with the turn. None instead of a last result: the tools
        ended the turn, and every call made was recorded already.
        """
        req, messages = turn.req, turn.messages
        rounds = self._limits.max_tool_rounds
        specs: Sequence[dict[str, Any]] | None = SPECS if rounds > 0 else None
        jobs = TurnJobs()
        model = req.chat.model
        for round_number in range(rounds + 1):
            last_round = round_number == rounds
            try:
                await self._size_hold(turn, specs)
            except BudgetExceeded as exc:
                if round_number == 0:
                    raise
                # Earlier rounds already answered part of the question: keep what was said.
                turn.notes.append(BUDGET_NOTE.format(exc.user_message).strip())
                await transcript.push(transcript.current + BUDGET_NOTE.format(exc.user_message))
                return None
            async with req.out.activity(Activity.TYPING):
                try:
                    result = await self._llm.complete(
                        model,
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
                    log.info("%s refused tools (%s); asking again without", model, exc.detail)
                    specs = None
                    result = await self._llm.complete(model, messages, on_text=transcript.push)
            if not result.tool_calls or last_round or specs is None:
                if result.tool_calls:
                    log.warning(
                        "tool rounds exhausted in %s; answering without more tools", req.msg.address.key
                    )
                return result
            if turn.job is None:
                turn.job = await self._jobs.open(req.msg, req.keys, "chat_tools", turn.prompt)
            async with self._db.unit_of_work() as uow:
                await self._record_usage(turn, uow, result)
                await uow.commit()
            messages.append(assistant_message(result.text, result.tool_calls))
            transcript.next_round()
            outcomes = [await self._tools.run(call, req, jobs) for call in result.tool_calls]
            for outcome in outcomes:
                if outcome.note:
                    turn.notes.append(outcome.note)
                turn.made += outcome.images
            if all(outcome.ends_turn for outcome in outcomes):
                # What the user asked for is in the chat; a follow-up call would only say so.
                return None
            messages += tool_messages(result.tool_calls, outcomes)
        raise AssertionError("unreachable: the last round returns")

    async def _size_hold(self, turn: Turn, specs: Sequence[dict[str, Any]] | None) -> None:
        """Reserve what the next call can use at most: its messages, tools and output cap."""
        estimate = self._estimator.chat_call(turn.req.chat.model, turn.messages, self._llm.max_tokens, specs)
        turn.hold = await self._budgets.resize(turn.hold, estimate)

    # --- image-capable chat models ----------------------------------------------------

    async def _image_model_turn(self, turn: Turn) -> None:
        """Image-capable chat models answer whole (wenwen-api.md §3.7: `stream` false)."""
        req = turn.req
        await self._size_hold(turn, None)
        async with req.out.activity(Activity.UPLOAD_PHOTO):
            result = await self._llm.complete(req.chat.model, turn.messages)
            found = chat_images.find_images(result.text, result.image_urls)
            # The call is billed whatever happens to its pictures: recorded before any download.
            async with self._db.unit_of_work() as uow:
                await self._record_usage(turn, uow, result, images=len(found.urls))
                await uow.commit()
            fetched = await chat_images.download_images(
                self._downloader, found.urls, self._limits.max_image_bytes
            )
        pictures = fetched.images
        text = found.text
        if fetched.refused:
            text = (text + "\n\n" if text else "") + chat_images.refused_note(fetched.refused)
        if fetched.failed:
            text = (text + "\n\n" if text else "") + "(some images could not be downloaded)"
        remembered = text or f"[sent {len(pictures)} image(s)]"
        kept = await _thumbnails([p.data for p in pictures])
        async with self._db.unit_of_work() as uow:
            await self._remember(turn, uow, remembered, kept, result)
            await uow.commit()
        if not pictures:
            await req.out.send_text(text or EMPTY_ANSWER)
            return
        outgoing = [OutImage(p.data, f"answer{n}.{p.extension}", p.mime) for n, p in enumerate(pictures, 1)]
        if len(text) > CAPTION_LIMIT:
            await req.out.send_text(text)
            text = ""
        await req.out.send_images(outgoing, caption=text)

    # --- bookkeeping --------------------------------------------------------------------

    async def _remember(
        self, turn: Turn, uow: UnitOfWork, answer: str, kept: tuple[TurnImage, ...], result: ChatResult | None
    ) -> None:
        msg = turn.req.msg
        key = msg.address.key
        epoch = turn.req.chat.epoch
        await uow.conversations.add(
            key,
            epoch,
            "user",
            turn.prompt,
            memory.estimate_tokens(turn.prompt) + 85 * len(turn.images),
            user_id=msg.user.id,
            images=turn.images,
        )
        tokens = (result.output_tokens if result else 0) or memory.estimate_tokens(answer)
        await uow.conversations.add(key, epoch, "assistant", answer, tokens, images=kept)

    async def _record_usage(
        self, turn: Turn, uow: UnitOfWork, result: ChatResult, *, images: int = 0
    ) -> None:
        """One usage event per gateway call; keyed by the gateway's id so a retry counts once."""
        msg = turn.req.msg
        input_tokens = result.input_tokens or sum(
            memory.estimate_tokens(str(m.get("content"))) for m in turn.messages
        )
        output_tokens = result.output_tokens or memory.estimate_tokens(result.text)
        event = self._recorder.ledger.event(
            msg.address,
            msg.user,
            "chat",
            result.model or turn.req.chat.model,
            request_key=result.request_id or None,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            images=images,
        )
        await self._recorder.add(uow, event, turn.hold)


def _about_tools(detail: str) -> bool:
    lowered = detail.lower()
    return "tool" in lowered or "function" in lowered


async def _thumbnails(images: list[bytes]) -> tuple[TurnImage, ...]:
    """Small copies for memory, like the user's photos: the edit tool and later questions use them.

    Made off the event loop and before any transaction: decoding a big picture takes a while.
    """
    if not images:
        return ()
    thumbnails = await asyncio.to_thread(lambda: [thumbnail_jpeg(data) for data in images])
    return tuple(TurnImage("image/jpeg", data) for data in thumbnails)
