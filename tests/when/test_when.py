"""Tests of bot.when: French (and English) reminder times, and DST."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.errors import UsageError
from bot.when import OneOff, Parsed, Recurring, parse_when

ROOT = Path(__file__).resolve().parents[2]
PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 23 November 2026, 10:00 in Paris


def paris(text: str) -> datetime:
    """A Paris wall-clock time written ``YYYY-MM-DD HH:MM``, as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=PARIS).astimezone(UTC)


def cron(hour: int, minute: int = 0, **days: str) -> Recurring:
    """The Recurring schedule of ``days`` fields at ``hour:minute``."""
    return Recurring({**days, "hour": str(hour), "minute": str(minute)})


# (the time expression, what it means: Paris wall-clock or a rule, the reminder text after it)
TABLE: list[tuple[str, str | Recurring, str]] = [
    # relative
    ("dans 2 heures", "2026-11-23 12:00", "relancer Jean"),
    ("dans 30 minutes", "2026-11-23 10:30", "café"),
    ("dans 3 jours", "2026-11-26 10:00", "rappel"),
    ("dans 1 semaine", "2026-11-30 10:00", "bilan"),
    ("dans 2h", "2026-11-23 12:00", "rappel"),
    ("dans 1h30", "2026-11-23 11:30", "rappel"),
    ("dans une heure et demie", "2026-11-23 11:30", "rappel"),
    ("dans un quart d'heure", "2026-11-23 10:15", "rappel"),
    ("dans quinze jours à 9h", "2026-12-08 09:00", "rappel"),
    # days
    ("aujourd'hui 17h", "2026-11-23 17:00", "pot de départ"),
    ("ce soir", "2026-11-23 18:00", "rappel"),
    ("ce soir 20h", "2026-11-23 20:00", "rappel"),
    ("ce midi", "2026-11-23 12:00", "déjeuner"),
    ("midi", "2026-11-23 12:00", "déjeuner"),
    ("demain 9h", "2026-11-24 09:00", "point équipe"),
    ("demain à 14h30", "2026-11-24 14:30", "atelier R"),
    ("demain matin", "2026-11-24 09:00", "rappel"),
    ("demain après-midi", "2026-11-24 14:00", "rappel"),
    ("Demain soir 8h", "2026-11-24 20:00", "rappel"),
    ("après-demain 10h", "2026-11-25 10:00", "rappel"),
    ("apres demain 10h", "2026-11-25 10:00", "rappel"),
    ("lundi 9h", "2026-11-30 09:00", "rappel"),
    ("lundi 11h", "2026-11-23 11:00", "rappel"),
    ("vendredi 15h", "2026-11-27 15:00", "rappel"),
    ("lundi prochain à 14h30", "2026-11-30 14:30", "comité"),
    ("mercredi prochain 10h", "2026-11-25 10:00", "rappel"),
    ("mardi en huit", "2026-12-01 09:00", "rappel"),
    # dates
    ("le 3 décembre à 10h", "2026-12-03 10:00", "webinaire"),
    ("3 décembre 10h", "2026-12-03 10:00", "rappel"),
    ("3 déc 10h", "2026-12-03 10:00", "rappel"),
    ("3 DECEMBRE 10H", "2026-12-03 10:00", "rappel"),
    ("le 3/12 à 10h", "2026-12-03 10:00", "rappel"),
    ("03/12/2026 10:00", "2026-12-03 10:00", "rappel"),
    ("2026-12-03 10:00", "2026-12-03 10:00", "rappel"),
    ("2026-12-03T10:00", "2026-12-03 10:00", "rappel"),
    ("le 1er janvier 9h", "2027-01-01 09:00", "bonne année"),
    ("3 décembre", "2026-12-03 09:00", "rappel"),
    ("lundi 30 novembre à 14h30", "2026-11-30 14:30", "rappel"),
    ("le 5 avril 2027 9h", "2027-04-05 09:00", "rappel"),
    ("le 20 novembre", "2027-11-20 09:00", "rappel"),
    # times
    ("9h", "2026-11-24 09:00", "rappel"),
    ("9 h", "2026-11-24 09:00", "rappel"),
    ("09:00", "2026-11-24 09:00", "rappel"),
    ("9h05", "2026-11-24 09:05", "rappel"),
    ("14h30", "2026-11-23 14:30", "rappel"),
    ("minuit", "2026-11-24 00:00", "rappel"),
    ("14 h 30", "2026-11-23 14:30", "rappel"),
    ("à 16h", "2026-11-23 16:00", "rappel"),
    ("9h demain", "2026-11-24 09:00", "rappel"),
    # recurring
    ("chaque lundi 9h", cron(9, day_of_week="mon"), "météo de la semaine"),
    ("tous les lundis à 9h", cron(9, day_of_week="mon"), "rappel"),
    ("tous les lundis et jeudis à 9h", cron(9, day_of_week="mon,thu"), "rappel"),
    ("tous les jours à 8h", cron(8), "rappel"),
    ("chaque jour 8h", cron(8), "rappel"),
    ("tous les matins", cron(9), "rappel"),
    ("tous les soirs", cron(18), "rappel"),
    ("en semaine à 8h30", cron(8, 30, day_of_week="mon-fri"), "rappel"),
    ("du lundi au vendredi à 8h30", cron(8, 30, day_of_week="mon-fri"), "rappel"),
    ("le premier mardi du mois à 10h", cron(10, day="1st tue"), "comité de pilotage"),
    ("chaque premier mardi du mois 10h", cron(10, day="1st tue"), "rappel"),
    ("le dernier vendredi du mois", cron(9, day="last fri"), "rappel"),
    ("le dernier jour du mois à 17h", cron(17, day="last"), "rappel"),
    ("tous les 15 du mois à 9h", cron(9, day="15"), "rappel"),
    ("le 15 de chaque mois", cron(9, day="15"), "infolettre"),
    ("toutes les semaines le jeudi 14h", cron(14, day_of_week="thu"), "rappel"),
    # English
    ("tomorrow 9am", "2026-11-24 09:00", "stand-up"),
    ("in 2 hours", "2026-11-23 12:00", "reminder"),
    ("next friday at 3pm", "2026-11-27 15:00", "reminder"),
    ("tonight", "2026-11-23 18:00", "reminder"),
    ("every monday 9am", cron(9, day_of_week="mon"), "reminder"),
    ("every monday 9:00", cron(9, day_of_week="mon"), "reminder"),
    # left to dateparser
    ("la semaine prochaine", "2026-11-30 10:00", "rappel"),
    ("december 3rd 10am", "2026-12-03 10:00", "reminder"),
    ("3 days from now", "2026-11-26 10:00", "reminder"),
]


