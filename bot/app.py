"""The running bot: its start, step by step, and its stop, the same steps undone in reverse."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack
from datetime import datetime
from functools import partial
from typing import Any

from prometheus_client import CollectorRegistry

from bot.allocator import give_back
from bot.assembly import Parts, assemble
from bot.clock import Clock, SystemClock
from bot.commands.router import Dispatcher
from bot.config import Config
from bot.feeds.seed import seed
from bot.feeds.watchers import FeedWatchers
from bot.lifecycle import log_started, stop_and_log
from bot.matrix.gateway import MatrixGateway
from bot.matrix.sender import Sender
from bot.matrix.session import Client, LoginSettings, Session
from bot.metrics import Metrics
from bot.scheduling import ReminderScheduler
from bot.storage import feed_setup
from bot.storage.db import Database
from bot.storage.lock import acquire, instance_lock, watch
from bot.storage.migrate import upgrade_if_behind
from bot.supervise import TaskSet, halt, unless_set
from bot.web import Probes, WebServer

log = logging.getLogger(__name__)

Step = Callable[[], Awaitable[None]]
RunLoop = Callable[[asyncio.Event], Coroutine[Any, Any, None]]
# How long each loop may take to finish what it does once asked to stop, before it is cancelled.
SYNC_GRACE = 15.0  # the handlers under way get 10 s of it
LOOP_GRACE = 10.0
FEEDS_GRACE = 5.0  # a poll under way gets 1 s of it


class App:
    """The running bot: owns every long-lived part and their order of start and stop."""

    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.db = Database(config.database_url_or_default)
        self.metrics = Metrics(CollectorRegistry())
        self.lock = instance_lock(config.database_url_or_default)
        self.lock_lost = asyncio.Event()
        self.active = False
        self.tasks = TaskSet()
        self.web: WebServer | None = None  # None when the configuration turns it off
        self.parts: Parts | None = None  # None until logged in: a standby has none
        self.feeds_followed = 0  # active feeds once the configuration's were seeded
        self._client: Client | None = None
        self._sync_task: asyncio.Task[Any] | None = None
        self._undo = AsyncExitStack()

    def steps(self) -> list[Step]:
        """The start, in order; each step leaves behind how it is undone."""
        return [
            self._prepare,
            self._serve_probes,
            self._take_lock,
            self._migrate,
            self._seed_feeds,
            self._log_in,
            self._assemble,
            self._cross_sign,
            self._first_sync,
            self._resolve_rooms,
            self._start_loops,
        ]

    async def start(self) -> None:
        """Serve the probes, wait to be the only active instance, then migrate, log in, and
        start syncing, sending and polling (a standby never logs in, so never announces)."""
        for step in self.steps():
            await step()

    async def stop(self) -> None:
        """Undo what started, in reverse order; the outbox keeps whatever was not sent yet."""
        await self._undo.aclose()

    # --- the steps -----------------------------------------------------------------------------

    async def _prepare(self) -> None:
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        self._undo.push_async_callback(self.db.dispose)

    async def _serve_probes(self) -> None:
        if self.config.web.enabled:
            probes = Probes(self.config, self.db, self.clock, self.metrics, self)
            self.web = WebServer(probes, self.config.web.host, self.config.web.port)
            self._undo.push_async_callback(self.web.stop)
            await self.web.start()

    async def _take_lock(self) -> None:
        """Wait to be the only active instance, and watch that it stays so."""
        self._undo.push_async_callback(self._release_lock)
        await acquire(self.lock, self.clock)
        self.active = True
        self._start_loop("instance-lock", partial(watch, self.lock, self.lock_lost), LOOP_GRACE)

    async def _migrate(self) -> None:
        """One query when the schema is at head; Alembic is loaded only when it is not."""
        await upgrade_if_behind(self.db)
        await self.db.use_incremental_vacuum()  # SQLite: once, so the file can shrink

    async def _seed_feeds(self) -> None:
        """The configuration's feeds into the database, where the feeds followed live."""
        async with self.db.session() as session:
            await seed(session, self.config.feeds, self.clock.now())
            followed = await feed_setup.setups(session)
        self.feeds_followed = sum(setup.active for setup in followed)

    async def _log_in(self) -> None:
        settings = LoginSettings.from_config(self.config.matrix)
        client = await Session(settings, self.config.data_dir).open()
        self._undo.push_async_callback(client.close)
        self._client = client

    async def _assemble(self) -> None:
        assert self._client is not None  # logged in by the step before
        parts = assemble(self.config, self._client, self.clock, self.db, self.metrics)
        self._undo.push_async_callback(parts.http.close)
        self.parts = parts

    async def _cross_sign(self) -> None:
        """Before any command: the device signed by the account's identity (matrix/identity.py);
        the bot keeps running when it cannot be, and says why."""
        parts = self._running()
        self._undo.push_async_callback(parts.withheld.stop)
        self._undo.push_async_callback(parts.identity.stop)
        await parts.identity.start()

    async def _first_sync(self) -> None:
        """Start syncing, and wait until the first sync brought the rooms' state."""
        parts = self._running()
        self._sync_task = self._start_loop("sync", parts.sync.run, SYNC_GRACE)
        await parts.sync.synced.wait()

    async def _resolve_rooms(self) -> None:
        """The configured rooms and the organisers' room as ids, joined when the bot can."""
        announcements = self.config.announcements
        rooms, gateway = self._running().rooms, self._running().gateway
        await rooms.resolve(self.config.rooms, announcements.organiser_room, gateway)

    async def _start_loops(self) -> None:
        """Send, then catch up on reminders and plan the rest, then poll the feeds (organisers
        may add one at any time), follow the newsletters they send by DM, and prune what the
        database keeps no longer (a first pass now)."""
        parts = self._running()
        self._start_loop("sender", parts.sender.run, LOOP_GRACE)
        self._undo.push_async_callback(parts.scheduler.stop)
        await parts.scheduler.start()
        feeds = self._start_loop("feeds", parts.feeds.run, FEEDS_GRACE)
        await _ready_or_ended(parts.feeds.ready, feeds)
        self._start_loop("newsletter-fanout", parts.fanout.run, LOOP_GRACE)
        self._start_loop("housekeeping", parts.housekeeping.run, LOOP_GRACE)

    def _start_loop(self, name: str, run: RunLoop, grace: float) -> asyncio.Task[Any]:
        """Run ``run(stop)`` in the task set; stopping sets ``stop``, then cancels after
        ``grace`` seconds."""
        stop = asyncio.Event()
        task = self.tasks.spawn(run(stop), name=name)
        self._undo.push_async_callback(halt, stop, task, grace)
        return task

    async def _release_lock(self) -> None:
        """Once nothing of this instance sends any more, another one may take over."""
        self.active = False
        await self.lock.release()

    def _running(self) -> Parts:
        assert self.parts is not None  # assembled by an earlier step
        return self.parts

    # --- what the probes and the tests read ----------------------------------------------------

    @property
    def last_sync_at(self) -> datetime | None:
        return self.parts.gateway.last_sync_at if self.parts else None

    def sync_alive(self) -> bool:
        return self._sync_task is not None and not self._sync_task.done()

    @property
    def gateway(self) -> MatrixGateway | None:
        return self.parts.gateway if self.parts else None

    @property
    def sender(self) -> Sender | None:
        return self.parts.sender if self.parts else None

    @property
    def dispatcher(self) -> Dispatcher | None:
        return self.parts.dispatcher if self.parts else None

    @property
    def feeds(self) -> FeedWatchers | None:
        """The feed watchers, once assembled."""
        return self.parts.feeds if self.parts else None

    @property
    def scheduler(self) -> ReminderScheduler | None:
        return self.parts.scheduler if self.parts else None

    @property
    def room_ids(self) -> list[str]:
        return self.parts.rooms.rooms if self.parts else []


async def _ready_or_ended(ready: asyncio.Event, task: asyncio.Task[Any]) -> None:
    """Wait until ``ready`` is set, or ``task`` (which sets it) ended without."""
    waiter = asyncio.ensure_future(ready.wait())
    try:
        await asyncio.wait({waiter, task}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()


async def run_until_stopped(app: App, stop: asyncio.Event) -> bool:
    """Start the bot (a standby waits for the lock meanwhile), run until ``stop`` is set or the
    instance lock is lost, then stop cleanly; False when the lock was lost."""
    try:
        if await unless_set(app.start(), stop):
            log_started(app)
            give_back()  # what the start used and let go of (a migration, the first sync)
            await unless_set(stop.wait(), app.lock_lost)
    finally:
        await stop_and_log(app)
    return not app.lock_lost.is_set()
