"""The outbox sender: PUTs each pending row with its own transaction id, marks it after the answer.

Rooms are served in order, one row at a time, answers to members first; rooms do not wait for
each other. Token buckets pace the sends, per room and overall (``bot.matrix.pacing``): an
answer is never delayed while there is budget. Bulk rows (one newsletter to many DMs) also
share a global pace. A private row (a member's data) goes only to that member's true DM, judged
right before its PUT: it waits while the member has not joined yet, and is refused (its content
dropped) anywhere else. A crash between the PUT and the mark leaves the row pending: the next
run PUTs the same transaction id again and the homeserver answers with the event it has.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.errors import (
    HomeserverUnreachable,
    PermanentDeliveryError,
    RateLimited,
    TransientDeliveryError,
)
from bot.matrix.pacing import Pacer
from bot.matrix.privacy import Verdict
from bot.metrics import Metrics
from bot.storage import outbox
from bot.storage.db import Database
from bot.storage.outbox import OutboxEntry
from bot.supervise import pause

log = logging.getLogger(__name__)

# Synapse remembers transaction ids for 24 hours; past this age, look before resending.
TXN_MEMORY = timedelta(hours=23)
IDLE_POLL_SECONDS = 30.0
# A private message waits this long at most for its member to join the DM, looking again
# after 1, 2, 4... seconds, then every HOLD_CAP_SECONDS.
HOLD_LIMIT = timedelta(hours=24)
HOLD_CAP_SECONDS = 30.0


class Transport(Protocol):
    """The raw send the sender relies on (the Matrix gateway)."""

    async def send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str: ...

    async def find_sent(self, room_id: str, txn_id: str) -> str | None: ...


class Privacy(Protocol):
    """Whether a room is a member's true DM now (``bot.matrix.privacy.DmCheck``)."""

    async def verdict(self, room_id: str, user_id: str) -> Verdict: ...


