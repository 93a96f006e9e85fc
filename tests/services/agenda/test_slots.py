"""Slots of automatic agenda posts, pure: calendar rules in Paris time, catch-up, wake-ups."""

from __future__ import annotations

from datetime import timedelta

from bot.config import AgendaConfig, DigestConfig, EventRemindersConfig
from bot.feeds.eventtime import EventTime
from bot.services.agenda import AgendaEvent
from bot.services.agenda.slots import (
    DIGEST,
    Slot,
    catch_up,
    digest_slots,
    next_wake,
    reminder_slots,
    week_key,
)
from tests.services.agenda.rig import NOW, PARIS, paris

HOUR = timedelta(hours=1)


def event(start: str, *, number: int = 5, created: str = "2026-01-01 00:00") -> AgendaEvent:
    time = EventTime(paris(start), None, False, True, None)
    return AgendaEvent(number, "Atelier", None, "", time, True, paris(created))


def test_the_digest_is_at_nine_in_paris_on_both_sides_of_the_spring_change() -> None:
    """Monday 9:00 Paris is 08:00 UTC before 29 March 2026 and 07:00 UTC after."""
    found = digest_slots(
        DigestConfig(), PARIS, paris("2026-03-20 00:00"), paris("2026-04-01 00:00")
    )
    assert [slot.at for slot in found] == [paris("2026-03-23 09:00"), paris("2026-03-30 09:00")]
    assert [slot.at.hour for slot in found] == [8, 7]
    assert [slot.subject for slot in found] == ["2026-W13", "2026-W14"]


def test_the_digest_is_at_nine_in_paris_on_both_sides_of_the_autumn_change() -> None:
    """Monday 9:00 Paris is 07:00 UTC before 25 October 2026 and 08:00 UTC after."""
    found = digest_slots(
        DigestConfig(), PARIS, paris("2026-10-18 00:00"), paris("2026-10-27 00:00")
    )
    assert [slot.at.hour for slot in found] == [7, 8]
    assert [slot.kind for slot in found] == [DIGEST, DIGEST]


def test_a_configured_digest_day_and_time() -> None:
    """A Friday 17:30 digest falls on Fridays at 17:30 Paris time."""
    friday = DigestConfig(day="fri", time="17:30")
    found = digest_slots(friday, PARIS, paris("2026-03-02 00:00"), paris("2026-03-14 00:00"))
    assert [slot.at for slot in found] == [paris("2026-03-06 17:30"), paris("2026-03-13 17:30")]


def test_reminders_fall_at_the_configured_hour_days_before_across_dst() -> None:
    """An event on 31 March has its J-7 at 9:00 on the 24th (winter) and J-1 on the 30th."""
    found = reminder_slots(
        [event("2026-03-31 14:00")], AgendaConfig(), PARIS, NOW, paris("2026-04-01 00:00")
    )
    assert [(slot.kind, slot.at) for slot in found] == [
        ("reminder_7d", paris("2026-03-24 09:00")),
        ("reminder_1d", paris("2026-03-30 09:00")),
    ]
    assert {slot.subject for slot in found} == {"5"}


def test_no_reminder_before_the_event_was_known_or_after_it_began() -> None:
    """An event published after its J-7 time gets no J-7; a same-day 9:00 reminder of an 8:00
    event does not exist."""
    late = event("2026-03-31 14:00", created="2026-03-25 12:00")
    config = AgendaConfig(event_reminders=EventRemindersConfig(days_before=(7, 1, 0)))
    early = event("2026-04-02 08:00", number=6)
    found = reminder_slots([late, early], config, PARIS, NOW, paris("2026-04-03 00:00"))
    assert [(slot.subject, slot.kind) for slot in found] == [
        ("5", "reminder_1d"),
        ("5", "reminder_0d"),
        ("6", "reminder_7d"),
        ("6", "reminder_1d"),
    ]


def test_catch_up_sends_the_newest_within_the_grace_and_misses_the_rest() -> None:
    """Per event or digest, only the newest slot may still be sent, and only within the grace."""
    shown = event("2026-03-31 14:00")
    j7 = Slot("reminder_7d", "5", paris("2026-03-24 09:00"), shown, 7)
    j1 = Slot("reminder_1d", "5", paris("2026-03-30 09:00"), shown, 1)
    old_digest = Slot(DIGEST, "2026-W13", paris("2026-03-23 09:00"))
    digest = Slot(DIGEST, "2026-W14", paris("2026-03-30 09:00"))
    plan = catch_up([j7, j1, old_digest, digest], paris("2026-03-30 09:40"), HOUR)
    assert set(plan.send) == {j1, digest}
    assert set(plan.missed) == {j7, old_digest}
    late = catch_up([j1, digest], paris("2026-03-30 10:30"), HOUR)
    assert late.send == () and set(late.missed) == {j1, digest}


def test_a_reminder_is_not_sent_once_its_event_began() -> None:
    """Back after the event started, its reminder is missed even within the grace."""
    shown = event("2026-03-30 09:15")
    today = Slot("reminder_0d", "5", paris("2026-03-30 09:00"), shown, 0)
    plan = catch_up([today], paris("2026-03-30 09:20"), HOUR)
    assert plan.send == () and plan.missed == (today,)


def test_the_next_wake_up_is_the_daily_hour_or_the_digest() -> None:
    """Reminders wake the poster daily at their hour; alone, the digest waits for Monday."""
    assert next_wake(NOW, AgendaConfig(), PARIS) == paris("2026-03-03 09:00")
    digest_only = AgendaConfig(event_reminders=EventRemindersConfig(enabled=False))
    assert next_wake(NOW, digest_only, PARIS) == paris("2026-03-09 09:00")
    off = AgendaConfig(
        event_reminders=EventRemindersConfig(enabled=False), digest=DigestConfig(enabled=False)
    )
    assert next_wake(NOW, off, PARIS) is None


def test_week_keys_follow_the_paris_day() -> None:
    """Monday 00:30 in Paris is still Sunday in UTC, yet it starts the new week."""
    assert week_key(paris("2026-03-08 23:30"), PARIS) == "2026-W10"
    assert week_key(paris("2026-03-09 00:30"), PARIS) == "2026-W11"
