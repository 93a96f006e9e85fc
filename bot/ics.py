"""The agenda as an iCalendar feed (RFC 5545) that calendar clients subscribe to.

Writing, escaping and folding are the ``icalendar`` package's; the time zone definition is built
here from the zone database, one observance per change of offset in the calendar's window, so it
is exact for the dates the feed holds (``icalendar``'s own generator writes its daylight-saving
onsets an hour late). Timed events carry ``TZID``; events on a day whose time is not known yet,
and multi-day events, are all-day events. RFC 5545 allows no control character in a text
value: text is cleaned where it enters the bot, and once more here for rows stored before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from bot import __version__
from bot.services.agenda import AgendaEvent
from bot.untrusted import clean_text

if TYPE_CHECKING:
    from icalendar import Component, Event, Timezone

PRODID = f"-//SSP Hub//ssphub-bot {__version__}//FR"
REFRESH = timedelta(hours=1)
DAYS_BACK, DAYS_AHEAD = 30, 90
MARGIN = timedelta(days=2)  # the zone's definition reaches a little past the events


@dataclass(frozen=True)
class CalendarInfo:
    """What the whole calendar needs: its zone, name, the UIDs' domain, and when it is made."""

    tz: ZoneInfo
    name: str
    domain: str
    now: datetime
    time_unknown: Callable[[str], str]  # a title -> "<title> (horaire à préciser)"


def window(now: datetime) -> tuple[datetime, datetime]:
    """The events a calendar holds: those of the last 30 days and the next 90."""
    return now - timedelta(days=DAYS_BACK), now + timedelta(days=DAYS_AHEAD)


def agenda_calendar(events: Iterable[AgendaEvent], info: CalendarInfo) -> bytes:
    """The iCalendar document: a VTIMEZONE for ``info.tz``, then one VEVENT per event."""
    from icalendar import Calendar

    events = list(events)
    calendar = Calendar()
    for name, value in _calendar_properties(info):
        calendar.add(name, value)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})  # RFC 7986
    start, end = _span(events, info.now)
    calendar.add_component(zone_definition(info.tz, start, end))
    for event in events:
        calendar.add_component(vevent(event, info))
    return bytes(calendar.to_ical())


def _calendar_properties(info: CalendarInfo) -> list[tuple[str, object]]:
    return [
        ("prodid", PRODID),
        ("version", "2.0"),
        ("calscale", "GREGORIAN"),
        ("method", "PUBLISH"),
        ("name", info.name),
        ("x-wr-calname", info.name),
        ("x-wr-timezone", info.tz.key),
        ("x-published-ttl", "PT1H"),  # an x-property: icalendar writes it as text
    ]


def _span(events: list[AgendaEvent], now: datetime) -> tuple[datetime, datetime]:
    """From the earliest moment the calendar mentions to the latest, with a margin."""
    first, last = window(now)
    starts = [event.start for event in events] + [first]
    ends = [event.time.end or event.start for event in events] + [last]
    return min(starts) - MARGIN, max(ends) + MARGIN


def vevent(event: AgendaEvent, info: CalendarInfo) -> Event:
    """One event: stable UID, times in the zone (or whole days), title, place, link, summary."""
    from icalendar import Event

    component = Event()
    component.add("uid", f"event-{event.number}@{info.domain}")
    component.add("dtstamp", info.now.astimezone(UTC))
    component.add("transp", "TRANSPARENT")  # a community agenda never makes anyone look busy
    unknown = not event.time.time_known and not event.time.all_day
    title = info.time_unknown(event.title) if unknown else event.title
    component.add("summary", clean_text(title))
    for name, value in _times(event, info.tz):
        component.add(name, value)
    if event.time.place:
        component.add("location", clean_text(event.time.place))
    if event.link:
        component.add("url", clean_text(event.link))
    description = "\n\n".join(part for part in (event.summary.strip(), event.link) if part)
    if description:
        component.add("description", clean_text(description))
    return component


def _times(event: AgendaEvent, tz: ZoneInfo) -> list[tuple[str, datetime | date]]:
    """DTSTART and DTEND: local times with the zone, or dates (DTEND exclusive)."""
    start, end = event.start.astimezone(tz), event.time.end
    if event.time.time_known and not event.time.all_day:
        times: list[tuple[str, datetime | date]] = [("dtstart", start)]
        if end is not None and end > event.start:
            times.append(("dtend", end.astimezone(tz)))
        return times
    first = start.date()
    last = end.astimezone(tz).date() if end is not None else first + timedelta(days=1)
    return [("dtstart", first), ("dtend", max(last, first + timedelta(days=1)))]


def zone_definition(tz: ZoneInfo, start: datetime, end: datetime) -> Timezone:
    """A VTIMEZONE for ``tz``, exact from ``start`` to ``end``: the offset in force at
    ``start``, then one observance per change of offset."""
    from icalendar import Timezone

    zone = Timezone()
    zone.add("tzid", tz.key)
    first = start.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
    start = first.astimezone(UTC)
    zone.add_component(_observance(tz, start.astimezone(UTC), first.utcoffset(), local=first))
    for moment in offset_changes(tz, start, end):
        before = (moment - timedelta(seconds=1)).astimezone(tz).utcoffset()
        zone.add_component(_observance(tz, moment, before))
    return zone


def _observance(
    tz: ZoneInfo, moment: datetime, before: timedelta | None, local: datetime | None = None
) -> Component:
    """The STANDARD or DAYLIGHT part starting at ``moment`` (UTC); its DTSTART is the local
    time just before the change, as RFC 5545 wants."""
    from icalendar.cal import TimezoneDaylight, TimezoneStandard

    after = moment.astimezone(tz)
    offset_before = before if before is not None else after.utcoffset()
    assert offset_before is not None
    part = TimezoneDaylight() if after.dst() else TimezoneStandard()
    onset = local if local is not None else moment + offset_before
    part.add("dtstart", onset.replace(tzinfo=None, microsecond=0))
    part.add("tzoffsetfrom", offset_before)
    part.add("tzoffsetto", after.utcoffset())
    part.add("tzname", after.tzname())
    return part


def offset_changes(tz: ZoneInfo, start: datetime, end: datetime) -> Iterator[datetime]:
    """The UTC moments, to the minute, when ``tz`` changes its offset between the two."""
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour < end:
        following = hour + timedelta(hours=1)
        if _offset(tz, hour) != _offset(tz, following):
            yield next(
                minute
                for minute in (hour + timedelta(minutes=m) for m in range(1, 61))
                if _offset(tz, minute) != _offset(tz, hour)
            )
        hour = following


def _offset(tz: ZoneInfo, moment: datetime) -> timedelta | None:
    return moment.astimezone(tz).utcoffset()
