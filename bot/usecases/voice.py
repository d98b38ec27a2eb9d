"""Voice notes in, speech out: /v1/audio/transcriptions and /v1/audio/speech.

A voice note is checked (length, size) before anything is paid, transcribed, shown as
"🎙 …", and handed back to the core as the same text typed (`bot.router.spoken`). With
`/voice on` a chat's answers are also read aloud; a failed reading costs the user nothing
but a short note, never the text answer, which was sent first.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from bot.admission.admission import Permit
from bot.errors import AttachmentUnavailable, GatewayError, UserError
from bot.gateway.client import GatewayClient, UploadFile
from bot.i18n import t
from bot.model import Activity, AudioAttachment
from bot.router import audio_refusal
from bot.usage.recorder import Recorder
from bot.usecases.context import Request

log = logging.getLogger(__name__)

NOT_READ_ALOUD = t("🔇 I couldn't read this answer aloud. The text above is the whole answer.")
SPEECH_FORMAT = "opus"  # Ogg/Opus: what Telegram's voice messages are made of
SPEECH_FILES = {"audio/ogg": "answer.ogg", "audio/opus": "answer.ogg", "audio/mpeg": "answer.mp3"}


@dataclass(frozen=True)
class VoiceSettings:
    transcribe_model: str
    tts_model: str
    tts_voice: str
    max_seconds: int
    max_bytes: int
    tts_max_chars: int


class Voice:
    def __init__(self, gateway: GatewayClient, recorder: Recorder, settings: VoiceSettings) -> None:
        self._gateway = gateway
        self._recorder = recorder
        self.settings = settings

    async def transcribe(self, req: Request, permit: Permit, audio: AudioAttachment) -> str:
        """The words of a voice note, shown in the chat; refused with a reason before any call."""
        settings = self.settings
        refusal = audio_refusal(audio, settings.max_seconds, settings.max_bytes)
        if refusal is not None:
            raise UserError(refusal)
        try:
            data = await audio.fetch()
        except UserError:
            raise
        except Exception as exc:
            log.warning("voice download failed in %s: %s", req.msg.address.key, type(exc).__name__)
            raise AttachmentUnavailable(
                t("I couldn't download your recording. Please send it again.")
            ) from exc
        # The platform's size may be missing or wrong: the bytes in hand are what would be sent.
        refusal = audio_refusal(replace(audio, size=len(data)), settings.max_seconds, settings.max_bytes)
        if refusal is not None or not data:
            raise UserError(refusal or t("That recording is empty."))
        model = settings.transcribe_model
        async with req.out.activity(Activity.TYPING):
            heard = await self._gateway.transcribe(UploadFile(audio.file_name, data, audio.mime_type), model)
        # Billed by the minute: the gateway's count, else the platform's, else the most we accept.
        seconds = heard.seconds or audio.duration or float(settings.max_seconds)
        prices = self._recorder.ledger.prices
        await self._recorder.record(
            self._recorder.ledger.audio_event(
                req.msg.address,
                req.msg.user,
                "transcription",
                model,
                request_key=heard.request_id or None,
                cost=prices.transcription_cost(model, seconds),
            ),
            permit.hold,
        )
        text = " ".join(heard.text.split())
        log.info("transcribed %.0f s of audio in %s (%d chars)", seconds, req.msg.address.key, len(text))
        if not text:
            raise UserError(t("I couldn't make out any words in that recording."))
        await req.out.send_text(req.tr(t("🎙 {text}", text=text)))
        return text

    def speakable(self, text: str) -> bool:
        return 0 < len(text) <= self.settings.tts_max_chars

    async def speak(self, req: Request, permit: Permit, text: str) -> None:
        """Read an answer aloud (sent as a voice message); a failure is a note, never an error."""
        settings = self.settings
        try:
            async with req.out.activity(Activity.RECORD_VOICE):
                speech = await self._gateway.speech(
                    text, settings.tts_model, settings.tts_voice, response_format=SPEECH_FORMAT
                )
        except GatewayError as exc:
            log.warning("speech failed in %s: %s (status %s)", req.msg.address.key, exc.detail, exc.status)
            await req.out.send_text(req.tr(NOT_READ_ALOUD))
            return
        prices = self._recorder.ledger.prices
        await self._recorder.record(
            self._recorder.ledger.audio_event(
                req.msg.address,
                req.msg.user,
                "speech",
                settings.tts_model,
                request_key=speech.request_id or None,
                cost=prices.speech_cost(settings.tts_model, len(text)),
            ),
            permit.hold,
        )
        try:
            await req.out.send_voice(speech.data, SPEECH_FILES.get(speech.mime, "answer.ogg"), speech.mime)
        except Exception:
            # The answer is in the chat already; a platform refusing the audio must not read as a failure.
            log.exception("could not deliver a voice answer in %s", req.msg.address.key)
            await req.out.send_text(req.tr(NOT_READ_ALOUD))
