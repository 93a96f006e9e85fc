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


def privacy_revision() -> tuple[str, str]:
    """The revision that made addresses say how they are known, and the one before it."""
    scripts = ScriptDirectory.from_config(migrate.alembic_config("unused://"))
    for script in scripts.walk_revisions():
        if (script.doc or "").startswith("Privacy"):
            return script.revision, str(script.down_revision)
    raise AssertionError("no privacy revision")


async def test_subscribers_before_the_privacy_revision_get_their_address_status(
    tmp_path: Path,
) -> None:
    """Rows stored before say, after the upgrade, how their address is known: the Tchap id's
    own, unconfirmed, or imported; and two rows may then hold one address."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    _, before = privacy_revision()
    await migrate.upgrade(url, before)
    rows = [
        (1, "@camille.durand-insee.fr:agent.tchap.gouv.fr", "camille.durand@insee.fr", "tchap"),
        (2, "@jean.marie-dupont-interieur.gouv.fr:x", "jean.marie-dupont@interieur.gouv.fr",
         "tchap"),
        (3, "@paul:x", "paul.perso@example.org", "tchap"),
        (4, None, "grist@insee.fr", "import"),
        (5, None, None, "tchap"),
    ]  # fmt: skip
    db = Database(url)
    try:
        async with db.engine.begin() as connection:
            for row in rows:
                await connection.exec_driver_sql(
                    "INSERT INTO subscriber (id, user_id, email, source, dm_delivery,"
                    " subscribed_at) VALUES (?, ?, ?, ?, 0, '2026-03-02 09:00:00')",
                    row,
                )
        await migrate.upgrade(url)
        async with db.engine.begin() as connection:
            found = await connection.exec_driver_sql(
                "SELECT id, address_status FROM subscriber ORDER BY id"
            )
            statuses = dict(found.tuples().all())
            await connection.exec_driver_sql(
                "INSERT INTO subscriber (user_id, email, source, dm_delivery, subscribed_at)"
                " VALUES ('@other:x', 'camille.durand@insee.fr', 'tchap', 0, '2026-03-03')"
            )
    finally:
        await db.dispose()
    assert statuses == {1: "tchap", 2: "tchap", 3: "unconfirmed", 4: "import", 5: None}


def test_the_head_read_from_the_scripts_is_alembics() -> None:
    """The start's check reads the same head from the scripts as Alembic does."""
    assert migrate.head_revisions() == {head()}


async def test_a_schema_at_head_is_left_alone(db: Database) -> None:
    """On a database at head, the start runs no migration and the data stays."""
    async with db.session() as session:
        await state.set_value(session, "sync_token", "s1_100")
    assert await migrate.upgrade_if_behind(db) is False
    assert await migrate.current_revisions(db) == {head()}
    async with db.session() as session:
        assert await state.get_value(session, "sync_token") == "s1_100"


async def test_a_new_database_is_migrated_to_head(tmp_path: Path) -> None:
    """A database without any table gets the whole schema at start."""
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}")
    try:
        assert await migrate.current_revisions(db) == set()
        assert await migrate.upgrade_if_behind(db) is True
        tables, revision = await tables_and_revision(db)
        assert tables >= TABLES and revision == head()
    finally:
        await db.dispose()


async def test_a_schema_behind_is_upgraded_keeping_its_rows(tmp_path: Path) -> None:
    """A database an older version left behind is brought to head at start, rows kept."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await migrate.upgrade(url, "0003")
    db = Database(url)
    try:
        async with db.session() as session:
            await state.set_value(session, "sync_token", "s1_100")
        assert await migrate.upgrade_if_behind(db) is True
        assert await migrate.current_revisions(db) == {head()}
        async with db.session() as session:
            assert await state.get_value(session, "sync_token") == "s1_100"
    finally:
        await db.dispose()
