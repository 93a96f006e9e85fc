"""The hub's rooms: the configured rooms and the organisers' room, resolved and joined at start,
and followed when a room is upgraded. Every part that posts by itself or asks "is this one of
the hub's rooms?" reads them here, and the postbox follows upgrades through them."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import Clock
from bot.errors import UserError
from bot.storage import state
from bot.storage.db import Database

log = logging.getLogger(__name__)
MATRIX_TO = "https://matrix.to/#/"
_ROOM = re.compile(r"![^:\s]+(:\S+)?|#[^:\s]+:\S+")


class RoomDirectory(Protocol):
    """What the Matrix layer says about rooms: their ids, and whether the bot is in them."""

    async def resolve_room(self, room: str) -> str | None: ...

    def joined(self, room_id: str) -> bool: ...


def is_room(word: str) -> bool:
    """A room id, an alias, or a matrix.to link to one."""
    return _ROOM.fullmatch(word.removeprefix(MATRIX_TO)) is not None


async def room_the_bot_is_in(directory: RoomDirectory, reference: str) -> str:
    """The id of a room the bot is in, from an id, an alias or a matrix.to link; a
    ``UserError`` when it does not resolve or the bot is not in it."""
    reference = reference.removeprefix(MATRIX_TO)
    room_id = await directory.resolve_room(reference)
    if room_id is None:
        raise UserError("rooms.unknown", room=reference)
    if not directory.joined(room_id):
        raise UserError("rooms.not_in", room=reference)
    return room_id


class RoomJoiner(RoomDirectory, Protocol):
    """A room directory that can also join rooms."""

    async def join(self, room_id: str) -> bool: ...


class HubRooms:
    """The hub's rooms as room ids; empty until ``resolve`` ran (after the first sync)."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock
        self.rooms: list[str] = []
        self.organiser_room: str | None = None
        self._redirects: dict[str, str] | None = None

    @property
    def organisers(self) -> Sequence[str]:
        """Where organisers hear about trouble: their room, else the hub's rooms."""
        return (self.organiser_room,) if self.organiser_room else tuple(self.rooms)

    @property
    def shared(self) -> Sequence[str]:
        """Every room of the hub, the organisers' included: none is ever a member's DM."""
        return [*self.rooms, *filter(None, [self.organiser_room])]

    async def resolve(
        self, configured: Sequence[str], organiser_room: str | None, directory: RoomJoiner
    ) -> None:
        """Resolve the configured rooms (following known upgrades) and join those not joined."""
        async with self.db.session() as session:
            self._redirects = await state.redirects(session)
        for room in configured:
            room_id = await self._joined(room, directory, "configured room")
            if room_id is not None:
                self.rooms.append(room_id)
        if organiser_room is not None:
            self.organiser_room = await self._joined(organiser_room, directory, "organiser room")

    async def _joined(self, room: str, directory: RoomJoiner, what: str) -> str | None:
        """The room's id, joined if the bot can; None when the reference does not resolve."""
        room_id = await directory.resolve_room(room)
        if room_id is None:
            log.error("%s %s cannot be resolved", what, room)
            return None
        room_id = state.follow(self._redirects or {}, room_id)
        if not directory.joined(room_id) and not await directory.join(room_id):
            log.error("cannot join the %s %s; invite the bot", what, room_id)
        return room_id

    async def follow(self, session: AsyncSession, room_id: str) -> str:
        """The room a message for ``room_id`` goes to now, after any upgrade."""
        if self._redirects is None:  # read once; later upgrades arrive through upgraded()
            self._redirects = await state.redirects(session)
        return state.follow(self._redirects, room_id)

    async def upgraded(self, old_room_id: str, new_room_id: str) -> None:
        """``old_room_id`` was upgraded: remember it, and use ``new_room_id`` from now on."""
        async with self.db.session() as session:
            await state.add_redirect(session, old_room_id, new_room_id, self.clock.now())
        if self._redirects is not None:
            self._redirects[old_room_id] = new_room_id
        self.rooms = [new_room_id if r == old_room_id else r for r in self.rooms]
        if self.organiser_room == old_room_id:
            self.organiser_room = new_room_id
