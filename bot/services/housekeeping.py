"""Housekeeping: a background loop that prunes what the database keeps no longer, at start and
then every ``retention.interval_minutes``, in small batches, and lets an SQLite file shrink."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.clock import Clock
from bot.config.schema import RetentionConfig
from bot.metrics import Metrics
from bot.storage import retention
from bot.storage.db import Database
from bot.storage.retention import Cutoffs, Rule
from bot.supervise import pause

log = logging.getLogger(__name__)

SKEW = timedelta(minutes=10)
"""Claims outlive the window in which the sync acts on an event by this much: the homeserver's
clock (the event's time) may be ahead of ours (the claim's time)."""


class Housekeeping:
    """Prunes each table by its rule; ``run(stop)`` is the loop, ``run_once`` one pass."""

    def __init__(
        self,
        db: Database,
        clock: Clock,
        metrics: Metrics,
        settings: RetentionConfig,
        *,
        command_grace: timedelta,
    ) -> None:
        self.db = db
        self.clock = clock
        self.metrics = metrics
        self.settings = settings
        self.command_grace = command_grace
        self.passes = 0

    async def run(self, stop: asyncio.Event) -> None:
        """A pass now, then one every interval, until ``stop`` is set."""
        interval = self.settings.interval_minutes * 60
        while not stop.is_set():
            try:
                await self.run_once(stop)
            except Exception:
                log.exception("housekeeping pass failed; next one in %.0f min", interval / 60)
            if await pause(stop, interval):
                return

    async def run_once(self, stop: asyncio.Event | None = None) -> dict[str, int]:
        """One pass over every table; rows pruned by table (only those that lost some)."""
        cut = await self.cutoffs()
        pruned: dict[str, int] = {}
        for rule in retention.RULES:
            count = await self._prune(rule, cut, stop)
            if count:
                pruned[rule.table] = count
        self.passes += 1
        if pruned:
            await self.db.release_free_pages()
            log.info("housekeeping pruned %s", _counts(pruned))
        return pruned

    async def cutoffs(self) -> Cutoffs:
        """The moments before which each kind of row may go, from the settings."""
        now, s = self.clock.now(), self.settings
        claims = s.claims_window(self.command_grace) + SKEW
        async with self.db.session() as session:
            checked = await retention.agenda_checked(session)
        return Cutoffs(
            now=now,
            sent_messages=now - timedelta(hours=s.sent_messages_hours),
            failed_messages=now - timedelta(days=s.failed_messages_days),
            handled_events=now - claims,
            history=now - timedelta(days=s.history_days),
            feed_changes=now - timedelta(days=s.feed_changes_days),
            agenda_checked=checked,
        )

    async def _prune(self, rule: Rule, cut: Cutoffs, stop: asyncio.Event | None) -> int:
        """Batch after batch, each its own unit of work, until none is left (or stopping)."""
        total, limit = 0, self.settings.batch_rows
        while stop is None or not stop.is_set():
            async with self.db.session() as session:
                count = await retention.prune_batch(session, rule, cut, limit)
            if count:
                self.metrics.pruned(rule.table, count)
            total += count
            if count < limit:
                break
            await asyncio.sleep(0)  # let commands and sends in between batches
        return total


def _counts(pruned: dict[str, int]) -> str:
    return ", ".join(f"{table} {count}" for table, count in pruned.items())
