"""When something is due, from French (or English) words: ``demain 9h``, ``chaque lundi à 9h``."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from bot.errors import BadTime, UsageError
from bot.when.found import DEFAULT_TIME, Found

if TYPE_CHECKING:
    from dateparser.date import DateDataParser

__all__ = ["DEFAULT_TIME", "OneOff", "Parsed", "Recurring", "Schedule", "parse_when"]

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
    from bot.when import grammar  # its patterns compiled on the first time read, not at start

    text = unicodedata.normalize("NFC", args).strip()
    local_now = now.astimezone(tz)
    try:
        found = grammar.match(text, local_now) or _fallback(text, local_now)
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
