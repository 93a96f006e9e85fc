"""The assembly: every long-lived part of the running bot, built at once from the configuration,
the logged-in Matrix client, the clock and the database. Nothing in it is optional or built later;
``bot.app`` starts and stops what it holds, in order."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import aiohttp

from bot import __version__
from bot.clock import Clock
from bot.commands import agenda as agenda_commands
from bot.commands import feeds as feed_commands
from bot.commands import meta
from bot.commands import reminders as reminder_commands
from bot.commands import subscriptions as subscription_commands
from bot.commands.router import Dispatcher
from bot.config import Config
from bot.feeds.changes import FeedChanges
from bot.feeds.fetch import FeedFetcher, user_agent
from bot.feeds.guard import guarded_session
from bot.feeds.policy import AddressPolicy
from bot.feeds.record import NewsletterFanOut, PollRecorder
from bot.feeds.watchers import FeedWatchers, WatcherKit
from bot.i18n import catalogue
from bot.mail import SmtpMailer
from bot.matrix.dm import DirectRooms
from bot.matrix.files import MatrixFiles
from bot.matrix.gateway import MatrixGateway
from bot.matrix.identity import IdentitySettings
from bot.matrix.identity_keeper import IdentityKeeper
from bot.matrix.postbox import MatrixPostbox
from bot.matrix.privacy import DirectMap, DmCheck
from bot.matrix.sender import Sender
from bot.matrix.session import Client
from bot.matrix.sync import InvitePolicy, SyncLoop, SyncTokens
from bot.matrix.withheld import WithheldKeys
from bot.messages import Audience, Postbox
from bot.metrics import Metrics
from bot.scheduling import ReminderScheduler
from bot.services.agenda.posts import AgendaPoster
from bot.services.announcements import Announcer
from bot.services.housekeeping import Housekeeping
from bot.services.key_notices import KeyWithheldNotices
from bot.services.ratelimit import RateLimiter
from bot.services.registry import Outside, Services, build_services
from bot.services.rooms import HubRooms
from bot.services.subscriptions.fanout import FanoutMonitor, NewsletterDelivery
from bot.storage.db import Database

# Every feature module's router, in the order help lists their commands.
ROUTERS = (
    meta.router,
    feed_commands.router,
    reminder_commands.router,
    agenda_commands.router,
    subscription_commands.router,
)


@dataclass(frozen=True)
class Parts:
    """The running bot's parts: the Matrix edge, the outbox, the services and the loops."""

    gateway: MatrixGateway
    sync: SyncLoop
    sender: Sender
    postbox: MatrixPostbox
    rooms: HubRooms
    services: Services
    dispatcher: Dispatcher
    scheduler: ReminderScheduler
    feeds: FeedWatchers
    fanout: FanoutMonitor
    housekeeping: Housekeeping
    http: aiohttp.ClientSession
    identity: IdentityKeeper
    withheld: WithheldKeys


def assemble(config: Config, client: Client, clock: Clock, db: Database, metrics: Metrics) -> Parts:
    """Build every part; nothing runs until ``bot.app`` starts the loops."""
    gateway = MatrixGateway(client, clock)
    rooms = HubRooms(db, clock)
    direct_map = DirectMap(client)
    check = DmCheck(client, direct_map, rooms)
    sender = Sender(
        db, gateway, clock, pace_seconds=config.sending.pace_seconds,
        room_burst=config.sending.room_burst, burst=config.sending.burst, metrics=metrics,
        max_backoff_seconds=config.sending.max_backoff_seconds,
        bulk_pace_seconds=config.subscriptions.dm_pace_seconds, privacy=check,
    )  # fmt: skip
    postbox = MatrixPostbox(clock, sender, rooms, device_id=client.device_id or "")
    http = guarded_session(AddressPolicy.allowing(config.fetch.allow_private))
    fetcher = FeedFetcher(http, user_agent=user_agent(__version__, config.contact), clock=clock)
    direct = DirectRooms(
        client, check=check, direct=direct_map, next_sync=gateway.next_sync,
        left=gateway.has_left, encrypted=config.matrix.encryption,
    )  # fmt: skip
    identity = IdentityKeeper(
        client, IdentitySettings.from_config(config), metrics.device_cross_signed
    )
    mailer = SmtpMailer(config.mail) if config.mail else None
    files = MatrixFiles(client, postbox)
    outside = Outside(
        gateway, gateway, direct, files, fetcher, lambda: identity.trust, mailer=mailer
    )
    changes = FeedChanges()
    services = build_services(config, clock, db, postbox, rooms, outside, changes)
    dispatcher = build_dispatcher(services, metrics)
    announcer = Announcer(config.announcements, catalogue(config.language), config.tz)
    newsletter = NewsletterDelivery(postbox, direct, announcer)
    notices = KeyWithheldNotices(
        db, postbox, direct, catalogue(config.language), clock, lambda: identity.signed
    )
    withheld = WithheldKeys(client, metrics, notices.tell)
    return Parts(
        gateway=gateway,
        sync=_sync_loop(config, gateway, clock, db, dispatcher, rooms, withheld, direct_map),
        sender=sender,
        postbox=postbox,
        rooms=rooms,
        services=services,
        dispatcher=dispatcher,
        scheduler=_scheduler(config, services),
        feeds=_watchers(config, db, clock, postbox, fetcher, rooms, metrics, newsletter, changes),
        fanout=_fanout_monitor(config, db, clock, postbox, rooms),
        housekeeping=_housekeeping(config, db, clock, metrics),
        http=http,
        identity=identity,
        withheld=withheld,
    )


