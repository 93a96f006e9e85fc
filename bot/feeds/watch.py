"""Watching one feed: fetch, read, record, then wait its turn; what organisers set on the feed
(paused, name, rooms, filters, templates) is read from the database before every poll."""

from __future__ import annotations

import asyncio
import logging
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import FeedError
from bot.feeds.changes import FeedChanges
from bot.feeds.fetch import (
    FetchResult,
    Validators,
    next_delay,
)
from bot.feeds.normalise import (
    FeedItem,
    NormaliseRules,
    normalise_entries,
)
from bot.feeds.parse import parse_feed
from bot.feeds.record import (
    PollContext,
    PollRecorder,
    PollReport,
)
from bot.feeds.settings import FeedAudience, FeedSettings
from bot.messages import Audience
from bot.metrics import Metrics
from bot.storage import feed_setup, feeds
from bot.storage.db import Database
from bot.storage.feed_setup import FeedSetup
from bot.storage.feeds import FeedState, IndexEntry
from bot.supervise import pause

log = logging.getLogger(__name__)
PAUSED = "paused"  # the outcome of a poll that found its feed paused or removed: nothing fetched


class Fetcher(Protocol):
    """What the watcher needs of ``bot.feeds.fetch.FeedFetcher``."""

    async def fetch(self, url: str, previous: Validators) -> FetchResult: ...


def read_batch(
    body: bytes, url: str, content_type: str | None, rules: NormaliseRules
) -> list[FeedItem]:
    """Parse and normalise a fetched body (blocking: run it in a worker thread)."""
    parsed = parse_feed(body, url=url, content_type=content_type)
    if parsed.bozo:
        log.info("feed %s is malformed but usable (%s)", url, parsed.bozo)
    return normalise_entries(parsed.entries, rules)


# One long-lived thread parses every feed. glibc gives each thread that allocates its own malloc
# arena, which keeps the high-water mark of the largest parse it ran; on the default executor
# parses landed on any idle worker and overlapping ones started new workers (up to
# min(32, cores + 4)), each a new arena: resident memory stepped up at feed changes.
_PARSER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="feed-parse")


