"""/v1/audio/transcriptions and /v1/audio/speech: deterministic transcripts, valid silent audio."""

from __future__ import annotations

import struct

import httpx

from simulator import Simulator
from simulator.audio import DEFAULT_TRANSCRIPT, _ogg_crc


def _pages(data: bytes) -> list[bytes]:
    """Split an Ogg stream into its pages, checking each page's CRC on the way."""
    pages = []
    at = 0
    while at < len(data):
        assert data[at : at + 4] == b"OggS"
        segments = data[at + 26]
        lacing = data[at + 27 : at + 27 + segments]
        end = at + 27 + segments + sum(lacing)
        page = bytearray(data[at:end])
        (crc,) = struct.unpack_from("<I", page, 22)
        struct.pack_into("<I", page, 22, 0)
        assert _ogg_crc(bytes(page)) == crc
        pages.append(data[at:end])
        at = end
    return pages


async def test_transcript_comes_from_the_marker_and_is_billed(
    sim: Simulator, client: httpx.AsyncClient
) -> None:
    voice = b"OggS\x00fake voice [[transcript:what is a quasar?]] [[seconds:7]]"
    answer = await client.post(
        "/v1/audio/transcriptions",
        data={"model": "whisper-1"},
        files={"file": ("voice.ogg", voice, "audio/ogg")},
    )
    assert answer.status_code == 200
    assert answer.json() == {"text": "what is a quasar?", "usage": {"type": "duration", "seconds": 7}}
    plain = await client.post(
        "/v1/audio/transcriptions", data={"model": "whisper-1"}, files={"file": ("a.mp3", b"x" * 9000)}
    )
    assert plain.json() == {"text": DEFAULT_TRANSCRIPT, "usage": {"type": "duration", "seconds": 3}}
    assert sim.ledger.requests["transcription"] == 2
    assert sim.ledger.audio_seconds == 10


async def test_transcription_requires_model_and_file(sim: Simulator, client: httpx.AsyncClient) -> None:
    no_model = await client.post("/v1/audio/transcriptions", files={"file": ("a.ogg", b"abc")})
    no_file = await client.post("/v1/audio/transcriptions", files={"model": (None, "whisper-1")})
    assert (no_model.status_code, no_file.status_code) == (400, 400)
    assert "model" in no_model.json()["error"]["message"]
    assert "transcription" not in sim.ledger.requests


async def test_speech_is_a_valid_ogg_opus_stream(sim: Simulator, client: httpx.AsyncClient) -> None:
    body = {"model": "tts-1", "input": "Hello there, friend.", "voice": "alloy", "response_format": "opus"}
    answer = await client.post("/v1/audio/speech", json=body)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "audio/ogg"
    pages = _pages(answer.content)
    assert pages[0][28:36] == b"OpusHead"
    assert pages[1][27 + pages[1][26] :].startswith(b"OpusTags")
    assert pages[-1][5] & 0x04  # end of stream
    assert sim.ledger.characters == len(body["input"])


async def test_speech_refuses_bad_requests(sim: Simulator, client: httpx.AsyncClient) -> None:
    base = {"model": "tts-1", "input": "hi", "voice": "alloy", "response_format": "opus"}
    for change in ({"voice": "darth"}, {"input": ""}, {"input": "x" * 4097}, {"response_format": "aac"}):
        answer = await client.post("/v1/audio/speech", json=base | change)
        assert answer.status_code == 400, change
    wav = await client.post("/v1/audio/speech", json=base | {"response_format": "wav"})
    assert wav.content.startswith(b"RIFF")
    assert sim.ledger.requests == {"speech": 1}
