"""The reminder scheduler: jobs rebuilt from the database, catch-up at start, wake-ups, retries."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest

from bot.scheduling import JOB_PREFIX, RETRY, RETRY_JOB, ReminderScheduler
from bot.services.reminders import ReminderService
from bot.storage.db import Database
from bot.when import OneOff, Recurring
from tests.fakes import FakeClock
from tests.polling import until as bounded
from tests.services.reminders.rig import NOW, add, advance_to, posted, service

WEEKLY = Recurring({"day_of_week": "mon", "hour": "9", "minute": "0"})


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
async def started(db: Database, clock: FakeClock) -> AsyncIterator[ReminderScheduler]:
    """A scheduler over a fresh service, as the app starts it; stopped at the end."""
    scheduler = ReminderScheduler(service(db, clock), clock)
    await scheduler.start()
    try:
        yield scheduler
    finally:
        await scheduler.stop()


async def until(condition: Callable[[], Awaitable[bool]], timeout: float = 5) -> None:
    """A bounded poll: the event loop runs APScheduler's wake-up and the service's unit of work."""
    await bounded(condition, timeout)


async def test_start_rebuilds_one_job_per_active_reminder(db: Database, clock: FakeClock) -> None:
    """A new process finds the reminders of the previous one in the database and plans them."""
    before = service(db, clock)
    weekly = await add(before, WEEKLY)
    tomorrow = await add(before, OneOff(NOW + timedelta(days=1)))
    cancelled = await add(before, OneOff(NOW + timedelta(days=2)))
    async with db.session() as session:
        await before.cancel(session, cancelled.public_id)
    scheduler = ReminderScheduler(service(db, clock), clock)
    await scheduler.start()
    try:
        assert scheduler.planned == {weekly.public_id: weekly.at, tomorrow.public_id: tomorrow.at}
        assert scheduler.job_ids() == {
            JOB_PREFIX + weekly.public_id,
            JOB_PREFIX + tomorrow.public_id,
        }
    finally:
        await scheduler.stop()


async def test_start_sends_what_fell_due_while_stopped(db: Database, clock: FakeClock) -> None:
    """At start, a reminder due ten minutes ago is sent late at once and needs no job."""
    reminder = await add(service(db, clock), OneOff(NOW + timedelta(hours=1)), "Café")
    advance_to(clock, reminder.at + timedelta(minutes=10))
    scheduler = ReminderScheduler(service(db, clock), clock)
    await scheduler.start()
    try:
        assert [m.body for m in await posted(db)] == [
            "⏰ Rappel : Café\n(envoyé avec 10 min de retard : le bot était arrêté)"
        ]
        assert scheduler.planned == {}
    finally:
        await scheduler.stop()


async def test_commands_plan_and_cancel_jobs_once_committed(
    db: Database, started: ReminderScheduler
) -> None:
    """A reminder set by command gets its job on commit; cancelling it removes the job."""
    reminders_service = started.service
    reminder = await add(reminders_service, OneOff(NOW + timedelta(hours=3)))
    assert started.planned == {reminder.public_id: reminder.at}
    async with db.session() as session:
        await reminders_service.cancel(session, reminder.public_id)
    assert started.planned == {} and started.job_ids() == set()


async def test_a_due_job_wakes_the_service_which_posts_the_reminder(
    db: Database, clock: FakeClock, started: ReminderScheduler
) -> None:
    """When its job comes due, APScheduler wakes the service and the reminder is posted once."""
    reminder = await add(started.service, OneOff(NOW + timedelta(hours=3)), "Réunion")
    advance_to(clock, reminder.at)
    started.changed(reminder)  # planned again now that our clock says it is due: wakes at once

    async def posted_once_and_done() -> bool:
        bodies = [m.body for m in await posted(db)]
        return bodies == ["⏰ Rappel : Réunion"] and started.planned == {}

    await until(posted_once_and_done)
    assert started.job_ids() == set()


async def test_a_failed_run_is_tried_again_later(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the database fails during a run, a retry job is planned instead of giving up."""
    reminders_service = service(db, clock)
    reminder = await add(reminders_service, OneOff(NOW + timedelta(hours=1)))
    advance_to(clock, reminder.at)

    async def broken(now: object) -> int:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(reminders_service, "run_due", broken)
    scheduler = ReminderScheduler(reminders_service, clock)
    await scheduler.start()
    try:
        assert scheduler.job_ids() == {RETRY_JOB}
        monkeypatch.undo()
        await scheduler.run_now()
        assert len(await posted(db)) == 1
    finally:
        await scheduler.stop()


async def test_a_reminder_still_due_after_a_run_is_retried(
    db: Database, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A reminder whose firing failed stays active and gets a job a minute later."""
    reminders_service: ReminderService = service(db, clock)
    reminder = await add(reminders_service, OneOff(NOW + timedelta(hours=1)))
    advance_to(clock, reminder.at)

    async def failing_fire(*args: object) -> bool:
        raise ConnectionError("database unreachable")

    monkeypatch.setattr(reminders_service, "fire", failing_fire)
    scheduler = ReminderScheduler(reminders_service, clock)
    await scheduler.start()
    try:
        assert scheduler.planned == {reminder.public_id: clock.now() + RETRY}
    finally:
        await scheduler.stop()


async def test_stopping_detaches_the_scheduler(db: Database, clock: FakeClock) -> None:
    """After stop, commands no longer plan jobs and APScheduler is shut down."""
    scheduler = ReminderScheduler(service(db, clock), clock)
    await scheduler.start()
    await scheduler.stop()
    assert scheduler.service.listener is None
    await add(scheduler.service, OneOff(NOW + timedelta(hours=1)))
    assert scheduler.planned == {}
