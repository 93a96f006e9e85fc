"""Runs the Alembic migrations in ``migrations/`` against a database URL; at start, one query says
whether the schema is at head already, and Alembic is loaded only when it is not."""

from __future__ import annotations

import ast
import asyncio
import logging
import re
from functools import cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

    from bot.storage.db import Database

log = logging.getLogger(__name__)

_ASSIGNMENT = re.compile(r"^(revision|down_revision)\s*=\s*(.+?)\s*$", re.MULTILINE)


def alembic_config(database_url: str) -> AlembicConfig:
    """An Alembic configuration pointing at our scripts and the given database."""
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(_scripts_dir()))
    config.attributes["database_url"] = database_url
    return config


def _scripts_dir() -> Path:
    """The migration scripts, installed as the ``bot.migrations`` package."""
    return Path(str(resources.files("bot.migrations")))


def upgrade_sync(database_url: str, revision: str = "head") -> None:
    """Upgrade the schema (blocking; Alembic drives its own event loop for the async driver)."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


async def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the schema from async code, in a worker thread."""
    await asyncio.to_thread(upgrade_sync, database_url, revision)


async def upgrade_if_behind(db: Database) -> bool:
    """Bring the schema to head; True when Alembic had to run. One query on ``alembic_version``
    when the schema is there already (every start but the first after an upgrade of the bot)."""
    if await current_revisions(db) == head_revisions():
        return False
    log.info("database schema behind the code's: migrating")
    await upgrade(db.url)
    return True


async def current_revisions(db: Database) -> frozenset[str]:
    """The revisions the database says its schema is at; none for a new database."""
    try:
        async with db.engine.connect() as connection:
            found = await connection.execute(text("SELECT version_num FROM alembic_version"))
            return frozenset(found.scalars())
    except DBAPIError:  # no such table: a new database (Alembic reports any other problem)
        return frozenset()


@cache
def head_revisions() -> frozenset[str]:
    """The newest revisions of the scripts (one, unless branches were left unmerged), read from
    their ``revision`` and ``down_revision`` lines, as Alembic does, without loading it."""
    revisions: set[str] = set()
    replaced: set[str] = set()
    for script in (_scripts_dir() / "versions").glob("*.py"):
        found = dict(_ASSIGNMENT.findall(script.read_text(encoding="utf-8")))
        if "revision" not in found:
            continue
        revisions.add(ast.literal_eval(found["revision"]))
        replaced.update(_names(ast.literal_eval(found.get("down_revision", "None"))))
    return frozenset(revisions - replaced)


def _names(down_revision: str | tuple[str, ...] | None) -> tuple[str, ...]:
    if down_revision is None:
        return ()
    return (down_revision,) if isinstance(down_revision, str) else tuple(down_revision)
