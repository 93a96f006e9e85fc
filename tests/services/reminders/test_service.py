"""The reminder service on a fake clock: firing, recurrence across DST, restarts, cancelling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.services.reminders import Draft
from bot.storage.db import Database
from bot.storage.reminders import ACTIVE, CANCELLED, DONE
from bot.when import OneOff, Recurring
from tests.fakes import FakeClock
from tests.services.reminders.rig import (
    HUB,
    NOW,
    ORGANISER,
    OTHER,
    PARIS,
    add,
    advance_to,
    firings,
    paris,
    posted,
    service,
    stored,
)

WEEKLY_MONDAY_9 = Recurring({"day_of_week": "mon", "hour": "9", "minute": "0"})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


async def test_a_one_off_reminder_is_posted_at_its_time_in_its_room(
    db: Database, clock: FakeClock
) -> None:
    """At its time the reminder is posted once, mentioning nobody, and the reminder is done."""
    reminders_service = service(db, clock)
    reminder = await add(reminders_service, OneOff(paris("2026-11-24 09:00")), "Point équipe")
    assert await reminders_service.run_due(clock.now()) == 0
    advance_to(clock, reminder.at)
    assert await reminders_service.run_due(clock.now()) == 1
    (message,) = await posted(db)
    assert (message.room_id, message.body) == (HUB, "⏰ Rappel : Point équipe")
    assert message.mentions == {"user_ids": []}
    assert message.dedupe_key == f"reminder:{reminder.id}:2026-11-24T08:00:00+00:00"
    assert (await stored(db, reminder.public_id)).status == DONE


async def test_an_occurrence_is_posted_once_even_when_run_again_or_restarted(
    db: Database, clock: FakeClock
) -> None:
    """Running the due reminders twice, or from a new service instance, posts nothing more."""
    reminder = await add(service(db, clock), OneOff(paris("2026-11-23 11:00")))
    advance_to(clock, reminder.at)
    await service(db, clock).run_due(clock.now())
    await service(db, clock).run_due(clock.now())
    assert not await service(db, clock).fire(reminder, reminder.at, clock.now())
    assert len(await posted(db)) == 1
    assert len(await firings(db, reminder)) == 1


async def test_room_mention_only_when_asked(db: Database, clock: FakeClock) -> None:
    """An organiser's --tous adds @room and m.mentions.room; an @room in the text keeps it as is."""
    reminders_service = service(db, clock)
    asked = await add(reminders_service, OneOff(NOW + timedelta(hours=1)), "Pot", mention_room=True)
    await add(reminders_service, OneOff(asked.at), "@room AG", mention_room=True)
    advance_to(clock, asked.at)
    await reminders_service.run_due(clock.now())
    bodies = {m.body: m.mentions for m in await posted(db)}
    assert bodies == {
        "@room ⏰ Rappel : Pot": {"user_ids": [], "room": True},
        "⏰ Rappel : @room AG": {"user_ids": [], "room": True},
    }


async def test_a_reminder_goes_to_its_target_room(db: Database, clock: FakeClock) -> None:
    """A reminder set for another room is posted there, not where it was asked."""
    reminders_service = service(db, clock)
    reminder = await add(reminders_service, OneOff(NOW + timedelta(minutes=5)), room_id=OTHER)
    advance_to(clock, reminder.at)
    await reminders_service.run_due(clock.now())
    assert [m.room_id for m in await posted(db)] == [OTHER]


