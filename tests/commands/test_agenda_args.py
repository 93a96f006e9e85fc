"""Arguments of the agenda commands, pure: periods, numbers, subcommands, new events, changes."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from bot.commands.agenda_args import (
    Add,
    Delete,
    Edit,
    EventRequest,
    Show,
    parse_change,
    parse_clock,
    parse_event_args,
    parse_new_event,
    parse_number,
    parse_range,
)
from bot.errors import UsageError
from bot.services.agenda import Change, Field
from bot.storage.agenda import NewEvent
from tests.services.agenda.rig import NOW, ORGANISER, PARIS, paris


def refused(call: object, *args: object, **kwargs: object) -> str:
    """The catalogue key of the UsageError ``call`` raises."""
    with pytest.raises(UsageError) as error:
        call(*args, **kwargs)  # type: ignore[operator]
    return error.value.key


@pytest.mark.parametrize(
    ("args", "days"),
    [("", 30), ("7", 7), ("30", 30), ("semaine", 7), ("Mois", 30), ("week", 7), ("90", 90)],
)
def test_agenda_periods(args: str, days: int) -> None:
    """A number of days, or a week or a month in words; 30 days by default."""
    assert parse_range(args) == days


@pytest.mark.parametrize("args", ["0", "400", "demain", "-3", "7 jours de plus"])
def test_bad_agenda_periods_are_refused(args: str) -> None:
    """Anything else is explained, with the usage line added by the router."""
    assert refused(parse_range, args) == "agenda.bad_range"


@pytest.mark.parametrize(("text", "number"), [("12", 12), ("n°12", 12), ("#7", 7), ("N°3", 3)])
def test_event_numbers(text: str, number: int) -> None:
    """Numbers as the agenda prints them, or bare."""
    assert parse_number(text) == number


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ("3", Show(3)),
        ("n°3", Show(3)),
        ("ajouter demain 9h Café", Add("demain 9h Café")),
        ("Add tomorrow 9am Coffee", Add("tomorrow 9am Coffee")),
        ("modifier 3 heure 14h30", Edit(3, "heure", "14h30")),
        ("modifier 3 lieu Insee, Montrouge", Edit(3, "lieu", "Insee, Montrouge")),
        ("supprimer n°3", Delete(3)),
        ("delete 3", Delete(3)),
    ],
)
def test_event_subcommands(args: str, expected: EventRequest) -> None:
    """A number shows an event; ajouter, modifier and supprimer (and English words) change it."""
    assert parse_event_args(args) == expected


@pytest.mark.parametrize(
    ("args", "key"),
    [
        ("", "agenda.missing_number"),
        ("abc", "agenda.bad_number"),
        ("ajouter", "agenda.add_missing"),
        ("modifier 3 heure", "agenda.missing_value"),
        ("modifier trois heure 9h", "agenda.bad_number"),
        ("supprimer", "agenda.missing_number"),
    ],
)
def test_malformed_event_subcommands(args: str, key: str) -> None:
    """Each malformed request gets its own reason."""
    assert refused(parse_event_args, args) == key


def new(text: str) -> NewEvent:
    return parse_new_event(text, now=NOW, tz=PARIS, author=ORGANISER, language="fr")


@pytest.mark.parametrize(
    ("text", "start", "known", "title", "place", "link"),
    [
        ("jeudi 14h30 Atelier R", "2026-03-05 14:30", True, "Atelier R", None, None),
        (
            "le 18 mars Séminaire | Dares | https://x.fr/s",
            "2026-03-18 00:00", False, "Séminaire", "Dares", "https://x.fr/s",
        ),
        ("demain Café R | https://x.fr/c", "2026-03-03 00:00", False, "Café R", None, "https://x.fr/c"),
        ("demain 12h30 Café R | Cafétéria", "2026-03-03 12:30", True, "Café R", "Cafétéria", None),
        ("2026-04-14 Atelier", "2026-04-14 00:00", False, "Atelier", None, None),
        ("2026-04-14 10:00 Atelier", "2026-04-14 10:00", True, "Atelier", None, None),
        ("lundi prochain à 9h Point", "2026-03-09 09:00", True, "Point", None, None),
        ("dans 3 jours Hackathon", "2026-03-05 00:00", False, "Hackathon", None, None),
    ],
)  # fmt: skip
def test_new_events(
    text: str, start: str, known: bool, title: str, place: str | None, link: str | None
) -> None:
    """The moment, the title, an optional place and link; no time of day: to be confirmed."""
    assert new(text) == NewEvent(title, paris(start), known, place, link, ORGANISER)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("chaque lundi 9h Point", "agenda.recurring"),
        ("jeudi 14h30", "agenda.no_title"),
        ("jeudi 9h A | b | c | d", "agenda.too_many_parts"),
        ("jeudi 9h A | | https://x.fr", "agenda.empty_part"),
        ("jeudi 9h A | Salle | pas-un-lien", "agenda.bad_link"),
        ("2026-01-05 10:00 Passé", "when.past"),
        ("Atelier sans date", "when.unparsed"),
    ],
)
def test_malformed_new_events(text: str, key: str) -> None:
    """A rule, a missing title, too many parts, a bad link or a past moment are refused."""
    assert refused(new, text) == key


@pytest.mark.parametrize(
    ("text", "clock"),
    [
        ("14h30", time(14, 30)),
        ("14:30", time(14, 30)),
        ("9h", time(9)),
        ("9 h 05", time(9, 5)),
        ("midi", time(12)),
        ("2pm", time(14)),
        ("2:30 pm", time(14, 30)),
        ("12am", time(0)),
        ("jeudi", None),
        ("25h", None),
    ],
)
def test_times_of_day(text: str, clock: time | None) -> None:
    """A time of day alone, French or English."""
    assert parse_clock(text) == clock


def change(field: str, value: str) -> Change:
    return parse_change(field, value, now=NOW, tz=PARIS, language="fr")


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("heure", "15h", Change(Field.START, clock=time(15))),
        ("Début", "9h30", Change(Field.START, clock=time(9, 30))),
        ("fin", "jeudi 17h", Change(Field.END, moment=paris("2026-03-05 17:00"))),
        ("heure", "le 20 mars à 10h", Change(Field.START, moment=paris("2026-03-20 10:00"))),
        ("lieu", "Insee, Montrouge", Change(Field.PLACE, text="Insee, Montrouge")),
        ("titre", "Atelier Python", Change(Field.TITLE, text="Atelier Python")),
        ("lien", "https://x.fr/a", Change(Field.LINK, text="https://x.fr/a")),
        ("time", "2pm", Change(Field.START, clock=time(14))),
    ],
)
def test_changes(field: str, value: str, expected: Change) -> None:
    """A time alone falls on the event's day later; a full moment is kept as said."""
    assert change(field, value) == expected


@pytest.mark.parametrize(
    ("field", "value", "key"),
    [
        ("couleur", "bleu", "agenda.unknown_field"),
        ("lien", "ftp://x.fr/a", "agenda.bad_link"),
        ("heure", "bientôt", "agenda.bad_time"),
        ("heure", "jeudi 14h et demie", "agenda.bad_time"),
        ("heure", "chaque lundi 9h", "agenda.recurring"),
    ],
)
def test_malformed_changes(field: str, value: str, key: str) -> None:
    """Unknown fields, bad links and unreadable times are refused with a reason."""
    assert refused(change, field, value) == key


def test_the_moment_is_read_in_paris_time() -> None:
    """Thursday 14:30 in Paris is 13:30 UTC in March (winter time)."""
    assert new("jeudi 14h30 Atelier").start == datetime.fromisoformat("2026-03-05T13:30+00:00")
