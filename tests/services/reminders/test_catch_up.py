"""Reminders that fell due while the bot was stopped: sent late within the grace, else reported."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.storage.db import Database
from bot.storage.reminders import ACTIVE, DONE, MISSED
from bot.when import OneOff, Recurring
from tests.fakes import FakeClock
from tests.services.reminders.rig import (
    HUB,
    LEFT,
    NOW,
    FakeRooms,
    add,
    advance_to,
    firings,
    paris,
    posted,
    service,
    stored,
)

DAILY_8 = Recurring({"hour": "8", "minute": "0"})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


async def test_missed_within_the_grace_is_sent_late_with_a_note(
    db: Database, clock: FakeClock
) -> None:
    """Back 20 minutes after the time, the bot posts the reminder with how late it is."""
    reminder = await add(service(db, clock), OneOff(paris("2026-11-23 14:00")), "Atelier R")
    advance_to(clock, reminder.at + timedelta(minutes=20))
    await service(db, clock).run_due(clock.now())
    (message,) = await posted(db)
    assert message.body == (
        "⏰ Rappel : Atelier R\n(envoyé avec 20 min de retard : le bot était arrêté)"
    )
    (firing,) = await firings(db, reminder)
    assert (firing.late, firing.missed) == (True, False)
    assert (await stored(db, reminder.public_id)).status == DONE


async def test_a_few_seconds_late_is_on_time(db: Database, clock: FakeClock) -> None:
    """A scheduler waking a few seconds after the time posts without a note."""
    reminders_service = service(db, clock, grace=timedelta(0))
    reminder = await add(reminders_service, OneOff(NOW + timedelta(hours=1)), "Café")
    advance_to(clock, reminder.at + timedelta(seconds=5))
    await reminders_service.run_due(clock.now())
    assert [m.body for m in await posted(db)] == ["⏰ Rappel : Café"]


async def test_missed_beyond_the_grace_is_reported_not_dropped(
    db: Database, clock: FakeClock
) -> None:
    """Back three hours late, the bot tells the room's organisers instead of posting it."""
    reminder = await add(service(db, clock), OneOff(paris("2026-11-23 14:00")), "Atelier R")
    advance_to(clock, reminder.at + timedelta(hours=3))
    await service(db, clock).run_due(clock.now())
    (report,) = await posted(db)
    assert report.room_id == HUB
    assert report.body == (
        "⚠️ Le bot était arrêté : ces rappels n’ont pas été envoyés, leur heure étant passée "
        "de plus de 60 min :\n"
        f"• {reminder.public_id} — « Atelier R », prévu le lundi 23 novembre 2026 à 14 h"
    )
    (firing,) = await firings(db, reminder)
    assert (firing.missed, firing.outbox_id) == (True, 1)
    assert (await stored(db, reminder.public_id)).status == MISSED


async def test_several_missed_reminders_make_one_notice_per_room(
    db: Database, clock: FakeClock
) -> None:
    """Two reminders missed in the same room are listed in a single notice."""
    reminders_service = service(db, clock)
    first = await add(reminders_service, OneOff(paris("2026-11-23 11:00")), "Un")
    second = await add(reminders_service, OneOff(paris("2026-11-23 12:00")), "Deux")
    advance_to(clock, paris("2026-11-24 09:00"))
    await service(db, clock).run_due(clock.now())
    (report,) = await posted(db)
    assert report.body.count("\n• ") == 2
    assert first.public_id in report.body and second.public_id in report.body


async def test_recurring_after_days_down_sends_the_latest_and_reports_the_rest(
    db: Database, clock: FakeClock
) -> None:
    """A daily 8:00 reminder, down three days: two reported, today's sent late, then tomorrow's."""
    reminder = await add(service(db, clock), DAILY_8, "Café")
    assert reminder.at == paris("2026-11-24 08:00")
    advance_to(clock, paris("2026-11-26 08:15"))
    await service(db, clock).run_due(clock.now())
    report, late = await posted(db)
    assert report.body.endswith(
        f"• {reminder.public_id} — « Café », prévu 2 fois, "
        "du mardi 24 novembre 2026 à 8 h au mercredi 25 novembre 2026 à 8 h"
    )
    assert late.body == "⏰ Rappel : Café\n(envoyé avec 15 min de retard : le bot était arrêté)"
    handled = [(f.occurrence, f.late, f.missed) for f in await firings(db, reminder)]
    assert handled == [
        (paris("2026-11-24 08:00"), False, True),
        (paris("2026-11-25 08:00"), False, True),
        (paris("2026-11-26 08:00"), True, False),
    ]
    after = await stored(db, reminder.public_id)
    assert (after.status, after.at) == (ACTIVE, paris("2026-11-27 08:00"))


async def test_recurring_missed_beyond_grace_continues_from_the_next_occurrence(
    db: Database, clock: FakeClock
) -> None:
    """Reported occurrences are not sent; the reminder goes on at its next future time."""
    reminder = await add(service(db, clock), DAILY_8, "Café")
    advance_to(clock, paris("2026-11-24 12:00"))
    await service(db, clock).run_due(clock.now())
    assert len(await posted(db)) == 1
    after = await stored(db, reminder.public_id)
    assert (after.status, after.at) == (ACTIVE, paris("2026-11-25 08:00"))


async def test_report_goes_to_the_first_hub_room_when_the_bot_left_the_room(
    db: Database, clock: FakeClock
) -> None:
    """The organisers still hear of a missed reminder whose room the bot is no longer in."""
    reminder = await add(service(db, clock), OneOff(NOW + timedelta(hours=1)), room_id=LEFT)
    advance_to(clock, reminder.at + timedelta(days=1))
    await service(db, clock, rooms=FakeRooms()).run_due(clock.now())
    assert [m.room_id for m in await posted(db)] == [HUB]


async def test_catching_up_twice_reports_once(db: Database, clock: FakeClock) -> None:
    """A second start after the report neither reports nor posts again."""
    await add(service(db, clock), OneOff(NOW + timedelta(hours=1)))
    await add(service(db, clock), OneOff(NOW + timedelta(hours=5)))
    advance_to(clock, NOW + timedelta(hours=5, minutes=30))
    await service(db, clock).run_due(clock.now())
    await service(db, clock).run_due(clock.now())
    report, late = await posted(db)
    assert report.body.startswith("⚠️ Le bot était arrêté")
    assert late.body.startswith("⏰ Rappel : Point équipe\n(envoyé avec 30 min de retard")
