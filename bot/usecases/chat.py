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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.admission.admission import Permit
from bot.chat import images as chat_images
from bot.chat import memory
from bot.chat.controls import CUT_AT_CAP, final_buttons, new_answer_key, streaming_buttons
from bot.chat.llm import Llm
from bot.chat.memory import Memory
from bot.chat.running import REFUSED, STOPPED, RunningAnswer, RunningAnswers
from bot.chat.tools import SPECS, Tools, TurnJobs, assistant_message, tool_messages
from bot.documents import question_of
from bot.errors import BadRequest, BudgetExceeded, UserError
from bot.gateway.downloads import Downloader
from bot.gateway.types import ChatResult
from bot.i18n import t
from bot.imaging import CheckedImage, thumbnail_jpeg
from bot.lifecycle.jobs import Job, Jobs
from bot.model import Activity, Outbox, OutImage, SentMessage, TextStream
from bot.tasks import cut_off
from bot.usage.budgets import Budgets, Hold
from bot.usage.estimates import Estimator
from bot.usage.recorder import Recorder
from bot.usecases.context import Request
from storage import Database, JobResult, TurnImage, UnitOfWork, UsageEvent
from storage import Turn as StoredTurn
from storage.answer_stops import StopRequest
from storage.writer import Writer
from storage.writes import AnswerUpdate, NewTurn, Writes

log = logging.getLogger(__name__)

CHAT_TOOLS = "chat_tools"  # the job of a turn that runs tools (bot.lifecycle.jobs)
CHAT_IMAGES = "chat_images"  # the job of an image model's answer
ANSWER_TEXT = "text/plain"  # the words of that answer, stored among its pictures

