"""Event times: pubDate's day, Paris wall-clock hours, French times and places in the text."""

from collections.abc import Callable
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pytest

from bot.feeds.eventtime import (
    ClockRange,
    EventTime,
    event_time,
    find_clock,
    find_place,
    find_span_days,
)
from bot.feeds.parse import parse_feed

from .conftest import HUB

PARIS = ZoneInfo("Europe/Paris")


def paris(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A Paris wall-clock moment, as UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=PARIS).astimezone(UTC)


def gmt(year: int, month: int, day: int, hour: int = 0) -> datetime:
    """A pubDate as the feed writes it (GMT)."""
    return datetime(year, month, day, hour, tzinfo=UTC)


# (pubDate, description, title) -> (start, end, all_day, time_known)
CASES = [
    # winter, UTC+1: 15:00 "GMT" is 15h in Paris, i.e. 14:00 UTC
    (gmt(2024, 2, 29, 15), "", "Dataviz", paris(2024, 2, 29, 15), None, False, True),
    # summer, UTC+2: 15:00 "GMT" is 15h in Paris, i.e. 13:00 UTC
    (gmt(2023, 6, 29, 15), "", "Quarto", paris(2023, 6, 29, 15), None, False, True),
    (gmt(2023, 1, 20, 11), "<p>Gridviz</p>", "Gridviz", paris(2023, 1, 20, 11), None, False, True),
    # 00:00 and no time in the text: the day only
    (gmt(2026, 4, 14), "<p>Un PoC.</p>", "Agri", paris(2026, 4, 14), None, False, False),
    (gmt(2025, 10, 26), "", "Jour du changement d'heure", paris(2025, 10, 26), None, False, False),
    # the text's French time wins over pubDate's hour, which is sometimes an hour off
    (gmt(2025, 4, 16, 14), "<p>le 16 avril 2025 (15h - 16h30)</p>", "Parquet",
     paris(2025, 4, 16, 15), paris(2025, 4, 16, 16, 30), False, True),
    (gmt(2024, 2, 29), "<p>Le <strong>29 février (15h - 16h)</strong></p>", "Mauvière",
     paris(2024, 2, 29, 15), paris(2024, 2, 29, 16), False, True),
    (gmt(2026, 5, 5), "<p>Rendez-vous (15h-16h)</p>", "x",
     paris(2026, 5, 5, 15), paris(2026, 5, 5, 16), False, True),
    (gmt(2026, 5, 5), "<p>14h30 - 15h30</p>", "x",
     paris(2026, 5, 5, 14, 30), paris(2026, 5, 5, 15, 30), False, True),
    (gmt(2026, 1, 8), "<p>Atelier de 14h à 16h</p>", "x",
     paris(2026, 1, 8, 14), paris(2026, 1, 8, 16), False, True),
    (gmt(2026, 1, 8), "<p>Ouverture à 10h.</p>", "x", paris(2026, 1, 8, 10), None, False, True),
    (gmt(2026, 1, 8), "<p>Début : 10h00</p>", "x", paris(2026, 1, 8, 10), None, False, True),
    (gmt(2026, 1, 8), "", "Séminaire (9h30)", paris(2026, 1, 8, 9, 30), None, False, True),
    # a duration is not a start time
    (gmt(2026, 1, 8), "<p>Durée : 1h30.</p>", "x", paris(2026, 1, 8), None, False, False),
    # the text names another day: pubDate keeps the day, the text gives the time
    (gmt(2026, 3, 18), "<p>Le 17 mars (11h - 12h)</p>", "x",
     paris(2026, 3, 18, 11), paris(2026, 3, 18, 12), False, True),
    # multi-day: all day, end exclusive (Paris midnight after the last day)
    (gmt(2026, 6, 16), "<p>les <strong>16 et 17 juin 2026</strong></p>", "JDOS",
     paris(2026, 6, 16), paris(2026, 6, 18), True, False),
    (gmt(2026, 6, 16), "<p>du 16 au 18 juin, de 9h à 17h</p>", "x",
     paris(2026, 6, 16), paris(2026, 6, 19), True, False),
    (gmt(2026, 6, 30), "<p>du 30 juin au 2 juillet</p>", "x",
     paris(2026, 6, 30), paris(2026, 7, 3), True, False),
    # a month-long period is not a multi-day event
    (gmt(2026, 5, 20), "<p>Inscriptions du 1er au 30 mai.</p>", "x",
     paris(2026, 5, 20), None, False, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("published", "html", "title", "start", "end", "all_day", "time_known"), CASES
)
def test_event_time_table(
    published: datetime,
    html: str,
    title: str,
    start: datetime,
    end: datetime | None,
    all_day: bool,
    time_known: bool,
) -> None:
    """Each pubDate and text gives the expected start, end and flags (UTC, Paris wall clock)."""
    got = event_time(published, html, title, PARIS)
    assert got is not None
    assert (got.start, got.end, got.all_day, got.time_known) == (start, end, all_day, time_known)


def test_winter_and_summer_offsets() -> None:
    """15:00 written as GMT is 14:00 UTC in winter and 13:00 UTC in summer."""
    winter = event_time(gmt(2024, 2, 29, 15), "", "x", PARIS)
    summer = event_time(gmt(2024, 7, 4, 15), "", "x", PARIS)
    assert winter is not None and summer is not None
    assert (winter.start.hour, summer.start.hour) == (14, 13)


def test_no_published_date_means_no_event_time() -> None:
    """Without pubDate there is no day, so no event time (and no crash)."""
    assert event_time(None, "<p>(15h - 16h)</p>", "x", PARIS) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("(15h - 16h30)", ClockRange(time(15), time(16, 30))),
        ("de 9h30 à 12h, puis à 14h", ClockRange(time(9, 30), time(12))),
        ("à 10h - 12h", ClockRange(time(10), time(12))),
        ("15 heures 30", ClockRange(time(15, 30), None)),
        ("(18h)", ClockRange(time(18), None)),
        ("à 2h de Paris", None),
        ("Le 15 du mois", None),
        ("de 16h à 15h", ClockRange(time(16), None)),
    ],
)
def test_find_clock(text: str, expected: ClockRange | None) -> None:
    """French times are read conservatively; an end before the start is dropped."""
    assert find_clock(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("les 16 et 17 juin 2026", 1),
        ("le 21 et 22 juin 2021", 1),
        ("les 3, 4 et 5 mars", 2),
        ("du lundi 16 au mercredi 18 juin", 2),
        ("du 30 décembre au 2 janvier 2027", 3),
        ("le 12 avril 2021", None),
        ("les 31 et 32 juin", None),
    ],
)
def test_find_span_days(text: str, expected: int | None) -> None:
    """Multi-day phrasings give the days from first to last; single or invalid dates none."""
    assert find_span_days(text, 2026) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Les deux jours auront lieu au Lieu de la transformation publique, 77 avenue de Ségur,"
         " 75015 Paris. Le but", "Lieu de la transformation publique, 77 avenue de Ségur,"
         " 75015 Paris"),
        ("Merci au public, rendez-vous à l’Insee, 88 avenue Verdier, 92120 Montrouge",
         "Insee, 88 avenue Verdier, 92120 Montrouge"),
        ("Un webinaire ouvert à tous", "En ligne"),
        ("Présentation en ligne (lien Zoom)", "En ligne"),
        ("en présentiel à l’Insee et en distanciel", None),
        ("Rencontres à Nantes", None),
    ],
)  # fmt: skip
def test_find_place(text: str, expected: str | None) -> None:
    """A street address with postcode, else an online mention, else nothing."""
    assert find_place(text) == expected


