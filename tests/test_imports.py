"""What importing the bot loads: the heavy libraries wait until they are first needed."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

# Each is needed by some command, poll or first start, never to start and answer a command.
LOADED_WHERE_FIRST_USED = {
    "alembic": "migrations, when the schema is behind",
    "dateparser": "a time our own grammar does not read",
    "babel": "dates in words",
    "icalendar": "/agenda.ics",
    "feedparser": "the first poll",
    "apscheduler": "the reminder scheduler's start",
    "asyncpg": "a PostgreSQL database",
    "sqlalchemy.dialects.postgresql": "a PostgreSQL database",
    "bot.services.subscriptions.grist": "a subscribers export or import",
    "Crypto.PublicKey.ECC": "a new cross-signing identity",
    "Crypto.Signature.eddsa": "signing with a cross-signing key",
    "canonicaljson": "signing with a cross-signing key",
    "base58": "a recovery key",
    "bot.when.grammar": "a first time expression (its patterns are compiled on import)",
    "smtplib": "a first confirmation mail",
}


def loaded_after(code: str) -> set[str]:
    """The watched modules a fresh interpreter holds after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return set(json.loads(done.stdout.splitlines()[-1])) & set(LOADED_WHERE_FIRST_USED)


def test_importing_the_bot_leaves_the_heavy_libraries_alone() -> None:
    """``import bot.app`` (what ``ssphub-bot run`` imports) loads none of them."""
    assert loaded_after("import bot.cli, bot.app") == set()


def test_a_start_on_a_schema_at_head_does_not_load_alembic(
    migrated_sqlite_file: Path, tmp_path: Path
) -> None:
    """The start's schema check is one query: on a database at head, Alembic stays unloaded."""
    path = tmp_path / "bot.db"
    shutil.copyfile(migrated_sqlite_file, path)
    url = f"sqlite+aiosqlite:///{path}"
    code = (
        "import asyncio\n"
        "from bot.storage.db import Database\n"
        "from bot.storage.migrate import upgrade_if_behind\n"
        "async def check():\n"
        f"    db = Database({url!r})\n"
        "    try:\n"
        "        assert not await upgrade_if_behind(db)\n"
        "    finally:\n"
        "        await db.dispose()\n"
        "asyncio.run(check())"
    )
    assert "alembic" not in loaded_after(code)


def test_the_watched_names_are_modules_of_the_installed_libraries() -> None:
    """Every name watched above exists, so a renamed module cannot pass unnoticed."""
    code = "\n".join(f"import {name}" for name in LOADED_WHERE_FIRST_USED)
    assert loaded_after(code) == set(LOADED_WHERE_FIRST_USED)
