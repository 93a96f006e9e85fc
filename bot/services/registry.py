"""The services, built once by ``build_services`` (the application's assembly and the tests alike)
and handed to every command: each field is always there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.config import Config
from bot.feeds.changes import FeedChanges
from bot.feeds.record import PollRecorder
from bot.feeds.watch import Fetcher
from bot.i18n import catalogue
from bot.messages import FileDrop, Postbox
from bot.services.agenda import Agenda
from bot.services.announcements import Announcer
from bot.services.feed_manager import FeedManager
from bot.services.feeds import FeedReports
from bot.services.permissions import Permissions, RoomPowers
from bot.services.reminders import ReminderService
from bot.services.rooms import HubRooms, RoomDirectory
from bot.services.status import BotStatus
from bot.services.subscriptions import DirectChats, Subscriptions
from bot.services.subscriptions.confirm import AddressConfirmation, Mailer
from bot.storage.db import Database
from bot.trust import DeviceTrust


@dataclass(frozen=True)
class Outside:
    """What the services need of the world outside the bot's database: the Matrix layer's
    answers about rooms, DMs and files, the feed fetcher, and the mail server when there is
    one (``mail:``)."""

    powers: RoomPowers
    directory: RoomDirectory
    direct: DirectChats
    files: FileDrop
    fetcher: Fetcher
    device_trust: Callable[[], DeviceTrust | None] = lambda: None  # None: not checked
    mailer: Mailer | None = None


@dataclass(frozen=True)
class Services:
    """Everything a handler may use; passed explicitly, never looked up."""

    config: Config
    clock: Clock
    db: Database
    postbox: Postbox
    rooms: HubRooms
    permissions: Permissions
    agenda: Agenda
    reminders: ReminderService
    subscriptions: Subscriptions
    feeds: FeedReports
    status: BotStatus
    feed_manager: FeedManager


def build_services(
    config: Config,
    clock: Clock,
    db: Database,
    postbox: Postbox,
    rooms: HubRooms,
    outside: Outside,
    changes: FeedChanges | None = None,
) -> Services:
    """Every service, wired to the one database, postbox and set of hub rooms; ``changes``
    wakes the feed watchers when organisers change the feeds."""
    permissions = Permissions(
        config.organisers, rooms, outside.powers, threshold=config.organiser_power_level
    )
    reminders = ReminderService(
        db, postbox, clock, tz=config.tz, language=config.language, rooms=outside.directory,
        hub=rooms, grace=timedelta(seconds=config.reminders.misfire_grace_seconds),
    )  # fmt: skip
    confirmation = None
    if outside.mailer is not None and config.mail is not None:
        confirmation = AddressConfirmation(outside.mailer, minutes=config.mail.code_minutes)
    subscriptions = Subscriptions(
        db, postbox, clock, direct=outside.direct, files=outside.files,
        prefix=config.commands.prefix, tz=config.tz, confirmation=confirmation,
    )  # fmt: skip
    announcer = Announcer(config.announcements, catalogue(config.language), config.tz)
    recorder = PollRecorder(postbox, announcer, date_notice=config.announcements.date_change_notice)
    feed_manager = FeedManager(
        config, db, outside.fetcher, rooms, outside.directory, recorder, changes or FeedChanges()
    )
    return Services(
        config, clock, db, postbox, rooms, permissions, Agenda(config.tz), reminders,
        subscriptions, FeedReports(config, db, outside.fetcher),
        BotStatus(len(config.rooms), outside.device_trust), feed_manager,
    )  # fmt: skip