def event_times(fixture_feed: Callable[[str], bytes]) -> dict[str, EventTime | None]:
    """Event times of the real event feed, by item title."""
    feed = parse_feed(fixture_feed("event"), url=f"{HUB}/event.xml")
    return {
        e.title or "": event_time(e.published, e.description_html, e.title or "", PARIS)
        for e in feed.entries
    }


# Checked by hand against each item's pubDate and first paragraph.
REAL = {
    "Journées data science & open-source": (paris(2026, 6, 16), paris(2026, 6, 18), True, False),
    "Atelier - Comment récupérer des données sous format Parquet ?":
        (paris(2025, 4, 16, 15), paris(2025, 4, 16, 16, 30), False, True),
    "Atelier - Comment récupérer des données par API ?":
        (paris(2025, 4, 9, 15), paris(2025, 4, 9, 16, 30), False, True),
    "Quarto : Une évolution de R Markdown pour des travaux statistiques reproductibles":
        (paris(2024, 5, 2, 15), paris(2024, 5, 2, 16, 30), False, True),
    "Eric Mauvière, “La dataviz pour donner du sens aux données et communiquer un message”":
        (paris(2024, 2, 29, 15), paris(2024, 2, 29, 16), False, True),
    "Présentation de gridviz par Julien Gaffuri": (paris(2023, 1, 20, 11), None, False, True),
    "Troisième journée du SSPHub": (paris(2025, 12, 1), None, False, False),
    # pubDate (19 June) is a day before the text's "20 et 21 juin": pubDate keeps the day
    "Funathon de juin 2022": (paris(2022, 6, 19), paris(2022, 6, 21), True, False),
    "Funathon de juin 2021": (paris(2021, 6, 20), paris(2021, 6, 22), True, False),
}  # fmt: skip


@pytest.mark.parametrize("title", REAL)
def test_real_event_feed(fixture_feed: Callable[[str], bytes], title: str) -> None:
    """The real event feed's items get the times their pages state."""
    got = event_times(fixture_feed)[title]
    assert got is not None
    assert (got.start, got.end, got.all_day, got.time_known) == REAL[title]


def test_real_event_place(fixture_feed: Callable[[str], bytes]) -> None:
    """The open-source days are placed at the address their page gives."""
    got = event_times(fixture_feed)["Journées data science & open-source"]
    assert got is not None
    assert got.place == "Lieu de la transformation publique, 77 avenue de Ségur, 75015 Paris"
