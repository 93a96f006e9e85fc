"""A small grammar of French (and some English) time expressions found at the start of a text."""

from __future__ import annotations

import re
import unicodedata
from calendar import monthrange
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TypeVar

from bot.errors import BadTime
from bot.when import words as w
from bot.when.found import DEFAULT_TIME, Found


@dataclass(frozen=True)
class _Day:
    """A day named by the text, before the time of day is known."""

    day: date
    end: int
    roll: int = 0  # days to add when the moment is not after now (weekday names, bare times)
    default: time | None = None  # time implied by the words themselves (ce soir, ISO, dans 3 jours)


@dataclass(frozen=True)
class _Rule:
    """Cron day fields named by the text, before the time of day is known."""

    fields: dict[str, str]
    end: int
    default: time | None = None


_T = TypeVar("_T", Found, _Day, _Rule)


def normalise(text: str) -> str:
    """Lower-case, accent-free, same length as ``text`` (an NFC string), so offsets carry over."""
    return w.HYPHEN.sub(" ", "".join(_fold(char) for char in text))


def _fold(char: str) -> str:
    if char in "’‘`":
        return "'"
    return unicodedata.normalize("NFD", char)[0].lower()[0]


def _key(words: str) -> str:
    return " ".join(words.split())


def match(text: str, now: datetime) -> Found | None:
    """The longest time expression at the start of ``text`` (``now``: aware, the user's zone).

    Raises ``BadTime`` when the expression holds an impossible time of day.
    """
    s = normalise(text)
    return _longest((_recurring(s), _one_off(s, now)))


def _longest(items: Iterable[_T | None]) -> _T | None:
    return max((i for i in items if i is not None), key=lambda i: i.end, default=None)


def _clock(s: str, pos: int, default: time | None) -> tuple[time, int]:
    """An optional part of day then an optional time of day at ``pos``; where they end."""
    part = w.PART_NEXT.match(s, pos)
    if part:
        default, pos = w.PARTS[_key(part["part"])], part.end()
    found = w.TIME_NEXT.match(s, pos)
    if not found:
        return default or DEFAULT_TIME, pos
    evening = part is not None and default is not None and default.hour >= 14
    return time_of(found, evening), found.end()


def time_of(m: re.Match[str], evening: bool = False) -> time:
    """The time of a ``TIME`` match; ``evening`` (after ``soir``) reads ``8h`` as 20:00."""
    if m["word"]:
        return time(12) if m["word"] in ("midi", "noon") else time(0)
    if m["ah"]:
        hour = int(m["ah"])
        if not 1 <= hour <= 12:
            raise BadTime(m[0])
        return _hm(hour % 12 + (12 if m["ap"] == "pm" else 0), m["am"])
    hour = int(m["h"] or m["ch"] or m["bh"])
    return _hm(hour + 12 if evening and hour < 12 else hour, m["m"] or m["cm"])


def _hm(hour: int, minute: str | None) -> time:
    try:
        return time(hour, int(minute or 0))
    except ValueError:
        raise BadTime(f"{hour}:{minute}") from None


def _at(day: date, at: time, roll: int, now: datetime) -> datetime:
    """``day`` at ``at`` in the user's zone, moved ``roll`` days on when that is not after now."""
    moment = datetime.combine(day, at, tzinfo=now.tzinfo)
    return moment + timedelta(days=roll) if roll and moment <= now else moment


def _one_off(s: str, now: datetime) -> Found | None:
    day = _longest(parse(s, now, 0) for parse in _DAY_PARSERS)
    moment = _moment(s, day, now) if day else _time_first(s, now)
    return _longest((moment, _relative(s, now)))


def _moment(s: str, day: _Day, now: datetime) -> Found:
    at, end = _clock(s, day.end, day.default)
    return Found(end, _at(day.day, at, day.roll, now))


def _time_first(s: str, now: datetime) -> Found | None:
    """A bare time (the next such time), perhaps followed by its day: ``9h``, ``9h demain``."""
    m = w.TIME_FIRST.match(s)
    if m is None:
        return None
    at, sep = time_of(m), w.SEP.match(s, m.end())
    day = _longest(parse(s, now, sep.end()) for parse in _DAY_PARSERS) if sep else None
    if day:
        return Found(day.end, _at(day.day, at, day.roll, now))
    return Found(m.end(), _at(now.date(), at, 1, now))


def _relative(s: str, now: datetime) -> Found | None:
    """``dans 2 heures``, ``dans 1h30``, ``in 30 minutes``: counted in real time, not wall-clock."""
    m = w.RELATIVE.match(s)
    if m is None or _unit(m)[0] != "minutes":
        return None
    minutes = _count(m) * _unit(m)[1] + (30 if m["half"] else int(m["extra"] or 0))
    return Found(m.end(), (now.astimezone(UTC) + timedelta(minutes=minutes)).astimezone(now.tzinfo))


def _relative_day(s: str, now: datetime, pos: int) -> _Day | None:
    """``dans 3 jours``, ``dans 1 semaine``, ``dans 2 mois``: same wall-clock time, later day."""
    m = w.RELATIVE.match(s, pos)
    if m is None or _unit(m)[0] == "minutes":
        return None
    kind, amount = _unit(m)
    count, today = _count(m) * amount, now.date()
    day = _add_months(today, count) if kind == "months" else today + timedelta(days=count)
    return _Day(day, m.end(), default=now.time().replace(microsecond=0))


def _count(m: re.Match[str]) -> int:
    """How many units: ``2`` or ``deux``."""
    return int(m["n"]) if m["n"].isdigit() else w.NUMBERS[m["n"]]


