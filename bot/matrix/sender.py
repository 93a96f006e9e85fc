"""The outbox sender: PUTs each pending row with its own transaction id, marks it after the answer.

Rooms are served in order, one row at a time, answers to members first; rooms do not wait for
each other. Token buckets pace the sends, per room and overall (``bot.matrix.pacing``): an
answer is never delayed while there is budget. Bulk rows (one newsletter to many DMs) also
share a global pace. A private row (a member's data) goes only to that member's true DM, judged
right before its PUT: it waits while the member has not joined yet, and is refused (its content
dropped) anywhere else. A crash between the PUT and the mark leaves the row pending: the next
run PUTs the same transaction id again and the homeserver answers with the event it has. An
answer whose unit of work wrote nothing else goes before its row is committed (``send_early``).
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from bot.clock import Clock
from bot.matrix.outcomes import Outcomes
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


class Transport(Protocol):
    """The raw send the sender relies on (the Matrix gateway)."""

    async def send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str: ...

    async def find_sent(self, room_id: str, txn_id: str) -> str | None: ...


class Privacy(Protocol):
    """Whether a room is a member's true DM now (``bot.matrix.privacy.DmCheck``)."""

    async def verdict(self, room_id: str, user_id: str) -> Verdict: ...


@dataclass(frozen=True)
class Draft:
    """An answer whose row is not written yet, with the transaction id derived from its event."""

    room_id: str
    event_type: str
    content: dict[str, Any]
    txn_id: str


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
        self.outcomes = Outcomes(
            db, clock, self.metrics, rng=rng or random.Random(),
            max_backoff_seconds=max_backoff_seconds, max_bulk_attempts=max_bulk_attempts,
        )  # fmt: skip
        self._slots = asyncio.Semaphore(concurrency)
        self._wake = asyncio.Event()
        self._submitted: list[OutboxEntry] = []
        # Rooms with pending rows at the last flush: whether an answer was among them.
        self._busy_rooms: dict[str, bool] | None = None
        self._in_flight: set[str] = set()  # answers sent early, not marked yet (txn ids)
        self._early: set[asyncio.Task[None]] = set()

    @property
    def sent_count(self) -> int:
        """Rows sent since the sender was made."""
        return self.outcomes.sent_count

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
        await self.settled()

    async def settled(self) -> None:
        """Wait for the answers sent early to be marked (or left pending)."""
        await asyncio.gather(*self._early, return_exceptions=True)

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

    def send_early(self, drafts: list[Draft]) -> asyncio.Future[list[OutboxEntry] | None] | None:
        """PUT answers now, before their rows are committed, if each may go (no answer pending
        in its room, a token in the buckets): the future the caller resolves with the rows once
        committed (None: not committed); None when they take the usual path. Their transaction
        ids come from the event: a crash before the commit replays it, with the same ids.
        (Answers to two events of a room handled at once may reach it in either order.)"""
        busy = self._busy_rooms
        now = self.clock.monotonic()
        if busy is None or any(
            busy.get(d.room_id, False) or self.pacer.wait(d.room_id, now, answer=True) > 0
            for d in drafts
        ):
            return None
        for draft in drafts:
            self.pacer.take(draft.room_id, now)
            self._in_flight.add(draft.txn_id)
        rows: asyncio.Future[list[OutboxEntry] | None] = asyncio.get_running_loop().create_future()
        task = asyncio.create_task(self._deliver_early(drafts, rows), name="early answers")
        self._early.add(task)
        task.add_done_callback(self._early.discard)
        return rows

    async def _deliver_early(
        self, drafts: list[Draft], rows: asyncio.Future[list[OutboxEntry] | None]
    ) -> None:
        """Each answer PUT, then, once the rows are committed, marked sent (or its failure
        recorded, the next ones left to ``flush`` in order); nothing recorded without a commit."""
        try:
            for draft in drafts:
                outcome = await self._put_draft(draft)
                entries = await rows
                if entries is None:
                    return
                entry = next(entry for entry in entries if entry.txn_id == draft.txn_id)
                if isinstance(outcome, Exception):
                    await self.outcomes.failed(entry, outcome)
                    return
                await self.outcomes.sent(entry, outcome)
        except Exception:
            log.exception("early answers to %s: unexpected error", drafts[0].room_id)
        finally:
            self._in_flight.difference_update(draft.txn_id for draft in drafts)
            self.wake()

    async def _put_draft(self, draft: Draft) -> str | Exception:
        """The event id of an answer PUT, or why it was not sent."""
        async with self._slots:
            try:
                return await self.transport.send(
                    draft.room_id, draft.event_type, draft.content, draft.txn_id
                )
            except Exception as exc:
                return exc

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
            if entry.txn_id in self._in_flight or self._wait_for(entry) > 0:
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
        """How long until the next flush may find something to send (an answer sent early
        wakes the sender once it is marked)."""
        if any(not entry.bulk for entry in sent) or (sent and self.bulk_pace <= 0):
            return 0.0  # rooms that just sent may have more rows queued behind
        heads = [entry for entry in heads if entry.txn_id not in self._in_flight]
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
            except Exception as exc:
                await self.outcomes.failed(entry, exc)
            else:
                await self.outcomes.sent(entry, event_id)

    async def _cleared(self, entry: OutboxEntry) -> bool:
        """Whether the row may go now: any row that is not private, or a private one whose
        room is its member's true DM (``Outcomes.judged`` holds or refuses the others)."""
        if entry.private_for is None:
            return True
        verdict = Verdict.REFUSED  # without a privacy check, every private row is refused
        if self.privacy is not None:
            verdict = await self.privacy.verdict(entry.room_id, entry.private_for)
        return await self.outcomes.judged(entry, verdict)

    async def _put(self, entry: OutboxEntry) -> str:
        if self.clock.now() - entry.created_at > TXN_MEMORY:
            found = await self.transport.find_sent(entry.room_id, entry.txn_id)
            if found is not None:
                log.info("outbox %d was already in %s as %s", entry.id, entry.room_id, found)
                return found
        return await self.transport.send(
            entry.room_id, entry.event_type, entry.content, entry.txn_id
        )
