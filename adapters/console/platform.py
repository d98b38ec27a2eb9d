"""A terminal chat: the offline demo, and a quick way to try the bot without a messenger.

Type text to chat, `/image …`, `/imagine …`; `/file <path> [<path>…] | <text>` sends files
as a messenger would: photos, a voice message (an audio file), text files and PDFs, each
by its type (`/photo` is the same); `/press <n>` presses button n of the buttons shown
last; `/quit` (or `/exit`, or Ctrl+D) ends the chat. What the bot sends back is saved under
DATA_DIR/out and its path printed. The terminal's language (LANGUAGE, LC_ALL, LC_MESSAGES,
LANG) is the user's app language, as Telegram's `language_code` is.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import mimetypes
import shlex
import sys
import threading
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TextIO

from adapters.files import FileRef, sort_attachments
from bot.commands import MjPromptAnswer
from bot.config import Settings
from bot.core import Core
from bot.i18n import Text, Tr, t
from bot.midjourney.tracker import MjTracker
from bot.model import (
    Activity,
    ButtonRows,
    ChatAddress,
    ChatKind,
    Incoming,
    OutImage,
    SentMessage,
    User,
)
from bot.rich import Rich
from bot.router import ASK_PREFIX
from bot.text import split_text
from bot.usecases.languages import Languages

log = logging.getLogger(__name__)

ADDRESS = ChatAddress("console", "local", ChatKind.PRIVATE, title="terminal")
# What the terminal shows while the bot works, in place of the messenger's indicator.
_ACTIVITY = {
    Activity.TYPING: t("…typing"),
    Activity.UPLOAD_PHOTO: t("…sending a picture"),
    Activity.RECORD_VOICE: t("…recording a voice message"),
}
QUIT = frozenset({"/quit", "/exit"})  # what people type to leave a terminal chat, beside Ctrl+D


def _write_new(path: Path, data: bytes) -> Path:
    """`data` at `path`, or beside it as `name-2.png`…: never over an earlier answer's file
    (two answers within one second share a time stamp, and models reuse file names)."""
    for copy in itertools.count(1):
        candidate = path if copy == 1 else path.with_stem(f"{path.stem}-{copy}")
        try:
            with candidate.open("xb") as file:
                file.write(data)
        except FileExistsError:
            continue
        return candidate
    raise AssertionError("unreachable")


class ConsoleOutbox:
    def __init__(self, out: TextIO, image_dir: Path, tr: Tr) -> None:
        self._out = out
        self._image_dir = image_dir
        self.tr = tr  # the reader's language for the console's own lines (ConsolePlatform keeps it)
        self._counter = 0
        self.buttons: list[str] = []
        self.question: str | None = None  # the payload of the last question asked

    @property
    def address(self) -> ChatAddress:
        return ADDRESS

    def _next_id(self) -> SentMessage:
        self._counter += 1
        return SentMessage(str(self._counter))

    def print_line(self, text: str) -> None:
        """A line of the terminal chat (also the platform's own notices)."""
        self._out.write(text + "\n")
        self._out.flush()

    def _show_buttons(self, buttons: ButtonRows) -> None:
        flat = [button for row in buttons for button in row]
        if flat:
            self.buttons = [b.payload for b in flat]
            self.print_line(
                "   buttons: "
                + "  ".join(f"[{n}] {b.label}" for n, b in enumerate(flat, 1))
                + "   "
                + self.tr(t("(/press <n>)"))
            )

    async def send_text(self, text: str, *, buttons: ButtonRows = ()) -> SentMessage:
        for chunk in split_text(text, 4000):
            self.print_line(f"bot> {chunk}")
        self._show_buttons(buttons)
        return self._next_id()

    async def edit_text(self, message: SentMessage, text: str, *, buttons: ButtonRows = ()) -> None:
        self.print_line(f"bot (update)> {text}")
        self._show_buttons(buttons)

    async def edit_buttons(self, message: SentMessage, buttons: ButtonRows = ()) -> None:
        self._show_buttons(buttons)

    async def send_images(
        self, images: Sequence[OutImage], *, caption: str = "", buttons: ButtonRows = ()
    ) -> SentMessage:
        return self._save(images, "🖼", caption, buttons)

    async def send_file(self, data: bytes, file_name: str, mime: str, *, caption: str = "") -> SentMessage:
        return self._save([OutImage(data, file_name, mime)], "📎", caption)

    async def send_voice(self, data: bytes, file_name: str, mime: str) -> SentMessage:
        """A terminal cannot play it: saved next to the images."""
        return self._save([OutImage(data, file_name, mime)], "🔊", self.tr(t("voice answer")))

    def _save(
        self, files: Sequence[OutImage], icon: str, caption: str, buttons: ButtonRows = ()
    ) -> SentMessage:
        """What a messenger would show, written under DATA_DIR/out, its path printed."""
        self._image_dir.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%d-%H%M%S")
        for number, file in enumerate(files, 1):
            path = _write_new(self._image_dir / f"{stamp}-{number}-{file.file_name}", file.data)
            size = -(-len(file.data) // 1024)  # rounded up: a small file is not "0 KB"
            saved = self.tr(t("saved {path} ({size} KB)", path=str(path), size=size))
            self.print_line(f"bot> {icon}  {saved}")
        if caption:
            self.print_line(f"     {caption}")
        self._show_buttons(buttons)
        return self._next_id()

    async def send_rich(self, doc: Rich) -> SentMessage:
        """A terminal shows reports as plain text."""
        return await self.send_text(doc.plain())

    async def ask_text(self, text: str, *, answer: str, placeholder: str, button: str) -> SentMessage:
        """The terminal's question: answered with `/answer <text>`."""
        self.question = answer
        self.print_line(f"bot> {text}")
        self.print_line("   " + self.tr(t("(/answer <your prompt>)")))
        return self._next_id()

    @asynccontextmanager
    async def activity(self, kind: Activity) -> AsyncIterator[None]:
        self.print_line("   " + self.tr(_ACTIVITY[kind]))
        yield

    def stream(self, buttons: ButtonRows = ()) -> ConsoleStream:
        # The terminal shows no text while it grows, so there is nothing to stop (no ⏹).
        return ConsoleStream(self)


class ConsoleStream:
    """The terminal shows the final text only; partial text would scroll the screen."""

    def __init__(self, outbox: ConsoleOutbox) -> None:
        self._outbox = outbox

    async def push(self, text_so_far: str) -> None:
        return None

    async def finish(self, final_text: str, *, buttons: ButtonRows = ()) -> None:
        await self._outbox.send_text(final_text, buttons=buttons)

    async def abandon(self, note: str = "") -> None:
        return None  # nothing was shown


class ConsoleMessenger:
    platform = "console"

    def __init__(self, outbox: ConsoleOutbox) -> None:
        self._outbox = outbox

    def outbox_for(self, address: ChatAddress, reply_to: str | None) -> ConsoleOutbox:
        return self._outbox


# Types of files the bot takes that Python's own table lacks (a system's mime.types may
# have them, a slim container has none); the rest come from mimetypes.
_TYPES = {
    ".ogg": "audio/ogg",
    ".oga": "audio/ogg",
    ".opus": "audio/ogg",
    ".m4a": "audio/mp4",
    ".md": "text/markdown",
}


def _file_ref(path: Path) -> FileRef:
    """A file named in the terminal, typed by its name as a messenger's client would."""

    async def fetch() -> bytes:
        return await asyncio.to_thread(path.read_bytes)

    content_type = _TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    return FileRef(fetch, path.name, content_type, path.stat().st_size, path.resolve().as_uri())


class ConsolePlatform:
    def __init__(
        self,
        settings: Settings,
        core: Core,
        tracker: MjTracker,
        languages: Languages,
        *,
        language: str | None = None,
        stdin: TextIO | None = None,
        stdout: TextIO | None = None,
    ) -> None:
        """`language`: the terminal's (`terminal_language()`), the user's app language."""
        self._core = core
        self._tracker = tracker
        self._languages = languages
        self.connected = True
        self._mj_deadline = settings.mj_task_deadline
        self._stdin = stdin or sys.stdin
        self._user = User("local", "you", language=language)
        terminal = languages.platform_tr(self._as_reader())  # until the stored choice is read
        self._outbox = ConsoleOutbox(stdout or sys.stdout, settings.data_dir / "out", terminal)
        self.messenger = ConsoleMessenger(self._outbox)
        self._seq = 0

    def _lines(self) -> asyncio.Queue[str | None]:
        """Read stdin on a daemon thread so a blocked read never holds up shutdown."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[str | None] = asyncio.Queue()

        def pump() -> None:
            try:
                for line in self._stdin:
                    loop.call_soon_threadsafe(queue.put_nowait, line.rstrip("\n"))
            except (OSError, UnicodeDecodeError):
                # Without the end marker below, run() would wait for input forever.
                log.exception("console input became unreadable; stopping")
            finally:
                loop.call_soon_threadsafe(queue.put_nowait, None)

        threading.Thread(target=pump, name="console-stdin", daemon=True).start()
        return queue

    async def close(self) -> None:
        """Nothing to release: the console holds no connections."""

    async def run(self) -> None:
        await self._follow_language()
        self._say(t("wenwen-bot console — type a message, /help for commands, /quit or Ctrl+D to quit."))
        self._say(
            t(
                "Send files with /file <path> [<path>…] | <text>: photos, an audio file as a "
                "voice message, text files and PDFs."
            )
        )
        queue = self._lines()
        while (raw := await queue.get()) is not None:
            line = raw.strip()
            if not line:
                continue
            if line in QUIT:
                break
            incoming = self._parse(line)
            if incoming is not None:
                await self._core.handle(incoming, self._outbox)
                await self._follow_language()  # it may have been a /lang
        await self._finish_midjourney()
        self._say(t("bye"))

    async def _follow_language(self) -> None:
        """The console's own lines in the language the bot answers in: a `/lang` wins over the terminal's."""
        try:
            self._outbox.tr = await self._languages.tr_for(self._as_reader())
        except Exception:  # the database: the lines stay in the language they were in
            log.warning("could not read the console's language choice", exc_info=True)

    def _as_reader(self) -> Incoming:
        """The console's one reader, as the languages use case asks for one."""
        return Incoming(ADDRESS, self._user)

    def _say(self, text: Text, prefix: str = "") -> None:
        self._outbox.print_line(prefix + self._outbox.tr(text))

    async def _finish_midjourney(self) -> None:
        """At the end of input, let running Midjourney tasks deliver (piped demos end fast)."""
        tracker = self._tracker
        if not await tracker.pending_in(ADDRESS.key):
            return
        self._say(t("…waiting for Midjourney to finish (Ctrl+C quits; it resumes on the next start)"), "   ")
        if not await tracker.wait_idle(ADDRESS.key, within=self._mj_deadline):
            self._say(t("Midjourney is still working; the result comes on the next start."), "bot> ")

    def _parse(self, line: str) -> Incoming | None:
        self._seq += 1
        message_id = str(self._seq)
        command, _, rest = line.partition(" ")
        if command == "/press":
            return self._press(rest.strip(), message_id)
        if command in ("/file", "/photo"):
            return self._files(rest, message_id)
        if command == "/answer":
            return self._answer(rest.strip(), message_id)
        return Incoming(ADDRESS, self._user, text=line, message_id=message_id)

    def _press(self, number: str, message_id: str) -> Incoming | None:
        # isdecimal, not isdigit: int() refuses digits such as "²".
        if not number.isdecimal() or not 0 < int(number) <= len(self._outbox.buttons):
            self._say(t("No such button; press one of the numbers shown."), "bot> ")
            return None
        payload = self._outbox.buttons[int(number) - 1]
        return Incoming(ADDRESS, self._user, callback=payload, message_id=message_id)

    def _answer(self, text: str, message_id: str) -> Incoming | None:
        prefix, _, request_id = (self._outbox.question or "").partition(":")
        if prefix != ASK_PREFIX or not request_id:
            self._say(t("There is no question to answer."), "bot> ")
            return None
        return Incoming(ADDRESS, self._user, command=MjPromptAnswer(request_id, text), message_id=message_id)

    def _files(self, arguments: str, message_id: str) -> Incoming | None:
        paths_part, _, caption = arguments.partition("|")
        try:
            paths = [Path(p).expanduser() for p in shlex.split(paths_part)]
        except ValueError as exc:  # an unclosed quote
            self._say(t("Could not read the file names: {error}.", error=str(exc)), "bot> ")
            return None
        missing = [str(p) for p in paths if not p.is_file()]
        if not paths:
            self._say(t("Name the files to send: /file <path> [<path>…] | <text>"), "bot> ")
            return None
        if missing:
            self._say(t("File not found: {names}", names=", ".join(missing)), "bot> ")
            return None
        files = sort_attachments([_file_ref(p) for p in paths])
        return Incoming(
            ADDRESS,
            self._user,
            text=caption.strip(),
            images=files.images,
            audio=files.audio,
            documents=files.documents,
            unsupported=files.unsupported,
            message_id=message_id,
        )
