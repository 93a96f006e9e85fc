"""The agenda's words: dates in French (and English) in Paris time, compact lines, full events."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.feeds.eventtime import EventTime
from bot.i18n import catalogue
from bot.services.agenda import AgendaEvent
from bot.services.agenda.texts import AgendaTexts
from bot.storage.agenda import Newsletter
from tests.services.agenda.rig import NOW, PARIS, paris

LINK = "https://ssphub.netlify.app/event/atelier/"


def timed(start: str, end: str | None = None, place: str | None = None) -> EventTime:
    return EventTime(paris(start), paris(end) if end else None, False, True, place)


def day_only(day: str) -> EventTime:
    return EventTime(paris(f"{day} 00:00"), None, all_day=False, time_known=False, place=None)


def days(first: str, after_last: str) -> EventTime:
    """A multi-day event; the end is exclusive (Paris midnight after the last day)."""
    start, end = paris(f"{first} 00:00"), paris(f"{after_last} 00:00")
    return EventTime(start, end, all_day=True, time_known=False, place=None)


def event(time: EventTime, *, number: int = 12, link: str | None = LINK) -> AgendaEvent:
    return AgendaEvent(number, "Atelier R", link, "Un atelier.", time, False, NOW)


def texts(language: str = "fr") -> AgendaTexts:
    return AgendaTexts(catalogue(language), PARIS)


@pytest.mark.parametrize(
    ("time", "full", "short"),
    [
        (
            timed("2026-12-03 14:30"),
            "jeudi 3 décembre 2026, 14 h 30 (heure de Paris)",
            "jeudi 3 décembre, 14 h 30",
        ),
        (
            timed("2026-06-04 14:00", "2026-06-04 16:00"),
            "jeudi 4 juin 2026, 14 h – 16 h (heure de Paris)",
            "jeudi 4 juin, 14 h – 16 h",
        ),
        (
            timed("2026-03-27 09:05"),  # winter time: 08:05 UTC
            "vendredi 27 mars 2026, 9 h 05 (heure de Paris)",
            "vendredi 27 mars, 9 h 05",
        ),
        (
            timed("2026-03-30 09:05"),  # summer time from 29 March: 07:05 UTC
            "lundi 30 mars 2026, 9 h 05 (heure de Paris)",
            "lundi 30 mars, 9 h 05",
        ),
        (
            day_only("2026-12-01"),
            "mardi 1er décembre 2026, horaire à préciser",
            "mardi 1er décembre, horaire à préciser",
        ),
        (
            days("2026-06-16", "2026-06-18"),
            "du mardi 16 au mercredi 17 juin 2026",
            "du mardi 16 au mercredi 17 juin",
        ),
        (
            days("2026-06-30", "2026-07-02"),
            "du mardi 30 juin au mercredi 1er juillet 2026",
            "du mardi 30 juin au mercredi 1er juillet",
        ),
        (
            days("2026-12-30", "2027-01-02"),
            "du mercredi 30 décembre 2026 au vendredi 1er janvier 2027",
            "du mercredi 30 décembre 2026 au vendredi 1er janvier 2027",
        ),
    ],
)
def test_french_dates_in_full_and_in_lists(time: EventTime, full: str, short: str) -> None:
    """Paris wall-clock time in both seasons, "horaire à préciser", and ranges of days."""
    dates = texts().dates
    assert dates.when(time) == full
    assert dates.when(time, year=False, zone=False) == short


def test_utc_storage_is_shown_in_paris_time_on_both_sides_of_dst() -> None:
    """12:00 UTC reads 13 h in winter and 14 h in summer."""
    dates = texts().dates
    winter = EventTime(datetime.fromisoformat("2026-01-15T12:00+00:00"), None, False, True, None)
    summer = EventTime(datetime.fromisoformat("2026-07-15T12:00+00:00"), None, False, True, None)
    assert dates.when(winter, zone=False) == "jeudi 15 janvier 2026, 13 h"
    assert dates.when(summer, zone=False) == "mercredi 15 juillet 2026, 14 h"


def test_english_dates() -> None:
    """The English catalogue writes days and hours the English way."""
    dates = texts("en").dates
    assert dates.when(timed("2026-12-03 14:30")) == "Thursday 3 December 2026, 14:30 (Paris time)"
    unknown = dates.when(day_only("2026-12-01"), year=False)
    assert unknown == "Tuesday 1 December, time to be confirmed"


def test_a_compact_line_has_number_day_time_title_and_link() -> None:
    """One line per event; the year is left out for this year's events."""
    line = texts().line(event(timed("2026-12-03 14:30")), NOW)
    assert line == f"• n°12 — jeudi 3 décembre, 14 h 30 — Atelier R — {LINK}"


def test_a_line_without_link_ends_with_the_title_and_next_year_shows_its_year() -> None:
    """No dangling dash without a link; an event next year says which year."""
    line = texts().line(event(day_only("2027-01-12"), number=4, link=None), NOW)
    assert line == "• n°4 — mardi 12 janvier 2027, horaire à préciser — Atelier R"


def test_an_event_in_full() -> None:
    """Title and number, when, where, summary and link, one per line."""
    shown = event(timed("2026-12-03 14:30", "2026-12-03 16:00", place="Insee, Montrouge"))
    assert texts().full(shown) == (
        "📅 Atelier R (n°12)\n"
        "🗓️ jeudi 3 décembre 2026, 14 h 30 – 16 h (heure de Paris)\n"
        "📍 Insee, Montrouge\n"
        "Un atelier.\n"
        f"🔗 {LINK}"
    )


def test_an_empty_agenda_is_a_friendly_sentence_naming_the_next_event() -> None:
    """Never an empty message: the period is said, and the next event beyond it if any."""
    nothing = "Rien au programme dans les 7 prochains jours pour l’instant 🙂"
    assert texts().empty(7, None, NOW) == nothing
    later = event(day_only("2026-04-14"), number=2, link=None)
    after = "Ensuite : n°2 — mardi 14 avril, horaire à préciser — Atelier R"
    assert texts().empty(7, later, NOW) == f"{nothing} {after}"


def test_the_latest_newsletter() -> None:
    """Number, title and link; a sentence when none was seen yet."""
    latest = Newsletter(26, "Le prix de statistiques indépendantes", "https://x.fr/n26/", None)
    assert texts().newsletter(latest) == (
        "📰 Dernière infolettre : n°26 — Le prix de statistiques indépendantes\nhttps://x.fr/n26/"
    )
    assert texts().newsletter(None) == (
        "Je n’ai encore vu passer aucune infolettre dans les flux suivis."
    )
