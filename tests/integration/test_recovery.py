"""Replays of a gone instance's updates that fail before they are handled are tried again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.i18n.catalog import Catalog
from bot.lifecycle.instance import Instance
from bot.lifecycle.jobs import Jobs
from bot.lifecycle.recovery import REPLAY_ATTEMPTS, Recovery
from bot.usecases.languages import Languages
from storage import Database, InboundUpdate
from storage.instances import liveness_for

PAYLOAD = '{"update_id": 1001}'


@pytest.fixture
async def me(db: Database) -> AsyncIterator[Instance]:
    """This instance, started after instance "old" died with update 1001 journaled, unhandled."""
    async with db.unit_of_work() as uow:
        await uow.instances.register("old", "host", 1)
        assert await uow.inbound.record("tg", "1001", PAYLOAD, "old")
        await uow.commit()
    instance = Instance(db, liveness_for(db.engine), "me")
    await instance.start()
    yield instance
    await instance.stop()


class Platform:
    """The replay side of a platform that fails the first `failures` times it is asked."""

    def __init__(self, db: Database, failures: int) -> None:
        self._db = db
        self._failures = failures
        self.asked: list[str] = []

    async def replay(self, update: InboundUpdate) -> None:
        self.asked.append(update.update_id)
        if len(self.asked) <= self._failures:
            raise ConnectionError("the platform is unreachable")
        async with self._db.unit_of_work() as uow:  # handled, as an adapter marks it
            await uow.inbound.handled(update.platform, [update.update_id])
            await uow.commit()


def recovery_for(db: Database, me: Instance, platform: Platform) -> Recovery:
    languages = Languages(db, Catalog.load())
    return Recovery(db, me, Jobs(db, me.id), {}, {"tg": platform.replay}, languages=languages)


async def unhandled(db: Database) -> set[str]:
    async with db.unit_of_work() as uow:
        return await uow.inbound.unhandled("tg", ["1001"])


async def test_a_replay_that_failed_is_tried_again_the_next_round(db: Database, me: Instance) -> None:
    platform = Platform(db, failures=2)
    recovery = recovery_for(db, me, platform)
    for _ in range(3):
        assert await unhandled(db) == {"1001"}
        await recovery.once()
    assert platform.asked == ["1001"] * 3
    assert await unhandled(db) == set()
    await recovery.once()
    assert platform.asked == ["1001"] * 3, "handled: not asked again"


async def test_a_replay_that_keeps_failing_is_left_in_the_journal_for_the_next_start(
    db: Database, me: Instance
) -> None:
    platform = Platform(db, failures=REPLAY_ATTEMPTS + 5)
    recovery = recovery_for(db, me, platform)
    for _ in range(REPLAY_ATTEMPTS + 2):
        await recovery.once()
    assert platform.asked == ["1001"] * REPLAY_ATTEMPTS, "given up after its attempts"
    assert await unhandled(db) == {"1001"}
    await me.stop()
    async with db.unit_of_work() as uow:
        orphans = await uow.inbound.claim_orphans("tg", ["me"], "next")
    assert [u.update_id for u in orphans] == ["1001"], "the next start handles it"
