"""`python -m bot` with no tokens: the offline demo in the terminal, as a user runs it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import wave
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SECRET_VARS = ("WENWEN_API_KEY", "TELEGRAM_BOT_TOKEN", "DISCORD_BOT_TOKEN")
LANGUAGE_VARS = ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG")


def run_bot(tmp_path: Path, stdin: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in SECRET_VARS + LANGUAGE_VARS}
    clean["PYTHONPATH"] = str(REPO)
    clean["LANG"] = "C.UTF-8"  # the console speaks the terminal's language: English unless a test says
    clean.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=clean,
        timeout=60,
        check=False,
    )


def test_demo_chats_draws_and_reports_usage(tmp_path: Path) -> None:
    image = tmp_path / "cat.png"
    from tests.e2e.images import make_image

    image.write_bytes(make_image(fmt="PNG"))
    script = (
        "\n".join(
            [
                "hello demo",
                "/image a red fox",
                f"/photo {image} | make it blue",
                "/imagine",
                "/usage",
            ]
        )
        + "\n"
    )
    result = run_bot(tmp_path, script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Echo: hello demo" in out
    saved = [line for line in out.splitlines() if "saved" in line]
    assert len(saved) == 2, out
    for line in saved:
        path = Path(line.split("saved ", 1)[1].split(" (", 1)[0])
        # Relative to the bot's working directory, never to wherever pytest runs.
        assert (tmp_path / path).resolve().is_relative_to(tmp_path.resolve()), line
        assert (tmp_path / path).is_file(), line
    assert "Usage: /imagine" in out
    # chat, image, the caption's classification (CAPTION_MODE=auto) and the edit
    assert "📊 Usage in this chat" in out and "4 requests" in out
    assert (tmp_path / "data" / "wenwen.db").is_file(), "the ledger lives under ./data"
    assert "terminal chat with the offline gateway simulator" in result.stderr


def test_the_demo_sends_documents_and_audio_files_as_a_messenger_would(tmp_path: Path) -> None:
    (tmp_path / "notes.md").write_text("# Plan\n- buy milk\n")
    with wave.open(str(tmp_path / "hello.wav"), "wb") as audio:  # one second of silence
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(bytes(16000))
    (tmp_path / "data.bin").write_bytes(bytes(range(256)))
    script = "/file notes.md | summarize this\n/file hello.wav\n/file data.bin | what is this\n/usage\n"
    result = run_bot(tmp_path, script)
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "Send files with /file" in out  # said at the start
    assert '<document name="notes.md">' in out and "buy milk" in out and "summarize this" in out
    assert "🎙 " in out, out  # the audio file was transcribed and shown, then answered
    assert "I can't read BIN files" in out
    assert "• transcription: " in out, out  # the audio file was paid for as a transcription


def test_the_demo_speaks_the_terminals_language(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "hello demo\n/usage\n/press 3\n", LANG="zh_CN.UTF-8")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "终端聊天，使用离线网关模拟器" in result.stderr  # the first line, before the app is built
    assert "wenwen-bot 终端" in out  # the console's own lines
    assert "Echo: hello demo" in out
    assert "📊 本聊天用量" in out  # the bot's answers: Chinese without any /lang
    assert "没有这个按钮" in out
    assert out.rstrip().endswith("再见")


def test_a_lang_typed_in_the_demo_switches_the_console_too(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "/press 3\n/lang zh\n/press 3\n")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert out.index("No such button") < out.index("🌐") < out.index("没有这个按钮")
    assert out.rstrip().endswith("再见")


@pytest.mark.parametrize(
    ("env", "named"),
    [({"MJ_MODE": "TURBO"}, "MJ_MODE"), ({"WENWEN_BASE_URL": "api.example.com"}, "WENWEN_BASE_URL")],
)
def test_bad_setting_stops_startup_with_one_line(tmp_path: Path, env: dict[str, str], named: str) -> None:
    result = run_bot(tmp_path, "", **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and named in lines[0], result.stderr


def test_platform_token_without_api_key_is_refused(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "", TELEGRAM_BOT_TOKEN="123456:ABCDEF")
    assert result.returncode == 2
    assert "WENWEN_API_KEY" in result.stderr
    assert "123456:ABCDEF" not in result.stderr


def test_demo_waits_for_midjourney_at_end_of_input_and_keeps_logs_off_the_chat(tmp_path: Path) -> None:
    result = run_bot(tmp_path, "/imagine a lighthouse at dawn\n")
    out = result.stdout
    assert result.returncode == 0, result.stderr
    assert "waiting for Midjourney" in out
    assert "midjourney-" in out and "✅ done" in out, out
    assert out.rstrip().endswith("bye")
    assert " INFO " not in out + result.stderr, "INFO logs go to the log file, not the terminal"
    assert "POST /mj/submit/imagine" in (tmp_path / "data" / "wenwen.log").read_text()


def test_sigterm_shuts_down_cleanly(tmp_path: Path) -> None:
    """`docker stop` sends SIGTERM: the bot stops in order and exits 0."""
    clean = {k: v for k, v in os.environ.items() if k not in SECRET_VARS + LANGUAGE_VARS}
    clean["PYTHONPATH"] = str(REPO)
    clean["LANG"] = "C.UTF-8"  # the console speaks the terminal's language: English unless a test says
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=clean,
    )
    assert process.stdout is not None
    assert "wenwen-bot console" in process.stdout.readline()
    process.send_signal(signal.SIGTERM)
    try:
        _, stderr = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "stopped on request" in (tmp_path / "data" / "wenwen.log").read_text()
