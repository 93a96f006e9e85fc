"""The agenda section of the configuration: defaults, switches, and its problems explained."""

from __future__ import annotations

from pathlib import Path

from bot.config import parse_config
from tests.test_config import ENV, EXAMPLE, MINIMAL, parse, problems


def test_automatic_posts_default_to_j7_j1_at_nine_and_a_monday_digest() -> None:
    """Left out, the section gives reminders 7 and 1 days before at 9:00 and Monday's digest."""
    agenda = parse(MINIMAL).agenda
    assert agenda.event_reminders.enabled and agenda.digest.enabled
    assert (agenda.event_reminders.days_before, agenda.event_reminders.hour) == ((7, 1), "09:00")
    assert (agenda.digest.day, agenda.digest.time, agenda.digest.days_ahead) == ("mon", "09:00", 14)
    assert agenda.misfire_grace_seconds is None


def test_each_automatic_post_can_be_turned_off() -> None:
    """Reminders and digest have their own switch and settings."""
    text = MINIMAL + (
        "agenda:\n"
        "  event_reminders: {enabled: false}\n"
        "  digest: {day: fri, time: '17:30', days_ahead: 7}\n"
        "  misfire_grace_seconds: 600\n"
    )
    agenda = parse(text).agenda
    assert not agenda.event_reminders.enabled
    assert (agenda.digest.day, agenda.digest.time, agenda.digest.days_ahead) == ("fri", "17:30", 7)
    assert agenda.misfire_grace_seconds == 600


def test_agenda_problems_are_all_named() -> None:
    """A bad hour, a French day name and a negative offset are each reported with their key."""
    text = MINIMAL + (
        "agenda:\n"
        "  event_reminders: {days_before: [7, -1], hour: '25:00'}\n"
        "  digest: {day: lundi}\n"
    )
    found = problems(text)
    assert any("agenda.event_reminders.days_before[1]: must be at least 0" in p for p in found)
    assert any("agenda.event_reminders.hour: '25:00' is not a time of day" in p for p in found)
    assert any(p.startswith("bot.yaml: agenda.digest.day: must be 'mon'") for p in found)


def test_the_example_documents_the_agenda_section() -> None:
    """The shipped example's agenda section is valid once its placeholders are replaced."""
    text = EXAMPLE.read_text(encoding="utf-8").replace("CHANGE_ME", "ssphub")
    config = parse_config(text, source=str(Path(EXAMPLE).name), environ=ENV)
    assert config.agenda.event_reminders.days_before == (7, 1)
    assert "agenda:" in text
