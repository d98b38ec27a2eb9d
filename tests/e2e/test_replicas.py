"""Several replicas of the real entry point on one PostgreSQL database (and Redis).

Webhooks behind a round-robin balancer with Telegram redelivering some updates; Midjourney
tasks followed by one replica each, also when one replica is killed; one rate limit for
all replicas; one poller at a time with failover; /metrics.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import Database
from tests.e2e.replicas import Replicas

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(240)]


def echo_replies(world: Replicas, sent: list[tuple[dict, int]]) -> list[int]:
    """For each message sent, how many chat answers it got."""
    return [
        len([m for m in world.replies_to(chat, message_id) if "Echo:" in str(m.get("text"))])
        for chat, message_id in sent
    ]


async def test_webhook_replicas_answer_every_message_exactly_once(tmp_path: Path, database_url: str) -> None:
    async with Replicas(tmp_path, database_url, redeliver_fraction=0.1) as world:
        await world.start(3)
        users = [world.tg.user(id=7000 + n, first_name=f"W{n}", username=f"w{n}") for n in range(10)]
        sent = []
        for round_number in range(3):
            for user in users:
                chat = world.tg.private_chat(user)
                update = world.tg.send_text(chat, user, f"hello {round_number} from {user['first_name']}")
                sent.append((chat, update["message"]["message_id"]))
        await world._wait(lambda: all(echo_replies(world, sent)), "every message answered", within=90)
        await world.tg.wait_webhook_idle(30)
        await asyncio.sleep(1.0)  # a duplicate answer would arrive now
        db = Database(database_url)
        try:
            async with db.engine.connect() as conn:
                recorded = (
                    await conn.execute(text("SELECT count(*) FROM usage_events WHERE kind = 'chat'"))
                ).scalar()
        finally:
            await db.dispose()
        forwarded = Counter(world.proxy.forwarded) if world.proxy else Counter()
    assert echo_replies(world, sent) == [1] * len(sent), "each message answered once"
    assert sum(1 for d in world.tg.webhook_deliveries if d.redelivery) > 0, "Telegram did redeliver some"
    assert recorded == world.sim.ledger.requests.get("chat") == len(sent), "one usage event per gateway call"
    assert len(forwarded) == 3, "every replica served"


async def test_midjourney_grids_are_delivered_once_even_when_a_replica_dies(
    tmp_path: Path, database_url: str
) -> None:
    async with Replicas(tmp_path, database_url) as world:
        await world.start(3)
        users = [world.tg.user(id=7100 + n, first_name=f"M{n}", username=f"m{n}") for n in range(12)]
        for n, user in enumerate(users):
            world.tg.send_text(world.tg.private_chat(user), user, f"/imagine a lighthouse number {n}")
        await world._wait(lambda: len(world.sim.tasks) >= 6, "half of the tasks submitted")
        world.kill(world.replicas[0])
        await world._wait(lambda: len(world.sim.tasks) >= 12, "every task submitted", within=90)

        def grids() -> Counter[str]:
            found: Counter[str] = Counter()
            for call in world.tg.calls_of("sendPhoto"):
                for row in (call.result or {}).get("reply_markup", {}).get("inline_keyboard", []):
                    for button in row:
                        data = str(button.get("callback_data", ""))
                        if data.startswith("mj:") and data.endswith(":0"):
                            found[data.split(":")[1]] += 1
            return found

        async def expected() -> set[str]:
            """Every accepted task, but one whose submit the kill cut off before it was stored:
            that one's user was told "interrupted by a restart — it may have been charged"."""
            db = Database(database_url)
            try:
                async with db.engine.connect() as conn:
                    told = {
                        row[0]
                        for row in await conn.execute(text("SELECT id FROM jobs WHERE state = 'interrupted'"))
                    }
            finally:
                await db.dispose()
            return {task_id for task_id, task in world.sim.tasks.items() if task.state not in told}

        deadline = asyncio.get_running_loop().time() + 90
        while not set(grids()) >= await expected():
            assert asyncio.get_running_loop().time() < deadline, "every grid delivered"
            await asyncio.sleep(0.5)
        await asyncio.sleep(2.0)
        delivered = grids()
        wanted = await expected()
    assert set(delivered) == wanted
    assert set(delivered.values()) == {1}, f"each grid exactly once: {delivered}"


