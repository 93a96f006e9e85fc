"""When a reminder is due, from French (or English) words: ``demain 9h``, ``chaque lundi à 9h``."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.errors import UsageError
from bot.services import when_grammar
from bot.services.when_grammar import DEFAULT_TIME, BadTime, Found
from bot.services.when_words import CRON_DAYS, ENGLISH_DAYS, FRENCH_DAYS

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

__all__ = ["DEFAULT_TIME", "OneOff", "Parsed", "Recurring", "Schedule", "describe", "parse_when"]

FALLBACK_WORDS = 6
"""Longest prefix, in words, handed to dateparser when our grammar finds nothing."""

_WORD = re.compile(r"\S+")
_BARE_NUMBER = re.compile(r"\d+")
_HOURS = re.compile(r"(?<![\d:])(\d{1,2})\s*[hH]\s*(\d{2})?(?![\w'])")
_REST_LEAD = re.compile(r"^[\s,;:\-–—]+")


@dataclass(frozen=True)
class OneOff:
    """A single moment (UTC, aware)."""

    at: datetime


@dataclass(frozen=True)
class Recurring:
    """A calendar rule: keyword arguments of APScheduler's ``CronTrigger``, in the user's zone."""

    cron: Mapping[str, str]

    def next_after(self, after: datetime, tz: ZoneInfo) -> datetime:
        """The first occurrence strictly after ``after``, in UTC; wall-clock time survives DST."""
        from apscheduler.triggers.cron import CronTrigger  # 140 ms of imports, needed late

        trigger = CronTrigger(timezone=tz, **self.cron)
        # "after" as the previous fire time too: the trigger then looks strictly later
        fire: datetime | None = trigger.get_next_fire_time(after, after)
        if fire is None:
            raise ValueError(f"rule {dict(self.cron)} never fires after {after.isoformat()}")
        return fire.astimezone(UTC)


Schedule = OneOff | Recurring


@dataclass(frozen=True)
class Parsed:
    """A schedule and the reminder's text that followed it."""

    schedule: Schedule
    text: str


def parse_when(args: str, *, now: datetime, tz: ZoneInfo) -> Parsed:
    """Split ``args`` into the longest leading time expression and the reminder's text.

    Readings: a bare time (``9h``) is the next such time; a weekday (``lundi 9h``) the next such
    day, today if still ahead; ``lundi prochain`` the first Monday strictly after today, ``mardi
    en huit`` a week after that; a date without a year the next such date; a day without a time
    ``DEFAULT_TIME``; ``dans 2 heures`` counts real time, ``dans 3 jours`` keeps the wall-clock
    time. Our grammar reads the common forms, dateparser only what it does not.

    Raises ``UsageError`` with ``when.unparsed`` (no time found), ``when.bad_time`` (``25h``),
    ``when.past`` (a one-off moment not after ``now``; bare times such as ``9h`` mean the next
    such time instead) or ``when.no_text`` (nothing left to remind).
    """
    text = unicodedata.normalize("NFC", args).strip()
    local_now = now.astimezone(tz)
    try:
        found = when_grammar.match(text, local_now) or _fallback(text, local_now)
    except BadTime:
        raise UsageError("when.bad_time", text=args) from None
    if found is None:
        raise UsageError("when.unparsed", text=args)
    schedule = _schedule(found, now)
    rest = _REST_LEAD.sub("", text[found.end :])
    if not rest:
        raise UsageError("when.no_text")
    return Parsed(schedule, rest)


def _schedule(found: Found, now: datetime) -> Schedule:
    if not isinstance(found.value, datetime):
        return Recurring(found.value)
    at = found.value.astimezone(UTC)
    if at <= now:
        raise UsageError("when.past", at=at)
    return OneOff(at)


def _fallback(text: str, now: datetime) -> Found | None:
    """Ask dateparser about the longest leading words it understands (our grammar found nothing)."""
    parser = _date_parser(now)
    ends = [m.end() for m in _WORD.finditer(text)][:FALLBACK_WORDS]
    for end in reversed(ends):
        prefix = text[:end]
        at = None if _BARE_NUMBER.fullmatch(prefix) else _dateparse(parser, prefix, now)
        if at is not None:
            return Found(end, at)
    return None


def _date_parser(now: datetime) -> DateDataParser:
    from dateparser.date import DateDataParser  # 27 MB and 0.2 s: only when our grammar fails

    settings: dict[str, Any] = {
        "PREFER_DATES_FROM": "future",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "TIMEZONE": str(now.tzinfo),
        "RELATIVE_BASE": now.replace(tzinfo=None),
        "RETURN_TIME_AS_PERIOD": True,
    }
    return DateDataParser(languages=["fr", "en"], settings=settings)


