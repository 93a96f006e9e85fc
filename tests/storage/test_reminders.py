"""The reminders repository on SQLite and PostgreSQL: rows, due order, firings once, listing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.storage import outbox, reminders
from bot.storage.db import Database
from bot.storage.reminders import (
    ACTIVE,
    CANCELLED,
    DONE,
    ONE_OFF,
    RECURRING,
    Firing,
    NewReminder,
    Reminder,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
WEEKLY = {"day_of_week": "mon", "hour": "9", "minute": "0"}


def new(public_id: str, at: datetime, cron: dict[str, str] | None = None) -> NewReminder:
    return NewReminder(
        public_id=public_id, room_id="!hub:localhost", author="@orga:localhost", text="Réunion",
        kind=RECURRING if cron else ONE_OFF, at=at, cron=cron, timezone="Europe/Paris",
        mention_room=False, language="fr",
    )  # fmt: skip


async def store(db: Database, *items: NewReminder) -> list[Reminder]:
    async with db.session() as session:
        return [await reminders.add(session, item, NOW) for item in items]


async def queue(db: Database, key: str) -> int:
    """An outbox row standing for a posted reminder."""
    async with db.session() as session:
        entry = await outbox.enqueue(
            session, room_id="!hub:localhost", event_type="m.room.message",
            content={"body": key}, now=NOW, dedupe_key=key,
        )  # fmt: skip
        return entry.id


async def test_a_reminder_reads_back_as_stored(db: Database) -> None:
    """Every field comes back, times in UTC and the rule as a mapping."""
    (stored,) = await store(db, new("r7k2", NOW + timedelta(days=7), WEEKLY))
    async with db.session() as session:
        found = await reminders.by_public_id(session, "r7k2")
    assert found == stored
    assert found.at == NOW + timedelta(days=7) and found.at.tzinfo is not None
    assert (found.cron, found.status, found.kind) == (WEEKLY, ACTIVE, RECURRING)
    async with db.session() as session:
        assert await reminders.public_id_taken(session, "r7k2")
        assert not await reminders.public_id_taken(session, "r8m3")


async def test_due_lists_active_reminders_not_after_now_oldest_first(db: Database) -> None:
    """Only active reminders whose time has come are due, in time order."""
    *_, gone = await store(
        db,
        new("r222", NOW - timedelta(hours=1)),
        new("r333", NOW),
        new("r444", NOW + timedelta(seconds=1)),
        new("r555", NOW - timedelta(hours=2)),
    )
    async with db.session() as session:
        await reminders.set_status(session, gone.id, CANCELLED)
    async with db.session() as session:
        assert [r.public_id for r in await reminders.due(session, NOW)] == ["r222", "r333"]
        assert [r.public_id for r in await reminders.active(session)] == ["r222", "r333", "r444"]


async def test_an_occurrence_is_recorded_once(db: Database) -> None:
    """Recording the same occurrence twice is refused the second time, without an error."""
    (reminder,) = await store(db, new("r7k2", NOW))
    outbox_id = await queue(db, "reminder:1")
    firing = Firing(reminder.id, NOW, outbox_id, NOW, late=False, missed=False)
    async with db.session() as session:
        assert await reminders.record_firing(session, firing)
    async with db.session() as session:
        assert not await reminders.record_firing(session, firing)
        assert await reminders.firings(session, reminder.id) == [firing]


async def test_advance_moves_the_reminder_and_remembers_its_message(db: Database) -> None:
    """After a firing the reminder holds its next time, when it fired and its outbox row."""
    (reminder,) = await store(db, new("r7k2", NOW, WEEKLY))
    outbox_id = await queue(db, "reminder:1")
    async with db.session() as session:
        await reminders.advance(
            session, reminder.id, at=NOW + timedelta(days=7), status=ACTIVE, fired=(NOW, outbox_id)
        )
        found = await reminders.locked(session, reminder.id)
    assert found is not None
    assert (found.at, found.last_fired_at, found.last_outbox_id) == (
        NOW + timedelta(days=7), NOW, outbox_id,
    )  # fmt: skip


async def test_listing_shows_whether_the_last_message_was_sent(db: Database) -> None:
    """Active reminders are listed; a fired one-off stays listed until its message is sent."""
    waiting, sent, _planned = await store(
        db, new("r222", NOW), new("r333", NOW), new("r444", NOW + timedelta(days=1))
    )
    for reminder in (waiting, sent):
        outbox_id = await queue(db, reminder.public_id)
        async with db.session() as session:
            await reminders.advance(
                session, reminder.id, at=NOW, status=DONE, fired=(NOW, outbox_id)
            )
    async with db.session() as session:
        await outbox.mark_sent(session, (await queue(db, "r333")), "$sent", NOW)
    async with db.session() as session:
        listed = await reminders.listed(session)
    assert [(item.reminder.public_id, item.delivery) for item in listed] == [
        ("r222", outbox.PENDING),
        ("r444", None),
    ]
