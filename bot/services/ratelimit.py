"""A token bucket per user, so one member cannot flood a room through the bot."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock


@dataclass
class _Bucket:
    tokens: float
    updated: float
    warned: bool = False


class RateLimiter:
    """``burst`` commands at once, refilled evenly over ``per_seconds``."""

    def __init__(self, clock: Clock, *, burst: int, per_seconds: float) -> None:
        self.clock = clock
        self.burst = burst
        self.refill_per_second = burst / per_seconds
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> bool:
        """Spend one token for ``key``; False when the bucket is empty."""
        bucket = self._refilled(key)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            bucket.warned = False
            return True
        return False

    def should_warn(self, key: str) -> bool:
        """True once per emptied bucket, so the limited user is told only once."""
        bucket = self._refilled(key)
        warn, bucket.warned = not bucket.warned, True
        return warn

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` has a token again."""
        bucket = self._refilled(key)
        return max(0.0, (1 - bucket.tokens) / self.refill_per_second)

    def _refilled(self, key: str) -> _Bucket:
        now = self.clock.monotonic()
        bucket = self._buckets.setdefault(key, _Bucket(float(self.burst), now))
        elapsed = now - bucket.updated
        bucket.tokens = min(float(self.burst), bucket.tokens + elapsed * self.refill_per_second)
        bucket.updated = now
        return bucket
