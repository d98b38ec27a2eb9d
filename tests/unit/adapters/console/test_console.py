"""The terminal console on odd input: it answers or ignores, and never stops or hangs."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from adapters.console.platform import ConsoleOutbox, ConsolePlatform
from bot.config import Settings
from bot.i18n import Catalog, Lang, Tr
from bot.i18n.locale import terminal_language
from bot.model import Activity, Button, Incoming, Outbox, OutImage
from bot.usecases.languages import Languages
from storage import Database


class IdleTracker:
    """The part of MjTracker the console uses at end of input: no task is running."""

    async def pending_in(self, chat_key: str) -> int:
        return 0


class RecordingCore:
    """Stands in for bot.core.Core: remembers what the console hands over; `/lang zh` stores
    the choice as the core's handler does."""

    def __init__(self, languages: Languages) -> None:
        self.handled: list[Incoming] = []
        self._languages = languages

    async def handle(self, incoming: Incoming, out: Outbox) -> None:
        self.handled.append(incoming)
        if incoming.text == "/lang zh":
            await self._languages.set_user(incoming, Lang.ZH)
        await out.send_text("ok", buttons=[[Button("one", "pay:1")]])


async def run_console(
    tmp_path: Path, stdin: io.TextIOBase, language: str | None = None
) -> tuple[RecordingCore, str]:
    db = Database(f"sqlite+aiosqlite:///{tmp_path}/console.db")
    await db.migrate()
    languages = Languages(db, Catalog.load())
    core = RecordingCore(languages)
    stdout = io.StringIO()
    settings = Settings(_env_file=None, data_dir=tmp_path)  # type: ignore[call-arg]
    console = ConsolePlatform(
        settings,
        core,  # type: ignore[arg-type]
        IdleTracker(),  # type: ignore[arg-type]
        languages,
        language=language,
        stdin=stdin,  # type: ignore[arg-type]
        stdout=stdout,
    )
    try:
        await asyncio.wait_for(console.run(), timeout=10)
    finally:
        await db.dispose()
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


async def test_quit_or_exit_ends_the_chat_and_what_follows_is_not_sent(tmp_path: Path) -> None:
    for word in ("/quit", "/exit"):
        core, out = await run_console(tmp_path, io.StringIO(f"hello\n  {word}  \nnot sent\n"))
        assert [m.text for m in core.handled] == ["hello"]
        assert "/quit or Ctrl+D to quit" in out
        assert out.rstrip().endswith("bye")
    # Only the whole line quits: a message that starts with the word is chat.
    core, _ = await run_console(tmp_path, io.StringIO("/quitting time\n"))
    assert [m.text for m in core.handled] == ["/quitting time"]


async def test_files_are_sent_as_a_messenger_sends_them_each_by_its_type(tmp_path: Path) -> None:
    for name, data in [
        ("red.png", b"png"),
        ("notes.md", b"# Plan"),
        ("hello.ogg", b"OggS"),
        ("x.dat", b"\0"),
    ]:
        (tmp_path / name).write_bytes(data)
    lines = [
        f"/file {tmp_path / 'red.png'} {tmp_path / 'notes.md'} | what is in these",
        f"/file {tmp_path / 'hello.ogg'}",
        f"/file {tmp_path / 'x.dat'} | what is this",
        f"/photo {tmp_path / 'red.png'} | make it blue",  # the older name, the same command
    ]
    core, out = await run_console(tmp_path, io.StringIO("\n".join(lines) + "\n"))
    both, voice, binary, photo = core.handled
    assert both.text == "what is in these" and both.audio is None and both.unsupported is None
    assert [(i.file_name, i.mime_type) for i in both.images] == [("red.png", "image/png")]
    assert [(d.file_name, d.mime_type) for d in both.documents] == [("notes.md", "text/markdown")]
    assert await both.documents[0].fetch() == b"# Plan"
    assert voice.audio is not None and (voice.audio.file_name, voice.audio.mime_type) == (
        "hello.ogg",
        "audio/ogg",
    )
    assert voice.text == "" and not voice.images and not voice.documents
    assert (binary.unsupported, binary.images, binary.documents) == ("DAT files", (), ())
    assert [i.file_name for i in photo.images] == ["red.png"] and photo.text == "make it blue"
    assert "Send files with /file" in out


