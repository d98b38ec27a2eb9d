from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect, text
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from storage import Database, Pool, UsageEvent
from storage.db import BUSY_TIMEOUT_MS, HEAD_REVISION, MIGRATIONS, alembic_config, create_engine, upgrade
from storage.tables import Base

from .conftest import add_chat

TABLES = {"chats", "usage_events", "conversation_turns", "turn_images", "mj_tasks", "turn_embeddings"} | {
    "budget_limits",
    "budget_reservations",
    "chat_access",
    "access_refusals",
    "instances",
    "jobs",
    "job_results",
    "inbound",
    "leases",
    "album_parts",
    "rate_hits",
    "job_slots",
    "answer_stops",
    "language_choices",
    "mj_prompt_requests",
}
# The newest migration, from the scripts themselves.
HEAD = ScriptDirectory.from_config(alembic_config()).get_current_head()


@pytest.mark.sqlite_only("the folder of a database file")
async def test_creates_the_folder_of_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "deeper" / "bot.db"
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        await db.migrate()
    finally:
        await db.dispose()
    assert path.is_file()


async def test_migrate_creates_every_table_at_head(db: Database) -> None:
    async with db.engine.connect() as conn:
        tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        version = await conn.scalar(text("SELECT version_num FROM alembic_version"))
    assert tables == TABLES | {"alembic_version"}
    assert version == HEAD


async def test_migrating_again_changes_nothing(db: Database, open_db: Callable[[], Database]) -> None:
    await add_chat(db)
    await db.migrate()
    restarted = open_db()
    await restarted.migrate()

    async with restarted.unit_of_work() as uow:
        assert await uow.chats.get("tg:-100123") is not None
    async with restarted.engine.connect() as conn:
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert versions == [(HEAD,)]


def test_the_head_revision_constant_names_the_newest_migration() -> None:
    assert HEAD_REVISION == HEAD, "move storage.db.HEAD_REVISION on to the new migration"


def test_an_up_to_date_database_starts_without_loading_alembic(db: Database, database_url: str) -> None:
    """Start-up cost: Alembic (~0.1–0.3 s of imports) is loaded only when the schema is behind."""
    probe = (
        "import asyncio, sys\n"
        "from storage import Database\n"
        "async def main():\n"
        f"    db = Database({database_url!r})\n"
        "    await db.migrate()\n"
        "    await db.dispose()\n"
        "asyncio.run(main())\n"
        "print('alembic' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "False"


async def test_a_database_behind_is_brought_to_head(open_db: Callable[[], Database]) -> None:
    old = open_db()
    assert await old.revision() is None
    await old.migrate("0005")
    assert await old.revision() == "0005"
    restarted = open_db()
    await restarted.migrate()
    assert await restarted.revision() == HEAD


@pytest.mark.sqlite_only("PRAGMAs and WAL")
async def test_sqlite_connections_use_wal_and_our_pragmas(db: Database) -> None:
    async with db.engine.connect() as conn:
        pragmas = {
            name: await conn.scalar(text(f"PRAGMA {name}"))
            for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
        }
    # synchronous: 1 is NORMAL
    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "busy_timeout": BUSY_TIMEOUT_MS,
        "synchronous": 1,
    }


async def test_migrations_and_orm_models_agree(db: Database) -> None:
    def diff(conn: Connection) -> list[object]:
        opts = {"compare_type": True, "compare_server_default": True}
        context = MigrationContext.configure(conn, opts=opts)
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as conn:
        assert await conn.run_sync(diff) == []


async def test_expected_indexes_exist(db: Database) -> None:
    def indexes(conn: Connection) -> dict[str, set[str]]:
        inspector = inspect(conn)
        return {t: {i["name"] or "" for i in inspector.get_indexes(t)} for t in sorted(TABLES)}

    async with db.engine.connect() as conn:
        found = await conn.run_sync(indexes)
    assert {"ix_usage_events_chat_created", "ix_usage_events_chat_user_created"} <= found["usage_events"]
    assert "ix_conversation_turns_chat_epoch_id" in found["conversation_turns"]
    assert "ix_mj_tasks_delivered_created" in found["mj_tasks"]


