"""The Alembic migrations: idempotent, reversible on SQLite, and in step with the models."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from bot.storage import migrate, state
from bot.storage.db import Database
from bot.storage.models import Base

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TABLES = {table.name for table in Base.metadata.sorted_tables}


def head() -> str | None:
    """The newest revision among the migration scripts."""
    return ScriptDirectory.from_config(migrate.alembic_config("unused://")).get_current_head()


async def tables_and_revision(db: Database) -> tuple[set[str], str | None]:
    def read(connection: Connection) -> tuple[set[str], str | None]:
        revision = MigrationContext.configure(connection).get_current_revision()
        return set(inspect(connection).get_table_names()), revision

    async with db.engine.connect() as connection:
        return await connection.run_sync(read)


async def test_upgrading_twice_changes_nothing_and_keeps_the_data(db: Database) -> None:
    """A second upgrade to head is a no-op: same revision, same tables, rows kept."""
    async with db.session() as session:
        await state.set_value(session, "sync_token", "s1_100")
    await migrate.upgrade(db.url)
    tables, revision = await tables_and_revision(db)
    assert tables >= TABLES
    assert revision == head()
    async with db.session() as session:
        assert await state.get_value(session, "sync_token") == "s1_100"


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    """Autogenerate finds nothing to add or change between the migrations and the models."""

    def differences(connection: Connection) -> list[object]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return list(compare_metadata(context, Base.metadata))

    async with db.engine.connect() as connection:
        assert await connection.run_sync(differences) == []


async def test_sqlite_downgrades_to_base_and_upgrades_again(tmp_path: Path) -> None:
    """On SQLite, downgrading to base drops every table and a new upgrade rebuilds them."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await migrate.upgrade(url)
    await asyncio.to_thread(command.downgrade, migrate.alembic_config(url), "base")
    db = Database(url)
    try:
        tables, revision = await tables_and_revision(db)
        assert tables <= {"alembic_version"}
        assert revision is None
        await migrate.upgrade(url)
        tables, revision = await tables_and_revision(db)
        assert tables >= TABLES and revision == head()
    finally:
        await db.dispose()
