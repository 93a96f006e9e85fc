"""Token buckets pacing the sends: per room and overall, a burst, then a sustained rate.

An answer to a member goes as soon as both buckets hold a token; other rows (announcements,
agenda posts, newsletters by DM) leave a reserve in each bucket for answers, so a member's
command is never kept waiting behind a burst the bot started itself. Pure: the caller gives
the monotonic time.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_IDLE_ROOMS = 256  # room buckets kept before the full ones are dropped


@dataclass
class TokenBucket:
    """``capacity`` tokens at most, refilled at ``per_second``; starts full."""

    capacity: float
    per_second: float
    tokens: float = -1.0
    stamp: float | None = None

    def __post_init__(self) -> None:
        if self.tokens < 0:
            self.tokens = self.capacity

    def level(self, now: float) -> float:
        """The tokens held at ``now``."""
        if self.stamp is None:
            return self.tokens
        return min(self.capacity, self.tokens + (now - self.stamp) * self.per_second)

    def wait(self, now: float, keep: float = 0.0) -> float:
        """Seconds until a token can be taken while ``keep`` tokens stay behind."""
        missing = keep + 1.0 - self.level(now)
        return max(missing, 0.0) / self.per_second

    def take(self, now: float) -> None:
        """Spend one token (the level may go below zero: a debt paid back before the next)."""
        self.tokens = self.level(now) - 1.0
        self.stamp = now

    def full(self, now: float) -> bool:
        return self.level(now) >= self.capacity


def reserve(capacity: int) -> int:
    """Tokens of a bucket kept for answers: half of it, none for a bucket of one."""
    return capacity // 2


class Pacer:
    """A bucket per room and one overall; ``pace_seconds`` 0 means no pacing at all."""

    def __init__(self, pace_seconds: float, *, room_burst: int = 5, burst: int = 10) -> None:
        self.unpaced = pace_seconds <= 0
        self.per_second = 0.0 if self.unpaced else 1.0 / pace_seconds
        self.room_burst = room_burst
        self.overall = TokenBucket(burst, self.per_second)
        self.rooms: dict[str, TokenBucket] = {}

    def wait(self, room_id: str, now: float, *, answer: bool) -> float:
        """Seconds before a row may go to ``room_id`` (an answer to a member, or not)."""
        if self.unpaced:
            return 0.0
        buckets = [self.overall, self._room(room_id)]
        return max(
            bucket.wait(now, 0 if answer else reserve(int(bucket.capacity))) for bucket in buckets
        )

    def take(self, room_id: str, now: float) -> None:
        """Spend a token in the room's bucket and overall: a row goes now."""
        if self.unpaced:
            return
        self.overall.take(now)
        self._room(room_id).take(now)
        if len(self.rooms) > MAX_IDLE_ROOMS:
            self.rooms = {room: b for room, b in self.rooms.items() if not b.full(now)}

    def _room(self, room_id: str) -> TokenBucket:
        bucket = self.rooms.get(room_id)
        if bucket is None:
            bucket = self.rooms[room_id] = TokenBucket(self.room_burst, self.per_second)
        return bucket
