"""The token buckets that pace the sends, on a fake monotonic time: bursts, refill, reserve."""

from __future__ import annotations

import pytest

from bot.matrix.pacing import Pacer, TokenBucket

ROOM = "!hub:localhost"
OTHER = "!other:localhost"


def test_a_bucket_lets_its_burst_go_at_once_then_one_per_refill() -> None:
    """Five tokens go at the same instant; the sixth waits one refill, then goes."""
    bucket = TokenBucket(5, 1.0)
    for _ in range(5):
        assert bucket.wait(0.0) == 0.0
        bucket.take(0.0)
    assert bucket.wait(0.0) == pytest.approx(1.0)
    assert bucket.wait(0.4) == pytest.approx(0.6)
    assert bucket.wait(1.0) == 0.0


def test_a_bucket_refills_up_to_its_capacity_only() -> None:
    """A bucket idle for a long time holds its capacity, never more."""
    bucket = TokenBucket(3, 1.0)
    bucket.take(0.0)
    assert bucket.level(1000.0) == 3


def test_a_member_s_back_to_back_answers_are_not_held() -> None:
    """Answers to one room, all at the same instant, go at once up to the room's burst."""
    pacer = Pacer(1.0, room_burst=5, burst=10)
    for _ in range(5):
        assert pacer.wait(ROOM, 0.0, answer=True) == 0.0
        pacer.take(ROOM, 0.0)
    assert pacer.wait(ROOM, 0.0, answer=True) == pytest.approx(1.0)


def test_the_bot_s_own_posts_leave_half_of_each_burst_to_answers() -> None:
    """Announcements take three of a room's five tokens; the last two stay for answers."""
    pacer = Pacer(1.0, room_burst=5, burst=10)
    for _ in range(3):
        assert pacer.wait(ROOM, 0.0, answer=False) == 0.0
        pacer.take(ROOM, 0.0)
    assert pacer.wait(ROOM, 0.0, answer=False) == pytest.approx(1.0)
    assert pacer.wait(ROOM, 0.0, answer=True) == 0.0


def test_the_overall_bucket_caps_the_sends_across_rooms() -> None:
    """With an overall burst of 2, a third room waits even though its own bucket is full."""
    pacer = Pacer(1.0, room_burst=5, burst=2)
    pacer.take(ROOM, 0.0)
    pacer.take(OTHER, 0.0)
    assert pacer.wait("!third:localhost", 0.0, answer=True) == pytest.approx(1.0)


def test_a_room_burst_of_one_is_the_fixed_spacing() -> None:
    """``room_burst: 1`` spaces a room's messages by the pace, answers included."""
    pacer = Pacer(2.0, room_burst=1, burst=10)
    pacer.take(ROOM, 0.0)
    assert pacer.wait(ROOM, 0.5, answer=True) == pytest.approx(1.5)
    assert pacer.wait(ROOM, 0.5, answer=False) == pytest.approx(1.5)


def test_a_pace_of_zero_never_waits() -> None:
    """Unpaced, any number of rows may go at the same instant."""
    pacer = Pacer(0.0, room_burst=1, burst=1)
    for _ in range(20):
        pacer.take(ROOM, 0.0)
    assert pacer.wait(ROOM, 0.0, answer=False) == 0.0
