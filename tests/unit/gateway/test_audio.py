"""Transcription and speech through the client: typed results, the error tree, bytes kept as bytes."""

from __future__ import annotations

import httpx
import pytest

from bot import errors
from bot.gateway.client import UploadFile

from .conftest import MakeClient, json_reply


async def test_transcribe_sends_multipart_and_reads_the_duration(make_client: MakeClient) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return json_reply(
            {"text": "hello", "usage": {"type": "duration", "seconds": 4}}, headers={"x-request-id": "r1"}
        )

    client = make_client(handler)
    result = await client.transcribe(UploadFile("v.ogg", b"OggS...", "audio/ogg"), "whisper-1")
    assert (result.text, result.seconds, result.request_id, result.model) == ("hello", 4, "r1", "whisper-1")
    body = seen[0].read()
    assert seen[0].url.path == "/v1/audio/transcriptions"
    assert b'name="model"' in body and b"whisper-1" in body and b'filename="v.ogg"' in body


async def test_transcribe_without_a_duration_leaves_it_unknown(make_client: MakeClient) -> None:
    client = make_client(
        lambda _r: json_reply({"text": "hi", "usage": {"type": "tokens", "input_tokens": 9}})
    )
    result = await client.transcribe(UploadFile("v.ogg", b"x", "audio/ogg"), "gpt-4o-transcribe")
    assert result.seconds is None


async def test_speech_returns_the_audio_bytes(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"OggS-audio", headers={"content-type": "audio/ogg"})

    speech = await make_client(handler).speech("hi", "tts-1", "alloy")
    assert (speech.data, speech.mime) == (b"OggS-audio", "audio/ogg")


async def test_speech_errors_come_from_the_tree(make_client: MakeClient) -> None:
    bad = make_client(lambda _r: json_reply({"error": {"message": "voice is invalid"}}, 400))
    with pytest.raises(errors.BadRequest, match="voice is invalid"):
        await bad.speech("hi", "tts-1", "darth")
    empty = make_client(lambda _r: httpx.Response(200, json={"unexpected": True}))
    with pytest.raises(errors.MalformedResponse):
        await empty.speech("hi", "tts-1", "alloy")
