"""The terminal console on odd input: it answers or ignores, and never stops or hangs."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from adapters.console.platform import ConsolePlatform
from bot.config import Settings
from bot.model import Button, Incoming, Outbox


class IdleTracker:
    """The part of MjTracker the console uses at end of input: no task is running."""

    async def pending_in(self, chat_key: str) -> int:
        return 0


class RecordingCore:
    """Stands in for bot.core.Core: remembers what the console hands over."""

    def __init__(self) -> None:
        self.handled: list[Incoming] = []

    async def handle(self, incoming: Incoming, out: Outbox) -> None:
        self.handled.append(incoming)
        await out.send_text("ok", buttons=[[Button("one", "pay:1")]])


async def run_console(tmp_path: Path, stdin: io.TextIOBase) -> tuple[RecordingCore, str]:
    core = RecordingCore()
    stdout = io.StringIO()
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    console = ConsolePlatform(settings, core, IdleTracker(), stdin=stdin, stdout=stdout)  # type: ignore[arg-type]
    await asyncio.wait_for(console.run(), timeout=5)
    return core, stdout.getvalue()


async def test_odd_lines_get_a_hint_and_the_console_goes_on(tmp_path: Path) -> None:
    lines = ["hello", "/press ²", '/photo "unclosed.png | caption', "/pressure is rising", "/press 1"]
    core, out = await run_console(tmp_path, io.StringIO("\n".join(lines) + "\n"))
    assert [(m.text, m.callback) for m in core.handled] == [
        ("hello", None),
        ("/pressure is rising", None),
        ("", "pay:1"),
    ]
    assert "No such button" in out
    assert "Could not read the file names" in out
    assert out.rstrip().endswith("bye")


async def test_undecodable_input_ends_the_console_instead_of_hanging(tmp_path: Path) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"hello\n\xff\xfe\xfa broken\nnever read\n"), encoding="utf-8")
    _, out = await run_console(tmp_path, stdin)
    assert out.rstrip().endswith("bye")
