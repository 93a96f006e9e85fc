"""The agenda: feed events merged with events organisers add, amend or hide; the latest newsletter.

Organisers' amendments are kept apart from what the feed says and win when an event is shown,
so a feed update never undoes them. Times are stored in UTC and read in the bot's zone.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.errors import NotFound, UsageError
from bot.feeds.eventtime import EventTime
from bot.storage import agenda as store
from bot.storage.agenda import NewEvent, Newsletter, StoredEvent

__all__ = ["Agenda", "AgendaEvent", "Change", "Field", "NewEvent", "Newsletter", "merged"]

log = logging.getLogger(__name__)
MAX_EVENT_DAYS = 60  # an event lasting longer is a mistake; loading reaches this far back


class Field(StrEnum):
    """What an organiser may change on an event."""

    START = "starts_at"
    END = "ends_at"
    PLACE = "place"
    TITLE = "title"
    LINK = "link"


@dataclass(frozen=True)
class Change:
    """One amendment: a text, or a time of day on the event's day, or a full moment (UTC)."""

    field: Field
    text: str | None = None
    clock: time | None = None
    moment: datetime | None = None


@dataclass(frozen=True)
class AgendaEvent:
    """An event as members see it: the feed's facts with the organisers' amendments applied."""

    number: int
    title: str
    link: str | None
    summary: str
    time: EventTime
    manual: bool
    created_at: datetime

    @property
    def start(self) -> datetime:
        return self.time.start

    def finish(self) -> datetime:
        """When the event is over: its end, the end of its day when the time is unknown, or its
        start (a timed event without an end leaves the agenda once it began)."""
        if self.time.end is not None:
            return self.time.end
        return self.start + timedelta(days=1) if not self.time.time_known else self.start


def merged(stored: StoredEvent) -> AgendaEvent | None:
    """The event with its amendments applied; None when organisers hid it."""
    override = stored.override
    time_ = stored.time
    title, link = stored.title, stored.link
    if override is not None:
        if override.hidden:
            return None
        time_ = _amended_time(time_, override.starts_at, override.ends_at, override.place)
        title, link = override.title or title, override.link or link
    return AgendaEvent(
        stored.number, title, link, stored.summary, time_, stored.manual, stored.created_at
    )


def _amended_time(
    base: EventTime, start: datetime | None, end: datetime | None, place: str | None
) -> EventTime:
    """A set start makes a timed, one-day event; an end shows only when after the start."""
    amended = replace(base, place=place or base.place)
    if start is not None:
        amended = EventTime(start, None, all_day=False, time_known=True, place=amended.place)
    if end is not None and end > amended.start:
        amended = replace(amended, end=end, all_day=False, time_known=True)
    return amended


class Agenda:
    """Reads and amends the agenda in the caller's unit of work."""

    def __init__(self, tz: ZoneInfo) -> None:
        self.tz = tz

    async def between(
        self, session: AsyncSession, start: datetime, end: datetime | None
    ) -> list[AgendaEvent]:
        """Events not over at ``start`` that begin before ``end`` (None: no limit), soonest first;
        an event listed by two feeds shows once."""
        stored = await store.events_from(session, start - timedelta(days=MAX_EVENT_DAYS))
        shown = [event for event in map(merged, stored) if event is not None]
        kept = [e for e in shown if e.finish() > start and (end is None or e.start < end)]
        kept.sort(key=lambda event: (event.start, event.number))
        return _distinct(kept)

    async def upcoming(self, session: AsyncSession, now: datetime, days: int) -> list[AgendaEvent]:
        """The events of the next ``days`` days (and those still going on)."""
        return await self.between(session, now, now + timedelta(days=days))

    async def next(self, session: AsyncSession, now: datetime) -> AgendaEvent | None:
        """The next event (or the one going on)."""
        events = await self.between(session, now, None)
        return events[0] if events else None

    async def by_number(self, session: AsyncSession, number: int) -> AgendaEvent:
        """The event numbered ``number``; NotFound when there is none or it is hidden."""
        stored = await store.event(session, number)
        shown = merged(stored) if stored is not None else None
        if shown is None:
            raise NotFound("agenda.unknown_number", number=number)
        return shown

    async def latest_newsletter(self, session: AsyncSession) -> Newsletter | None:
        return await store.latest_newsletter(session)

    async def add(self, session: AsyncSession, new: NewEvent, now: datetime) -> AgendaEvent:
        """Add an event by hand; its number comes back with it."""
        stored = await store.add_manual(session, new, now)
        log.info("event %d added by %s for %s", stored.number, new.author, new.start)
        shown = merged(stored)
        assert shown is not None
        return shown

    async def amend(
        self, session: AsyncSession, number: int, change: Change, author: str, now: datetime
    ) -> AgendaEvent:
        """Apply one amendment, kept across feed updates; the event as now shown."""
        event = await self.by_number(session, number)
        value = self._value(event, change)
        await store.amend(session, number, {str(change.field): value}, author, now)
        log.info("event %d: %s amended by %s", number, change.field, author)
        return await self.by_number(session, number)

    def _value(self, event: AgendaEvent, change: Change) -> object:
        """The stored value of a change; times of day fall on the event's (local) day."""
        if change.field not in (Field.START, Field.END):
            return change.text
        moment = change.moment
        if change.clock is not None:
            day = event.start.astimezone(self.tz).date()
            moment = datetime.combine(day, change.clock, tzinfo=self.tz).astimezone(UTC)
        assert moment is not None
        if change.field is Field.END and moment <= event.start:
            raise UsageError("agenda.end_before_start")
        return moment

    async def remove(
        self, session: AsyncSession, number: int, author: str, now: datetime
    ) -> tuple[AgendaEvent, bool]:
        """Delete an event added by hand, hide a feed event; the event, and whether it was
        deleted."""
        event = await self.by_number(session, number)
        if event.manual:
            await store.delete_event(session, number)
        else:
            await store.amend(session, number, {"hidden": True}, author, now)
        log.info("event %d %s by %s", number, "deleted" if event.manual else "hidden", author)
        return event, event.manual


def _distinct(events: list[AgendaEvent]) -> list[AgendaEvent]:
    """One event per title and start (the site's feeds list some events twice)."""
    seen: set[tuple[str, datetime]] = set()
    kept = []
    for event in events:
        key = (event.title.casefold(), event.start)
        if key not in seen:
            seen.add(key)
            kept.append(event)
    return kept
