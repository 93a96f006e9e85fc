"""The member's private conversation with the bot: the only place an address is ever asked for,
shown or confirmed. The Matrix layer answers what a DM is (``DirectChats``)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from bot.errors import DeliveryError, UserError
from bot.i18n import Catalogue
from bot.messages import IncomingMessage, ReplyTo

log = logging.getLogger(__name__)


class DirectChats(Protocol):
    """The Matrix layer's view of direct conversations with members."""

    async def open(self, user_id: str) -> str:
        """The member's DM with the bot, reused or created (network I/O)."""
        ...

    async def is_private(self, room_id: str, user_id: str) -> bool:
        """Whether ``room_id`` is ``user_id``'s true DM with the bot, both joined (network)."""
        ...

    def reachable(self, room_id: str, user_id: str) -> bool:
        """Whether a message to ``room_id`` would still reach ``user_id`` (no network)."""
        ...

    def display_name(self, user_id: str) -> str | None:
        """The member's display name in a room shared with the bot, if known."""
        ...


@dataclass(frozen=True)
class Correspondent:
    """A member in their DM with the bot; ``reply_to`` when they wrote there themselves."""

    user_id: str
    dm_room_id: str
    display_name: str | None
    t: Catalogue
    reply_to: ReplyTo | None = None


@dataclass(frozen=True)
class Where:
    """The sender in their DM, and whether the command came from elsewhere (a shared room)."""

    who: Correspondent
    moved: bool


async def in_dm(
    direct: DirectChats, room_id: str, user_id: str, t: Catalogue, answer_to: ReplyTo | None
) -> Correspondent | None:
    """The member, when ``room_id`` is their private conversation with the bot; else None."""
    if not await direct.is_private(room_id, user_id):
        return None
    return Correspondent(user_id, room_id, direct.display_name(user_id), t, answer_to)


async def reach(direct: DirectChats, message: IncomingMessage, t: Catalogue) -> Where:
    """The sender's DM: this room if it is one, else theirs, reused or created (network)."""
    sender = message.sender
    name = direct.display_name(sender)
    if await direct.is_private(message.room_id, sender):
        answer_to = ReplyTo(message.event_id, message.thread_root)
        return Where(Correspondent(sender, message.room_id, name, t, answer_to), moved=False)
    try:
        room_id = await direct.open(sender)
    except DeliveryError as error:
        log.warning("no DM for a command in %s: %s", message.room_id, error)
        raise UserError("subscriptions.dm_failed") from error
    return Where(Correspondent(sender, room_id, name, t), moved=True)
