"""Tests of bot.services.dates: schedules put back into words, as the bot echoes them."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services.dates import describe
from bot.when import parse_when

PARIS = ZoneInfo("Europe/Paris")
NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # Monday 23 November 2026, 10:00 in Paris


@pytest.mark.parametrize(
    ("args", "french", "english"),
    [
        ("lundi 30 novembre 14h30", "lundi 30 novembre 2026 à 14 h 30",
         "Monday 30 November 2026 at 14:30"),
        ("demain 9h", "mardi 24 novembre 2026 à 9 h", "Tuesday 24 November 2026 at 9:00"),
        ("le 1er décembre 9h05", "mardi 1er décembre 2026 à 9 h 05",
         "Tuesday 1 December 2026 at 9:05"),
        ("le 5 avril 2027 9h", "lundi 5 avril 2027 à 9 h", "Monday 5 April 2027 at 9:00"),
        ("chaque lundi 9h", "chaque lundi à 9 h", "every Monday at 9:00"),
        ("tous les lundis et jeudis 9h", "chaque lundi et jeudi à 9 h",
         "every Monday and Thursday at 9:00"),
        ("tous les jours à 8h", "tous les jours à 8 h", "every day at 8:00"),
        ("en semaine à 8h30", "du lundi au vendredi à 8 h 30", "Monday to Friday at 8:30"),
        ("le premier mardi du mois à 10h", "le premier mardi du mois à 10 h",
         "the first Tuesday of the month at 10:00"),
        ("le dernier vendredi du mois 17h", "le dernier vendredi du mois à 17 h",
         "the last Friday of the month at 17:00"),
        ("le 15 de chaque mois", "le 15 de chaque mois à 9 h", "the 15th of every month at 9:00"),
        ("le 1er de chaque mois", "le 1er de chaque mois à 9 h", "the 1st of every month at 9:00"),
    ],
)  # fmt: skip
def test_describe(args: str, french: str, english: str) -> None:
    """The echo names the day and the time in the user's zone, French first, English on demand."""
    schedule = parse_when(f"{args} rappel", now=NOW, tz=PARIS).schedule
    assert (describe(schedule, PARIS), describe(schedule, PARIS, "en")) == (french, english)
