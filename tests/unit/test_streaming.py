"""LiveText: throttled, never blocking, no repeats, backs off when the platform asks."""

from __future__ import annotations

import asyncio

import pytest

from bot.streaming import Backoff, LiveText, preview


class Screen:
    def __init__(self, *, delay: float = 0.0, fail_with: Exception | None = None) -> None:
        self.shown: list[str] = []
        self.delay = delay
        self.fail_with = fail_with
        self.attempts = 0

    async def show(self, text: str) -> None:
        self.attempts += 1
        if self.fail_with is not None:
            error, self.fail_with = self.fail_with, None
            raise error
        await asyncio.sleep(self.delay)
        self.shown.append(text)


def test_preview_trims_to_the_limit_and_adds_the_cursor() -> None:
    assert preview("hello  ", 100, " ▌") == "hello ▌"
    long = preview("word " * 100, 50, " ▌")
    assert len(long) <= 50 and long.endswith("… ▌")


async def test_updates_never_block_and_overtaken_texts_are_skipped() -> None:
    screen = Screen(delay=0.05)
    live = LiveText(screen.show, interval=0.0)
    for n in range(1, 21):
        live.update("x" * n)  # a fast model: all of it arrives while the first show is running
    await asyncio.sleep(0.2)
    await live.close()
    assert screen.shown == ["x" * 20], "only the newest text is shown"
    assert live.shown == "x" * 20


async def test_the_same_text_is_not_shown_twice_and_blank_text_not_at_all() -> None:
    screen = Screen()
    live = LiveText(screen.show, interval=0.0)
    live.update("   ")
    live.update("same")
    await asyncio.sleep(0.02)
    live.update("same")
    await asyncio.sleep(0.02)
    await live.close()
    assert screen.shown == ["same"]


async def test_interval_paces_the_shows() -> None:
    screen = Screen()
    loop = asyncio.get_running_loop()
    times: list[float] = []
    second = asyncio.Event()

    async def show(text: str) -> None:
        times.append(loop.time())
        await screen.show(text)
        if len(screen.shown) == 2:
            second.set()

    live = LiveText(show, interval=0.1)
    live.update("a")
    await asyncio.sleep(0.01)
    live.update("ab")
    await asyncio.sleep(0.03)
    assert screen.shown == ["a"], "the second text waits for the interval"
    await asyncio.wait_for(second.wait(), 5)  # the paced show, not the final flush
    await live.close()
    assert screen.shown == ["a", "ab"]
    assert times[1] - times[0] >= 0.09, "shows are at least the interval apart"


async def test_first_delay_lets_a_quick_answer_skip_the_preview() -> None:
    screen = Screen()
    live = LiveText(screen.show, interval=0.0, first_delay=0.2)
    live.update("quick and complete")
    await live.close()
    assert screen.shown == [] and live.shown == ""


async def test_backoff_pauses_and_close_sits_out_the_rest() -> None:
    screen = Screen(fail_with=Backoff(0.2))
    live = LiveText(screen.show, interval=0.0)
    loop = asyncio.get_running_loop()
    started = loop.time()
    live.update("a")
    await asyncio.sleep(0.05)
    live.update("ab")
    await live.close()
    assert loop.time() - started >= 0.19, "the owner's final update comes after the wait"
    assert screen.attempts == 1 and screen.shown == []


async def test_a_failing_show_stops_the_preview_only() -> None:
    screen = Screen(fail_with=RuntimeError("boom"))
    live = LiveText(screen.show, interval=0.0)
    live.update("a")
    await asyncio.sleep(0.02)
    live.update("ab")
    await asyncio.sleep(0.02)
    await live.close()
    assert live.failed and screen.shown == [] and screen.attempts == 1


async def test_close_waits_for_a_show_in_flight() -> None:
    screen = Screen(delay=0.1)
    live = LiveText(screen.show, interval=0.0)
    live.update("in flight")
    await asyncio.sleep(0.01)
    await live.close()
    assert screen.shown == ["in flight"] and live.shown == "in flight"


@pytest.mark.parametrize("text", ["", "x"])
async def test_close_without_updates_or_twice_is_harmless(text: str) -> None:
    screen = Screen()
    live = LiveText(screen.show, interval=0.0)
    if text:
        live.update(text)
    await live.close()
    shown = list(screen.shown)
    await live.close()
    live.update("after close")
    await asyncio.sleep(0.02)  # time for a (wrongly) started show to run
    assert screen.shown == shown, "nothing is shown after close"
    assert "after close" not in live.shown
