"""Automatic agenda posts: event reminders and the weekly digest, once each, late or reported."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest

from bot.config import AgendaConfig, DigestConfig, EventRemindersConfig
from bot.services.agenda import Agenda
from bot.storage import autoposts
from bot.storage.db import Database
from tests.fakes import FakeClock
from tests.services.agenda.rig import (
    DARES,
    HUB,
    NOW,
    ORGA,
    ORGANISER,
    PARIS,
    add_event,
    paris,
    poster,
    run_through,
    store_event_feed,
)
from tests.services.reminders.rig import advance_to, posted

REMINDERS_ONLY = AgendaConfig(digest=DigestConfig(enabled=False))
DIGEST_ONLY = AgendaConfig(event_reminders=EventRemindersConfig(enabled=False))
DARES_LINK = "https://ssphub.netlify.app/event/2026-03-dares-conventions-collectives/"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


async def recorded(db: Database) -> list[tuple[str, str, str, bool, bool]]:
    """Every automatic post recorded: kind, subject, room, late, missed."""
    async with db.session() as session:
        found = await autoposts.all_posts(session)
    return [(p.kind, p.subject, p.room_id, p.late, p.missed) for p in found]


async def test_the_first_run_owes_nothing(db: Database, clock: FakeClock) -> None:
    """Started on a Monday at 10:00 for the first time, the bot does not send that 9:00 digest."""
    await store_event_feed(db)
    assert await poster(db, clock).run_due(clock.now()) == 0
    assert await posted(db) == []
    async with db.session() as session:
        assert await autoposts.watermark(session) == NOW


async def test_reminders_seven_days_and_one_day_before_each_event(
    db: Database, clock: FakeClock
) -> None:
    """The 18 March event of the real feed is recalled on the 11th and the 17th at 9:00."""
    await store_event_feed(db)
    await run_through(poster(db, clock, REMINDERS_ONLY), clock, paris("2026-03-18 12:00"))
    first, second = await posted(db)
    assert first.body == (
        f"⏳ Dans 7 jours : {DARES} — mercredi 18 mars 2026, horaire à préciser\n🔗 {DARES_LINK}"
    )
    assert second.body.startswith(f"⏳ Demain : {DARES} — mercredi 18 mars 2026")
    assert (first.room_id, first.mentions) == (HUB, {"user_ids": []})
    assert await recorded(db) == [
        ("reminder_7d", "3", HUB, False, False),
        ("reminder_1d", "3", HUB, False, False),
    ]


async def test_each_post_happens_once_even_when_a_restart_lost_the_watermark(
    db: Database, clock: FakeClock
) -> None:
    """A new process that re-examines the J-7 slot finds it recorded and posts nothing again."""
    await store_event_feed(db)
    await run_through(poster(db, clock, REMINDERS_ONLY), clock, paris("2026-03-11 09:00"))
    assert len(await posted(db)) == 1
    async with db.session() as session:
        await autoposts.set_watermark(session, paris("2026-03-11 08:00"))
    advance_to(clock, paris("2026-03-11 09:05"))
    await poster(db, clock, REMINDERS_ONLY).run_due(clock.now())
    assert len(await posted(db)) == 1


async def test_the_digest_lists_the_next_fourteen_days_on_monday(
    db: Database, clock: FakeClock
) -> None:
    """On Monday 9 March the digest shows the 18 March event, in the compact form of !agenda."""
    await store_event_feed(db)
    await run_through(poster(db, clock, DIGEST_ONLY), clock, paris("2026-03-09 12:00"))
    (digest,) = await posted(db)
    assert digest.body == (
        "🗓️ Au programme des 14 prochains jours (heure de Paris) :\n"
        f"• n°3 — mercredi 18 mars, horaire à préciser — {DARES} — {DARES_LINK}"
    )
    assert await recorded(db) == [("digest", "2026-W11", HUB, False, False)]


async def test_an_empty_digest_is_skipped(db: Database, clock: FakeClock) -> None:
    """The Mondays of 23 and 30 March have nothing in their next 14 days: no message then."""
    await store_event_feed(db)
    target = poster(db, clock, DIGEST_ONLY)
    await run_through(target, clock, paris("2026-03-22 12:00"))
    weeks = [subject for _, subject, _, _, _ in await recorded(db)]
    assert weeks == ["2026-W11", "2026-W12"]
    count = len(await posted(db))
    await run_through(target, clock, paris("2026-04-05 12:00"))
    assert len(await posted(db)) == count
    assert [subject for _, subject, _, _, _ in await recorded(db)] == weeks


@pytest.mark.parametrize(
    ("start", "end", "utc_hours"),
    [
        ("2026-03-20 00:00", "2026-04-01 00:00", [8, 7]),
        ("2026-10-18 00:00", "2026-10-27 00:00", [7, 8]),
    ],
    ids=["spring", "autumn"],
)
async def test_the_digest_comes_at_nine_in_paris_across_dst(
    db: Database, clock: FakeClock, start: str, end: str, utc_hours: list[int]
) -> None:
    """Run as the scheduler wakes it, the digest is posted at 9:00 Paris on both Mondays."""
    advance_to(clock, paris(start))
    await add_event(db, "Atelier", paris(start) + timedelta(days=3), now=clock.now())
    await add_event(db, "Séminaire", paris(start) + timedelta(days=12), now=clock.now())
    await run_through(poster(db, clock, DIGEST_ONLY), clock, paris(end))
    async with db.session() as session:
        slots = [post.slot for post in await autoposts.all_posts(session)]
    assert [slot.hour for slot in slots] == utc_hours
    assert {slot.astimezone(PARIS).strftime("%a %H:%M") for slot in slots} == {"Mon 09:00"}
    assert len(await posted(db)) == 2


async def test_a_digest_missed_within_the_grace_is_sent_late_with_a_note(
    db: Database, clock: FakeClock
) -> None:
    """Down from Sunday to Monday 9:20, the bot posts the digest saying it is 20 minutes late."""
    await store_event_feed(db)
    await poster(db, clock, DIGEST_ONLY).run_due(clock.now())
    advance_to(clock, paris("2026-03-09 09:20"))
    await poster(db, clock, DIGEST_ONLY).run_due(clock.now())
    (digest,) = await posted(db)
    assert digest.body.endswith("\n(envoyé avec 20 min de retard : le bot était arrêté)")
    assert await recorded(db) == [("digest", "2026-W11", HUB, True, False)]


async def test_posts_missed_beyond_the_grace_are_reported_to_the_organisers(
    db: Database, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Down from 10 to 17 March 9:10: J-1 is sent late; J-7 and a digest are reported, logged."""
    await store_event_feed(db)
    await run_through(poster(db, clock), clock, paris("2026-03-10 12:00"))
    before = len(await posted(db))
    advance_to(clock, paris("2026-03-17 09:10"))
    with caplog.at_level(logging.WARNING):
        await poster(db, clock).run_due(clock.now())
    report, late = (await posted(db))[before:]
    assert report.room_id == ORGA and late.room_id == HUB
    assert report.body == (
        "⚠️ Le bot était arrêté : ces annonces automatiques de l’agenda n’ont pas été envoyées, "
        "leur heure étant passée de plus de 60 min :\n"
        f"• le rappel J-7 de « {DARES} » (n°3), prévu le mercredi 11 mars 2026 à 9 h 00\n"
        "• le récapitulatif de la semaine, prévu le lundi 16 mars 2026 à 9 h 00"
    )
    assert late.body.startswith(f"⏳ Demain : {DARES}")
    assert late.body.endswith("(envoyé avec 10 min de retard : le bot était arrêté)")
    missed = [(kind, room) for kind, _, room, _, gone in await recorded(db) if gone]
    assert sorted(missed) == [("digest", ORGA), ("reminder_7d", ORGA)]
    assert "reminder_7d 3 due" in caplog.text and "missed beyond the grace" in caplog.text


