"""The platform-neutral entry point: route a message, admit it, run its handler, never crash.

Every command is paired with its handler in one `match` over the `Command` union
(`assert_never` makes a command without a handler a type error), and each handler is
handed exactly the collaborators it names. Failures become one short reply: the
message of a `Reply` error, or a generic apology for anything unexpected (logged).
Each reply is rendered here, in the reader's language (`bot.i18n`, `Request.tr`).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, replace
from typing import assert_never

from bot import commands as c
from bot.admission.access import Access, Rules
from bot.admission.admission import Admission, Permit
from bot.admission.permissions import Permissions
from bot.config import Settings
from bot.errors import BudgetExceeded, GatewayError, Reply, Silent
from bot.gateway.client import GatewayClient
from bot.handlers import admin, conversation, help, language, midjourney, pictures, settings, usage, voice
from bot.i18n import Say, Tr, t
from bot.lifecycle.jobs import JobKeys
from bot.model import Incoming, Outbox
from bot.observability.metrics import Metrics
from bot.router import Limits, route, spoken
from bot.usage.budgets import Budgets
from bot.usage.estimates import Work
from bot.usage.pricing import PriceTable
from bot.usecases.arrivals import read_arrival
from bot.usecases.caption import Classifier
from bot.usecases.chat import ChatTurns
from bot.usecases.chats import Chats
from bot.usecases.context import Request
from bot.usecases.documents import DocumentLimits
from bot.usecases.images import Images
from bot.usecases.languages import Languages
from bot.usecases.midjourney import Midjourney
from bot.usecases.voice import Voice
from storage import Database

log = logging.getLogger(__name__)

SOMETHING_WENT_WRONG = t("⚠️ Something went wrong on my side. Please try again.")
INTERRUPTED = t("⚠️ I was restarted before I could finish this. Please send it again in a minute.")


@dataclass(frozen=True)
class Deps:
    """What the handlers may be handed; built once by `bot.app`."""

    settings: Settings
    db: Database
    gateway: GatewayClient
    prices: PriceTable
    chats: Chats
    access: Access
    permissions: Permissions
    admission: Admission
    budgets: Budgets
    turns: ChatTurns
    classifier: Classifier
    images: Images
    midjourney: Midjourney
    voice: Voice
    metrics: Metrics
    languages: Languages


class Core:
    """What every adapter calls with a normalized message and an outbox to answer in."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        s = deps.settings
        self._limits = Limits(
            max_prompt_chars=s.max_prompt_chars,
            max_images=s.max_album_images,
            voice_max_seconds=s.voice_max_seconds,
            voice_max_bytes=s.voice_max_bytes,
        )
        self._documents = DocumentLimits(s.document_max_bytes, s.document_max_tokens)

    async def handle(self, msg: Incoming, out: Outbox) -> None:
        command = route(msg, self._limits)
        if (
            isinstance(command, c.Chat)
            and not command.images
            and msg.reply_to_bot
            and msg.reply_to_message_id
        ):
            command = await self._answer_to_question(msg, command)
        if isinstance(command, c.Ignore):
            return
        name = type(command).__name__
        log.info("%s from %s in %s", name, msg.user.id, msg.address.key)
        keys = JobKeys(msg.source)
        # Replies are rendered here, in the reader's language; until the stored `/lang`
        # choices are read (or if reading them fails), in their app's.
        tr = self.deps.languages.platform_tr(msg)
        try:
            arrival = await read_arrival(self.deps.db, msg)
            chat = await self.deps.chats.open(msg.address, arrival.chat)
            tr = self.deps.languages.tr_from(msg, arrival.languages)
            req = Request(msg, out, chat, keys, tr)
            if await self.deps.turns.sent_again(req):
                return  # answered before a crash: no transcription, admission or call again
            work = command if isinstance(command, Work) else None
            rules = Rules(arrival.rule, arrival.parent_rule)
            # Access, rate, job caps and budgets first: a refused request calls nothing.
            with self.deps.metrics.time_handler(command):
                async with self.deps.admission.admit(
                    msg, work, chat_model=chat.model, rules=rules, own_limits=arrival.own_limits
                ) as permit:
                    await self._dispatch(command, req, permit)
        except Silent:
            log.info("%s in %s ignored (refused before)", name, msg.address.key)
        except GatewayError as exc:
            log.warning(
                "gateway failure for %s in %s: %s (status %s, request id %s)",
                name,
                msg.address.key,
                exc.detail,
                exc.status,
                exc.request_id,
            )
            await _say(out, tr, t("⚠️ {message}", message=exc.text))
        except Reply as exc:
            if isinstance(exc, BudgetExceeded):
                self.deps.metrics.budget_refused()
            log.info("refused %s in %s: %s", name, msg.address.key, exc.detail)
            await _say(out, tr, exc.text)
        except Exception:
            log.exception("unexpected error handling %s in %s", name, msg.address.key)
            await _say(out, tr, SOMETHING_WENT_WRONG)
        except asyncio.CancelledError:
            # Cut off by a shutdown. A journaled update is handled again by the next start, and
            # a started job is answered by it; anything else would be lost in silence: say so.
            if msg.source is None and keys.used == 0:
                await asyncio.shield(_say(out, tr, INTERRUPTED))
            raise

    async def _answer_to_question(self, msg: Incoming, command: c.Chat) -> c.Command:
        """A reply to the bot's question for a prompt (Telegram) is that prompt, not a chat turn."""
        assert msg.reply_to_message_id is not None
        try:
            request_id = await self.deps.midjourney.question_in(msg.address.key, msg.reply_to_message_id)
        except Exception:
            log.exception("could not look up a question in %s", msg.address.key)
            return command
        if request_id is None:
            return command
        return route(replace(msg, command=c.MjPromptAnswer(request_id, command.prompt)), self._limits)

    async def _dispatch(  # noqa: PLR0912, PLR0915 - one case per command; mypy checks that none is missing
        self, command: c.Command, req: Request, permit: Permit
    ) -> None:
        d = self.deps
        s = d.settings
        match command:
            case c.Chat():
                answer = await conversation.handle_chat(
                    command,
                    req,
                    permit,
                    d.turns,
                    max_image_bytes=s.max_image_bytes,
                    documents=self._documents,
                )
                await self._read_aloud(req, answer)
            case c.Transcribe():
                await self._voice_note(command, req, permit)
            case c.SetVoice():
                await voice.handle_set_voice(command, req, d.chats, d.permissions)
            case c.PhotoCaption():
                await conversation.handle_photo_caption(
                    command,
                    req,
                    permit,
                    mode=s.caption_mode,
                    classifier=d.classifier,
                    turns=d.turns,
                    images=d.images,
                    midjourney=d.midjourney,
                    admission=d.admission,
                    max_image_bytes=s.max_image_bytes,
                )
            case c.Regenerate():
                await conversation.handle_regenerate(command, req, permit, d.turns)
            case c.ContinueAnswer():
                await conversation.handle_continue(command, req, permit, d.turns)
            case c.StopAnswer():
                await conversation.handle_stop(command, req, d.turns, d.permissions)
            case c.NewConversation():
                await conversation.handle_new_conversation(req, d.turns)
            case c.GenerateImage():
                await pictures.handle_generate(command, req, permit, d.images)
            case c.EditImages():
                await pictures.handle_edit(command, req, permit, d.images, s.max_image_bytes)
            case c.Imagine():
                await midjourney.handle_imagine(command, req, permit, d.midjourney, s.max_image_bytes)
            case c.Blend():
                await midjourney.handle_blend(command, req, permit, d.midjourney, s.max_image_bytes)
            case c.MjButtonPress():
                await midjourney.handle_button(command, req, permit, d.midjourney)
            case c.MjSeed():
                await midjourney.handle_seed(command, req, d.midjourney)
            case c.Describe():
                await midjourney.handle_describe(command, req, permit, d.midjourney, s.max_image_bytes)
            case c.MjImaginePrompt():
                await midjourney.handle_imagine_prompt(command, req, permit, d.midjourney)
            case c.MjPromptAnswer():
                await midjourney.handle_prompt_answer(command, req, permit, d.midjourney)
            case c.ChooseModel():
                await settings.handle_model(
                    command, req, d.chats, d.permissions, gateway=d.gateway, allowed=s.allowed_chat_models
                )
            case c.SetSystemPrompt():
                await settings.handle_system(command, req, d.chats, d.permissions)
            case c.ShowLanguage():
                await language.handle_show(req, d.languages)
            case c.SetLanguage():
                await language.handle_set(command, req, d.languages, d.permissions)
            case c.ShowUsage():
                await usage.handle_usage(command, req, d.db, d.prices, d.permissions)
            case c.AdminHelp():
                await admin.handle_admin_help(req)
            case c.AdminAccess():
                await admin.handle_access(command, req, d.access, d.permissions)
            case c.AdminBudget():
                await admin.handle_budget(command, req, d.budgets, d.permissions, d.prices)
            case c.AdminUsage():
                await admin.handle_admin_usage(command, req, d.db, d.prices, d.permissions)
            case c.Help():
                await help.handle_help(req)
            case c.Hint():
                await help.handle_hint(command, req)
            case c.Ignore():
                pass
            case _:
                assert_never(command)

    async def _voice_note(self, command: c.Transcribe, req: Request, permit: Permit) -> None:
        """Transcribed and shown, then handled like the same text typed: a question or a command."""
        text = await self.deps.voice.transcribe(req, permit, command.audio)
        msg = spoken(req.msg, text)
        follow = route(msg, self._limits)
        if isinstance(follow, c.Ignore | c.Transcribe):
            return
        log.info("voice note in %s is a %s", msg.address.key, type(follow).__name__)
        work = follow if isinstance(follow, Work) else None
        # The same message: admitted for its work and budget, not counted again against the rate.
        async with self.deps.admission.admit(
            msg, work, chat_model=req.chat.model, rated=False
        ) as next_permit:
            await self._dispatch(follow, replace(req, msg=msg), next_permit)

    async def _read_aloud(self, req: Request, answer: str) -> None:
        """With /voice on, the answer (already sent as text) also comes back as speech."""
        voice_ = self.deps.voice
        if not req.chat.voice or not answer.strip():
            return
        if not voice_.speakable(answer):
            limit = voice_.settings.tts_max_chars
            await req.out.send_text(
                req.tr(
                    t(
                        "🔇 This answer is too long to read aloud (the limit is {limit} characters).",
                        limit=limit,
                    )
                )
            )
            return
        speak = c.Speak(answer)
        async with self.deps.admission.admit(
            req.msg, speak, chat_model=req.chat.model, rated=False
        ) as permit:
            await voice_.speak(req, permit, answer)


async def _say(out: Outbox, tr: Tr, text: Say) -> None:
    """Last-resort reply; a failure here is logged, never raised into the adapter."""
    try:
        await out.send_text(tr(text))
    except Exception:
        log.exception("could not deliver an error message to %s", out.address.key)
