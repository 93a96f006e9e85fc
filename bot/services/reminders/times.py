"""Reminder time maths, pure: first and next occurrences, lateness, catch-up after downtime, ids."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.storage.reminders import ACTIVE, DONE, MISSED, ONE_OFF, RECURRING, Reminder
from bot.when import OneOff, Recurring, Schedule

LATE_AFTER = timedelta(minutes=1)
"""An occurrence posted this much after its time is late: it gets a note, and is never missed."""

MAX_OCCURRENCES = 1000
"""Most occurrences of one recurring reminder enumerated after a downtime."""

ID_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"  # no 0/o, 1/l/i: read aloud and typed back


@dataclass(frozen=True)
class CatchUp:
    """A due reminder: the occurrence to post now (perhaps late), and those missed for good."""

    reminder: Reminder
    send: datetime | None
    missed: tuple[datetime, ...]


def public_id(rng: random.Random, length: int = 3) -> str:
    """A short id such as ``r7k2``."""
    return "r" + "".join(rng.choice(ID_ALPHABET) for _ in range(length))


def first_occurrence(
    schedule: Schedule, now: datetime, tz: ZoneInfo
) -> tuple[str, datetime, dict[str, str] | None]:
    """Kind, first occurrence (UTC) and cron fields of a new reminder."""
    if isinstance(schedule, OneOff):
        return ONE_OFF, schedule.at, None
    return RECURRING, schedule.next_after(now, tz), dict(schedule.cron)


def schedule_of(reminder: Reminder) -> Schedule:
    """The rule of a recurring reminder, or its one moment."""
    return OneOff(reminder.at) if reminder.cron is None else Recurring(reminder.cron)


def next_after(reminder: Reminder, after: datetime) -> datetime:
    """The recurring reminder's next occurrence strictly after ``after`` (same wall-clock time)."""
    assert reminder.cron is not None
    return Recurring(reminder.cron).next_after(after, ZoneInfo(reminder.timezone))


def after_firing(reminder: Reminder, after: datetime) -> tuple[datetime, str]:
    """Next occurrence and status once an occurrence was posted: one-offs are done."""
    if reminder.cron is None:
        return reminder.at, DONE
    return next_after(reminder, after), ACTIVE


def after_missing(reminder: Reminder, now: datetime) -> tuple[datetime, str]:
    """Next occurrence and status once missed occurrences were reported."""
    if reminder.cron is None:
        return reminder.at, MISSED
    return next_after(reminder, now), ACTIVE


def occurrences(reminder: Reminder, now: datetime) -> list[datetime]:
    """The reminder's occurrences not after ``now``, oldest first (at most ``MAX_OCCURRENCES``)."""
    found = [reminder.at] if reminder.at <= now else []
    if reminder.cron is None:
        return found
    while found and len(found) < MAX_OCCURRENCES:
        following = next_after(reminder, found[-1])
        if following > now:
            break
        found.append(following)
    return found


def is_late(occurrence: datetime, now: datetime) -> bool:
    return now - occurrence >= LATE_AFTER


def late_minutes(occurrence: datetime, now: datetime) -> int:
    """How late, in whole minutes (at least one)."""
    return max(1, round((now - occurrence).total_seconds() / 60))


def catch_up(reminder: Reminder, now: datetime, grace: timedelta) -> CatchUp:
    """Post the newest due occurrence if it is within the grace; the others are missed."""
    due = occurrences(reminder, now)
    within = max(grace, LATE_AFTER)
    send = due[-1] if due and now - due[-1] <= within else None
    return CatchUp(reminder, send, tuple(o for o in due if o != send))


def grace_minutes(grace: timedelta) -> int:
    """The grace as organisers are told it, in whole minutes (never less than ``LATE_AFTER``)."""
    return round(max(grace, LATE_AFTER).total_seconds() / 60)
