"""Direct conversations with members: a true DM found again (``bot.matrix.privacy`` says what
one is), or created.

A created DM is encrypted (as on Tchap), invites the member with ``is_direct``, and is recorded
in the bot's ``m.direct`` account data so it is found again after a restart. A DM the member
opened with the bot is recorded when the bot accepts its invitation (``bot.matrix.sync``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from nio import AsyncClient, RoomCreateResponse, RoomPreset, RoomVisibility

from bot.errors import DeliveryError, PermanentDeliveryError
from bot.matrix.privacy import DirectMap, DmCheck, Verdict
from bot.matrix.transport import homeserver_errors
from bot.untrusted import clean_text

log = logging.getLogger(__name__)

ENCRYPTION_STATE = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}
ROOM_WAIT_SECONDS = 10.0


class DirectRooms:
    """The bot's DM with each member: judged by the homeserver's state, reused or created."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        check: DmCheck,
        direct: DirectMap,
        next_sync: Callable[[], Awaitable[None]],
        left: Callable[[str], bool] = lambda room_id: False,
        encrypted: bool = True,
    ) -> None:
        self.client = client
        self.check = check
        self.direct = direct
        self.next_sync = next_sync
        self.left = left
        self.encrypted = encrypted

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def is_private(self, room_id: str, user_id: str) -> bool:
        """The room is ``user_id``'s true DM with the bot, both joined (asked of the homeserver;
        False when it cannot tell)."""
        try:
            return await self.check.verdict(room_id, user_id) is Verdict.READY
        except DeliveryError as error:
            log.warning("cannot tell whether %s is a DM: %s", room_id, error)
            return False

    def reachable(self, room_id: str, user_id: str) -> bool:
        """The bot is still in the room and the member is still joined or invited (what the
        last sync said; the sending edge judges the room again before each message)."""
        room = self.client.rooms.get(room_id)
        if room is None or self.left(room_id):
            return False
        return user_id in room.users and self.user_id in room.users

    def display_name(self, user_id: str) -> str | None:
        """The member's display name in any room shared with the bot, cleaned of controls."""
        for room in self.client.rooms.values():
            user = room.users.get(user_id)
            if user is not None and user.display_name:
                return clean_text(str(user.display_name)).strip() or None
        return None

    async def open(self, user_id: str) -> str:
        """The member's DM: a recorded one that is still a DM (or one waiting for the member
        to join), else a new one. Raises a ``DeliveryError`` when none can be had."""
        for room_id in reversed(await self.direct.rooms_for(user_id)):
            if await self.check.verdict(room_id, user_id) is not Verdict.REFUSED:
                return room_id
        return await self._create(user_id)

    async def _create(self, user_id: str) -> str:
        """Create an (encrypted) DM inviting the member, record it, wait until it is synced."""
        with homeserver_errors():
            response = await self.client.room_create(
                visibility=RoomVisibility.private,
                is_direct=True,
                invite=[user_id],
                preset=RoomPreset.trusted_private_chat,
                initial_state=[ENCRYPTION_STATE] if self.encrypted else [],
            )
        if not isinstance(response, RoomCreateResponse):
            raise PermanentDeliveryError(f"room creation refused: {response}")
        room_id = str(response.room_id)
        log.info("created DM %s", room_id)
        await self.direct.record(user_id, room_id)
        await self._until_synced(room_id, user_id)
        return room_id

    async def _until_synced(self, room_id: str, user_id: str) -> None:
        """Wait (bounded) until the sync brought the room and the invite: sends need both."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ROOM_WAIT_SECONDS):
                while not self._synced(room_id, user_id):
                    await self.next_sync()

    def _synced(self, room_id: str, user_id: str) -> bool:
        room: Any = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users
