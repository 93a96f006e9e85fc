"""The agenda as iCalendar: read back by a calendar parser; the zone checked against tzdata."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from bot.feeds.eventtime import EventTime
from bot.ics import CalendarInfo, agenda_calendar, offset_changes
from bot.services.agenda import AgendaEvent

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
INFO = CalendarInfo(
    PARIS, "Agenda du SSP Hub", "hub.test", NOW, lambda title: f"{title} (horaire à préciser)"
)


def paris(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


def event(
    number: int,
    title: str,
    start: datetime,
    end: datetime | None = None,
    *,
    all_day: bool = False,
    known: bool = True,
    place: str | None = None,
    link: str | None = None,
    summary: str = "",
) -> AgendaEvent:
    return AgendaEvent(
        number, title, link, summary, EventTime(start, end, all_day, known, place), False, NOW
    )


WORKSHOP = event(
    12, "Atelier R, Python; et \\ SQL", paris("2026-03-05 15:00"), paris("2026-03-05 16:30"),
    place="Insee, Montrouge", link="https://ssphub.netlify.app/event/atelier/",
    summary="Première ligne\nDeuxième ligne " + "é" * 90,
)  # fmt: skip
DAYS = event(13, "Journées data science", paris("2026-04-01"), paris("2026-04-03"), all_day=True)
SEMINAR = event(14, "Séminaire", paris("2026-04-10 00:00"), known=False)


def parsed(*events: AgendaEvent) -> icalendar.Calendar:
    return icalendar.Calendar.from_ical(agenda_calendar(events, INFO))


def vevents(calendar: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["uid"]): e for e in calendar.walk("VEVENT")}


def test_an_event_at_three_pm_in_paris_carries_the_paris_zone() -> None:
    """The workshop starts at 15:00 Europe/Paris, with its TZID, and the zone is defined."""
    calendar = parsed(WORKSHOP)
    workshop = vevents(calendar)["event-12@hub.test"]
    start = workshop["dtstart"]
    assert start.params["TZID"] == "Europe/Paris"
    assert start.dt.astimezone(PARIS).replace(tzinfo=None) == datetime(2026, 3, 5, 15, 0)
    assert workshop["dtend"].dt.astimezone(PARIS).time().isoformat() == "16:30:00"
    [zone] = calendar.walk("VTIMEZONE")
    assert zone["tzid"] == "Europe/Paris"
    assert b"DTSTART;TZID=Europe/Paris:20260305T150000\r\n" in calendar.to_ical()


def test_text_is_escaped_and_read_back_unchanged() -> None:
    """Commas, semicolons, backslashes and newlines survive the round trip."""
    workshop = vevents(parsed(WORKSHOP))["event-12@hub.test"]
    assert str(workshop["summary"]) == "Atelier R, Python; et \\ SQL"
    assert str(workshop["location"]) == "Insee, Montrouge"
    assert str(workshop["url"]) == "https://ssphub.netlify.app/event/atelier/"
    assert str(workshop["description"]).startswith("Première ligne\nDeuxième ligne éé")
    assert str(workshop["description"]).endswith("\n\nhttps://ssphub.netlify.app/event/atelier/")
    assert workshop["transp"] == "TRANSPARENT"


def test_no_control_character_ever_reaches_the_calendar() -> None:
    """A title, place, link or summary stored with NUL, ESC or bidi controls (before text
    was cleaned where it enters) comes out of the feed without them."""
    hostile = event(
        15, "Atelier\x00 \x1b[2Jdata\u202e", paris("2026-03-06 10:00"), place="Salle\x07 2",
        link="https://ssphub.netlify.app/event/x/\x00", summary="Résumé\x1b]0;titre\x07 ici",
    )  # fmt: skip
    raw = agenda_calendar([hostile], INFO)
    controls = {c for c in raw.decode() if ord(c) < 0x20 and c not in "\r\n"}
    assert not controls and "\u202e" not in raw.decode()
    shown = vevents(icalendar.Calendar.from_ical(raw))["event-15@hub.test"]
    assert str(shown["summary"]) == "Atelier [2Jdata" and str(shown["location"]) == "Salle 2"


def test_lines_are_folded_at_75_octets_with_crlf() -> None:
    """Every physical line ends with CRLF and holds at most 75 octets (UTF-8 kept whole)."""
    raw = agenda_calendar([WORKSHOP, DAYS, SEMINAR], INFO)
    assert raw.endswith(b"\r\n") and b"\n" not in raw.replace(b"\r\n", b"")
    lines = raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75
    assert all(line.decode("utf-8") is not None for line in lines)
    assert any(line.startswith(b" ") for line in lines)


def test_multi_day_and_unknown_time_events_are_whole_days() -> None:
    """A multi-day event spans its days (end exclusive); a day without a known time is a
    whole-day event whose title says the time is to be confirmed."""
    found = vevents(parsed(DAYS, SEMINAR))
    days, seminar = found["event-13@hub.test"], found["event-14@hub.test"]
    assert (days["dtstart"].dt, days["dtend"].dt) == (date(2026, 4, 1), date(2026, 4, 3))
    assert (seminar["dtstart"].dt, seminar["dtend"].dt) == (date(2026, 4, 10), date(2026, 4, 11))
    assert str(seminar["summary"]) == "Séminaire (horaire à préciser)"
    assert str(days["summary"]) == "Journées data science"


def test_a_timed_event_without_an_end_has_no_dtend() -> None:
    """Without a known end no duration is invented (RFC 5545: it ends when it starts)."""
    talk = event(15, "Exposé", paris("2026-03-10 12:30"))
    assert "dtend" not in vevents(parsed(talk))["event-15@hub.test"]


def test_uids_are_stable_and_the_calendar_says_what_it_is() -> None:
    """The same event keeps its UID from one download to the next; the calendar has a name,
    a product id, version 2.0 and a refresh interval."""
    later = CalendarInfo(PARIS, INFO.name, INFO.domain, NOW + timedelta(hours=5), INFO.time_unknown)
    first = vevents(parsed(WORKSHOP))
    second = vevents(icalendar.Calendar.from_ical(agenda_calendar([WORKSHOP], later)))
    assert first.keys() == second.keys() == {"event-12@hub.test"}
    calendar = parsed()
    assert calendar["version"] == "2.0"
    assert str(calendar["x-wr-calname"]) == "Agenda du SSP Hub"
    assert calendar["refresh-interval"].dt == timedelta(hours=1)
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in calendar.to_ical()
    assert calendar.walk("VEVENT") == []


def test_the_zone_definition_matches_the_zone_database() -> None:
    """Each observance starts at the local time just before a real change of offset, with the
    offsets before and after it: CET until 29 March 2026 02:00, then CEST."""
    [zone] = parsed(WORKSHOP).walk("VTIMEZONE")
    parts = [
        (p.name, p["dtstart"].dt, p["tzoffsetfrom"].td, p["tzoffsetto"].td)
        for p in zone.subcomponents
    ]
    hour = timedelta(hours=1)
    assert parts[1:] == [("DAYLIGHT", datetime(2026, 3, 29, 2, 0), hour, 2 * hour)]
    assert parts[0] == ("STANDARD", datetime(2026, 1, 29, 0, 0), hour, hour)


@pytest.mark.parametrize(
    ("zone", "expected"),
    [
        ("Europe/Paris", ["2026-03-29T01:00", "2026-10-25T01:00"]),
        ("Australia/Lord_Howe", ["2026-04-04T15:00", "2026-10-03T15:30"]),
        ("UTC", []),
    ],
)
def test_offset_changes_are_found_to_the_minute(zone: str, expected: list[str]) -> None:
    """The zone's changes of offset in 2026 are found at their UTC minute, half hours too."""
    start, end = datetime(2026, 1, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC)
    changes = offset_changes(ZoneInfo(zone), start, end)
    assert [moment.strftime("%Y-%m-%dT%H:%M") for moment in changes] == expected