# Notes added to the model's answer, in the reader's language (and remembered as shown).
CUT_OFF_NOTE = t("[the answer was cut off]")
INTERRUPTED_NOTE = t("[interrupted]")
# Not remembered: the next start answers the question again (bot.lifecycle.inbound).
RESTART_NOTE = t("[interrupted by a restart: the full answer follows]")
EMPTY_ANSWER = t("(the model returned an empty answer)")
NOT_DOWNLOADED = t("(some images could not be downloaded)")
STOPPED_NOTE = t("[stopped]")
# To the model, not the user: what "continue" asks for.
CONTINUE_PROMPT = (
    "Your previous answer was cut off at the length limit. Continue it exactly where it "
    "stopped, without repeating anything and without any preamble."
)
ANSWER_GONE = t(
    "This answer can no longer be changed: it was replaced, or the conversation was started anew."
)
ANSWER_FINISHED = t("This answer has already finished.")
NOT_YOUR_ANSWER = t("Only the person who asked, or an admin of this chat, can stop this answer.")
TEXT_MODELS_ONLY = t("This chat's model answers with pictures; send the question again instead.")
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
    # The answer's name on its buttons; a new one for every regeneration or continuation.
    answer_key: str = field(default_factory=new_answer_key)
    # Regenerated or continued: the stored answer is replaced in place (its text starts with
    # `prefix` when continued), not appended.
    replaces: bool = False
    prefix: str = ""
    written: bool = False


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
        writer: Writer,
        jobs: Jobs,
        limits: ChatLimits,
        running: RunningAnswers,
    ) -> None:
        self._llm = llm
        self._memory = memory
        self._tools = tools
        self._recorder = recorder
        self._budgets = budgets
        self._estimator = estimator
        self._downloader = downloader
        self._db = db
        self._writer = writer
        self._jobs = jobs
        self._limits = limits
        self._running = running

    async def answer(self, req: Request, permit: Permit, prompt: str, photos: Sequence[CheckedImage]) -> str:
        """Answer in the chat; returns the answer's text ("" when a tool delivered it)."""
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
            return await self._image_model_turn(Turn(req, prompt, images, messages, permit.hold))
        messages = memory.build_messages(system, recollection, prompt, images)
        return await self._streamed(Turn(req, prompt, images, messages, permit.hold))

    async def sent_again(self, req: Request) -> bool:
        """A replayed question whose answer was stored before the crash: sent again, unpaid.

        The answer is written before it is sent and its update marked handled after, so a
        crash between the two brings the update back, and its stored answer is what it gets:
        before admission (the turn itself may have used up a budget), before a voice note is
        transcribed again. True when it was sent.
        """
        receipt = req.msg.receipt
        if receipt is None or not receipt.replayed:
            return False  # fresh from the platform: nothing can have answered it yet
        async with self._db.unit_of_work() as uow:
            stored = await uow.conversations.answer_to(req.msg.address.key, receipt.source)
        if stored is None or stored.answer_key is None:
            return False
        log.info("%s was answered before a restart; sending the stored answer", receipt.source)
        await req.out.stream().finish(
            stored.content, buttons=final_buttons(stored.answer_key, req.tr, cut_at_cap=False)
        )
        return True

    async def regenerate(self, req: Request, permit: Permit, answer_key: str) -> None:
        """🔄: the answer's question again, with what the conversation held before it.

        The stored answer is taken over by renaming its key first (one press wins; a second
        press, or one after a restart that replaced it, finds nothing), then replaced in place.
        """
        question, _answer, key = await self._take_over(req, answer_key)
        recollection = await self._memory.recall(
            req.msg, permit.hold, req.chat.epoch, question.content, before_id=question.id
        )
        messages = memory.build_messages(
            req.chat.system_prompt, recollection, question.content, question.images
        )
        turn = Turn(
            req, question.content, question.images, messages, permit.hold, answer_key=key, replaces=True
        )
        await self._streamed_instead_of(turn, answer_key)

    async def continue_answer(self, req: Request, permit: Permit, answer_key: str) -> None:
        """▶️ Continue: the model goes on from where the output cap cut it, in a new message."""
        _question, answer, key = await self._take_over(req, answer_key)
        recollection = await self._memory.recall(
            req.msg, permit.hold, req.chat.epoch, CONTINUE_PROMPT, before_id=answer.id + 1
        )
        messages = memory.build_messages(req.chat.system_prompt, recollection, CONTINUE_PROMPT, ())
        turn = Turn(
            req,
            CONTINUE_PROMPT,
            (),
            messages,
            permit.hold,
            answer_key=key,
            replaces=True,
            prefix=answer.content,
        )
        await self._streamed_instead_of(turn, answer_key)

    async def stop(self, req: Request, answer_key: str, is_chat_admin: Callable[[], Awaitable[bool]]) -> None:
        """⏹: the asker, or a chat admin, ends a streaming answer where it is (bot.chat.running)."""
        msg = req.msg
        running = self._running.get(answer_key)
        if running is not None and running.chat_key == msg.address.key:
            if msg.user.id != running.asker_id and not await is_chat_admin():
                raise UserError(NOT_YOUR_ANSWER)
            log.info("answer %s in %s stopped by %s", answer_key, msg.address.key, msg.user.id)
            running.stop.set()
            return
        remote = self._running.remote
        if remote is not None and not await self._stored(req, answer_key):
            stop = StopRequest(answer_key, msg.address.key, msg.user.id, await is_chat_admin())
            outcome = await remote.ask(stop)
            if outcome == STOPPED:
                return
            if outcome == REFUSED:
                raise UserError(NOT_YOUR_ANSWER)
        await req.out.send_text(req.tr(ANSWER_FINISHED))
        if msg.message_id is not None:
            # A ⏹ left on a message whose stream ended without its final edit (a restart).
            try:
                await req.out.edit_buttons(SentMessage(msg.message_id))
            except Exception as exc:  # a courtesy: the reply above is what matters
                log.info("could not remove a stale ⏹ in %s: %s", msg.address.key, exc)

    async def _stored(self, req: Request, answer_key: str) -> bool:
        """The answer is in memory: it finished (no replica streams it any more)."""
        async with self._db.unit_of_work() as uow:
            return await uow.conversations.answer(req.msg.address.key, req.chat.epoch, answer_key) is not None

    async def _take_over(self, req: Request, answer_key: str) -> tuple[StoredTurn, StoredTurn, str]:
        """The question and the answer a button names, now under a new key; a reply if gone."""
        if self._llm.is_image_model(req.chat.model):
            raise UserError(TEXT_MODELS_ONLY)
        key = new_answer_key(req.msg.source)
        chat_key, epoch = req.msg.address.key, req.chat.epoch
        replayed = req.msg.receipt is not None and req.msg.receipt.replayed
        async with self._db.unit_of_work() as uow:
            found = await uow.conversations.answer(chat_key, epoch, answer_key)
            if found is not None:
                if not await uow.conversations.rename_answer(answer_key, key):
                    raise UserError(ANSWER_GONE)  # another press renamed it first
            elif replayed:
                # This press took the answer over before a crash cut its new answer off.
                found = await uow.conversations.answer(chat_key, epoch, key)
            if found is None:
                raise UserError(ANSWER_GONE)
            await uow.commit()
        question, answer = found
        return question, answer, key

    async def _streamed_instead_of(self, turn: Turn, old_key: str) -> None:
        """A replacement answer; if it fails before it is stored, the old answer's buttons work again."""
        try:
            await self._streamed(turn)
        except BaseException:
            if not turn.written:
                with contextlib.suppress(Exception):
                    async with self._db.unit_of_work() as uow:
                        await uow.conversations.rename_answer(turn.answer_key, old_key)
                        await uow.commit()
            raise

    async def _streamed(self, turn: Turn) -> str:
        """One streamed answer with its buttons, stoppable while it runs."""
        req = turn.req
        running = self._running.start(turn.answer_key, req.msg.address.key, req.msg.user.id)
        transcript = Transcript(req.out.stream(streaming_buttons(turn.answer_key, req.tr)))
        try:
            return await self._stream_turn(turn, transcript, running)
        except Exception:
            if turn.job is not None and not turn.written:  # written: the job ended with the answer
                await self._jobs.finish(turn.job, "failed")
            raise
        finally:
            self._running.end(running)
            # Harmless after finish; a turn cancelled at shutdown must not leave its preview
            # running, nor a part of its answer looking like all of it.
            await transcript.stream.abandon(req.tr(RESTART_NOTE) if cut_off() else "")

    async def new_conversation(self, req: Request) -> None:
        async with self._db.unit_of_work() as uow:
            await uow.chats.new_conversation(req.msg.address.key)
            await uow.commit()
        await req.out.send_text(req.tr(t("🧹 Started a new conversation. Earlier messages are forgotten.")))

    # --- streamed turns with tools ----------------------------------------------------

    async def _stream_turn(self, turn: Turn, transcript: Transcript, running: RunningAnswer) -> str:
        try:
            last = await self._converse(turn, transcript, running)
        except Exception:
            if transcript.text:
                with contextlib.suppress(Exception):
                    await transcript.stream.finish(f"{transcript.text}\n\n{turn.req.tr(INTERRUPTED_NOTE)}")
            raise
        transcript.next_round()
        tr = turn.req.tr
        answer = transcript.text
        # Stopped: the stream was cut by ⏹ (a press just after it ended changes nothing), or
        # ⏹ came while tools ran and no further call was made.
        stopped = last.stopped if last is not None else running.stop.is_set()
        if not answer and not turn.notes:
            answer = tr(EMPTY_ANSWER)
        if answer and stopped:
            answer += f"\n\n{tr(STOPPED_NOTE)}"
        elif answer and last is not None and not last.complete:
            answer += f"\n\n{tr(CUT_OFF_NOTE)}"
        remembered = "\n\n".join([transcript.text, *turn.notes]).strip() or tr(EMPTY_ANSWER)
        kept = await _thumbnails(turn.made)
        # The turn (named by its update), its usage, the end of its hold and of its tool job:
        # one write, batched with other chats'. The update is marked handled once the answer is
        # out; a crash in between replays it, and `sent_again` sends this stored answer,
        # unpaid (the job is done, so recovery does not also call it interrupted).
        # A stopped stream has no usage report: its tokens are estimated from what was sent
        # and what came back (`_usage`), so the ledger still holds what the gateway bills.
        await self._writer.write(
            Writes(
                turns=() if turn.replaces else self._remembered(turn, remembered, kept, last, keyed=True),
                answers=(self._replacement(turn, remembered, kept),) if turn.replaces else (),
                events=(self._usage(turn, last),) if last is not None else (),
                released=self._budgets.releasing(turn.hold),
                done_jobs=(turn.job.id,) if turn.job is not None else (),
            )
        )
        turn.written = True
        self._budgets.released(turn.hold)
        if answer:  # empty when a tool delivered the answer and the model said nothing
            cut = last is not None and not stopped and last.finish_reason in CUT_AT_CAP
            await transcript.stream.finish(answer, buttons=final_buttons(turn.answer_key, tr, cut_at_cap=cut))
        return answer

    async def _converse(
        self, turn: Turn, transcript: Transcript, running: RunningAnswer
    ) -> ChatResult | None:
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
            if running.stop.is_set():
                return None  # stopped while tools ran: no further call, nothing more to bill
            try:
                await self._size_hold(turn, specs)
            except BudgetExceeded as exc:
                if round_number == 0:
                    raise
                # Earlier rounds already answered part of the question: keep what was said.
                note = req.tr(t("[stopped here: {reason}]", reason=exc.text))
                turn.notes.append(note)
                await transcript.push(f"{transcript.current}\n\n{note}")
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
                        stop=running.stop,
                    )
                except BadRequest as exc:
                    if not (specs and round_number == 0 and _about_tools(exc.detail)):
                        raise
                    # Not every model takes tools (wenwen-api.md §3.5); answer without them.
                    log.info("%s refused tools (%s); asking again without", model, exc.detail)
                    specs = None
                    result = await self._llm.complete(
                        model, messages, on_text=transcript.push, stop=running.stop
                    )
            if not result.tool_calls or last_round or specs is None or result.stopped:
                if result.tool_calls:
                    log.warning(
                        "tool rounds exhausted in %s; answering without more tools", req.msg.address.key
                    )
                return result
            if turn.job is None:
                summary = question_of(turn.prompt)
                turn.job = await self._jobs.open(req.msg, req.keys, CHAT_TOOLS, summary)
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

    async def _image_model_turn(self, turn: Turn) -> str:
        """Image-capable chat models answer whole (wenwen-api.md §3.7: `stream` false).

        A durable job, as /image is: opened before the call, its pictures stored with the turn
        once downloaded, marked done with its update when sent. After a crash the next start
        sends what was stored, or says the answer was cut off (and may have been charged);
        the question is never asked, and paid for, again.
        """
        req = turn.req
        await self._size_hold(turn, None)
        job = await self._jobs.open(req.msg, req.keys, CHAT_IMAGES, question_of(turn.prompt))
        try:
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
        except Exception:
            await self._jobs.finish(job, "failed")  # the user is told by the core
            raise
        pictures = fetched.images
        text = found.text
        if fetched.refused:
            text = (text + "\n\n" if text else "") + req.tr(chat_images.refused_note(fetched.refused))
        if fetched.failed:
            text = (text + "\n\n" if text else "") + req.tr(NOT_DOWNLOADED)
        remembered = text or f"[sent {len(pictures)} image(s)]"
        kept = await _thumbnails([p.data for p in pictures])
        async with self._db.unit_of_work() as uow:
            # What is sent, stored until it is: the words too, for a start after a crash.
            stored = [JobResult(p.mime, p.data) for p in pictures]
            shown = text or ("" if pictures else req.tr(EMPTY_ANSWER))
            if shown:
                stored.append(JobResult(ANSWER_TEXT, shown.encode()))
            mine = await self._jobs.answered(uow, job, result.request_id, stored)
            if mine:
                await uow.bulk.apply(Writes(turns=self._remembered(turn, remembered, kept, result)))
            await uow.commit()
        if not mine:
            log.warning("job %s was taken over by another instance, which answers it; not sent here", job.id)
            return text
        outgoing = [OutImage(p.data, f"answer{n}.{p.extension}", p.mime) for n, p in enumerate(pictures, 1)]
        sent = await send_pictured(req.out, shown, outgoing)
        await self._jobs.delivered(job, sent.message_id, req.msg.receipt)
        return text

    # --- bookkeeping --------------------------------------------------------------------

    @staticmethod
    def _remembered(
        turn: Turn,
        answer: str,
        kept: tuple[TurnImage, ...],
        result: ChatResult | None,
        *,
        keyed: bool = False,
    ) -> tuple[NewTurn, ...]:
        """The question and the answer, as the conversation keeps them; `keyed`: the answer
        carries the update it was asked in, for `sent_again`."""
        msg = turn.req.msg
        key, epoch = msg.address.key, turn.req.chat.epoch
        tokens = (result.output_tokens if result else 0) or memory.estimate_tokens(answer)
        return (
            NewTurn(
                key,
                epoch,
                "user",
                turn.prompt,
                memory.estimate_tokens(turn.prompt) + 85 * len(turn.images),
                user_id=msg.user.id,
                images=turn.images,
            ),
            NewTurn(
                key,
                epoch,
                "assistant",
                answer,
                tokens,
                images=kept,
                answer_key=turn.answer_key,
                source=msg.source if keyed else None,
            ),
        )

    @staticmethod
    def _replacement(turn: Turn, answer: str, kept: tuple[TurnImage, ...]) -> AnswerUpdate:
        """A regenerated answer replaces the stored one; a continued one extends it. Named by
        the press that asked for it, as a new answer is by its question (`sent_again`)."""
        source = turn.req.msg.source
        if turn.prefix:
            content = turn.prefix + answer
            return AnswerUpdate(
                turn.answer_key, content, memory.estimate_tokens(content), kept or None, source
            )
        return AnswerUpdate(turn.answer_key, answer, memory.estimate_tokens(answer), kept, source)

    def _usage(self, turn: Turn, result: ChatResult, *, images: int = 0) -> UsageEvent:
        """One priced usage event per gateway call; keyed by the gateway's id so a retry counts once."""
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
        return self._recorder.ledger.priced(event)

    async def _record_usage(
        self, turn: Turn, uow: UnitOfWork, result: ChatResult, *, images: int = 0
    ) -> None:
        """A call in the middle of a turn: recorded at once and settled against the turn's hold."""
        await self._recorder.add(uow, self._usage(turn, result, images=images), turn.hold)


def _about_tools(detail: str) -> bool:
    lowered = detail.lower()
    return "tool" in lowered or "function" in lowered


async def send_pictured(out: Outbox, text: str, pictures: Sequence[OutImage]) -> SentMessage:
    """An image model's answer: its words as its pictures' caption, or first on their own
    when too long for one; the words alone when it has no pictures."""
    if not pictures:
        return await out.send_text(text)
    if len(text) > CAPTION_LIMIT:
        await out.send_text(text)
        text = ""
    return await out.send_images(pictures, caption=text)


async def _thumbnails(images: list[bytes]) -> tuple[TurnImage, ...]:
    """Small copies for memory, like the user's photos: the edit tool and later questions use them.

    Made off the event loop and before any transaction: decoding a big picture takes a while.
    """
    if not images:
        return ()
    thumbnails = await asyncio.to_thread(lambda: [thumbnail_jpeg(data) for data in images])
    return tuple(TurnImage("image/jpeg", data) for data in thumbnails)