async def test_undecodable_input_ends_the_console_instead_of_hanging(tmp_path: Path) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"hello\n\xff\xfe\xfa broken\nnever read\n"), encoding="utf-8")
    _, out = await run_console(tmp_path, stdin)
    assert out.rstrip().endswith("bye")


async def test_a_chinese_terminal_gets_the_console_in_chinese_and_passes_its_language_on(
    tmp_path: Path,
) -> None:
    # LC_CTYPE is not a language: Python sets it to C.UTF-8 itself where zh_CN is not installed.
    language = terminal_language({"LANG": "zh_CN.UTF-8", "LC_CTYPE": "C.UTF-8"})
    lines = ["你好", "/press 7", "/photo", "/answer 一只猫"]
    core, out = await run_console(tmp_path, io.StringIO("\n".join(lines) + "\n"), language)
    assert [m.user.language for m in core.handled] == ["zh_CN.UTF-8"]  # the core answers in Chinese too
    assert "wenwen-bot 终端" in out
    assert "（/press <编号>）" in out
    assert "没有这个按钮" in out
    assert "请写出要发送的文件" in out
    assert "现在没有需要回答的问题" in out
    assert out.rstrip().endswith("再见")


async def test_a_terminal_without_a_language_gets_english(tmp_path: Path) -> None:
    _, out = await run_console(tmp_path, io.StringIO("/press 7\n"), terminal_language({"LANG": "C.UTF-8"}))
    assert "No such button" in out
    assert out.rstrip().endswith("bye")


async def test_files_are_saved_with_their_kind_and_a_size_that_is_never_zero(tmp_path: Path) -> None:
    out = io.StringIO()
    outbox = ConsoleOutbox(out, tmp_path / "out", Tr(Catalog.load(), Lang.ZH))
    async with outbox.activity(Activity.RECORD_VOICE):
        await outbox.send_voice(b"OggS" + bytes(96), "answer.ogg", "audio/ogg")
    await outbox.send_file(bytes(3000), "report.csv", "text/csv", caption="March")
    lines = out.getvalue().splitlines()
    assert lines[0] == "   ……正在录制语音消息"
    assert lines[1].startswith("bot> 🔊  已保存 ") and lines[1].endswith("answer.ogg（1 KB）")
    assert lines[2] == "     语音回答"
    assert lines[3].startswith("bot> 📎  已保存 ") and lines[3].endswith("report.csv（3 KB）")
    assert sorted(p.name.split("-", 3)[3] for p in (tmp_path / "out").iterdir()) == [
        "answer.ogg",
        "report.csv",
    ]


async def test_a_file_never_replaces_an_earlier_one_of_the_same_name(tmp_path: Path) -> None:
    # Two answers within one second share a time stamp, and models name their files alike.
    out = io.StringIO()
    outbox = ConsoleOutbox(out, tmp_path / "out", Tr(Catalog.load(), Lang.EN))
    first, second = (
        OutImage(b"first", "answer1.png", "image/png"),
        OutImage(b"second", "answer1.png", "image/png"),
    )
    for _ in range(3):
        await outbox.send_images([first, second])
    saved = sorted((tmp_path / "out").iterdir())
    assert len(saved) == 6
    assert sorted(p.read_bytes() for p in saved) == [b"first"] * 3 + [b"second"] * 3
    printed = [line.split("saved ", 1)[1].split(" (", 1)[0] for line in out.getvalue().splitlines()]
    assert sorted(Path(p).name for p in printed) == [p.name for p in saved]


async def test_a_lang_typed_in_the_console_wins_over_the_terminals_language(tmp_path: Path) -> None:
    lines = ["/press 9", "/lang zh", "/press 9", "hello"]
    _, out = await run_console(tmp_path, io.StringIO("\n".join(lines) + "\n"), "en_US.UTF-8")
    assert out.index("No such button") < out.index("没有这个按钮")
    assert out.count("(/press <n>)") == 1 and out.count("（/press <编号>）") == 1  # before and after
    assert out.rstrip().endswith("再见")
    # and on the next start, before anything is typed
    _, again = await run_console(tmp_path, io.StringIO(""), "en_US.UTF-8")
    assert again.startswith("wenwen-bot 终端")
