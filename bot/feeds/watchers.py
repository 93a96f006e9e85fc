"""Every followed feed's watcher, each in its own task, in step with the database: a feed added
while the bot runs gets a watcher at once, a paused or removed one loses it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.clock import Clock
from bot.config import Config
from bot.feeds.changes import FeedChanges
from bot.feeds.fetch import FeedFetcher
from bot.feeds.record import PollRecorder, PollReport
from bot.feeds.settings import FeedSettings, feed_section
from bot.feeds.watch import FeedWatcher
from bot.messages import Audience
from bot.metrics import Metrics
from bot.storage import feed_setup
from bot.storage.db import Database
from bot.storage.feed_setup import FeedSetup
from bot.supervise import TaskSet, pause

log = logging.getLogger(__name__)

RESYNC_SECONDS = 300.0  # the database is read again this often even when nothing said it changed


@dataclass
class _Running:
    """A watcher and the task running it; ``stop`` ends that task alone."""

    watcher: FeedWatcher
    task: asyncio.Task[None]
    stop: asyncio.Event = field(default_factory=asyncio.Event)


class FeedWatchers:
    """Runs a watcher per active feed: a slow or failing feed delays no other.

    ``followed`` reads the feeds from the database and ``build`` makes a feed's watcher; without
    them, the ``watchers`` given are run as they are (a fixed set, as tests build).
    """

    def __init__(
        self,
        watchers: Sequence[FeedWatcher] = (),
        *,
        followed: Callable[[], Awaitable[list[FeedSetup]]] | None = None,
        build: Callable[[FeedSetup], FeedWatcher] | None = None,
        changes: FeedChanges | None = None,
        grace: float = 1.0,
    ) -> None:
        self.fixed = list(watchers)
        self.followed = followed
        self.build = build
        self.changes = changes or FeedChanges()
        self.grace = grace
        self.tasks = TaskSet()
        self.ready = asyncio.Event()  # set once the feeds followed at start have their watchers
        self._running: dict[str, _Running] = {}

    @property
    def watchers(self) -> list[FeedWatcher]:
        """The watchers running now."""
        return [running.watcher for running in self._running.values()]

    async def run(self, stop: asyncio.Event) -> None:
        """Keep a watcher running for each active feed until ``stop``; a poll still running
        ``grace`` seconds later is cancelled, which is safe: its unit of work rolls back and the
        next start polls again."""
        for watcher in self.fixed:
            self._start(watcher)
        try:
            while not stop.is_set():
                self.changes.event.clear()
                await self._follow()
                self.ready.set()
                if await pause(stop, RESYNC_SECONDS, self.changes.event):
                    break
        finally:
            for running in self._running.values():
                running.stop.set()
            await self.tasks.drain(timeout=self.grace)

    async def _follow(self) -> None:
        """Start the watchers of active feeds that have none, stop those of the others."""
        if self.followed is None or self.build is None:
            return
        try:
            active = {setup.url: setup for setup in await self.followed() if setup.active}
        except Exception:
            log.exception("cannot read the feeds followed; trying again later")
            return
        for url, running in list(self._running.items()):
            if url not in active and not running.stop.is_set():
                running.stop.set()
                log.info("feed %s: watcher stopped", url)
        for url, setup in active.items():
            if url not in self._running:
                self._start(self.build(setup))

    def _start(self, watcher: FeedWatcher) -> None:
        url = watcher.url
        stop = asyncio.Event()
        task = self.tasks.spawn(watcher.run(stop), name=f"feed:{url}")
        self._running[url] = _Running(watcher, task, stop)
        task.add_done_callback(lambda _: self._ended(url, task))
        log.info("feed %s: watcher started", url)

    def _ended(self, url: str, task: asyncio.Task[None]) -> None:
        """A watcher's task ended (stopped, or its feed found paused): forget it, and look
        again, in case its feed was resumed meanwhile."""
        running = self._running.get(url)
        if running is not None and running.task is task:
            del self._running[url]
            self.changes.notify()

    async def poll_now(self) -> list[PollReport]:
        """Poll every running watcher's feed at once (the scheduled polls go on as before)."""
        return list(await asyncio.gather(*(watcher.poll_once() for watcher in self.watchers)))


@dataclass(frozen=True)
class WatcherKit:
    """What every feed's watcher shares (the fetcher's session, one recorder, the hub's rooms),
    and how to read the feeds followed and make one's watcher."""

    config: Config
    db: Database
    clock: Clock
    fetcher: FeedFetcher
    recorder: PollRecorder
    audience: Audience
    metrics: Metrics
    changes: FeedChanges

    async def followed(self) -> list[FeedSetup]:
        """The feeds not removed, from the database."""
        async with self.db.session() as session:
            return await feed_setup.setups(session)

    def build(self, setup: FeedSetup) -> FeedWatcher:
        """The watcher of ``setup``: its configuration section's settings, or the defaults of a
        feed added by command; what organisers set is read again at every poll."""
        section = feed_section(self.config.feeds, setup.url)
        summary = self.config.announcements.summary_chars
        fetcher = self.fetcher.limited(timeout=section.timeout_seconds, max_bytes=section.max_bytes)
        return FeedWatcher(
            FeedSettings.from_config(section, self.config.tz, summary), db=self.db,
            fetcher=fetcher, recorder=self.recorder, clock=self.clock, audience=self.audience,
            metrics=self.metrics, changes=self.changes,
        )  # fmt: skip