@pytest.mark.parametrize("shared_in", ["postgres", "redis"])
async def test_one_rate_limit_for_every_replica(
    tmp_path: Path, database_url: str, shared_in: str, request: pytest.FixtureRequest
) -> None:
    extra = {"RATE_LIMIT_PER_MINUTE": "3"}
    if shared_in == "redis":
        extra["REDIS_URL"] = request.getfixturevalue("redis_url")
        extra["REDIS_PREFIX"] = request.getfixturevalue("redis_prefix")
    async with Replicas(tmp_path, database_url, extra_env=extra) as world:
        await world.start(3)
        user = world.tg.user(id=7200, first_name="Fast", username="fast")
        chat = world.tg.private_chat(user)
        for n in range(8):
            world.tg.send_text(chat, user, f"message {n}")
            await asyncio.sleep(0.1)
        await world._wait(
            lambda: len([m for m in world.tg.messages_in(chat["id"]) if "Echo" in str(m.get("text"))]) >= 3,
            "three answers",
        )
        await world.tg.wait_webhook_idle(30)
        await asyncio.sleep(1.5)
        texts = [
            str(m.get("text")) for m in world.tg.messages_in(chat["id"]) if m["from"]["id"] == world.tg.bot_id
        ]
    assert len([t for t in texts if "Echo" in t]) == 3, texts
    assert len([t for t in texts if "Slow down" in t]) == 1, "told once, then silence"


async def test_one_poller_at_a_time_and_a_standby_takes_over(tmp_path: Path, database_url: str) -> None:
    async with Replicas(tmp_path, database_url, mode="polling") as world:
        await world.start(2)
        user = world.tg.user(id=7300, first_name="Pat", username="pat")
        chat = world.tg.private_chat(user)
        world.tg.send_text(chat, user, "before the failover")
        await world._wait(
            lambda: any(
                "before the failover" in str(m.get("text")) for m in world.tg.messages_in(chat["id"])
            ),
            "an answer",
        )
        db = Database(database_url)
        try:
            async with db.engine.connect() as conn:
                leader = (
                    await conn.execute(
                        text(
                            "SELECT pid FROM instances JOIN leases ON leases.owner = instances.id "
                            "WHERE leases.name = 'telegram-poller'"
                        )
                    )
                ).scalar()
        finally:
            await db.dispose()
        (polling,) = [r for r in world.replicas if r.process.pid == leader]
        world.kill(polling)
        killed_at = time.monotonic()
        world.tg.send_text(chat, user, "after the failover")
        await world._wait(
            lambda: any("after the failover" in str(m.get("text")) for m in world.tg.messages_in(chat["id"])),
            "the standby to answer",
            within=30,
        )
        took = time.monotonic() - killed_at
    assert world.tg.conflicts == 0, "never two pollers at once"
    assert took < 30


async def test_metrics_show_what_the_replica_did(tmp_path: Path, database_url: str) -> None:
    async with Replicas(tmp_path, database_url) as world:
        await world.start(1)
        user = world.tg.user(id=7400, first_name="Mo", username="mo")
        chat = world.tg.private_chat(user)
        world.tg.send_text(chat, user, "/image a fox")
        await world.tg.wait_for("sendPhoto", timeout=30)
        replica = world.replicas[0]
        for _ in range(50):  # the handler is timed when it returns, just after the photo
            status, body = await world.get(replica, "/metrics")
            if 'command="GenerateImage"' in body:
                break
            await asyncio.sleep(0.1)
        ready, readiness = await world.get(replica, "/readyz")
    assert status == 200 and ready == 200, readiness
    for family in (
        'wenwen_updates_received_total{platform="tg"}',
        "wenwen_updates_duplicate_total",
        'wenwen_handler_seconds_count{command="GenerateImage"}',
        'wenwen_gateway_requests_total{endpoint="/v1/images/generations",status="200"}',
        "wenwen_gateway_seconds_bucket",
        "wenwen_platform_api_errors_total",
        'wenwen_mj_tasks{state="pending"}',
        "wenwen_mj_delivered_total",
        "wenwen_budget_refusals_total",
        "wenwen_rate_limited_total",
        "wenwen_db_pool_in_use",
        'wenwen_replica_role{role="webhook"} 1.0',
    ):
        assert family in body, family
    assert re.search(r'wenwen_updates_received_total\{platform="tg"\} [1-9]', body)
