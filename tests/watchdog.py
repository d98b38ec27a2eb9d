"""A test that hangs ends its worker with a dump, instead of holding the whole run for ever.

pytest-timeout (signal method) fails a slow test, but it fires once: a teardown that then
waits again (an event loop cancelling a task that ignores cancellation, a thread that is
never joined) blocks the run until CI's own limit, with nothing printed. This watchdog runs
in a thread of its own; when one test (setup, call and teardown together) has run for its
timeout plus `GRACE_SECONDS`, it writes every thread's stack and every unfinished asyncio
task's stack to a file in `DUMPS` and exits the process. pytest-xdist reports the test as
crashed and starts a new worker; the end of the run prints the dump (a worker's own stderr
does not reach the terminal). A second before the timeout itself it writes the same without
exiting, since pytest-timeout's own report shows threads only, not what the tasks wait for.
"""

from __future__ import annotations

import asyncio
import faulthandler
import os
import tempfile
import threading
import time
from collections.abc import Generator
from pathlib import Path
from typing import TextIO

import pytest

GRACE_SECONDS = float(os.environ.get("TEST_HANG_GRACE", "120"))
DUMPS = Path(tempfile.gettempdir()) / "wenwen-test-hangs"
_started = time.time()


def _timeout(item: pytest.Item) -> float:
    marker = item.get_closest_marker("timeout")
    timeout = marker.args[0] if marker is not None and marker.args else item.config.getini("timeout")
    return float(timeout or 0)


def _limit(item: pytest.Item) -> float:
    return _timeout(item) + GRACE_SECONDS


def _dump_tasks(out: TextIO) -> None:
    # Read from another thread while the loop may run: good enough for a post-mortem.
    tasks = [t for t in list(asyncio.tasks._all_tasks) if not t.done()]  # type: ignore[attr-defined]
    print(f"--- {len(tasks)} unfinished asyncio tasks ---", file=out)
    for task in tasks:
        print(repr(task), file=out)
        _print_awaits(task.get_coro(), out)
    print("--- threads ---", file=out, flush=True)


def _print_awaits(awaitable: object, out: TextIO) -> None:
    """The chain of coroutines a task is suspended in (`Task.get_stack` shows only the outermost)."""
    frame = None
    for _ in range(60):
        if type(awaitable).__name__ in ("async_generator_asend", "async_generator_athrow") and frame:
            # Not linked to its generator: an `async with` of a context manager holds it as `gen`.
            awaitable = getattr(frame.f_locals.get("self"), "gen", awaitable)
        frame = getattr(awaitable, "cr_frame", None) or getattr(awaitable, "ag_frame", None)
        if frame is None:
            print(f"    awaiting {awaitable!r}", file=out)
            return
        print(f"    {frame.f_code.co_filename}:{frame.f_lineno} in {frame.f_code.co_name}", file=out)
        awaitable = getattr(awaitable, "cr_await", None) or getattr(awaitable, "ag_await", None)


def _dump(nodeid: str, headline: str, name: str) -> None:
    DUMPS.mkdir(exist_ok=True)
    with (DUMPS / f"{os.getpid()}-{name}.txt").open("w") as out:
        print(f"{nodeid} {headline}", file=out)
        try:
            _dump_tasks(out)
        finally:
            faulthandler.dump_traceback(file=out, all_threads=True)


def _snapshot(nodeid: str, seconds: float) -> None:
    """Just before pytest-timeout fails the test: where it waits (its report shows threads only)."""
    _dump(nodeid, f"still running after {seconds:g} s, about to time out", "slow")


def _give_up(nodeid: str, seconds: float) -> None:
    _dump(nodeid, f"still running after {seconds:g} s: hung", "hung")
    os._exit(3)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Generator[None, None, None]:
    timeout, seconds = _timeout(item), _limit(item)
    timers = [threading.Timer(seconds, _give_up, args=(item.nodeid, seconds))]
    if timeout > 2:
        timers.append(threading.Timer(timeout - 1, _snapshot, args=(item.nodeid, timeout - 1)))
    for timer in timers:
        timer.daemon = True
        timer.start()
    try:
        yield
    finally:
        for timer in timers:
            timer.cancel()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    dumps = sorted(DUMPS.glob("*.txt")) if DUMPS.is_dir() else []
    for dump in (d for d in dumps if d.stat().st_mtime >= _started):
        kind = "hung test" if dump.stem.endswith("hung") else "test about to time out"
        terminalreporter.section(f"{kind} ({dump})", red=True)
        terminalreporter.write(dump.read_text())
