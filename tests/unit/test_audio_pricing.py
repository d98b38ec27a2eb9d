"""Audio in the price table and in budget reservations: by the minute heard, by the character read."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from bot import commands as c
from bot.config import Settings
from bot.model import AudioAttachment
from bot.usage.estimates import Estimator, job_of
from bot.usage.pricing import load_prices

PRICES = load_prices()


async def _no_bytes() -> bytes:
    return b""


def test_shipped_audio_prices() -> None:
    assert PRICES.transcription_cost("whisper-1", 90) == Decimal("0.009")  # $0.006 a minute
    assert PRICES.speech_cost("tts-1", 2000) == Decimal("0.03")  # $15 per million characters
    assert PRICES.transcription_cost("unknown-stt", 60) is None
    assert PRICES.speech_cost("unknown-tts", 10) is None


def test_an_operator_file_overrides_audio_prices(tmp_path: Path) -> None:
    override = tmp_path / "prices.toml"
    override.write_text('character_unit = 1000\n[transcription]\n"whisper-1" = 0.06\n[speech]\n"tts-1" = 1\n')
    prices = load_prices(override)
    assert prices.transcription_cost("whisper-1", 60) == Decimal("0.06")
    assert prices.speech_cost("tts-1", 500) == Decimal("0.5")


def test_reservations_for_voice_work() -> None:
    settings = Settings(_env_file=None, voice_max_seconds=120)  # type: ignore[call-arg]
    estimator = Estimator(settings, PRICES)
    told = c.Transcribe(AudioAttachment(_no_bytes, duration=30))
    untold = c.Transcribe(AudioAttachment(_no_bytes))
    assert estimator.of(told, "gpt-4o-mini").cost == Decimal("0.003")
    assert estimator.of(untold, "gpt-4o-mini").cost == Decimal("0.012"), (
        "unknown length: the longest accepted"
    )
    assert estimator.of(c.Speak("x" * 1000), "gpt-4o-mini").cost == Decimal("0.015")
    assert job_of(told, settings) is None and job_of(c.Speak("x"), settings) is None