async def test_an_event_published_after_its_reminder_time_is_not_a_miss(
    db: Database, clock: FakeClock
) -> None:
    """Added on 12 March for the 18th, an event gets its J-1 but no J-7 and no report."""
    await poster(db, clock, REMINDERS_ONLY).run_due(clock.now())
    advance_to(clock, paris("2026-03-12 10:00"))
    await add_event(db, "Café R", paris("2026-03-18 12:00"), now=clock.now())
    await run_through(poster(db, clock, REMINDERS_ONLY), clock, paris("2026-03-18 10:00"))
    (reminder,) = await posted(db)
    assert reminder.body.startswith("⏳ Demain : Café R — mercredi 18 mars 2026, 12 h")


async def test_a_hidden_event_gets_no_reminder(db: Database, clock: FakeClock) -> None:
    """An event organisers removed from the agenda is not recalled."""
    await store_event_feed(db)
    async with db.session() as session:
        await Agenda(PARIS).remove(session, 3, ORGANISER, NOW)
    await run_through(poster(db, clock, REMINDERS_ONLY), clock, paris("2026-03-18 10:00"))
    assert await posted(db) == []


async def test_everything_can_be_turned_off(db: Database, clock: FakeClock) -> None:
    """With reminders and digest disabled, the poster never wakes and never posts."""
    await store_event_feed(db)
    off = AgendaConfig(
        event_reminders=EventRemindersConfig(enabled=False), digest=DigestConfig(enabled=False)
    )
    target = poster(db, clock, off)
    assert await target.next_due(clock.now()) is None
    await target.run_due(clock.now())
    advance_to(clock, paris("2026-03-17 09:00"))
    await target.run_due(clock.now())
    assert await posted(db) == []
