"""Alembic environment.

Two ways in:
- `Database.migrate()` passes its open connection in `config.attributes`;
- the CLI (`alembic -c storage/alembic.ini upgrade head`) connects to $DATABASE_URL,
  or to `sqlalchemy.url` from the ini file.
"""

from __future__ import annotations

import asyncio
import os
from logging.config import fileConfig

from alembic import context
from sqlalchemy import Connection

from storage.db import create_engine, lock_for_migration
from storage.tables import Base

config = context.config
target_metadata = Base.metadata


def _configure(**options: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        compare_type=True,
        # SQLite cannot ALTER most things; batch mode rebuilds the table instead.
        render_as_batch=True,
        **options,  # type: ignore[arg-type]
    )


def _url() -> str:
    url = os.environ.get("DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("set DATABASE_URL (or sqlalchemy.url in alembic.ini)")
    return url


def _run(connection: Connection) -> None:
    _configure(connection=connection)
    with context.begin_transaction():
        context.run_migrations()


def _run_locked(connection: Connection) -> None:
    lock_for_migration(connection)
    _run(connection)


async def _run_cli() -> None:
    engine = create_engine(_url())
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_run_locked)
    finally:
        await engine.dispose()


def main() -> None:
    shared = config.attributes.get("connection")
    if shared is not None:
        _run(shared)
        return
    if config.config_file_name is not None:
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    if context.is_offline_mode():
        _configure(url=_url(), literal_binds=True, dialect_opts={"paramstyle": "named"})
        with context.begin_transaction():
            context.run_migrations()
    else:
        asyncio.run(_run_cli())


main()
