"""The services, built once by ``build_services`` (the application's assembly and the tests alike)
and handed to every command: each field is always there."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bot.clock import Clock
from bot.config import Config
from bot.feeds.watch import Fetcher
from bot.messages import FileDrop, Postbox
from bot.services.agenda import Agenda
from bot.services.feeds import FeedReports
from bot.services.permissions import Permissions, RoomPowers
from bot.services.reminders import ReminderService
from bot.services.rooms import HubRooms, RoomDirectory
from bot.services.status import BotStatus
from bot.services.subscriptions import DirectChats, Subscriptions
from bot.storage.db import Database
from bot.trust import DeviceTrust


@dataclass(frozen=True)
class Outside:
    """What the services need of the world outside the bot's database: the Matrix layer's
    answers about rooms, DMs and files, and the feed fetcher."""

    powers: RoomPowers
    directory: RoomDirectory
    direct: DirectChats
    files: FileDrop
    fetcher: Fetcher
    device_trust: Callable[[], DeviceTrust | None] = lambda: None  # None: not checked


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


def build_services(
    config: Config, clock: Clock, db: Database, postbox: Postbox, rooms: HubRooms, outside: Outside
) -> Services:
    """Every service, wired to the one database, postbox and set of hub rooms."""
    permissions = Permissions(
        config.organisers, rooms, outside.powers, threshold=config.organiser_power_level
    )
    reminders = ReminderService(
        db, postbox, clock, tz=config.tz, language=config.language, rooms=outside.directory,
        hub=rooms, grace=timedelta(seconds=config.reminders.misfire_grace_seconds),
    )  # fmt: skip
    subscriptions = Subscriptions(
        db, postbox, clock, direct=outside.direct, files=outside.files,
        prefix=config.commands.prefix, tz=config.tz,
    )  # fmt: skip
    return Services(
        config, clock, db, postbox, rooms, permissions, Agenda(config.tz), reminders,
        subscriptions, FeedReports(config, outside.fetcher),
        BotStatus(len(config.rooms), outside.device_trust),
    )  # fmt: skip