def _dateparse(parser: DateDataParser, prefix: str, now: datetime) -> datetime | None:
    """dateparser's reading of ``prefix`` as a wall-clock time in ``now``'s zone, or None."""
    data = parser.get_date_data(_HOURS.sub(_colon_hours, prefix))
    if data.date_obj is None or data.period not in ("time", "day", "week"):
        return None  # "month" and "year" come from lone words such as "a"
    wall: datetime = data.date_obj.replace(tzinfo=None)
    if data.period != "time" and wall.time() == time(0):
        wall = datetime.combine(wall.date(), DEFAULT_TIME)
    return wall.replace(tzinfo=now.tzinfo)


def _colon_hours(m: re.Match[str]) -> str:
    """``9h`` -> ``9:00``, ``14h30`` -> ``14:30``: dateparser reads ``9h`` as 19:00."""
    return f"{m[1]}:{m[2] or '00'}"


def describe(schedule: Schedule, tz: ZoneInfo, locale: str = "fr") -> str:
    """The schedule as the bot echoes it: ``lundi 30 novembre 2026 à 14 h 30``."""
    english = locale.startswith("en")
    if isinstance(schedule, OneOff):
        return _describe_moment(schedule.at.astimezone(tz), english)
    cron = schedule.cron
    at = time(int(cron.get("hour", "0")), int(cron.get("minute", "0")))
    return f"{_describe_days(cron, english)} {'at' if english else 'à'} {_clock(at, english)}"


def _describe_moment(local: datetime, english: bool) -> str:
    from babel.dates import format_datetime  # 60 ms of imports, needed late

    if english:
        return format_datetime(local, "EEEE d MMMM y 'at' ", locale="en_GB") + _clock(
            local.time(), english
        )
    day = "1er" if local.day == 1 else str(local.day)
    weekday, month = (format_datetime(local, p, locale="fr_FR") for p in ("EEEE", "MMMM y"))
    return f"{weekday} {day} {month} à {_clock(local.time(), english)}"


def _clock(at: time, english: bool) -> str:
    """``14:30`` in English; ``14 h 30`` and ``9 h`` in French typography."""
    if english:
        return f"{at.hour}:{at.minute:02d}"
    return f"{at.hour} h {at.minute:02d}" if at.minute else f"{at.hour} h"


_PHRASES = {  # daily, every, and, range, nth weekday, day of month, last day
    False: ("tous les jours", "chaque", "et", "du {} au {}", "le {} {} du mois",
            "le {} de chaque mois", "le dernier jour du mois"),
    True: ("every day", "every", "and", "{} to {}", "the {} {} of the month",
           "the {} of every month", "the last day of the month"),
}  # fmt: skip
_ORDERS = ("1st", "2nd", "3rd", "4th", "5th", "last")
_ORDINALS = {
    False: ("premier", "deuxième", "troisième", "quatrième", "cinquième", "dernier"),
    True: ("first", "second", "third", "fourth", "fifth", "last"),
}


def _describe_days(cron: Mapping[str, str], english: bool) -> str:
    """The day part of a rule, from the cron fields ``day`` and ``day_of_week``."""
    daily, every, and_, span, nth, monthly, last = _PHRASES[english]
    day, weekdays = cron.get("day"), cron.get("day_of_week")
    if day == "last":
        return last
    if day and " " in day:
        order, weekday = day.split()
        ordinal = _ORDINALS[english][_ORDERS.index(order)]
        return nth.format(ordinal, _day_name(weekday, english))
    if day:
        return monthly.format(_day_number(int(day), english))
    if weekdays and "-" in weekdays:
        return span.format(*(_day_name(d, english) for d in weekdays.split("-")))
    if weekdays:
        names = [_day_name(d, english) for d in weekdays.split(",")]
        listed = ", ".join(names[:-1]) + f" {and_} " if len(names) > 1 else ""
        return f"{every} {listed}{names[-1]}"
    return daily


def _day_name(cron_day: str, english: bool) -> str:
    index = CRON_DAYS.index(cron_day)
    return ENGLISH_DAYS[index].capitalize() if english else FRENCH_DAYS[index]


def _day_number(day: int, english: bool) -> str:
    if not english:
        return "1er" if day == 1 else str(day)
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"
