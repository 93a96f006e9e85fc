"""Agenda storage: 0004 keeps existing events, numbers are never reused, each post is once."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import text

from bot.storage import autoposts, migrate
from bot.storage.autoposts import AutoPost
from bot.storage.db import Database

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
EVENT = (
    "INSERT INTO event (title, starts_at, all_day, time_known, when_key, created_at) "
    "VALUES (:title, '2026-03-18 00:00:00', 0, 0, 'k', '2026-03-01 00:00:00')"
)


async def add_raw_event(db: Database, title: str) -> int:
    async with db.session() as session:
        await session.execute(text(EVENT), {"title": title})
        return int(await session.scalar(text("SELECT max(id) FROM event")) or 0)


async def test_upgrading_keeps_events_and_never_reuses_their_numbers(tmp_path: Path) -> None:
    """Events stored before 0004 keep their ids; deleting the newest does not free its number."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}"
    await migrate.upgrade(url, "0003")
    db = Database(url)
    try:
        first, second = [await add_raw_event(db, title) for title in ("Un", "Deux")]
        await db.dispose()
        await migrate.upgrade(url)
        async with db.session() as session:
            rows = (await session.execute(text("SELECT id, title, manual FROM event"))).all()
            await session.execute(text("DELETE FROM event WHERE id = :id"), {"id": second})
        assert sorted(tuple(row) for row in rows) == [(first, "Un", 0), (second, "Deux", 0)]
        assert await add_raw_event(db, "Trois") == second + 1
    finally:
        await db.dispose()


async def test_an_automatic_post_is_recorded_once_per_room(db: Database) -> None:
    """The same kind, subject and room cannot be recorded twice; another room can."""
    post = AutoPost("reminder_7d", "3", "!hub:localhost", NOW, None, NOW)
    async with db.session() as session:
        assert await autoposts.record(session, post)
        assert not await autoposts.record(session, post)
        other = AutoPost("reminder_7d", "3", "!autre:localhost", NOW, None, NOW)
        assert await autoposts.record(session, other)
        found = await autoposts.handled(session, [("reminder_7d", "3"), ("reminder_1d", "3")])
    assert found == {("reminder_7d", "3")}


async def test_the_watermark_is_kept_between_runs(db: Database) -> None:
    """Unset before the first run, then read back as the moment written."""
    async with db.session() as session:
        assert await autoposts.watermark(session) is None
        await autoposts.set_watermark(session, NOW)
    async with db.session() as session:
        assert await autoposts.watermark(session) == NOW
