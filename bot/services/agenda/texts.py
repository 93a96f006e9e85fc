"""The words of the agenda: compact lists, one event in full, the newsletter, automatic posts."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import markup
from bot.i18n import Catalogue
from bot.messages import Mentions, Message
from bot.services.agenda.service import AgendaEvent
from bot.services.announcements import safe_link
from bot.services.dates import Dates
from bot.storage.agenda import Newsletter


class AgendaTexts:
    """Builds the agenda's sentences in the catalogue's language, dates in the bot's zone."""

    def __init__(self, t: Catalogue, tz: ZoneInfo) -> None:
        self.t = t
        self.tz = tz
        self.dates = Dates(t, tz)

    @property
    def city(self) -> str:
        """The zone's city, as in "heure de Paris"."""
        return self.tz.key.rsplit("/", 1)[-1].replace("_", " ")

    def line(self, event: AgendaEvent, now: datetime) -> str:
        """ "• n°12 — jeudi 4 décembre, 14 h 30 — Atelier R — https://…" """
        return self.t("agenda.line", **self._fields(event, now))

    def _fields(self, event: AgendaEvent, now: datetime) -> dict[str, object]:
        """Number, short date (the year only when not this year's), title and link."""
        same_year = event.start.astimezone(self.tz).year == now.astimezone(self.tz).year
        when = self.dates.when(event.time, year=not same_year, zone=False)
        link = safe_link(event.link)
        tail = self.t("agenda.line_link", link=link) if link else ""
        return {"number": event.number, "when": when, "title": event.title, "link": tail}

    def listing(self, events: Sequence[AgendaEvent], days: int, now: datetime) -> str:
        """The compact list of ``!agenda``, under its header."""
        header = self.t("agenda.header", days=days, city=self.city)
        return "\n".join([header, *(self.line(event, now) for event in events)])

    def empty(self, days: int, later: AgendaEvent | None, now: datetime) -> str:
        """A friendly sentence for an empty agenda, naming the next event beyond it if any."""
        text = self.t("agenda.empty", days=days)
        if later is not None:
            text += " " + self.t("agenda.empty_later", **self._fields(later, now))
        return text

    def full(self, event: AgendaEvent) -> str:
        """One event in full: title and number, when, where, summary, link."""
        lines = [
            self.t("agenda.full.title", title=event.title, number=event.number),
            self.t("agenda.full.when", when=self.dates.when(event.time)),
        ]
        return "\n".join(lines + self.details(event))

    def details(self, event: AgendaEvent, *, summary: bool = True) -> list[str]:
        """The lines after the date: where, the summary, the link."""
        lines = []
        if event.time.place:
            lines.append(self.t("agenda.full.place", place=event.time.place))
        if summary and event.summary:
            lines.append(event.summary)
        link = safe_link(event.link)
        if link:
            lines.append(self.t("agenda.full.link", link=link))
        return lines

    def newsletter(self, latest: Newsletter | None) -> str:
        """The latest newsletter: number, title, link."""
        if latest is None:
            return self.t("agenda.newsletter.none")
        if latest.number is None:
            text = self.t("agenda.newsletter.latest_unnumbered", title=latest.title)
        else:
            text = self.t("agenda.newsletter.latest", number=latest.number, title=latest.title)
        link = safe_link(latest.link)
        return f"{text}\n{link}" if link else text

    # --- automatic posts -----------------------------------------------------------------------

    def digest(
        self, room_id: str, events: Sequence[AgendaEvent], days: int, slot: datetime, late: str
    ) -> Message:
        """The weekly digest: the coming events in the compact form of ``!agenda``."""
        header = self.t("agenda.digest.header", days=days, city=self.city)
        text = "\n".join([header, *(self.line(event, slot) for event in events)]) + late
        return Message(room_id, text, markup.headlined(text), mentions=Mentions())

    def reminder(self, room_id: str, event: AgendaEvent, days: int, late: str) -> Message:
        """ "⏳ Dans 7 jours : <title> — <when>", then where and the link."""
        key = {0: "agenda.reminder.today", 1: "agenda.reminder.tomorrow"}.get(days)
        when = self.dates.when(event.time)
        headline = self.t(key or "agenda.reminder.days", days=days, title=event.title, when=when)
        text = "\n".join([headline, *self.details(event, summary=False)]) + late
        return Message(room_id, text, markup.headlined(text), mentions=Mentions())

    def late(self, minutes: int) -> str:
        """The note on a post sent late, with its line break; empty when on time."""
        return "\n" + self.t("agenda.late", minutes=minutes) if minutes else ""

    def missed(self, room_id: str, grace_minutes: int, lines: Sequence[str]) -> Message:
        """One notice to the organisers listing the automatic posts missed for good."""
        header = self.t("agenda.missed.header", minutes=grace_minutes)
        return Message(room_id, "\n".join([header, *lines]), mentions=Mentions())

    def missed_digest(self, slot: datetime) -> str:
        return self.t("agenda.missed.digest", when=self.dates.moment(slot))

    def missed_reminder(self, event: AgendaEvent, days: int, slot: datetime) -> str:
        return self.t(
            "agenda.missed.reminder",
            days=days, title=event.title, number=event.number, when=self.dates.moment(slot),
        )  # fmt: skip
