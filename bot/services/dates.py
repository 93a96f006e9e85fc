"""Dates in words with babel: days, hours, event times, moments and calendar rules, in the
catalogue's language and the bot's zone. Every date the bot writes is worded here."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.feeds.eventtime import EventTime
from bot.i18n import Catalogue, catalogue
from bot.when import OneOff, Schedule

LOCALES = {"fr": "fr_FR", "en": "en_GB"}
CRON_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Dates:
    """Days, hours and event times in words, in the catalogue's language and the bot's zone."""

    def __init__(self, t: Catalogue, tz: ZoneInfo) -> None:
        self.t = t
        self.tz = tz
        self.locale = LOCALES.get(t.language, "fr_FR")

    def day(self, day: date, *, month: bool = True, year: bool = True) -> str:
        """ "jeudi 29 février 2024"; "1er" for the first of a month in French."""
        from babel.dates import format_date  # babel is heavy: imported when first needed

        number = "d'er'" if day.day == 1 and self.t.language == "fr" else "d"
        pattern = " ".join(["EEEE", number, *(["MMMM"] if month else []), *(["y"] if year else [])])
        return format_date(day, format=pattern, locale=self.locale)

    def hours(self, at: time, *, minutes: bool = False) -> str:
        """ "15 h" or "15 h 30" ("15:00" or "15:30" in English); "15 h 00" with ``minutes``."""
        if at.minute == 0 and not minutes:
            return self.t("dates.hour", hour=at.hour)
        return self.t("dates.hour_minute", hour=at.hour, minute=f"{at.minute:02d}")

    def clock(self, moment: datetime) -> str:
        """The local time of day of ``moment``, as ``hours`` words it."""
        return self.hours(moment.astimezone(self.tz).time())

    def when(self, event: EventTime, *, year: bool = True, zone: bool = True) -> str:
        """When an event happens: "jeudi 4 décembre 2025, 14 h 30 (heure de Paris)"; without
        ``year`` and ``zone``, the short form of lists: "jeudi 4 décembre, 14 h 30"."""
        if event.all_day:
            return self._span(event, year)
        day = self.day(event.start.astimezone(self.tz).date(), year=year)
        if not event.time_known:
            return self.t("dates.day_unknown", day=day)
        hours = self.clock(event.start)
        if event.end is not None:
            hours = self.t("dates.hours", start=hours, end=self.clock(event.end))
        key = "dates.day_time" if zone else "dates.day_time_bare"
        return self.t(key, day=day, hours=hours)

    def _span(self, event: EventTime, year: bool = True) -> str:
        """ "du mardi 16 au mercredi 17 juin 2026" (the stored end is exclusive)."""
        first = event.start.astimezone(self.tz).date()
        end = event.end.astimezone(self.tz).date() if event.end else first + timedelta(days=1)
        last = max(first, end - timedelta(days=1))
        same_year = first.year == last.year
        start = self.day(
            first, month=not (same_year and first.month == last.month), year=not same_year
        )
        last_words = self.day(last, year=year or not same_year)
        return self.t("dates.range", first=start, last=last_words)

    def moment(self, moment: datetime | None, *, minutes: bool = True) -> str:
        """ "lundi 2 mars 2026 à 10 h 05", or "jamais". A moment the bot records keeps its
        minutes ("9 h 00"); one a person set reads as they would say it (``minutes=False``)."""
        if moment is None:
            return self.t("dates.never")
        local = moment.astimezone(self.tz)
        hours = self.hours(local.time(), minutes=minutes)
        return self.t("dates.moment", day=self.day(local.date()), hours=hours)

    def schedule(self, schedule: Schedule) -> str:
        """A one-off moment, or a calendar rule: "chaque lundi à 9 h"."""
        if isinstance(schedule, OneOff):
            return self.moment(schedule.at, minutes=False)
        cron = schedule.cron
        at = time(int(cron.get("hour", "0")), int(cron.get("minute", "0")))
        return self.t("dates.moment", day=self.rule_days(cron), hours=self.hours(at))

    def rule_days(self, cron: Mapping[str, str]) -> str:
        """The day part of a rule, from the cron fields ``day`` and ``day_of_week``."""
        day, weekdays = cron.get("day"), cron.get("day_of_week")
        if day == "last":
            return self.t("dates.rule.last_day")
        if day and " " in day:
            order, weekday = day.split()
            nth = self.t(f"dates.rule.nth.{order}")
            return self.t("dates.rule.nth_weekday", nth=nth, day=self.weekday(weekday))
        if day:
            return self.t("dates.rule.month_day", day=self.day_number(int(day)))
        if weekdays and "-" in weekdays:
            first, last = (self.weekday(d) for d in weekdays.split("-"))
            return self.t("dates.rule.span", first=first, last=last)
        if weekdays:
            names = [self.weekday(d) for d in weekdays.split(",")]
            listed = names[0] if len(names) == 1 else self._and(names)
            return self.t("dates.rule.weekly", days=listed)
        return self.t("dates.rule.daily")

    def _and(self, names: list[str]) -> str:
        return self.t("dates.rule.and", first=", ".join(names[:-1]), last=names[-1])

    def weekday(self, cron_day: str) -> str:
        """ "lundi", "Monday": the day's name as babel spells it in the language."""
        from babel.dates import get_day_names

        return str(get_day_names("wide", locale=self.locale)[CRON_DAYS.index(cron_day)])

    def day_number(self, day: int) -> str:
        """ "1er", "15" in French; "1st", "15th" in English."""
        if self.t.language == "fr":
            return "1er" if day == 1 else str(day)
        suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
        return f"{day}{suffix}"


def describe(schedule: Schedule, tz: ZoneInfo, language: str = "fr") -> str:
    """The schedule as the bot echoes it: ``lundi 30 novembre 2026 à 14 h 30``."""
    return Dates(catalogue("en" if language.startswith("en") else "fr"), tz).schedule(schedule)