@pytest.mark.parametrize(("expression", "expected", "text"), TABLE, ids=[r[0] for r in TABLE])
def test_table(expression: str, expected: str | Recurring, text: str) -> None:
    """Each expression at the start of the arguments means its listed time, the rest is the text."""
    parsed = parse_when(f"{expression} {text}", now=NOW, tz=PARIS)
    assert parsed.schedule == (OneOff(paris(expected)) if isinstance(expected, str) else expected)
    assert parsed.text == text


@pytest.mark.parametrize(
    ("args", "expected", "text"),
    [
        ("demain 9h : point équipe", "2026-11-24 09:00", "point équipe"),
        ("demain 9h, relancer Jean", "2026-11-24 09:00", "relancer Jean"),
        ("demain réunion à 9h", "2026-11-24 09:00", "réunion à 9h"),
        ("lundi rappel du mardi", "2026-11-30 09:00", "rappel du mardi"),
        ("9h30 le café", "2026-11-24 09:30", "le café"),
        ("demain à 30 personnes", "2026-11-24 09:00", "à 30 personnes"),
        ("  demain   9h   apporter\nles badges ", "2026-11-24 09:00", "apporter\nles badges"),
    ],
)
def test_text_split(args: str, expected: str, text: str) -> None:
    """The time expression stops where the time words stop; separators before the text go."""
    parsed = parse_when(args, now=NOW, tz=PARIS)
    assert parsed == Parsed(OneOff(paris(expected)), text)


