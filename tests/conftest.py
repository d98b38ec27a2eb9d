"""Fixtures for the servers every tier may need: the database under test and Redis.

See tests/services.py for how TEST_DATABASE_URL, TEST_REDIS_URL and REQUIRE_SERVICES work.
Markers: `sqlite_only(reason)` for tests of SQLite itself (skipped on PostgreSQL), `postgres`
for tests that need PostgreSQL (skipped on SQLite).
"""

from __future__ import annotations

import itertools
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import services
from tests.services import PostgresDatabases

_redis_prefixes = itertools.count(1)

pytest_plugins = ["tests.watchdog"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-tests-only",
        action="store_true",
        help="only the tests that use the database under test (the database_url fixture): "
        "what ./scripts/test runs again on PostgreSQL",
    )


def pytest_configure(config: pytest.Config) -> None:
    services.database_url_setting()  # a malformed TEST_DATABASE_URL stops the run at once


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("database_tests_only"):
        uses = {item: "database_url" in getattr(item, "fixturenames", ()) for item in items}
        config.hook.pytest_deselected(items=[item for item in items if not uses[item]])
        items[:] = [item for item in items if uses[item]]
    backend = services.backend_name()
    for item in items:
        sqlite_only = item.get_closest_marker("sqlite_only")
        if sqlite_only is not None and backend != "sqlite":
            why = sqlite_only.args[0] if sqlite_only.args else "a test of SQLite itself"
            item.add_marker(pytest.mark.skip(reason=f"SQLite only ({why}); TEST_DATABASE_URL is PostgreSQL"))
        if item.get_closest_marker("postgres") is not None and backend != "postgresql":
            item.add_marker(
                pytest.mark.skip(reason="needs PostgreSQL: TEST_DATABASE_URL=postgresql+asyncpg://… runs it")
            )


# --- the database under test ---------------------------------------------------------------


@pytest.fixture(scope="session")
def _postgres() -> Iterator[PostgresDatabases | str]:
    """This process's PostgreSQL databases helper, or why the server cannot be used."""
    url = services.database_url_setting()
    assert url is not None
    opened = services.open_postgres(url)
    yield opened
    if isinstance(opened, PostgresDatabases):
        opened.close()


@pytest.fixture
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A new, empty database for this test: the same URL for its whole run (restarts included).

    SQLite: a file in a folder that does not exist yet (opening the database creates it).
    PostgreSQL: a database of its own on the TEST_DATABASE_URL server, dropped afterwards.
    """
    url = services.database_url_setting()
    if url is None:
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'wenwen.db'}"
        return
    postgres: PostgresDatabases | str = request.getfixturevalue("_postgres")
    if isinstance(postgres, str):
        services.missing("PostgreSQL", services.shown(url), postgres)
    fresh = postgres.take()
    try:
        yield fresh
    finally:
        postgres.give_back(fresh)


# --- Redis -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def _redis_problem() -> str | None:
    return services.redis_problem(services.redis_url_setting())


@pytest.fixture
def redis_prefix() -> str:
    """This test's key prefix: write every key under it (the Redis database is shared)."""
    return f"wenwen-test:{services.HOST}-{services.WORKER}-{os.getpid()}-{next(_redis_prefixes)}:"


@pytest.fixture
def redis_url(_redis_problem: str | None, redis_prefix: str) -> Iterator[str]:
    """TEST_REDIS_URL once Redis answers; the keys under `redis_prefix` are deleted afterwards."""
    url = services.redis_url_setting()
    if _redis_problem is not None:
        services.missing("Redis", services.shown(url), _redis_problem)
    yield url
    services.delete_keys(url, redis_prefix)


# --- the summary -----------------------------------------------------------------------------


def _reason(report: pytest.TestReport) -> str:
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, "Skipped: reason")
        return str(report.longrepr[2])
    return report.longreprtext


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per missing server: how many tests it cost, so a skip never goes unnoticed."""
    if (url := services.database_url_setting()) is not None:
        terminalreporter.write_line(f"database under test: PostgreSQL at {services.shown(url)}")
    for outcome, verb in (("skipped", "skipped"), ("error", "errors (REQUIRE_SERVICES=1)")):
        counts: Counter[tuple[str, str, str]] = Counter()
        for report in terminalreporter.stats.get(outcome, []):
            found = services.MISSING.search(_reason(report))
            if found is not None:
                counts[(found["service"], found["url"], found["why"])] += 1
        for (service, url, why), n in sorted(counts.items()):
            tests = "1 test needs" if n == 1 else f"{n} tests need"
            terminalreporter.write_line(
                f"{verb}: {tests} {service} at {url} (not reachable: {why})", yellow=True, bold=True
            )
