"""When and where a hub event happens, from its pubDate and the French text describing it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.feeds.text import html_to_text

# Times are looked for in the title and the start of the description, where pages state them;
# deeper down a page's programme ("9h30 : accueil") would mislead.
TEXT_CHARS = 2000
MAX_SPAN_DAYS = 7  # "du 1er au 30 juin" is a period (registrations), not a multi-day event
EARLIEST_HOUR = 6  # "1h30" is a duration, not a start
ONLINE = "En ligne"

_HOUR = r"(?:[01]?\d|2[0-3])"
_MINUTE = r"[0-5]\d"
_DASH = r"(?:-|–|—|à|a)"
_MONTHS = {
    "janvier": 1, "février": 2, "fevrier": 2, "mars": 3, "avril": 4, "mai": 5, "juin": 6,
    "juillet": 7, "août": 8, "aout": 8, "septembre": 9, "octobre": 10, "novembre": 11,
    "décembre": 12, "decembre": 12,
}  # fmt: skip
_MONTH = "(?:" + "|".join(_MONTHS) + ")"
_WEEKDAY = r"(?:(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)\s+)?"


def _clock(name: str, *, minutes_required: bool = False) -> str:
    """Regex for a French clock time ("15h", "15 h 30", "14h00") with named groups."""
    minutes = rf"(?P<{name}_m>{_MINUTE})" + ("" if minutes_required else "?")
    return rf"(?<![\d:.,])(?P<{name}_h>{_HOUR})\s?(?:heures?|h)\s?{minutes}(?!\d)"


_TIME = re.compile(
    "|".join(
        (
            rf"(?:\b(?:de|à|entre|dès)\s+)?{_clock('a')}\s*{_DASH}\s*{_clock('b')}",
            rf"\b(?:à|dès|à partir de|a partir de)\s+{_clock('c')}",
            rf"\(\s*{_clock('d')}\s*\)",
            _clock("e", minutes_required=True),
        )
    ),
    re.IGNORECASE,
)
_SPAN = re.compile(
    rf"\b(?:les?|du)\s+{_WEEKDAY}(?P<d1>[0-3]?\d)(?:er)?(?:\s+(?P<m1>{_MONTH}))?"
    rf"(?:\s*,\s*{_WEEKDAY}[0-3]?\d)*\s+(?:et|au)\s+{_WEEKDAY}(?P<d2>[0-3]?\d)(?:er)?"
    rf"\s+(?P<m2>{_MONTH})(?:\s+(?P<y>\d{{4}}))?",
    re.IGNORECASE,
)
_ONLINE = re.compile(r"\ben ligne\b|\bvisio|\bwebinaire|\bwebinar", re.IGNORECASE)
_UPPER = "A-ZÀ-ÖØ-Þ"
_CITY = rf"[{_UPPER}][^\W\d_]*(?:-[^\W\d_]+)*(?:\s[{_UPPER}][^\W\d_]*(?:-[^\W\d_]+)*){{0,2}}"
_PREPOSITION = r"\b(?:au\s+|à la\s+|à l['’]\s*)"
_ADDRESS = re.compile(rf"{_PREPOSITION}(?P<place>[^.;!?()\n]{{2,160}}?\b\d{{5}}\s+{_CITY})")


@dataclass(frozen=True)
class EventTime:
    """When an event happens, in UTC, and where.

    ``all_day``: a multi-day event; ``start`` is Paris midnight of the first day and ``end`` Paris
    midnight after the last day (exclusive, as iCalendar's DTEND). Otherwise ``time_known`` tells
    whether ``start`` carries a real time of day, or only the day (``start`` at Paris midnight);
    ``end`` is set when the text gives one.
    """

    start: datetime
    end: datetime | None
    all_day: bool
    time_known: bool
    place: str | None


@dataclass(frozen=True)
class ClockRange:
    """A start time of day and maybe an end, as written in the text (local wall clock)."""

    start: time
    end: time | None


def event_time(
    published: datetime | None, description_html: str, title: str, tz: ZoneInfo
) -> EventTime | None:
    """The event's time: pubDate gives the day, the French text (else pubDate) the hours."""
    if published is None:
        return None
    text = f"{title}. {html_to_text(description_html)[:TEXT_CHARS]}"
    day = published.astimezone(UTC).date()
    place = find_place(text)
    midnight = _at(day, time(0), tz)
    span = find_span_days(text, day.year)
    if span is not None:
        after = _at(day + timedelta(days=span + 1), time(0), tz)
        return EventTime(midnight, after, all_day=True, time_known=False, place=place)
    clock = find_clock(text) or published_clock(published)
    if clock is None:
        return EventTime(midnight, None, all_day=False, time_known=False, place=place)
    end = _at(day, clock.end, tz) if clock.end else None
    return EventTime(_at(day, clock.start, tz), end, all_day=False, time_known=True, place=place)


def published_clock(published: datetime) -> ClockRange | None:
    """pubDate's hour read as Paris wall-clock time (the site writes it as GMT); 00:00 is none."""
    wall = published.astimezone(UTC).time().replace(second=0, microsecond=0)
    return None if wall == time(0) else ClockRange(wall, None)


def find_clock(text: str) -> ClockRange | None:
    """The first plausible French time or time range in ``text`` ("(15h - 16h)", "à 10h")."""
    for match in _TIME.finditer(text):
        groups = match.groupdict()
        name = next(n for n in "acde" if groups[f"{n}_h"] is not None)
        start = time(int(groups[f"{name}_h"]), int(groups[f"{name}_m"] or 0))
        if start.hour < EARLIEST_HOUR:
            continue
        end = _end_time(groups) if name == "a" else None
        return ClockRange(start, end if end and end > start else None)
    return None


def find_span_days(text: str, year: int) -> int | None:
    """Days from first to last of a multi-day event ("les 16 et 17 juin") or None."""
    match = _SPAN.search(text)
    if match is None:
        return None
    last_month = _MONTHS[match["m2"].lower()]
    first_month = _MONTHS[match["m1"].lower()] if match["m1"] else last_month
    year = int(match["y"]) if match["y"] else year
    try:
        first = date(year, first_month, int(match["d1"]))
        last = date(year, last_month, int(match["d2"]))
    except ValueError:
        return None
    if first > last:  # "du 30 décembre au 2 janvier 2027"
        first = first.replace(year=year - 1)
    span = (last - first).days
    return span if 1 <= span <= MAX_SPAN_DAYS else None


def find_place(text: str) -> str | None:
    """A street address ("au <lieu>, 77 avenue …, 75015 Paris"), else "En ligne", else None."""
    match = _ADDRESS.search(text)
    if match is not None:
        # The match starts at the sentence's first "au": keep what follows the last preposition.
        return re.split(_PREPOSITION, match["place"])[-1].strip(" ,")
    return ONLINE if _ONLINE.search(text) else None


def _end_time(groups: dict[str, str | None]) -> time | None:
    """The end of a matched range."""
    hour = groups["b_h"]
    return time(int(hour), int(groups["b_m"] or 0)) if hour is not None else None


def _at(day: date, wall: time, tz: ZoneInfo) -> datetime:
    """Local wall-clock ``wall`` on ``day`` in ``tz``, as UTC."""
    return datetime.combine(day, wall, tzinfo=tz).astimezone(UTC)
