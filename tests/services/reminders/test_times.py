"""Pure reminder time maths: occurrences up to now, the catch-up split, lateness, short ids."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from bot.services.reminders import times
from bot.storage.reminders import ACTIVE, ONE_OFF, RECURRING, Reminder
from bot.when import Recurring
from tests.services.reminders.rig import NOW, PARIS, paris

GRACE = timedelta(hours=1)


def reminder(at: datetime, cron: dict[str, str] | None = None) -> Reminder:
    """A stored reminder at ``at``; recurring when ``cron`` is given."""
    return Reminder(
        id=1, public_id="r7k2", room_id="!hub:localhost", author="@orga:localhost", text="x",
        kind=RECURRING if cron else ONE_OFF, at=at, cron=cron, timezone="Europe/Paris",
        mention_room=False, language="fr", status=ACTIVE, created_at=NOW, last_fired_at=None,
        last_outbox_id=None,
    )  # fmt: skip


def test_a_one_off_not_yet_due_has_nothing_to_do() -> None:
    """Before its time, a reminder has neither an occurrence to send nor one missed."""
    plan = times.catch_up(reminder(NOW + timedelta(seconds=1)), NOW, GRACE)
    assert (plan.send, plan.missed) == (None, ())


def test_a_one_off_on_time_is_sent() -> None:
    """At its time, the one occurrence is sent."""
    plan = times.catch_up(reminder(NOW), NOW, GRACE)
    assert (plan.send, plan.missed) == (NOW, ())


def test_the_grace_is_inclusive() -> None:
    """Exactly the grace late is still sent; one second more is missed."""
    at = NOW - GRACE
    assert times.catch_up(reminder(at), NOW, GRACE).send == at
    assert times.catch_up(reminder(at - timedelta(seconds=1)), NOW, GRACE).missed == (
        at - timedelta(seconds=1),
    )


def test_recurring_occurrences_up_to_now_are_all_listed() -> None:
    """A daily rule three days behind has three occurrences up to now, oldest first."""
    daily = reminder(paris("2026-11-21 08:00"), {"hour": "8", "minute": "0"})
    assert times.occurrences(daily, paris("2026-11-23 08:30")) == [
        paris("2026-11-21 08:00"), paris("2026-11-22 08:00"), paris("2026-11-23 08:00"),
    ]  # fmt: skip


def test_a_long_downtime_is_bounded() -> None:
    """Years down, a daily rule enumerates at most MAX_OCCURRENCES occurrences."""
    daily = reminder(paris("2020-01-01 08:00"), {"hour": "8", "minute": "0"})
    assert len(times.occurrences(daily, NOW)) == times.MAX_OCCURRENCES


def test_after_firing_a_recurring_reminder_goes_to_its_next_occurrence() -> None:
    """The next occurrence is strictly after the moment given, at the rule's wall-clock time."""
    weekly = reminder(paris("2026-11-23 09:00"), {"day_of_week": "mon", "hour": "9", "minute": "0"})
    assert times.after_firing(weekly, paris("2026-11-23 09:00")) == (
        paris("2026-11-30 09:00"), ACTIVE,
    )  # fmt: skip


def test_lateness_in_whole_minutes() -> None:
    """Lateness shows in minutes, at least one, and starts at one minute."""
    assert not times.is_late(NOW, NOW + timedelta(seconds=59))
    assert times.is_late(NOW, NOW + timedelta(seconds=60))
    assert times.late_minutes(NOW, NOW + timedelta(seconds=61)) == 1
    assert times.late_minutes(NOW, NOW + timedelta(minutes=42, seconds=20)) == 42


def test_short_ids_avoid_look_alike_characters() -> None:
    """Ids read aloud well: 'r' and three characters, never 0, o, 1, l or i."""
    ids = {times.public_id(random.Random(seed)) for seed in range(200)}
    assert all(len(i) == 4 and i[0] == "r" for i in ids)
    assert not set("".join(i[1:] for i in ids)) & set("0o1li")


def test_grace_is_told_in_minutes() -> None:
    """The report states the grace in minutes, and never below the one-minute lateness."""
    assert times.grace_minutes(timedelta(hours=1)) == 60
    assert times.grace_minutes(timedelta(0)) == 1


def test_first_occurrence_of_a_rule_is_after_now() -> None:
    """A weekly rule set on a Monday after 9:00 first fires the next Monday."""
    rule = Recurring({"day_of_week": "mon", "hour": "9", "minute": "0"})
    kind, at, cron = times.first_occurrence(rule, NOW, PARIS)
    assert (kind, at, cron) == (RECURRING, paris("2026-11-30 09:00"), dict(rule.cron))
    assert at.tzinfo == UTC
