"""POST /v1/audio/transcriptions and POST /v1/audio/speech (OpenAI shapes).

Transcripts are deterministic: a recording that contains `[[transcript:<words>]]` is heard
as those words (tests put the marker in the bytes of their voice notes); anything else is
heard as `DEFAULT_TRANSCRIPT`. Its length is `[[seconds:N]]` when the bytes say so, else
the size at 32 kbit/s (a voice note's usual Opus rate). Speech is a real Ogg/Opus stream of
silence (20 ms frames, about 60 ms per character), or a WAV of silence: valid files a
player opens, with no voice in them.
"""

from __future__ import annotations

import io
import math
import re
import struct
import wave

from aiohttp import web

from .bodies import read_json_object, read_multipart
from .errors import ApiError, openai_error
from .state import sim_state

MAX_AUDIO_BYTES = 25 * 1024 * 1024
MAX_SPEECH_CHARS = 4096
DEFAULT_TRANSCRIPT = "Hello from a voice message."
VOICES = frozenset(
    {"alloy", "ash", "ballad", "coral", "echo", "fable", "nova", "onyx", "sage", "shimmer", "verse"}
)
TRANSCRIBE_FORMATS = frozenset({"json", "text", "verbose_json"})
SPEECH_TYPES = {"opus": "audio/ogg", "wav": "audio/wav"}
_TRANSCRIPT = re.compile(rb"\[\[transcript:(.*?)\]\]", re.DOTALL)
_SECONDS = re.compile(rb"\[\[seconds:(\d{1,6})\]\]")
_BYTES_PER_SECOND = 4000


def heard(data: bytes) -> tuple[str, int]:
    """What the simulator 'hears' in a recording, and how long it is."""
    found = _TRANSCRIPT.search(data)
    text = found.group(1).decode("utf-8", errors="replace").strip() if found else DEFAULT_TRANSCRIPT
    seconds = _SECONDS.search(data)
    length = int(seconds.group(1)) if seconds else max(1, math.ceil(len(data) / _BYTES_PER_SECOND))
    return text, length


async def transcriptions(request: web.Request) -> web.StreamResponse:
    state = sim_state(request)

    def bad(message: str) -> ApiError:
        return openai_error(request, 400, message)

    form = await read_multipart(request, bad)
    model = form.fields.get("model", "")
    if not model:
        raise bad("you must provide a model parameter")
    upload = next((f for f in form.files if f.field == "file"), None)
    if upload is None:
        raise bad("you must provide a file parameter")
    if len(upload.data) > MAX_AUDIO_BYTES:
        raise openai_error(request, 413, f"Maximum content size limit ({MAX_AUDIO_BYTES}) exceeded")
    if not upload.data:
        raise bad("The audio file could not be decoded or its format is not supported.")
    response_format = form.fields.get("response_format", "json")
    if response_format not in TRANSCRIBE_FORMATS:
        raise bad(f"response_format '{response_format}' is not supported by the simulator")
    text, seconds = heard(upload.data)
    state.ledger.add("transcription", audio_seconds=seconds)
    if response_format == "text":
        return web.Response(text=text + "\n", content_type="text/plain")
    body: dict[str, object] = {"text": text, "usage": {"type": "duration", "seconds": seconds}}
    if response_format == "verbose_json":
        body |= {"task": "transcribe", "language": "english", "duration": float(seconds), "segments": []}
    return web.json_response(body)


async def speech(request: web.Request) -> web.Response:
    state = sim_state(request)

    def bad(message: str) -> ApiError:
        return openai_error(request, 400, message)

    body = await read_json_object(request, bad)
    model, text, voice = body.get("model"), body.get("input"), body.get("voice")
    if not isinstance(model, str) or not model:
        raise bad("you must provide a model parameter")
    if not isinstance(text, str) or not text:
        raise bad("[{'type': 'missing', 'loc': ('body', 'input')}] input is required")
    if len(text) > MAX_SPEECH_CHARS:
        raise bad(f"[{{'type': 'string_too_long'}}] input: at most {MAX_SPEECH_CHARS} characters")
    if voice not in VOICES:
        raise bad(f"Invalid value for 'voice': {voice!r}. Supported: {', '.join(sorted(VOICES))}")
    response_format = body.get("response_format", "mp3")
    if response_format not in SPEECH_TYPES:
        raise bad(f"response_format {response_format!r}: the simulator speaks {' and '.join(SPEECH_TYPES)}")
    seconds = min(60.0, 0.06 * len(text))
    data = ogg_opus_silence(seconds) if response_format == "opus" else wav_silence(seconds)
    state.ledger.add("speech", characters=len(text))
    return web.Response(body=data, content_type=SPEECH_TYPES[str(response_format)])


# --- valid silent audio ---------------------------------------------------------------


def wav_silence(seconds: float, rate: int = 8000) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(rate * seconds))
    return buffer.getvalue()


_SILENT_FRAME = b"\xf8\xff\xfe"  # one 20 ms CELT frame of silence (RFC 6716 TOC 0xf8)
_SERIAL = 0x5717


def _crc_table() -> list[int]:
    table = []
    for byte in range(256):
        crc = byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) if crc & 0x80000000 else crc << 1
        table.append(crc & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def _ogg_crc(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[((crc >> 24) & 0xFF) ^ byte]
    return crc


def _ogg_page(packets: list[bytes], sequence: int, granule: int, flags: int) -> bytes:
    lacing = bytearray()
    for packet in packets:
        lacing += b"\xff" * (len(packet) // 255) + bytes([len(packet) % 255])
    header = struct.pack("<4sBBqIIIB", b"OggS", 0, flags, granule, _SERIAL, sequence, 0, len(lacing))
    page = bytearray(header + lacing + b"".join(packets))
    struct.pack_into("<I", page, 22, _ogg_crc(bytes(page)))
    return bytes(page)


def ogg_opus_silence(seconds: float) -> bytes:
    """An Ogg/Opus file (RFC 7845): OpusHead, OpusTags, then silent 20 ms frames."""
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, 1, 312, 48000, 0, 0)
    vendor = b"wenwen simulator"
    tags = b"OpusTags" + struct.pack("<I", len(vendor)) + vendor + struct.pack("<I", 0)
    frames = max(1, round(seconds / 0.02))
    pages = [_ogg_page([head], 0, 0, 0x02), _ogg_page([tags], 1, 0, 0)]
    sequence = 2
    for start in range(0, frames, 200):  # 200 frames (4 s) per page keeps lacing < 255 entries
        count = min(200, frames - start)
        last = start + count == frames
        granule = 312 + (start + count) * 960  # 48 kHz samples, pre-skip included
        pages.append(_ogg_page([_SILENT_FRAME] * count, sequence, granule, 0x04 if last else 0))
        sequence += 1
    return b"".join(pages)
