"""When automatic agenda posts are due, pure: digest and event-reminder slots, catch-up, wake-ups.

Every slot is a wall-clock time in the bot's zone (a calendar rule), so 9:00 stays 9:00 across
daylight-saving changes; slots are compared and stored in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.config import AgendaConfig, DigestConfig
from bot.services.agenda.service import AgendaEvent
from bot.services.reminders.times import LATE_AFTER
from bot.when import Recurring

DIGEST = "digest"
MAX_SLOTS = 1000
"""Most digest slots enumerated after a downtime."""


@dataclass(frozen=True)
class Slot:
    """One automatic post due at ``at``: the digest of a week, or a reminder ``days`` before."""

    kind: str
    subject: str
    at: datetime
    event: AgendaEvent | None = None
    days: int = 0

    @property
    def group(self) -> str:
        """Slots of one group compete: only the newest may still be sent after a downtime."""
        return self.kind if self.event is None else f"event:{self.subject}"


@dataclass(frozen=True)
class CatchUp:
    """Due slots: those to post now (perhaps late), and those missed for good."""

    send: tuple[Slot, ...]
    missed: tuple[Slot, ...]


def parse_clock(text: str) -> time:
    """ "09:00" -> 9:00 (the configuration validated the form)."""
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def reminder_kind(days: int) -> str:
    return f"reminder_{days}d"


def at_local(day: date, clock: time, tz: ZoneInfo) -> datetime:
    """Wall-clock ``clock`` on ``day`` in ``tz``, as UTC."""
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def week_key(slot: datetime, tz: ZoneInfo) -> str:
    """The ISO week of the slot's local day: "2026-W10"."""
    year, week, _ = slot.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def digest_rule(digest: DigestConfig) -> Recurring:
    clock = parse_clock(digest.time)
    return Recurring(
        {"day_of_week": digest.day, "hour": str(clock.hour), "minute": str(clock.minute)}
    )


def digest_slots(
    digest: DigestConfig, tz: ZoneInfo, after: datetime, until: datetime
) -> list[Slot]:
    """The digest's slots in (``after``, ``until``]."""
    rule = digest_rule(digest)
    found: list[Slot] = []
    at = rule.next_after(after, tz)
    while at <= until and len(found) < MAX_SLOTS:
        found.append(Slot(DIGEST, week_key(at, tz), at))
        at = rule.next_after(at, tz)
    return found


def reminder_slots(
    events: Iterable[AgendaEvent],
    config: AgendaConfig,
    tz: ZoneInfo,
    after: datetime,
    until: datetime,
) -> list[Slot]:
    """Reminder slots in (``after``, ``until``], before their event began and once it was known
    (an event published after its reminder's time gets none: that is no miss)."""
    reminders = config.event_reminders
    clock = parse_clock(reminders.hour)
    found = []
    for event in events:
        first_day = event.start.astimezone(tz).date()
        for days in sorted(set(reminders.days_before), reverse=True):
            at = at_local(first_day - timedelta(days=days), clock, tz)
            if after < at <= until and at < event.start and event.created_at <= at:
                found.append(Slot(reminder_kind(days), str(event.number), at, event, days))
    return found


def catch_up(slots: Sequence[Slot], now: datetime, grace: timedelta) -> CatchUp:
    """In each group, the newest slot within the grace is sent (a reminder only while its event
    has not begun); every other slot is missed."""
    within = max(grace, LATE_AFTER)
    newest: dict[str, Slot] = {}
    for slot in sorted(slots, key=lambda s: s.at):
        newest[slot.group] = slot
    send = tuple(
        s for s in newest.values()
        if now - s.at <= within and (s.event is None or now < s.event.start)
    )  # fmt: skip
    missed = sorted((s for s in slots if s not in send), key=lambda s: s.at)
    return CatchUp(send, tuple(missed))


def next_wake(now: datetime, config: AgendaConfig, tz: ZoneInfo) -> datetime | None:
    """The next moment a slot may fall due: the digest's time, or the daily reminder hour."""
    candidates = []
    if config.digest.enabled:
        candidates.append(digest_rule(config.digest).next_after(now, tz))
    reminders = config.event_reminders
    if reminders.enabled and reminders.days_before:
        clock = parse_clock(reminders.hour)
        daily = Recurring({"hour": str(clock.hour), "minute": str(clock.minute)})
        candidates.append(daily.next_after(now, tz))
    return min(candidates, default=None)
