"""Runs the Alembic migrations in ``migrations/`` against a database URL."""

from __future__ import annotations

import asyncio
from importlib import resources
from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig


def alembic_config(database_url: str) -> AlembicConfig:
    """An Alembic configuration pointing at our scripts and the given database."""
    config = AlembicConfig()
    config.set_main_option("script_location", str(_scripts_dir()))
    config.attributes["database_url"] = database_url
    return config


def _scripts_dir() -> Path:
    """The migration scripts, installed as the ``bot.migrations`` package."""
    return Path(str(resources.files("bot.migrations")))


def upgrade_sync(database_url: str, revision: str = "head") -> None:
    """Upgrade the schema (blocking; Alembic drives its own event loop for the async driver)."""
    command.upgrade(alembic_config(database_url), revision)


async def upgrade(database_url: str, revision: str = "head") -> None:
    """Upgrade the schema from async code, in a worker thread."""
    await asyncio.to_thread(upgrade_sync, database_url, revision)