async def parse_batch(
    body: bytes, url: str, content_type: str | None, rules: NormaliseRules
) -> list[FeedItem]:
    """``read_batch`` in the feed-parsing thread, never on the loop; parses queue there."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_PARSER, read_batch, body, url, content_type, rules)


class FeedWatcher:
    """Polls one feed: conditional fetch, parse off the loop, one unit of work, backoff."""

    def __init__(
        self,
        settings: FeedSettings,
        *,
        db: Database,
        fetcher: Fetcher,
        recorder: PollRecorder,
        clock: Clock,
        audience: Audience,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
        changes: FeedChanges | None = None,
    ) -> None:
        self.settings = settings
        self.changes = changes
        self.metrics = metrics or Metrics()
        self.db = db
        self.fetcher = fetcher
        self.recorder = recorder
        self.clock = clock
        self.audience = audience
        self.rng = rng or random.Random()
        self._lock = asyncio.Lock()
        # This watcher alone writes its feed's row: what it learnt stays true until it polls
        # again. Unknown after a start, so the first poll checks for owed announcements.
        self._validators: Validators | None = None
        self._deferred_waiting = True
        self._edits_owed = True
        # What organisers set on the feed, as read at that generation of ``changes``: organisers
        # change feeds only through commands, which bump it once committed. Without ``changes``
        # it is read before every poll.
        self._setup: tuple[int, FeedSetup | None] | None = None

    @property
    def url(self) -> str:
        return self.settings.url

    async def poll_once(self) -> PollReport:
        """One poll; failures are classified, recorded and answered with a backoff. A feed
        found paused or removed is not fetched (outcome ``PAUSED``)."""
        async with self._lock:
            report = await self._classified_poll()
        if report.outcome != PAUSED:
            self.metrics.feed_poll(self.settings.label, report.error_kind or report.outcome)
            self.metrics.announced(len(report.announced))
        return report

    async def _classified_poll(self) -> PollReport:
        try:
            return await self._poll()
        except FeedError as error:
            return await self._failed(error.kind, str(error), error.retry_after)
        except Exception as error:
            log.exception("feed %s: poll failed unexpectedly", self.url)
            return await self._failed("internal", type(error).__name__, None)

    async def _poll(self) -> PollReport:
        setup, validators = await self._prepare()
        if setup is not None and not setup.active:
            return PollReport(self.url, PAUSED)
        settings = self.settings if setup is None else self.settings.managed(setup)
        result = await self.fetcher.fetch(self.url, validators)
        report = await self._record(result, settings)
        self._validators = result.validators  # committed: the next request may use them
        return report

    async def _prepare(self) -> tuple[FeedSetup | None, Validators]:
        """What organisers set on the feed now, and the validators of the last fetch (None and
        none before the feed's row exists: the poll creates it). Read from the database unless
        both are known and no feed changed since."""
        generation = self.changes.generation if self.changes is not None else None
        known = self._setup
        if known is not None and known[0] == generation and self._validators is not None:
            return known[1], self._validators
        async with self.db.session() as session:
            found = await feed_setup.watched(session, self.url)
        setup, state = found if found is not None else (None, None)
        if generation is not None:
            self._setup = (generation, setup)
        if state is None:
            return None, self._validators or Validators()
        stored = Validators(state.etag, state.last_modified, state.body_hash)
        return setup, self._validators or stored

    async def _record(self, result: FetchResult, settings: FeedSettings) -> PollReport:
        """Store the batch, queue what it calls for and move the validators on, all at once."""
        now = self.clock.now()
        report = PollReport(self.url, result.status, next_delay=self._delay(0, None))
        largest = None
        async with self.db.session() as session:
            if result.body is not None:
                items, state, index = await self._read(session, result, settings)
                largest = max(state.largest_size_seen, len(items))
                context = self._context(settings, state, now, index)
                await self.recorder.record(session, context, items, report)
            elif self._deferred_waiting or self._edits_owed:
                state = await feeds.feed_state(session, self.url)
                context = self._context(settings, state, now)
                await self.recorder.record(session, context, None, report)
            report.poll = await feeds.poll_succeeded(
                session,
                self.url,
                now=now,
                validators=_validators(result.validators),
                next_poll_at=now + timedelta(seconds=report.next_delay),
                largest=largest,
            )
        self._deferred_waiting, self._edits_owed = report.deferred_left > 0, report.edits_owed
        _log_report(report)
        return report

    async def _read(
        self, session: AsyncSession, result: FetchResult, settings: FeedSettings
    ) -> tuple[list[FeedItem], FeedState, list[IndexEntry]]:
        """Parse in a worker thread (never on the loop), then load the stored state and items.

        Loading while the thread parses was measured slower: both need the GIL."""
        assert result.body is not None
        items = await parse_batch(result.body, self.url, result.content_type, settings.rules)
        state, index = await feeds.state_and_index(session, self.url)
        return items, state, index

    def _context(
        self,
        settings: FeedSettings,
        state: FeedState,
        now: datetime,
        index: list[IndexEntry] | None = None,
    ) -> PollContext:
        audience = FeedAudience(self.audience, settings.rooms)
        return PollContext(
            state, state.polls + 1, now, settings.label, settings.policy, audience,
            check_deferred=self._deferred_waiting, check_edits=self._edits_owed, index=index,
            templates=settings.templates,
        )  # fmt: skip

    async def _failed(self, kind: str, error: str, retry_after: float | None) -> PollReport:
        now = self.clock.now()
        async with self.db.session() as session:
            state = await feeds.feed_state(session, self.url)
            delay = self._delay(state.consecutive_failures + 1, retry_after)
            await feeds.poll_failed(
                session,
                state.id,
                now=now,
                kind=kind,
                error=error,
                next_poll_at=now + timedelta(seconds=delay),
            )
        log.warning(
            "feed %s: poll failed (%s: %s); next try in %.0f s", self.url, kind, error, delay
        )
        return PollReport(self.url, "failed", error_kind=kind, next_delay=delay)

    def _delay(self, failures: int, retry_after: float | None) -> float:
        interval = self.settings.interval
        return next_delay(interval, failures, retry_after=retry_after, rng=self.rng)

    async def run(self, stop: asyncio.Event) -> None:
        """Poll when due until ``stop`` is set or the feed is paused or removed; a failing poll
        never ends the loop."""
        delay = await self._initial_delay()
        while not await pause(stop, delay):
            try:
                report = await self.poll_once()
            except Exception:
                log.exception("feed %s: could not even record a failed poll", self.url)
                delay = self._delay(3, None)
                continue
            if report.outcome == PAUSED:
                log.info("feed %s: paused or removed; no longer polled", self.url)
                return
            delay = report.next_delay

    async def _initial_delay(self) -> float:
        """Resume the stored schedule, so a restart does not poll every feed at once."""
        try:
            async with self.db.session() as session:
                state = await feeds.find_feed(session, self.url)
        except Exception:
            log.exception("feed %s: cannot read its schedule", self.url)
            return 0.0
        if state is None or state.next_poll_at is None:
            return 0.0
        return max(0.0, (state.next_poll_at - self.clock.now()).total_seconds())


def _validators(validators: Validators) -> tuple[str | None, str | None, str | None]:
    return validators.etag, validators.last_modified, validators.body_hash


def _log_report(report: PollReport) -> None:
    if report.outcome != "fetched":
        log.debug("feed %s: %s (poll %d)", report.url, report.outcome, report.poll)
        return
    log.info(
        "feed %s: poll %d, %d items, %d new, %d edited, %d announced, %d held, %d old",
        report.url,
        report.poll,
        report.batch,
        report.new,
        report.edited,
        len(report.announced),
        report.held,
        report.old,
    )
