"""The shared scheduler also wakes the agenda's automatic posts: one job, rebuilt at each run."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from bot.scheduling import RETRY, SOURCE_JOB, ReminderScheduler
from bot.storage.db import Database
from tests.fakes import FakeClock
from tests.services.agenda.rig import DARES, paris, poster, store_event_feed
from tests.services.reminders.rig import advance_to, posted, service
from tests.test_scheduling import until

AGENDA_JOB = SOURCE_JOB.format(name="agenda")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(paris("2026-03-10 12:00"))


async def test_the_agenda_gets_one_job_at_its_next_slot(db: Database, clock: FakeClock) -> None:
    """Started on Tuesday noon, the agenda's job wakes at 9:00 Paris the next day."""
    scheduler = ReminderScheduler(service(db, clock), clock, [poster(db, clock)])
    await scheduler.start()
    try:
        assert scheduler.planned_sources == {"agenda": paris("2026-03-11 09:00")}
        assert scheduler.job_ids() == {AGENDA_JOB}
        assert scheduler.planned == {}
    finally:
        await scheduler.stop()


async def test_a_failing_source_is_tried_again_later(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the agenda's run fails, its job is planned a minute later instead of dropped."""
    source = poster(db, clock)

    async def broken(now: datetime) -> int:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(source, "run_due", broken)
    scheduler = ReminderScheduler(service(db, clock), clock, [source])
    await scheduler.start()
    try:
        assert scheduler.planned_sources == {"agenda": clock.now() + RETRY}
    finally:
        await scheduler.stop()


async def test_the_job_wakes_the_poster_which_posts_the_reminder(db: Database) -> None:
    """At 9:00 on 11 March, APScheduler wakes the scheduler and the J-7 reminder is posted once."""
    clock = FakeClock(paris("2026-03-11 09:00") - timedelta(milliseconds=50))
    await store_event_feed(db, clock.now() - timedelta(days=7))
    scheduler = ReminderScheduler(service(db, clock), clock, [poster(db, clock)])
    await scheduler.start()
    try:
        advance_to(clock, paris("2026-03-11 09:00"))

        async def reminded() -> bool:
            bodies = [m.body for m in await posted(db)]
            return len(bodies) == 1 and bodies[0].startswith(f"⏳ Dans 7 jours : {DARES}")

        await until(reminded)
        await until(lambda: _planned(scheduler, paris("2026-03-12 09:00")))
    finally:
        await scheduler.stop()


async def _planned(scheduler: ReminderScheduler, at: datetime) -> bool:
    return scheduler.planned_sources.get("agenda") == at