class Sender:
    """Drains the outbox: exactly one event per row, in order per room, paced per room and
    overall (``pace_seconds`` per message once a burst is spent; 0: unpaced)."""

    def __init__(
        self,
        db: Database,
        transport: Transport,
        clock: Clock,
        *,
        pace_seconds: float = 1.0,
        room_burst: int = 5,
        burst: int = 10,
        max_backoff_seconds: float = 300.0,
        concurrency: int = 4,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        bulk_pace_seconds: float = 1.0,
        max_bulk_attempts: int = 8,
        privacy: Privacy | None = None,
    ) -> None:
        self.db = db
        self.privacy = privacy  # without it, every private row is refused
        self.metrics = metrics or Metrics()
        self.transport = transport
        self.clock = clock
        self.pacer = Pacer(pace_seconds, room_burst=room_burst, burst=burst)
        self.bulk_pace = bulk_pace_seconds
        self._last_bulk: float | None = None
        self.max_bulk_attempts = max_bulk_attempts
        self.max_backoff = max_backoff_seconds
        self.rng = rng or random.Random()
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._submitted: list[OutboxEntry] = []
        # Rooms with pending rows at the last flush: whether an answer was among them.
        self._busy_rooms: dict[str, bool] | None = None
        self.sent_count = 0

    def wake(self) -> None:
        """New rows were committed: look at the outbox now."""
        self._wake.set()

    def submit(self, entries: list[OutboxEntry]) -> None:
        """Rows just committed, in commit order: they may go without re-reading the outbox."""
        self._submitted.extend(entries)
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Send until ``stop``; sleeps until the next row is due or ``wake()`` is called."""
        while not stop.is_set():
            self._wake.clear()
            await self.send_submitted()
            if await pause(stop, await self.flush(), self._wake):
                break

    async def send_submitted(self) -> None:
        """Send each submitted row at once when it is surely the next row of its room: its
        room had nothing pending at the last flush and no earlier row of it is in this batch
        (for an answer: no answer). The others wait for ``flush()``, which reads the outbox
        (the truth) and always runs right after."""
        submitted, self._submitted = self._submitted, []
        busy = self._busy_rooms
        if busy is None:
            return  # nothing is known before the first flush
        seen: set[str] = set()
        seen_answers: set[str] = set()
        direct = []
        for entry in submitted:
            room = entry.room_id
            if entry.answer:
                first = not busy.get(room, False) and room not in seen_answers
                seen_answers.add(room)
            else:
                first = room not in busy and room not in seen
            seen.add(room)
            if first and not entry.bulk and self._wait_for(entry) <= 0:
                self._spend(entry)
                direct.append(entry)
        await asyncio.gather(*(self._deliver(entry) for entry in direct))

    async def flush(self) -> float:
        """Send every room's due head row once; return how long until something is due."""
        began = self.clock.monotonic()
        async with self.db.session() as session:
            heads = await outbox.room_heads(session)
        self._busy_rooms = {entry.room_id: entry.answer for entry in heads}
        due = self._pick(heads, began)
        await asyncio.gather(*(self._deliver(entry) for entry in due))
        return self._next_delay(heads, due)

    def _pick(self, heads: list[OutboxEntry], began: float) -> list[OutboxEntry]:
        """The heads that may go now, answers first, spending their tokens as they are picked.

        Bulk rows go at most one per bulk pace (all of them when unpaced); the pace counts from
        the start of the pass that sends the row, so reading the outbox (every DM's head row
        during a fan-out) is part of the pace, not added to it."""
        picked = []
        for entry in sorted(heads, key=lambda entry: (not entry.answer, entry.id)):
            if self._wait_for(entry) > 0:
                continue
            if entry.bulk:
                self._last_bulk = began
            self._spend(entry)
            picked.append(entry)
        return picked

    def _spend(self, entry: OutboxEntry) -> None:
        """The row goes now: a token from its room's bucket and from the overall one."""
        self.pacer.take(entry.room_id, self.clock.monotonic())

    def _next_delay(self, heads: list[OutboxEntry], sent: list[OutboxEntry]) -> float:
        """How long until the next flush may find something to send."""
        if any(not entry.bulk for entry in sent) or (sent and self.bulk_pace <= 0):
            return 0.0  # rooms that just sent may have more rows queued behind
        if not sent:
            return min((self._wait_for(entry) for entry in heads), default=IDLE_POLL_SECONDS)
        # Only paced bulk rows went: the next bulk slot, or a head that was not due yet. (A row
        # queued behind a DM's bulk row waits one bulk pace at most; reading the outbox again
        # at once would cost a read of every room's head per DM.)
        went = {entry.id for entry in sent}
        waits = [self._wait_for(entry) for entry in heads if entry.id not in went]
        return min([self._bulk_wait(), *waits])

    def _wait_for(self, entry: OutboxEntry) -> float:
        """Seconds before this room's head row may go (backoff, then pace)."""
        backoff = 0.0
        if entry.not_before is not None:
            backoff = (entry.not_before - self.clock.now()).total_seconds()
        now = self.clock.monotonic()
        pacing = self.pacer.wait(entry.room_id, now, answer=entry.answer)
        bulk = self._bulk_wait() if entry.bulk else 0.0
        return max(backoff, pacing, bulk, 0.0)

    def _bulk_wait(self) -> float:
        """Seconds before the next bulk row may go, whatever its room."""
        if self._last_bulk is None:
            return 0.0
        return max(self.bulk_pace - (self.clock.monotonic() - self._last_bulk), 0.0)

    async def _deliver(self, entry: OutboxEntry) -> None:
        async with self._slots:
            try:
                if not await self._cleared(entry):
                    return
                event_id = await self._put(entry)
            except RateLimited as exc:
                self.metrics.send("rate_limited")
                await self._postpone(entry, exc.retry_after, f"rate limited: {exc}")
            except HomeserverUnreachable as exc:  # not the room's fault: no give-up counted
                self.metrics.send("retried")
                await self._postpone(entry, self._backoff(entry.attempts), str(exc))
            except TransientDeliveryError as exc:
                self.metrics.send("retried")
                await self._retry(entry, str(exc))
            except PermanentDeliveryError as exc:
                self.metrics.send("failed")
                await self._fail(entry, str(exc))
            except Exception as exc:  # an unforeseen failure must not stop the sender
                self.metrics.send("retried")
                log.exception("outbox %d to %s: unexpected error", entry.id, entry.room_id)
                await self._retry(entry, repr(exc))
            else:
                await self._mark_sent(entry, event_id)
                self.metrics.send("sent")

    async def _cleared(self, entry: OutboxEntry) -> bool:
        """Whether the row may go now: any row that is not private, or a private one whose
        room is its member's true DM. Otherwise it is held (member still invited) or refused."""
        if entry.private_for is None:
            return True
        verdict = Verdict.REFUSED
        if self.privacy is not None:
            verdict = await self.privacy.verdict(entry.room_id, entry.private_for)
        if verdict is Verdict.READY:
            return True
        if verdict is Verdict.WAITING and self.clock.now() - entry.created_at < HOLD_LIMIT:
            await self._hold(entry)
            return False
        self.metrics.send("refused")
        await self._fail(entry, "private message refused: the room is not the member's DM")
        return False

    async def _hold(self, entry: OutboxEntry) -> None:
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

    async def _put(self, entry: OutboxEntry) -> str:
        if self.clock.now() - entry.created_at > TXN_MEMORY:
            found = await self.transport.find_sent(entry.room_id, entry.txn_id)
            if found is not None:
                log.info("outbox %d was already in %s as %s", entry.id, entry.room_id, found)
                return found
        return await self.transport.send(
            entry.room_id, entry.event_type, entry.content, entry.txn_id
        )

    async def _mark_sent(self, entry: OutboxEntry, event_id: str) -> None:
        async with self.db.session() as session:
            await outbox.mark_sent(session, entry.id, event_id, self.clock.now())
        self.sent_count += 1
        log.debug("outbox %d sent to %s as %s", entry.id, entry.room_id, event_id)

    async def _retry(self, entry: OutboxEntry, error: str) -> None:
        """Back off and retry; a bulk row (one of many DMs) gives up after a bounded number."""
        if entry.bulk and entry.attempts + 1 >= self.max_bulk_attempts:
            await self._fail(entry, f"gave up after {entry.attempts + 1} attempts: {error}")
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

    async def _fail(self, entry: OutboxEntry, error: str) -> None:
        async with self.db.session() as session:
            await outbox.mark_failed(session, entry.id, error)
        log.error("outbox %d to %s refused for good: %s", entry.id, entry.room_id, error)

    def _backoff(self, attempts: int) -> float:
        """Exponential backoff with full jitter, capped."""
        ceiling = min(self.max_backoff, 2.0 ** min(attempts + 1, 30))
        return self.rng.uniform(ceiling / 2, ceiling)