@pytest.mark.parametrize(
    ("start", "expected"),
    [
        pytest.param(
            datetime(2027, 3, 15, 10, 0, tzinfo=UTC),
            ["2027-03-22 08:00", "2027-03-29 07:00", "2027-04-05 07:00"],
            id="spring-forward",
        ),
        pytest.param(
            datetime(2027, 10, 18, 10, 0, tzinfo=UTC),
            ["2027-10-25 07:00", "2027-11-01 08:00", "2027-11-08 08:00"],
            id="fall-back",
        ),
    ],
)
async def test_weekly_reminder_keeps_nine_oclock_in_paris_across_dst(
    db: Database, start: datetime, expected: list[str]
) -> None:
    """Every Monday 9:00 fires at 9:00 Paris each week: 8:00 UTC in winter, 7:00 in summer."""
    clock = FakeClock(start)
    reminders_service = service(db, clock)
    reminder = await add(reminders_service, WEEKLY_MONDAY_9, "Point hebdo")
    fired: list[datetime] = []
    for _ in expected:
        current = await stored(db, reminder.public_id)
        advance_to(clock, current.at)
        await reminders_service.run_due(clock.now())
        fired.append(current.at)
    assert [f"{at:%Y-%m-%d %H:%M}" for at in fired] == expected
    assert {f"{at.astimezone(PARIS):%A %H:%M}" for at in fired} == {"Monday 09:00"}
    assert len(await posted(db)) == 3
    assert [f.late for f in await firings(db, reminder)] == [False, False, False]
    assert (await stored(db, reminder.public_id)).status == ACTIVE


async def test_a_recurring_reminder_moves_on_to_its_next_occurrence(
    db: Database, clock: FakeClock
) -> None:
    """After firing, a recurring reminder stays active at its next occurrence."""
    reminders_service = service(db, clock)
    reminder = await add(reminders_service, WEEKLY_MONDAY_9)
    assert reminder.at == paris("2026-11-30 09:00")
    advance_to(clock, reminder.at)
    await reminders_service.run_due(clock.now())
    after = await stored(db, reminder.public_id)
    assert (after.status, after.at) == (ACTIVE, paris("2026-12-07 09:00"))
    assert after.last_fired_at == reminder.at and after.last_outbox_id is not None


async def test_a_new_service_on_the_same_database_finds_the_reminders(
    db: Database, clock: FakeClock
) -> None:
    """After a restart the active reminders are read back from the database, soonest first."""
    first = service(db, clock)
    weekly = await add(first, WEEKLY_MONDAY_9, "Point hebdo")
    soon = await add(first, OneOff(paris("2026-11-24 09:00")), "Demain")
    restarted = service(db, clock)
    assert [r.public_id for r in await restarted.active()] == [soon.public_id, weekly.public_id]
    advance_to(clock, soon.at)
    assert [r.public_id for r in await restarted.due_now(clock.now())] == [soon.public_id]


async def test_cancelled_reminder_is_never_posted(db: Database, clock: FakeClock) -> None:
    """A cancelled reminder stays in the database as cancelled and posts nothing."""
    reminders_service = service(db, clock)
    reminder = await add(reminders_service, OneOff(NOW + timedelta(hours=2)))
    async with db.session() as session:
        cancelled = await reminders_service.cancel(session, reminder.public_id.upper())
    assert cancelled.status == CANCELLED
    advance_to(clock, reminder.at)
    assert await reminders_service.run_due(clock.now()) == 0
    assert await posted(db) == []
    assert (await stored(db, reminder.public_id)).status == CANCELLED


async def test_listener_hears_only_committed_changes(db: Database, clock: FakeClock) -> None:
    """The scheduler hears of a reminder once the command's unit of work commits, not before."""
    reminders_service = service(db, clock)
    heard: list[tuple[str, str]] = []
    reminders_service.listener = lambda r: heard.append((r.public_id, r.status))
    draft = Draft(HUB, ORGANISER, "texte", OneOff(NOW + timedelta(hours=1)), False, "fr")
    with pytest.raises(RuntimeError):
        async with db.session() as session:
            await reminders_service.create(session, draft, NOW)
            raise RuntimeError("the command failed after creating it")
    assert heard == []
    kept = await add(reminders_service, draft.schedule)
    assert heard == [(kept.public_id, ACTIVE)]
    async with db.session() as session:
        await reminders_service.cancel(session, kept.public_id)
    assert heard[-1] == (kept.public_id, CANCELLED)


async def test_short_ids_are_unique(db: Database, clock: FakeClock) -> None:
    """Every reminder gets its own short id, even from the same random sequence."""
    ids = set()
    for _ in range(5):
        ids.add((await add(service(db, clock), OneOff(NOW + timedelta(days=1)))).public_id)
    assert len(ids) == 5 and all(i.startswith("r") and len(i) >= 4 for i in ids)
