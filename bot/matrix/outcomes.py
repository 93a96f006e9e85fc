"""What became of a row the sender tried: sent, postponed, retried with backoff, held, refused.

Each outcome is written to the outbox in a unit of work of its own, counted in the metrics,
and said in the log with the row and the room (never the content).
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta

from bot.clock import Clock
from bot.errors import (
    HomeserverUnreachable,
    PermanentDeliveryError,
    RateLimited,
    TransientDeliveryError,
)
from bot.matrix.privacy import Verdict
from bot.metrics import Metrics
from bot.storage import outbox
from bot.storage.db import Database
from bot.storage.outbox import OutboxEntry

log = logging.getLogger("bot.matrix.sender")
# A private message waits this long at most for its member to join the DM, looking again
# after 1, 2, 4... seconds, then every HOLD_CAP_SECONDS.
HOLD_LIMIT = timedelta(hours=24)
HOLD_CAP_SECONDS = 30.0


class Outcomes:
    """Records each attempt's outcome; bulk rows give up after ``max_bulk_attempts``."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        metrics: Metrics,
        *,
        rng: random.Random,
        max_backoff_seconds: float,
        max_bulk_attempts: int,
    ) -> None:
        self.db = db
        self.clock = clock
        self.metrics = metrics
        self.rng = rng
        self.max_backoff = max_backoff_seconds
        self.max_bulk_attempts = max_bulk_attempts
        self.sent_count = 0

    async def failed(self, entry: OutboxEntry, exc: Exception) -> None:
        """Record a failed attempt as its kind asks: wait, retry with backoff, or give up."""
        if isinstance(exc, RateLimited):
            self.metrics.send("rate_limited")
            await self._postpone(entry, exc.retry_after, f"rate limited: {exc}")
        elif isinstance(exc, HomeserverUnreachable):  # not the room's fault: no give-up counted
            self.metrics.send("retried")
            await self._postpone(entry, self._backoff(entry.attempts), str(exc))
        elif isinstance(exc, TransientDeliveryError):
            self.metrics.send("retried")
            await self._retry(entry, str(exc))
        elif isinstance(exc, PermanentDeliveryError):
            self.metrics.send("failed")
            await self.refuse(entry, str(exc))
        else:  # an unforeseen failure must not stop the sender
            self.metrics.send("retried")
            log.error("outbox %d to %s: unexpected error", entry.id, entry.room_id, exc_info=exc)
            await self._retry(entry, repr(exc))

    async def judged(self, entry: OutboxEntry, verdict: Verdict) -> bool:
        """Whether a private row may go, its room judged: yes when it is the member's true DM;
        else it is held while the member is only invited (a day at most), or refused."""
        if verdict is Verdict.READY:
            return True
        if verdict is Verdict.WAITING and self.clock.now() - entry.created_at < HOLD_LIMIT:
            await self.hold(entry)
            return False
        self.metrics.send("refused")
        await self.refuse(entry, "private message refused: the room is not the member's DM")
        return False

    async def hold(self, entry: OutboxEntry) -> None:
        """Look again soon (1, 2, 4... seconds, then every ``HOLD_CAP_SECONDS``): the member
        has not joined the DM yet. Said once in the log, not at every look."""
        self.metrics.send("held")
        seconds = min(HOLD_CAP_SECONDS, 2.0**entry.attempts)
        not_before = self.clock.now() + timedelta(seconds=seconds)
        async with self.db.session() as session:
            await outbox.postpone(session, entry.id, not_before=not_before, error=outbox.HELD)
        level = logging.INFO if entry.attempts == 0 else logging.DEBUG
        log.log(level, "outbox %d to %s waits for its member to join the DM", entry.id,
                entry.room_id)  # fmt: skip

    async def sent(self, entry: OutboxEntry, event_id: str) -> None:
        async with self.db.session() as session:
            await outbox.mark_sent(session, entry.id, event_id, self.clock.now())
        self.metrics.send("sent")
        self.sent_count += 1
        log.debug("outbox %d sent to %s as %s", entry.id, entry.room_id, event_id)

    async def _retry(self, entry: OutboxEntry, error: str) -> None:
        """Back off and retry; a bulk row (one of many DMs) gives up after a bounded number."""
        if entry.bulk and entry.attempts + 1 >= self.max_bulk_attempts:
            await self.refuse(entry, f"gave up after {entry.attempts + 1} attempts: {error}")
        else:
            await self._postpone(entry, self._backoff(entry.attempts), error)

    async def _postpone(self, entry: OutboxEntry, seconds: float, error: str) -> None:
        not_before = self.clock.now() + timedelta(seconds=seconds)
        async with self.db.session() as session:
            await outbox.postpone(session, entry.id, not_before=not_before, error=error)
        log.warning(
            "outbox %d to %s postponed %.1fs (attempt %d): %s",
            entry.id,
            entry.room_id,
            seconds,
            entry.attempts + 1,
            error,
        )

    async def refuse(self, entry: OutboxEntry, error: str) -> None:
        async with self.db.session() as session:
            await outbox.mark_failed(session, entry.id, error)
        log.error("outbox %d to %s refused for good: %s", entry.id, entry.room_id, error)

    def _backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter, capped."""
        ceiling = min(self.max_backoff, 2.0 ** min(attempts + 1, 30))
        return self.rng.uniform(ceiling / 2, ceiling)
