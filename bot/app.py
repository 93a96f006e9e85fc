"""Composition root: builds storage, the Matrix client, services and routers; starts and stops."""

from __future__ import annotations

import asyncio
import fnmatch
import logging
from datetime import datetime, timedelta

import aiohttp
from prometheus_client import CollectorRegistry

from bot.clock import Clock, SystemClock
from bot.commands import agenda as agenda_commands
from bot.commands import feeds as feed_commands
from bot.commands import meta
from bot.commands import reminders as reminder_commands
from bot.commands import subscriptions as subscription_commands
from bot.commands.context import reply_to
from bot.commands.router import Dispatcher
from bot.config import Config
from bot.feeds.record import Audience
from bot.feeds.watch import FeedWatchers, build_watchers
from bot.i18n import catalogue
from bot.lifecycle import log_started, stop_and_log
from bot.matrix.dm import DirectRooms
from bot.matrix.files import MatrixFiles
from bot.matrix.gateway import MatrixGateway
from bot.matrix.postbox import MatrixPostbox
from bot.matrix.sender import Sender
from bot.matrix.session import LoginSettings, Session
from bot.messages import IncomingMessage, IncomingReaction
from bot.metrics import Metrics
from bot.scheduling import ReminderScheduler
from bot.services.agenda import Agenda
from bot.services.agenda.posts import AgendaPoster, PostRooms
from bot.services.announcements import Announcer
from bot.services.permissions import Permissions
from bot.services.ratelimit import RateLimiter
from bot.services.registry import Services
from bot.services.reminders import ReminderService
from bot.services.subscriptions import Subscriptions
from bot.services.subscriptions.fanout import FanoutMonitor, NewsletterDelivery
from bot.storage import migrate, state
from bot.storage.db import Database
from bot.storage.lock import acquire, instance_lock, watch
from bot.supervise import TaskSet, unless_set
from bot.web import Probes, WebServer

log = logging.getLogger(__name__)
SYNC_TOKEN = "sync_token"