def build_dispatcher(services: Services, metrics: Metrics) -> Dispatcher:
    """The dispatcher with every router included, rate-limited as configured."""
    limits = services.config.commands.rate_limit
    limiter = RateLimiter(services.clock, burst=limits.burst, per_seconds=limits.per_seconds)
    dispatcher = Dispatcher(services, limiter, metrics)
    dispatcher.include(*ROUTERS)
    return dispatcher


def _sync_loop(
    config: Config,
    gateway: MatrixGateway,
    clock: Clock,
    db: Database,
    dispatcher: Dispatcher,
    rooms: HubRooms,
    withheld: WithheldKeys,
    direct_map: DirectMap,
) -> SyncLoop:
    """The sync loop: events to the dispatcher, room upgrades to the hub's rooms, DMs members
    open with the bot to its ``m.direct``; members whose clients withhold their keys are not
    asked to resend what the bot cannot read."""
    invites = InvitePolicy(frozenset(config.organisers), tuple(config.allowed_invite_servers))
    grace = timedelta(seconds=config.matrix.command_grace_seconds)
    return SyncLoop(
        gateway, clock, tokens=SyncTokens(db), inbox=dispatcher, upgrades=rooms, invites=invites,
        directs=direct_map, command_grace=grace,
        replay_window=config.retention.claims_window(grace),
        sync_timeout_ms=config.matrix.sync_timeout_ms, withholding=withheld.withholds,
    )  # fmt: skip


def _scheduler(config: Config, services: Services) -> ReminderScheduler:
    """Reminders, and the agenda's automatic posts (reminders before events, weekly digest)."""
    poster = AgendaPoster.from_config(
        config, services.db, services.postbox, services.agenda, services.rooms
    )
    return ReminderScheduler(services.reminders, services.clock, [poster])


def _watchers(
    config: Config,
    db: Database,
    clock: Clock,
    postbox: Postbox,
    fetcher: FeedFetcher,
    audience: Audience,
    metrics: Metrics,
    newsletter: NewsletterFanOut,
    changes: FeedChanges,
) -> FeedWatchers:
    """A watcher per feed followed, sharing the fetcher's session, one announcer and recorder;
    woken by ``changes`` when organisers add, remove, pause or resume feeds."""
    settings = config.announcements
    announcer = Announcer(settings, catalogue(config.language), config.tz)
    recorder = PollRecorder(
        postbox, announcer, date_notice=settings.date_change_notice, newsletter=newsletter
    )
    kit = WatcherKit(config, db, clock, fetcher, recorder, audience, metrics, changes)
    return FeedWatchers(followed=kit.followed, build=kit.build, changes=changes)


def _fanout_monitor(
    config: Config, db: Database, clock: Clock, postbox: Postbox, audience: Audience
) -> FanoutMonitor:
    """Progress of newsletters by DM in the log; refusals marked and reported."""
    return FanoutMonitor(
        db, postbox, clock, catalogue(config.language), audience=audience,
        interval=config.subscriptions.progress_interval_seconds, prefix=config.commands.prefix,
    )  # fmt: skip


def _housekeeping(config: Config, db: Database, clock: Clock, metrics: Metrics) -> Housekeeping:
    """The pruning of what the database keeps no longer, at start and every interval."""
    grace = timedelta(seconds=config.matrix.command_grace_seconds)
    return Housekeeping(db, clock, metrics, config.retention, command_grace=grace)
