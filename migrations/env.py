"""Alembic environment: runs migrations through the bot's async engine (SQLite in batch mode)."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from bot.storage.models import Base


def _database_url() -> str:
    """The URL given by ``bot.storage.migrate``, else the one in the bot's configuration file."""
    url = context.config.attributes.get("database_url")
    if url:
        return str(url)
    from bot.config import load_config  # alembic CLI use: -x config=path/to/config.yaml

    path = context.get_x_argument(as_dictionary=True).get("config", "config/config.yaml")
    from pathlib import Path

    return load_config(Path(path)).database_url_or_default


def _run(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # A new file gets incremental auto-vacuum before its first table (so it can shrink);
        # on an existing one this changes nothing until the bot's one VACUUM at start.
        connection.exec_driver_sql("PRAGMA auto_vacuum=INCREMENTAL")
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    engine = create_async_engine(_database_url())
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=_database_url(), target_metadata=Base.metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    asyncio.run(_run_online())
