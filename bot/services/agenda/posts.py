"""Automatic agenda posts: reminders before each event and the weekly digest, each exactly once.

The scheduler (``bot.scheduling``) wakes ``run_due`` at each slot. The database is the truth:
a watermark says up to when every slot was handled, and each post is recorded with its outbox
row in one unit of work. After a downtime, a slot missed by less than the grace is posted late
with a note; older ones are listed to the organisers and logged, never dropped silently.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import AgendaConfig, Config
from bot.i18n import catalogue
from bot.messages import Audience, Message, Postbox
from bot.services.agenda import slots
from bot.services.agenda.service import Agenda
from bot.services.agenda.slots import Slot
from bot.services.agenda.texts import AgendaTexts
from bot.services.reminders import times
from bot.storage import autoposts
from bot.storage.autoposts import AutoPost
from bot.storage.db import Database

log = logging.getLogger(__name__)


class AgendaPoster:
    """Posts what is due; ``name`` identifies its job in the scheduler."""

    name = "agenda"

    def __init__(
        self,
        db: Database,
        postbox: Postbox,
        agenda: Agenda,
        config: AgendaConfig,
        *,
        tz: ZoneInfo,
        language: str,
        grace: timedelta,
        audience: Audience,
    ) -> None:
        self.db = db
        self.postbox = postbox
        self.agenda = agenda
        self.config = config
        self.tz = tz
        self.grace = grace
        self.audience = audience
        self.texts = AgendaTexts(catalogue(language), tz)

    @classmethod
    def from_config(
        cls,
        config: Config,
        db: Database,
        postbox: Postbox,
        agenda: Agenda,
        audience: Audience,
    ) -> AgendaPoster:
        """The poster of the configuration's ``agenda`` section; the reminders' grace unless
        the section sets its own."""
        grace = config.agenda.misfire_grace_seconds
        if grace is None:
            grace = config.reminders.misfire_grace_seconds
        return cls(
            db, postbox, agenda, config.agenda, tz=config.tz, language=config.language,
            grace=timedelta(seconds=grace), audience=audience,
        )  # fmt: skip

    async def next_due(self, now: datetime) -> datetime | None:
        """When to wake next (None when every automatic post is turned off)."""
        return slots.next_wake(now, self.config, self.tz)

    async def run_due(self, now: datetime) -> int:
        """Post, post late or report every slot due since the last run; how many were due."""
        async with self.db.session() as session:
            since = await autoposts.watermark(session)
            if since is None:  # first run ever: nothing before it was owed
                await autoposts.set_watermark(session, now)
                return 0
            due = await self.due(session, since, now)
        plan = slots.catch_up(due, now, self.grace)
        if plan.missed:
            await self._report(plan.missed, now)
        for slot in plan.send:
            await self._post(slot, now)
        async with self.db.session() as session:
            await autoposts.set_watermark(session, max(since, now))
        return len(due)

    async def due(self, session: AsyncSession, since: datetime, now: datetime) -> list[Slot]:
        """Slots in (``since``, ``now``] not handled yet."""
        found: list[Slot] = []
        if self.config.digest.enabled:
            found += slots.digest_slots(self.config.digest, self.tz, since, now)
        if self.config.event_reminders.enabled:
            events = await self.agenda.between(session, since, None)
            found += slots.reminder_slots(events, self.config, self.tz, since, now)
        done = await autoposts.handled(session, [(slot.kind, slot.subject) for slot in found])
        return [slot for slot in found if (slot.kind, slot.subject) not in done]

    async def _post(self, slot: Slot, now: datetime) -> None:
        """Post one slot to every announcement room, in one unit of work with its records."""
        late = times.late_minutes(slot.at, now) if times.is_late(slot.at, now) else 0
        async with self.db.session() as session:
            messages = await self._messages(session, slot, now, self.texts.late(late))
            for message in messages:
                key = f"agenda:{slot.kind}:{slot.subject}:{message.room_id}"
                outbox_id = await self.postbox.post(session, message, dedupe_key=key)
                room = message.room_id
                post = AutoPost(
                    slot.kind, slot.subject, room, slot.at, outbox_id, now, late=late > 0
                )
                await autoposts.record(session, post)
        log.info(
            "agenda %s %s posted to %d room(s) (late %d min)",
            slot.kind, slot.subject, len(messages), late,
        )  # fmt: skip

    async def _messages(
        self, session: AsyncSession, slot: Slot, now: datetime, late: str
    ) -> list[Message]:
        """The slot's message for each room; none for an empty digest (skipped)."""
        rooms = list(self.audience.rooms)
        if slot.event is not None:
            return [self.texts.reminder(room, slot.event, slot.days, late) for room in rooms]
        days = self.config.digest.days_ahead
        events = await self.agenda.between(session, now, slot.at + timedelta(days=days))
        if not events:
            log.info("agenda digest %s skipped: no event in the next %d days", slot.subject, days)
            return []
        return [self.texts.digest(room, events, days, slot.at, late) for room in rooms]

    async def _report(self, missed: Sequence[Slot], now: datetime) -> None:
        """Record the slots missed beyond the grace and tell the organisers, in one unit."""
        async with self.db.session() as session:
            lines = [line for slot in missed if (line := await self._missed_line(session, slot))]
            for room in self.audience.organisers:
                outbox_id = None
                if lines:
                    notice = self.texts.missed(room, times.grace_minutes(self.grace), lines)
                    key = f"agenda:missed:{now.isoformat()}:{room}"
                    outbox_id = await self.postbox.post(session, notice, dedupe_key=key)
                for slot in missed:
                    post = AutoPost(
                        slot.kind, slot.subject, room, slot.at, outbox_id, now, missed=True
                    )
                    await autoposts.record(session, post)
        for slot in missed:
            log.warning(
                "agenda %s %s due %s missed beyond the grace; reported to the organisers",
                slot.kind, slot.subject, slot.at,
            )  # fmt: skip

    async def _missed_line(self, session: AsyncSession, slot: Slot) -> str | None:
        """The notice's line for one slot; an empty digest was no loss and gets none."""
        if slot.event is not None:
            return self.texts.missed_reminder(slot.event, slot.days, slot.at)
        days = self.config.digest.days_ahead
        events = await self.agenda.between(session, slot.at, slot.at + timedelta(days=days))
        return self.texts.missed_digest(slot.at) if events else None