def test_refuses_unsupported_backends() -> None:
    with pytest.raises(ValueError, match="unsupported database"):
        Database("mysql+aiomysql://user@localhost/wenwen")


async def test_a_failing_migration_leaves_no_trace(database_url: str, tmp_path: Path) -> None:
    scripts = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, scripts, ignore=shutil.ignore_patterns("__pycache__"))
    (scripts / "versions" / "9999_broken.py").write_text(BROKEN_MIGRATION.format(head=HEAD))
    engine = create_engine(database_url)
    try:
        # The missing table: OperationalError on SQLite, ProgrammingError on PostgreSQL.
        with pytest.raises((OperationalError, ProgrammingError)):
            async with engine.begin() as conn:
                await conn.run_sync(upgrade, "head", scripts)
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
    finally:
        await engine.dispose()
    assert tables == []  # every revision and the half-done one were rolled back together


BROKEN_MIGRATION = """
import sqlalchemy as sa
from alembic import op

revision = "9999"
down_revision = "{head}"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table("half_done", sa.Column("id", sa.Integer, primary_key=True))
    op.execute("SELECT * FROM no_such_table")


def downgrade():
    pass
"""


async def test_concurrent_starts_migrate_once(open_db: Callable[[], Database]) -> None:
    first, second = open_db(), open_db()
    await asyncio.gather(first.migrate(), second.migrate())
    async with first.engine.connect() as conn:
        versions = (await conn.execute(text("SELECT version_num FROM alembic_version"))).all()
    assert versions == [(HEAD,)]


async def test_concurrent_writers_wait_for_each_other(db: Database) -> None:
    async def message(n: int) -> None:
        async with db.unit_of_work() as uow:
            await uow.chats.ensure("tg:-1", "tg", "-1", "group", "busy chat")
            await uow.usage.add(UsageEvent("tg:-1", "tg", str(n % 3), "x", "chat", "m", total_tokens=n))
            await uow.conversations.add("tg:-1", 0, "user", f"hello {n}", 1)
            await uow.commit()

    await asyncio.gather(*(message(n) for n in range(40)))
    async with db.unit_of_work() as uow:
        report = await uow.usage.report("tg:-1")
        turns = await uow.conversations.recent("tg:-1", 0, 1000, max_turns=100)
    assert report.totals.requests == 40
    assert report.totals.total_tokens == sum(range(40))
    assert len(turns) == 40


async def test_units_of_work_beyond_the_pool_wait_their_turn(database_url: str) -> None:
    db = Database(database_url, pool=Pool(size=2, overflow=0, wait=30))
    try:
        await db.migrate()
        inside = peak = 0

        async def read(n: int) -> None:
            nonlocal inside, peak
            async with db.unit_of_work() as uow:
                inside += 1
                peak = max(peak, inside)
                await uow.chats.get(f"tg:{n}")
                await asyncio.sleep(0.01)
                inside -= 1

        await asyncio.gather(*(read(n) for n in range(200)))
        checked_out = db.engine.pool.checkedout()  # type: ignore[attr-defined]
    finally:
        await db.dispose()
    assert peak == 2, "never more units of work at once than connections"
    assert checked_out == 0


async def test_a_unit_of_work_that_waits_too_long_says_so(database_url: str) -> None:
    db = Database(database_url, pool=Pool(size=1, overflow=0, wait=0.2))
    try:
        await db.migrate()
        async with db.unit_of_work():
            with pytest.raises(PoolTimeout, match=r"no database connection was free within 0\.2 s"):
                async with db.unit_of_work():
                    pass
        async with db.unit_of_work() as uow:  # the slot came back
            assert await uow.chats.get("tg:1") is None
    finally:
        await db.dispose()


def test_operators_can_migrate_with_the_alembic_cli(database_url: str, tmp_path: Path) -> None:
    ini = Path(__file__).resolve().parents[2] / "storage" / "alembic.ini"
    env = {**os.environ, "DATABASE_URL": database_url}

    def alembic(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "alembic", "-c", str(ini), *args],
            cwd=tmp_path,  # not the checkout: the ini must find its scripts and `storage` itself
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        return done.stdout

    alembic("upgrade", "head")
    assert f"{HEAD} (head)" in alembic("current")
    alembic("check")  # exits non-zero if the models drifted from the migrations
