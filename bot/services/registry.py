"""The services the application builds once and hands to every command and job."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Config
from bot.messages import FileDrop, Postbox
from bot.services.agenda import Agenda
from bot.services.permissions import Permissions
from bot.services.reminders import ReminderService
from bot.services.subscriptions import DirectChats, Subscriptions
from bot.storage.db import Database


@dataclass(frozen=True)
class Services:
    """Everything a handler may use; built in ``bot.app`` and passed explicitly."""

    config: Config
    clock: Clock
    db: Database
    postbox: Postbox
    permissions: Permissions
    reminders: ReminderService | None = None
    agenda: Agenda | None = None
    subscriptions: Subscriptions | None = None
    direct: DirectChats | None = None
    files: FileDrop | None = None
