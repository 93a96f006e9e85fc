"""APScheduler wiring for reminders and other timed work: jobs only wake the services; the
database stays the truth."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from bot.clock import Clock, SystemClock
from bot.services.reminders import ReminderService
from bot.storage.reminders import ACTIVE, Reminder
from bot.supervise import TaskSet

if TYPE_CHECKING:
    from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

RETRY = timedelta(seconds=60)
"""Wait before trying again a reminder that was due but could not be handled."""

JOB_PREFIX = "reminder:"
RETRY_JOB = "reminders:retry"
SOURCE_JOB = "{name}:next"


class Timed(Protocol):
    """More timed work the scheduler wakes (the agenda's automatic posts): it handles what is
    due, from the database, and says when it is next due."""

    name: str

    async def run_due(self, now: datetime) -> int: ...

    async def next_due(self, now: datetime) -> datetime | None: ...


class ReminderScheduler:
    """Wakes the reminder service when a reminder is due; built and started by ``App.start``.

    Every run handles what is due, then makes the jobs match the active reminders in the
    database, so a lost or stale job costs at most a delay, never a reminder. Each of the
    ``sources`` is run too, and keeps one job at the moment it says it is next due.
    """

    def __init__(
        self, service: ReminderService, clock: Clock, sources: Sequence[Timed] = ()
    ) -> None:
        self.service = service
        self.clock = clock
        self.sources = tuple(sources)
        self.planned_sources: dict[str, datetime] = {}
        """Source name -> when its job wakes the scheduler, on the service's clock."""
        self._real = SystemClock()  # APScheduler waits on the real clock, whatever ours says
        self._scheduler: AsyncIOScheduler | None = None
        self._lock = asyncio.Lock()
        self._tasks = TaskSet()
        self._stopping = False
        self.planned: dict[str, datetime] = {}
        """Public id -> when its job wakes the service, on the service's clock."""

    async def start(self) -> None:
        """Start APScheduler, catch up on what fell due while stopped, and plan the rest."""
        from apscheduler.schedulers.asyncio import AsyncIOScheduler  # at start, not at import

        self._scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"misfire_grace_time": None, "coalesce": True, "max_instances": 1},
        )
        self._scheduler.start()
        self.service.listener = self.changed
        await self.run_now()

    async def stop(self) -> None:
        """No new runs; a run under way may finish its unit of work."""
        self._stopping = True
        self.service.listener = None
        if self._scheduler is not None and self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        await self._tasks.drain(timeout=10)

    def job_ids(self) -> set[str]:
        """The jobs APScheduler holds."""
        return {job.id for job in self._scheduler.get_jobs()} if self._scheduler else set()

    async def run_now(self) -> None:
        """Handle every due reminder, then rebuild the jobs from the database."""
        async with self._lock:
            now = self.clock.now()
            try:
                await self.service.run_due(now)
                await self._rebuild(now)
            except Exception:
                log.exception("reminder run failed; next try in %s", RETRY)
                self._add(RETRY_JOB, now + RETRY)
            for source in self.sources:
                await self._run_source(source, now)

    async def _run_source(self, source: Timed, now: datetime) -> None:
        """Run one source and plan its next wake-up; a failure is tried again later."""
        try:
            await source.run_due(now)
            at = await source.next_due(now)
        except Exception:
            log.exception("%s run failed; next try in %s", source.name, RETRY)
            at = now + RETRY
        job_id = SOURCE_JOB.format(name=source.name)
        if at is None:
            self.planned_sources.pop(source.name, None)
            if self._scheduler is not None and self._scheduler.get_job(job_id):
                self._scheduler.remove_job(job_id)
            return
        self._add(job_id, at)
        self.planned_sources[source.name] = at

    def changed(self, reminder: Reminder) -> None:
        """A command committed a new or cancelled reminder (the service's listener)."""
        if self._scheduler is None:
            return
        if reminder.status == ACTIVE:
            self._plan(reminder, due_by=None)
        else:
            self._unplan(reminder.public_id)

    async def _rebuild(self, now: datetime) -> None:
        active = await self.service.active()
        for public_id in set(self.planned) - {r.public_id for r in active}:
            self._unplan(public_id)
        for reminder in active:
            self._plan(reminder, due_by=now)

    def _plan(self, reminder: Reminder, *, due_by: datetime | None) -> None:
        """A job at the reminder's time; one still due after a run is tried again later."""
        at = reminder.at
        if due_by is not None and at <= due_by:
            at = due_by + RETRY
        self._add(JOB_PREFIX + reminder.public_id, at)
        self.planned[reminder.public_id] = at

    def _add(self, job_id: str, at: datetime) -> None:
        from apscheduler.triggers.date import DateTrigger

        assert self._scheduler is not None
        run_date = self._real.now() + (at - self.clock.now())
        trigger = DateTrigger(run_date=run_date, timezone=UTC)
        self._scheduler.add_job(self._wake, trigger, id=job_id, replace_existing=True)

    def _unplan(self, public_id: str) -> None:
        self.planned.pop(public_id, None)
        if self._scheduler is not None and self._scheduler.get_job(JOB_PREFIX + public_id):
            self._scheduler.remove_job(JOB_PREFIX + public_id)

    async def _wake(self) -> None:
        """The APScheduler job: the run goes to a supervised task that stopping waits for."""
        if not self._stopping:
            self._tasks.spawn(self.run_now(), name="reminders")
