"""Reminders: set, list, cancel; fire each occurrence once, late within a grace, or report it.

The database is the truth. ``due_now(now)`` and ``fire(reminder, occurrence, now)`` are the core,
driven by the scheduler in production and by a fake clock in tests; ``run_due(now)`` combines
them with the catch-up rule: after downtime, the newest occurrence missed by less than the grace
is posted with a note saying how late it is, older ones are listed to the organisers, and
recurring reminders go on from their next future occurrence.
"""

from __future__ import annotations

import logging
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import NotFound, UserError
from bot.messages import Audience, Postbox
from bot.services.reminders import times
from bot.services.reminders.texts import ReminderTexts
from bot.services.rooms import RoomDirectory, room_the_bot_is_in
from bot.storage import reminders
from bot.storage.db import Database
from bot.storage.reminders import ACTIVE, CANCELLED, Firing, Listed, NewReminder, Reminder
from bot.when import Schedule

__all__ = ["Draft", "ReminderService", "RoomDirectory"]

log = logging.getLogger(__name__)
Listener = Callable[[Reminder], None]


@dataclass(frozen=True)
class Draft:
    """A reminder as an organiser asked for it."""

    room_id: str
    author: str
    text: str
    schedule: Schedule
    mention_room: bool
    language: str


class ReminderService:
    """Reminders from command to room; ``listener`` hears of every change a command commits."""

    def __init__(
        self,
        db: Database,
        postbox: Postbox,
        clock: Clock,
        *,
        tz: ZoneInfo,
        grace: timedelta,
        language: str,
        rooms: RoomDirectory,
        hub: Audience,
        rng: random.Random | None = None,
    ) -> None:
        self.db = db
        self.postbox = postbox
        self.clock = clock
        self.tz = tz
        self.grace = grace
        self.texts = ReminderTexts(language, times.grace_minutes(grace))
        self.rooms = rooms
        self.hub = hub
        self.rng = rng or secrets.SystemRandom()
        self.listener: Listener | None = None

    # --- what commands ask -----------------------------------------------------------------

    async def target_room(self, reference: str) -> str:
        """The id of a room the bot is in, from an id, an alias or a matrix.to link."""
        return await room_the_bot_is_in(self.rooms, reference)

    async def create(self, session: AsyncSession, draft: Draft, now: datetime) -> Reminder:
        """Store the reminder in the command's unit of work; it is planned once that commits."""
        kind, at, cron = times.first_occurrence(draft.schedule, now, self.tz)
        new = NewReminder(
            public_id=await self._new_public_id(session),
            room_id=draft.room_id,
            author=draft.author,
            text=draft.text,
            kind=kind,
            at=at,
            cron=cron,
            timezone=self.tz.key,
            mention_room=draft.mention_room,
            language=draft.language,
        )
        reminder = await reminders.add(session, new, now)
        log.info("reminder %s set by %s in %s for %s", new.public_id, draft.author, new.room_id, at)
        self._tell_after_commit(session, reminder)
        return reminder

    async def cancel(self, session: AsyncSession, public_id: str) -> Reminder:
        """Cancel an active reminder; NotFound or UserError when there is none to cancel."""
        found = await reminders.by_public_id(session, public_id.lower())
        if found is None:
            raise NotFound("reminders.unknown_id", id=public_id)
        if found.status != ACTIVE:
            raise UserError("reminders.not_active", id=found.public_id)
        await reminders.set_status(session, found.id, CANCELLED)
        cancelled = replace(found, status=CANCELLED)
        log.info("reminder %s cancelled", found.public_id)
        self._tell_after_commit(session, cancelled)
        return cancelled

    async def listing(self, session: AsyncSession) -> list[Listed]:
        """Active reminders, and fired ones whose message is not sent yet."""
        return await reminders.listed(session)

    async def _new_public_id(self, session: AsyncSession) -> str:
        """A short id nobody has: three characters, more when they run short."""
        for attempt in range(30):
            candidate = times.public_id(self.rng, 3 + attempt // 10)
            if not await reminders.public_id_taken(session, candidate):
                return candidate
        raise RuntimeError("no free reminder id")

    def _tell_after_commit(self, session: AsyncSession, reminder: Reminder) -> None:
        listener = self.listener
        if listener is None:
            return

        def tell(_session: object) -> None:
            try:
                listener(reminder)
            except Exception:  # the change is committed; the next rebuild plans it anyway
                log.exception("planning reminder %s failed", reminder.public_id)

        event.listen(session.sync_session, "after_commit", tell, once=True)

    # --- what the scheduler runs -----------------------------------------------------------

    async def active(self) -> list[Reminder]:
        """Every active reminder (the jobs are rebuilt from these)."""
        async with self.db.session() as session:
            return await reminders.active(session)

    async def due_now(self, now: datetime) -> list[Reminder]:
        """Active reminders whose next occurrence is not after ``now``."""
        async with self.db.session() as session:
            return await reminders.due(session, now)

    async def fire(self, reminder: Reminder, occurrence: datetime, now: datetime) -> bool:
        """Post one occurrence in its own unit of work, once; False if it was not due any more."""
        async with self.db.session() as session:
            current = await reminders.locked(session, reminder.id)
            if current is None or current.status != ACTIVE or current.at > occurrence:
                return False
            message = self.texts.post(current, occurrence, now)
            key = f"reminder:{current.id}:{occurrence.isoformat()}"
            outbox_id = await self.postbox.post(session, message, dedupe_key=key)
            late = times.is_late(occurrence, now)
            firing = Firing(current.id, occurrence, outbox_id, now, late, missed=False)
            if not await reminders.record_firing(session, firing):
                return False
            at, status = times.after_firing(current, max(occurrence, now))
            fired = (now, outbox_id)
            await reminders.advance(session, current.id, at=at, status=status, fired=fired)
        log.info(
            "reminder %s fired for %s in %s (outbox %s, late %s)",
            current.public_id, occurrence, current.room_id, outbox_id, late,
        )  # fmt: skip
        return True

    async def run_due(self, now: datetime) -> int:
        """Post, post late or report every due reminder; return how many were due."""
        plans = [times.catch_up(r, now, self.grace) for r in await self.due_now(now)]
        if any(plan.missed for plan in plans):
            await self._report_missed(plans, now)
        for plan in plans:
            if plan.send is not None:
                await self._fire_guarded(plan.reminder, plan.send, now)
        return len(plans)

    async def _fire_guarded(self, reminder: Reminder, occurrence: datetime, now: datetime) -> None:
        """One reminder's failure must not keep the others from firing."""
        try:
            await self.fire(reminder, occurrence, now)
        except Exception:
            log.exception("reminder %s failed to fire for %s", reminder.public_id, occurrence)

    async def _report_missed(self, plans: list[times.CatchUp], now: datetime) -> None:
        """Record the occurrences missed beyond the grace and tell the organisers, in one unit."""
        async with self.db.session() as session:
            kept = [p for p in plans if p.missed and await self._unchanged(session, p.reminder)]
            by_room: dict[str, list[times.CatchUp]] = {}
            for plan in kept:
                by_room.setdefault(self._report_room(plan.reminder.room_id), []).append(plan)
            for room_id, group in by_room.items():
                outbox_id = await self.postbox.post(session, self.texts.missed(room_id, group))
                for plan in group:
                    await self._record_missed(session, plan, outbox_id, now)
        for plan in kept:
            log.warning(
                "reminder %s missed %d occurrence(s) beyond the grace; reported",
                plan.reminder.public_id, len(plan.missed),
            )  # fmt: skip

    async def _unchanged(self, session: AsyncSession, reminder: Reminder) -> bool:
        current = await reminders.locked(session, reminder.id)
        return current is not None and current.status == ACTIVE and current.at == reminder.at

    async def _record_missed(
        self, session: AsyncSession, plan: times.CatchUp, outbox_id: int, now: datetime
    ) -> None:
        reminder = plan.reminder
        for occurrence in plan.missed:
            firing = Firing(reminder.id, occurrence, outbox_id, now, late=False, missed=True)
            await reminders.record_firing(session, firing)
        if plan.send is None:  # otherwise fire() moves the reminder on
            at, status = times.after_missing(reminder, now)
            await reminders.advance(session, reminder.id, at=at, status=status)

    def _report_room(self, room_id: str) -> str:
        """The reminder's room, or the hub's first room when the bot has left it."""
        if self.rooms.joined(room_id):
            return room_id
        hub = list(self.hub.rooms)
        return hub[0] if hub else room_id
