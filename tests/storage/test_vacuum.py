"""SQLite shrinks: new files use incremental auto-vacuum, old ones switch once at start, and a
housekeeping pass that deleted rows gives their pages back (the file gets smaller)."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest
from sqlalchemy import Table, insert

from bot.config.schema import RetentionConfig
from bot.metrics import Metrics
from bot.services.housekeeping import Housekeeping
from bot.storage import migrate
from bot.storage.db import INCREMENTAL, Database
from bot.storage.models import OutboxRow
from tests.fakes import FakeClock

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def mode(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("PRAGMA auto_vacuum").fetchone()[0])


def size(path: Path) -> int:
    """The database's bytes on disk, write-ahead log included."""
    wal = path.with_name(path.name + "-wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


async def test_a_new_database_is_made_with_incremental_auto_vacuum(tmp_path: Path) -> None:
    """The migrations give a new file incremental auto-vacuum before its first table."""
    path = tmp_path / "new.db"
    await migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    assert mode(path) == INCREMENTAL
    db = Database(f"sqlite+aiosqlite:///{path}")
    try:
        assert not await db.use_incremental_vacuum()  # nothing to switch
    finally:
        await db.dispose()


async def test_an_old_database_switches_once_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A file made without auto-vacuum switches at the first start (one VACUUM, logged), keeps
    its rows, and is left alone at the next start."""
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE kept (x TEXT)")
        connection.executemany("INSERT INTO kept VALUES (?)", [("row",)] * 100)
    assert mode(path) == 0
    db = Database(f"sqlite+aiosqlite:///{path}")
    caplog.set_level(logging.INFO, logger="bot.storage.db")
    try:
        assert await db.use_incremental_vacuum()
        assert not await db.use_incremental_vacuum()
    finally:
        await db.dispose()
    assert mode(path) == INCREMENTAL
    with sqlite3.connect(path) as connection:
        assert connection.execute("SELECT count(*) FROM kept").fetchone()[0] == 100
    assert "switched to incremental auto-vacuum" in caplog.text


async def test_the_file_shrinks_after_a_pass_that_pruned(tmp_path: Path) -> None:
    """8,000 messages sent three days ago (about 1 KB each) take megabytes; after a pass the
    main file and its write-ahead log together are a small fraction of that."""
    path = tmp_path / "bot.db"
    url = f"sqlite+aiosqlite:///{path}"
    await migrate.upgrade(url)
    db = Database(url)
    sent = NOW - timedelta(days=3)
    rows = [
        {"txn_id": f"t{n}", "room_id": "!hub:x", "event_type": "m.room.message",
         "content": {"body": "x" * 1000}, "status": "sent", "attempts": 1, "created_at": sent,
         "sent_at": sent, "event_id": f"$e{n}", "bulk": False}
        for n in range(8000)
    ]  # fmt: skip
    try:
        async with db.session() as session:
            await session.execute(insert(cast(Table, OutboxRow.__table__)), rows)
        await db.forget_old_pages()
        before = size(path)
        keeper = Housekeeping(
            db, FakeClock(NOW), Metrics(), RetentionConfig(), command_grace=timedelta(minutes=5)
        )
        assert await keeper.run_once() == {"outbox": 8000}
        after = size(path)
    finally:
        await db.dispose()
    assert before > 8_000_000
    assert after < before / 10, (before, after)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
