"""Dates in words with babel: days, hours and event times in the catalogue's language and zone."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.feeds.eventtime import EventTime
from bot.i18n import Catalogue

LOCALES = {"fr": "fr_FR", "en": "en_GB"}


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

    def clock(self, moment: datetime) -> str:
        """ "15 h" or "15 h 30", local time."""
        local = moment.astimezone(self.tz)
        if local.minute == 0:
            return self.t("announce.when.hour", hour=local.hour)
        return self.t("announce.when.hour_minute", hour=local.hour, minute=f"{local.minute:02d}")

    def when(self, event: EventTime, *, year: bool = True, zone: bool = True) -> str:
        """When an event happens: "jeudi 4 décembre 2025, 14 h 30 (heure de Paris)"; without
        ``year`` and ``zone``, the short form of lists: "jeudi 4 décembre, 14 h 30"."""
        if event.all_day:
            return self._span(event, year)
        day = self.day(event.start.astimezone(self.tz).date(), year=year)
        if not event.time_known:
            return self.t("announce.when.day_unknown", day=day)
        hours = self.clock(event.start)
        if event.end is not None:
            hours = self.t("announce.when.hours", start=hours, end=self.clock(event.end))
        key = "announce.when.day_time" if zone else "announce.when.day_time_bare"
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
        return self.t("announce.when.range", first=start, last=last_words)

    def moment(self, moment: datetime | None) -> str:
        """ "lundi 2 mars 2026 à 10 h 05", or "jamais"."""
        if moment is None:
            return self.t("feeds.never")
        local = moment.astimezone(self.tz)
        hours = self.t("announce.when.hour_minute", hour=local.hour, minute=f"{local.minute:02d}")
        return self.t("feeds.moment", day=self.day(local.date()), hours=hours)
