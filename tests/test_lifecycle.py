"""The log lines that frame a run: the database in words, and what a stop leaves queued."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import App
from bot.lifecycle import database_label, stop_and_log
from bot.storage import migrate, outbox
from tests.test_preflight import config_for


def test_the_database_is_named_without_its_password() -> None:
    """SQLite by its file, PostgreSQL by database, host, port and role, never the password."""
    assert database_label("sqlite+aiosqlite:////data/ssphub-bot.db") == "SQLite /data/ssphub-bot.db"
    url = "postgresql+asyncpg://ssphub:s3cret@db.example:5433/hub"
    assert database_label(url) == "PostgreSQL hub on db.example:5433 as ssphub"


async def test_a_stop_says_how_many_messages_stay_queued(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Messages still in the outbox when the bot stops are counted in its last line."""
    config = config_for(tmp_path)
    await migrate.upgrade(config.database_url_or_default)
    app = App(config)
    async with app.db.session() as session:
        for n in range(2):
            now = datetime(2026, 12, 1, 9, n, tzinfo=UTC)
            await outbox.enqueue(session, room_id="!r:x", event_type="m.room.message",
                                 content={"body": str(n)}, now=now)  # fmt: skip
    app.active = True  # as if it had taken the lock, and nothing else yet
    with caplog.at_level(logging.INFO, logger="bot.lifecycle"):
        await stop_and_log(app)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "bot.lifecycle"]
    assert line.startswith("ssphub-bot 0.1.0 stopped in ")
    assert line.endswith(
        ": nothing was running yet; 2 messages left queued in the outbox, sent at the next start"
    )


async def test_a_standby_stop_says_it_never_ran(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A bot stopped while another held the lock says it was on standby."""
    app = App(config_for(tmp_path))
    with caplog.at_level(logging.INFO, logger="bot.lifecycle"):
        await stop_and_log(app)
    line = caplog.text.strip()
    assert re.search(r"stopped in \d+\.\d s, on standby: nothing was running yet$", line)