class DatabaseTokens:
    """The sync token, kept in the bot's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self) -> str | None:
        async with self.db.session() as session:
            return await state.get_value(session, SYNC_TOKEN)

    async def save(self, token: str) -> None:
        async with self.db.session() as session:
            await state.set_value(session, SYNC_TOKEN, token)


class InvitePolicy:
    """Invitations are accepted from organisers and from users of allowed servers only."""

    def __init__(self, organisers: frozenset[str], server_patterns: tuple[str, ...]) -> None:
        self.organisers = organisers
        self.patterns = server_patterns

    def __call__(self, inviter: str) -> bool:
        if inviter in self.organisers:
            return True
        server = inviter.partition(":")[2].lower()
        return any(fnmatch.fnmatchcase(server, pattern.lower()) for pattern in self.patterns)


class App:
    """The running bot: owns every long-lived part and their order of start and stop."""

    def __init__(self, config: Config, clock: Clock | None = None) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self.db = Database(config.database_url_or_default)
        self.tasks = TaskSet()
        self.room_ids: list[str] = []
        self.gateway: MatrixGateway | None = None
        self.sender: Sender | None = None
        self.web: WebServer | None = None
        self.dispatcher: Dispatcher | None = None
        self._sync_task: asyncio.Task[None] | None = None
        self.feeds: FeedWatchers | None = None
        self.organiser_room_id: str | None = None
        self._http: aiohttp.ClientSession | None = None
        self.scheduler: ReminderScheduler | None = None
        self.metrics = Metrics(CollectorRegistry())
        self.lock = instance_lock(config.database_url_or_default)
        self.lock_lost = asyncio.Event()
        self.active = False
        self._lock_watch: asyncio.Task[None] | None = None
        self.direct_replies: subscription_commands.DirectReplies | None = None
        self._fanout_stop = asyncio.Event()

    async def start(self) -> None:
        """Serve the probes, wait to be the only active instance, then migrate, log in, and
        start syncing, sending and polling (a standby never logs in, so never announces)."""
        self.config.data_dir.mkdir(parents=True, exist_ok=True)
        await self._start_web()
        await acquire(self.lock, self.clock)
        self.active = True
        self._lock_watch = asyncio.create_task(watch(self.lock, self.clock, self.lock_lost))
        await migrate.upgrade(self.config.database_url_or_default)
        client = await Session(self._login_settings(), self.config.data_dir).open()
        self.gateway = MatrixGateway(
            client,
            clock=self.clock,
            tokens=DatabaseTokens(self.db),
            command_grace=timedelta(seconds=self.config.matrix.command_grace_seconds),
            invite_allowed=InvitePolicy(
                frozenset(self.config.organisers), tuple(self.config.allowed_invite_servers)
            ),
            sync_timeout_ms=self.config.matrix.sync_timeout_ms,
        )
        self.sender = Sender(
            self.db,
            self.gateway,
            self.clock,
            pace_seconds=self.config.sending.pace_seconds,
            max_backoff_seconds=self.config.sending.max_backoff_seconds,
            metrics=self.metrics,
            bulk_pace_seconds=self.config.subscriptions.dm_pace_seconds,
        )
        self.dispatcher = self._dispatcher(self._services(self.gateway, self.sender))
        self._sync_task = self.tasks.spawn(self.gateway.run(self), name="sync")
        await self._join_rooms()
        self.tasks.spawn(self.sender.run(), name="sender")
        await self._start_reminders()
        await self._start_feeds()

    def _login_settings(self) -> LoginSettings:
        matrix = self.config.matrix
        return LoginSettings(
            homeserver=matrix.homeserver,
            user_id=matrix.user_id,
            password=matrix.password.get_secret_value() if matrix.password else None,
            access_token=matrix.access_token.get_secret_value() if matrix.access_token else None,
            device_name=matrix.device_name,
            encryption=matrix.encryption,
        )

    def _services(self, gateway: MatrixGateway, sender: Sender) -> Services:
        permissions = Permissions(
            self.config.organisers,
            lambda: self.room_ids,
            gateway,
            threshold=self.config.organiser_power_level,
        )
        postbox = MatrixPostbox(self.clock, sender)
        return Services(
            config=self.config,
            clock=self.clock,
            db=self.db,
            postbox=postbox,
            permissions=permissions,
            reminders=self._reminder_service(gateway, postbox),
            agenda=Agenda(self.config.tz),
            subscriptions=Subscriptions(
                postbox, self.clock, prefix=self.config.commands.prefix, tz=self.config.tz
            ),
            direct=self._direct_rooms(gateway),
            files=MatrixFiles(gateway.client, postbox),
        )

    def _dispatcher(self, services: Services) -> Dispatcher:
        limits = self.config.commands.rate_limit
        limiter = RateLimiter(self.clock, burst=limits.burst, per_seconds=limits.per_seconds)
        dispatcher = Dispatcher(services, limiter, self.metrics)
        dispatcher.include(meta.router, feed_commands.router, reminder_commands.router)
        dispatcher.include(agenda_commands.router, subscription_commands.router)
        self.direct_replies = subscription_commands.DirectReplies(services)
        dispatcher.direct_replies = self.direct_replies.on_message
        return dispatcher

    async def _join_rooms(self) -> None:
        """After the first sync: resolve the configured rooms and join those not joined yet."""
        gateway = self.gateway
        assert gateway is not None
        await gateway.synced.wait()
        for room in self.config.rooms:
            room_id = await gateway.resolve_room(room)
            if room_id is None:
                log.error("configured room %s cannot be resolved", room)
                continue
            async with self.db.session() as session:
                room_id = await state.resolve_room(session, room_id)
            if not gateway.joined(room_id) and not await gateway.join(room_id):
                log.error("cannot join configured room %s; invite the bot", room_id)
            self.room_ids.append(room_id)

    async def _start_feeds(self) -> None:
        """One watcher task per configured feed, once the rooms are known."""
        if not self.config.feeds:
            return
        self.organiser_room_id = await self._organiser_room()
        self._http = aiohttp.ClientSession()
        self.feeds = build_watchers(
            self.config,
            db=self.db,
            postbox=self._postbox(),
            clock=self.clock,
            http=self._http,
            audience=self._audience,
            metrics=self.metrics,
            newsletter=self._newsletter_delivery(),
        )
        self.feeds.start()
        self._start_fanout_monitor()

    def _audience(self) -> Audience:
        """Announcements go to the configured rooms; feed trouble to the organisers' room."""
        rooms = tuple(self.room_ids)
        return Audience(rooms, (self.organiser_room_id,) if self.organiser_room_id else rooms)

    async def _organiser_room(self) -> str | None:
        """The configured organisers' room, resolved and joined, or None."""
        room = self.config.announcements.organiser_room
        gateway = self.gateway
        if room is None or gateway is None:
            return None
        room_id = await gateway.resolve_room(room)
        if room_id is None:
            log.error("organiser room %s cannot be resolved", room)
        elif not gateway.joined(room_id) and not await gateway.join(room_id):
            log.error("cannot join the organiser room %s; invite the bot", room_id)
        return room_id

    def _reminder_service(self, gateway: MatrixGateway, postbox: MatrixPostbox) -> ReminderService:
        return ReminderService(
            self.db,
            postbox,
            self.clock,
            tz=self.config.tz,
            grace=timedelta(seconds=self.config.reminders.misfire_grace_seconds),
            language=self.config.language,
            rooms=gateway,
            hub_rooms=lambda: self.room_ids,
        )

    async def _start_reminders(self) -> None:
        """After the first sync: send or report what fell due while stopped, plan the rest."""
        assert self.dispatcher is not None and self.dispatcher.services.reminders is not None
        sources = [await self._agenda_poster()]
        self.scheduler = ReminderScheduler(self.dispatcher.services.reminders, self.clock, sources)
        await self.scheduler.start()

    async def _agenda_poster(self) -> AgendaPoster:
        """Event reminders and the weekly digest; organisers hear of the ones missed."""
        assert self.dispatcher is not None and self.dispatcher.services.agenda is not None
        if self.organiser_room_id is None:
            self.organiser_room_id = await self._organiser_room()
        agenda = self.dispatcher.services.agenda
        return AgendaPoster.from_config(
            self.config, self.db, self._postbox(), agenda, self._post_rooms
        )

    def _post_rooms(self) -> PostRooms:
        audience = self._audience()
        return PostRooms(audience.rooms, audience.organisers)

    async def _start_web(self) -> None:
        if self.config.web.enabled:
            probes = Probes(self.config, self.db, self.clock, self.metrics, self)
            self.web = WebServer(probes, self.config.web.host, self.config.web.port)
            await self.web.start()

    # --- what the gateway hands over -----------------------------------------------------------

    async def on_message(self, message: IncomingMessage) -> None:
        assert self.dispatcher is not None
        await self.dispatcher.handle(message)

    async def on_undecryptable(self, message: IncomingMessage) -> None:
        """In a direct conversation, ask the member to send again; elsewhere the log is enough."""
        if not message.is_direct:
            return
        t = catalogue(self.config.language)
        async with self.db.session() as session:
            answer = reply_to(message, t("crypto.undecryptable"))
            await self._postbox().post(session, answer, dedupe_key=f"utd:{message.event_id}")

    async def on_reaction(self, reaction: IncomingReaction) -> None:
        if self.direct_replies is not None:
            await self.direct_replies.on_reaction(reaction)

    async def on_room_upgraded(self, old_room_id: str, new_room_id: str) -> None:
        async with self.db.session() as session:
            await state.add_redirect(session, old_room_id, new_room_id, self.clock.now())
        self._postbox().room_upgraded(old_room_id, new_room_id)
        self.room_ids = [new_room_id if r == old_room_id else r for r in self.room_ids]

    def _postbox(self) -> MatrixPostbox:
        assert self.dispatcher is not None
        postbox = self.dispatcher.services.postbox
        assert isinstance(postbox, MatrixPostbox)
        return postbox

    # --- what the probes read, and stop ----------------------------------------------------------

    @property
    def last_sync_at(self) -> datetime | None:
        return self.gateway.last_sync_at if self.gateway else None

    def sync_alive(self) -> bool:
        return self._sync_task is not None and not self._sync_task.done()

    async def stop(self) -> None:
        """Stop in reverse order; the outbox keeps whatever was not sent yet."""
        if self.web:
            await self.web.stop()
        self._fanout_stop.set()
        if self.feeds:
            await self.feeds.stop()
        if self.scheduler:
            await self.scheduler.stop()
        if self.sender:
            self.sender.stop()
        if self.gateway:
            await self.gateway.stop()
        if self._sync_task:
            self._sync_task.cancel()
        await self.tasks.drain(timeout=10)
        if self._http:
            await self._http.close()
        if self.gateway:
            await self.gateway.client.close()
        await self.db.dispose()
        await self._release_lock()

    async def _release_lock(self) -> None:
        """Last of all: nothing of this instance sends any more when another one takes over."""
        self.active = False
        if self._lock_watch:
            self._lock_watch.cancel()
            await asyncio.gather(self._lock_watch, return_exceptions=True)
        await self.lock.release()

    # --- newsletter subscriptions ----------------------------------------------------------------

    def _direct_rooms(self, gateway: MatrixGateway) -> DirectRooms:
        """Members' DMs; the hub's rooms never count as one, even with two members."""
        return DirectRooms(
            gateway.client,
            shared_rooms=lambda: [*self.room_ids, *filter(None, [self.organiser_room_id])],
            next_sync=gateway.next_sync,
            left=gateway.has_left,
            encrypted=self.config.matrix.encryption,
        )

    def _newsletter_delivery(self) -> NewsletterDelivery:
        """Each announced newsletter also goes to the DM of the subscribers who chose it."""
        assert self.dispatcher is not None and self.dispatcher.services.direct is not None
        config = self.config
        announcer = Announcer(config.announcements, catalogue(config.language), config.tz)
        return NewsletterDelivery(self._postbox(), self.dispatcher.services.direct, announcer)

    def _start_fanout_monitor(self) -> None:
        """Progress of newsletters by DM in the log; refusals marked and reported."""
        monitor = FanoutMonitor(
            self.db,
            self._postbox(),
            self.clock,
            catalogue(self.config.language),
            organisers=lambda: self._audience().organisers,
            interval=self.config.subscriptions.progress_interval_seconds,
            prefix=self.config.commands.prefix,
        )
        self.tasks.spawn(monitor.run(self._fanout_stop), name="newsletter-fanout")


async def run_until_stopped(app: App, stop: asyncio.Event) -> bool:
    """Start the bot (a standby waits for the lock meanwhile), run until ``stop`` is set or the
    instance lock is lost, then stop cleanly; False when the lock was lost."""
    try:
        if await unless_set(app.start(), stop):
            log_started(app)
            await unless_set(stop.wait(), app.lock_lost)
    finally:
        await stop_and_log(app)
    return not app.lock_lost.is_set()