@pytest.mark.parametrize(
    ("args", "key", "params"),
    [
        ("aujourd'hui 8h rappel", "when.past", {"at": paris("2026-11-23 08:00")}),
        ("le 3/12/2025 10h rappel", "when.past", {"at": paris("2025-12-03 10:00")}),
        ("dans 0 minutes rappel", "when.past", {"at": NOW}),
        ("hier 9h rappel", "when.past", {"at": paris("2026-11-22 09:00")}),
        ("appeler Jean", "when.unparsed", {"text": "appeler Jean"}),
        ("15 personnes à inviter", "when.unparsed", {"text": "15 personnes à inviter"}),
        ("31/02 rappel", "when.unparsed", {"text": "31/02 rappel"}),
        ("", "when.unparsed", {"text": ""}),
        ("demain 25h rappel", "when.bad_time", {"text": "demain 25h rappel"}),
        ("demain 9h", "when.no_text", {}),
        ("chaque lundi 9h :  ", "when.no_text", {}),
    ],
)
def test_errors(args: str, key: str, params: dict[str, object]) -> None:
    """Past one-off times, unreadable times and a missing text are refused with a message key."""
    with pytest.raises(UsageError) as refused:
        parse_when(args, now=NOW, tz=PARIS)
    assert (refused.value.key, refused.value.params) == (key, params)


def fires(rule: Recurring, after: str, count: int) -> list[datetime]:
    """The ``count`` next fire times of ``rule`` after the UTC time ``after``."""
    times, at = [], datetime.fromisoformat(after).replace(tzinfo=UTC)
    for _ in range(count):
        at = rule.next_after(at, PARIS)
        times.append(at)
    return times


def test_weekly_rule_keeps_paris_time_across_both_dst_changes() -> None:
    """``chaque lundi 9h`` fires at 9:00 Paris before and after the March and October changes."""
    rule = parse_when("chaque lundi 9h rappel", now=NOW, tz=PARIS).schedule
    assert isinstance(rule, Recurring)
    spring = fires(rule, "2027-03-20T00:00", 2)
    autumn = fires(rule, "2027-10-23T00:00", 2)
    assert [t.isoformat() for t in spring + autumn] == [
        "2027-03-22T08:00:00+00:00",
        "2027-03-29T07:00:00+00:00",
        "2027-10-25T07:00:00+00:00",
        "2027-11-01T08:00:00+00:00",
    ]


def test_daily_rule_keeps_paris_time_across_dst() -> None:
    """``tous les jours à 8h`` stays 8:00 Paris on the days around both changes of 2027."""
    rule = cron(8)
    times = fires(rule, "2027-03-26T12:00", 3) + fires(rule, "2027-10-29T12:00", 3)
    assert [t.astimezone(PARIS).strftime("%d/%m %H:%M %z") for t in times] == [
        "27/03 08:00 +0100",
        "28/03 08:00 +0200",
        "29/03 08:00 +0200",
        "30/10 08:00 +0200",
        "31/10 08:00 +0100",
        "01/11 08:00 +0100",
    ]


def test_first_tuesday_rule_across_dst() -> None:
    """``le premier mardi du mois à 10h`` gives 10:00 Paris in March (UTC+1) and April (UTC+2)."""
    rule = parse_when("le premier mardi du mois à 10h copil", now=NOW, tz=PARIS).schedule
    assert isinstance(rule, Recurring)
    assert [t.isoformat() for t in fires(rule, "2027-02-15T00:00", 2)] == [
        "2027-03-02T09:00:00+00:00",
        "2027-04-06T08:00:00+00:00",
    ]


def test_next_after_is_strictly_after() -> None:
    """From a fire time itself, the next occurrence is the following one, a week later."""
    rule = cron(9, day_of_week="mon")
    monday = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    assert rule.next_after(monday, PARIS) == datetime(2026, 12, 7, 8, 0, tzinfo=UTC)


def test_one_off_after_dst_change_uses_that_dates_offset() -> None:
    """``le 5 avril 2027 9h`` said in November (UTC+1) is 9:00 Paris in summer time: 07:00 UTC."""
    parsed = parse_when("le 5 avril 2027 9h rappel", now=NOW, tz=PARIS)
    assert parsed.schedule == OneOff(datetime(2027, 4, 5, 7, 0, tzinfo=UTC))


def test_grammar_path_does_not_import_dateparser() -> None:
    """Common French phrasings never load dateparser (27 MB, 0.2 s on its first parse)."""
    code = """if True:
        import sys
        from datetime import UTC, datetime
        from zoneinfo import ZoneInfo
        from bot.when import parse_when
        now = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
        parse_when("demain 9h x", now=now, tz=ZoneInfo("Europe/Paris"))
        print("dateparser" in sys.modules)
    """
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"