def _unit(m: re.Match[str]) -> tuple[str, int]:
    return w.UNITS[_key(m["hu"] or m["unit"])]


def _add_months(day: date, months: int) -> date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, monthrange(year, month)[1]))


def _day_word(s: str, now: datetime, pos: int) -> _Day | None:
    m = w.DAY_WORD.match(s, pos)
    if m is None:
        return None
    offset, default = w.DAY_WORDS[_key(m["w"])]
    return _Day(now.date() + timedelta(days=offset), m.end(), default=default)


def _weekday(s: str, now: datetime, pos: int) -> _Day | None:
    """``lundi`` is the next Monday (today if still ahead); ``lundi prochain`` is after today."""
    m = w.WEEKDAY.match(s, pos)
    if m is None:
        return None
    ahead = (w.WEEKDAYS[m["wd"]] - now.weekday()) % 7
    if not (m["post"] or m["pre"] == "next"):
        return _Day(now.date() + timedelta(days=ahead), m.end(), roll=7)
    ahead = (ahead or 7) + (7 if m["post"] and m["post"].startswith("en") else 0)
    return _Day(now.date() + timedelta(days=ahead), m.end())


def _date(s: str, now: datetime, pos: int) -> _Day | None:
    """``3 décembre``, ``le 3/12/2026``: with a year that date, without it the next such date."""
    m = w.DATE_NAMED.match(s, pos) or w.DATE_NUMERIC.match(s, pos)
    if m is None:
        return None
    return _calendar(m, int(m["mon"]) if m["mon"].isdigit() else w.MONTHS[m["mon"]], now)


def _day_of_month(s: str, now: datetime, pos: int) -> _Day | None:
    """``le 12``: the next 12th, this month or a later one."""
    m = w.DATE_DAY.match(s, pos)
    firsts = (_add_months(now.date().replace(day=1), n) for n in range(3))
    days = (_valid_date(f.year, f.month, int(m["d"])) for f in firsts) if m else ()
    found = next((d for d in days if d and d >= now.date()), None)
    return _Day(found, m.end()) if m and found else None


def _date_iso(s: str, now: datetime, pos: int) -> _Day | None:
    m = w.DATE_ISO.match(s, pos)
    if m is None:
        return None
    at = _hm(int(m["h"]), m["m"]) if m["h"] else None
    return _calendar(m, int(m["mon"]), now, at)


def _calendar(m: re.Match[str], month: int, now: datetime, at: time | None = None) -> _Day | None:
    """The date of day ``d``, ``month``, year ``y``; without a year, the next such date."""
    day, year = int(m["d"]), m["y"]
    if year is not None:
        found = _valid_date(int(year) + (2000 if len(year) == 2 else 0), month, day)
    else:
        years = range(now.year, now.year + 8)  # 29 February may be years away
        days = (_valid_date(y, month, day) for y in years)
        found = next((d for d in days if d and d >= now.date()), None)
    return _Day(found, m.end(), default=at) if found else None


def _valid_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


_DayParser = Callable[[str, datetime, int], _Day | None]
_DAY_PARSERS: tuple[_DayParser, ...] = (
    _day_word,
    _weekday,
    _date,
    _day_of_month,
    _date_iso,
    _relative_day,
)


def _recurring(s: str) -> Found | None:
    rule = _longest(parse(s) for parse in _RULE_PARSERS)
    if rule is None:
        return None
    at, end = _clock(s, rule.end, rule.default)
    return Found(end, {**rule.fields, "hour": str(at.hour), "minute": str(at.minute)})


def _daily(s: str) -> _Rule | None:
    """``tous les jours``, ``chaque matin`` (9:00), ``tous les soirs`` (18:00)."""
    m = w.DAILY.match(s)
    if m is None:
        return None
    return _Rule({}, m.end(), w.PARTS[_key(m["part"])] if m["part"] else None)


def _weekly(s: str) -> _Rule | None:
    m = w.WEEKLY.match(s)
    if m is None:
        return None
    days = sorted({w.WEEKDAYS[name] for name in w.WEEKDAY_NAME.findall(m["days"])})
    return _Rule({"day_of_week": ",".join(w.CRON_DAYS[d] for d in days)}, m.end())


def _workdays(s: str) -> _Rule | None:
    """``en semaine``, ``du lundi au vendredi``: a range of weekdays."""
    m = w.WORKDAYS.match(s)
    if m is None:
        return None
    first, last = (w.WEEKDAYS[m["a"]], w.WEEKDAYS[m["b"]]) if m["a"] else (0, 4)
    fields = {"day_of_week": f"{w.CRON_DAYS[first]}-{w.CRON_DAYS[last]}"}
    return _Rule(fields, m.end()) if first < last else None


def _nth(s: str) -> _Rule | None:
    """``le premier mardi du mois`` (cron ``1st tue``), ``le dernier jour du mois`` (``last``)."""
    m = w.NTH.match(s)
    if m is None:
        return None
    order = w.ORDINALS[m["ord"]]
    if m["wd"] in ("jour", "day"):
        return _Rule({"day": "last" if order == "last" else order[0]}, m.end())
    return _Rule({"day": f"{order} {w.CRON_DAYS[w.WEEKDAYS[m['wd']]]}"}, m.end())


def _month_day(s: str) -> _Rule | None:
    m = w.MONTH_DAY.match(s)
    day = int(m["d"] or m["d2"]) if m else 0
    return _Rule({"day": str(day)}, m.end()) if m and 1 <= day <= 31 else None


_RULE_PARSERS: tuple[Callable[[str], _Rule | None], ...] = (
    _daily,
    _weekly,
    _workdays,
    _nth,
    _month_day,
)
