"""Direct conversations with members: found in ``m.direct`` or among two-member rooms, or created.

A created DM is encrypted (as on Tchap), invites the member with ``is_direct``, and is recorded
in the bot's ``m.direct`` account data so it is found again after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from nio import (
    AsyncClient,
    DirectRoomsResponse,
    RoomCreateResponse,
    RoomPreset,
    RoomVisibility,
)

from bot.errors import HomeserverUnreachable, PermanentDeliveryError
from bot.matrix.transport import homeserver_errors
from bot.messages import Audience

log = logging.getLogger(__name__)

ENCRYPTION_STATE = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}
ROOM_WAIT_SECONDS = 10.0


class DirectRooms:
    """The bot's DM with each member, from the sync's room state and ``m.direct``."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        hub: Audience,
        next_sync: Callable[[], Awaitable[None]],
        left: Callable[[str], bool] = lambda room_id: False,
        encrypted: bool = True,
    ) -> None:
        self.client = client
        self.hub = hub
        self.next_sync = next_sync
        self.left = left
        self.encrypted = encrypted

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    def is_private(self, room_id: str, user_id: str) -> bool:
        """The room holds (joined or invited) only the bot and ``user_id``; no hub room."""
        room = self.client.rooms.get(room_id)
        if room is None or self.left(room_id) or room_id in self.hub.shared:
            return False
        return set(room.users) == {self.user_id, user_id}

    def reachable(self, room_id: str, user_id: str) -> bool:
        """The bot is still in the room and the member is still joined or invited."""
        room = self.client.rooms.get(room_id)
        if room is None or self.left(room_id):
            return False
        return user_id in room.users and self.user_id in room.users

    def display_name(self, user_id: str) -> str | None:
        """The member's display name in any room shared with the bot."""
        for room in self.client.rooms.values():
            user = room.users.get(user_id)
            if user is not None and user.display_name:
                return str(user.display_name)
        return None

    async def open(self, user_id: str) -> str:
        """The member's DM: an existing one if there is one, else a new one."""
        marked = await self._direct_map()
        for room_id in [*marked.get(user_id, []), *self.client.rooms]:
            if self.is_private(room_id, user_id):
                return str(room_id)
        return await self._create(user_id, marked)

    async def _direct_map(self) -> dict[str, list[str]]:
        """The bot's ``m.direct`` account data (empty when never set or unreadable)."""
        try:
            with homeserver_errors():
                response = await self.client.list_direct_rooms()
        except HomeserverUnreachable as error:
            log.warning("m.direct unreadable: %s", error)
            return {}
        if not isinstance(response, DirectRoomsResponse):
            return {}
        return {user: list(rooms) for user, rooms in response.rooms.items()}

    async def _create(self, user_id: str, marked: dict[str, list[str]]) -> str:
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
        marked[user_id] = [*marked.get(user_id, []), room_id]
        await self._save_direct_map(marked)
        await self._until_synced(room_id, user_id)
        return room_id

    async def _save_direct_map(self, marked: dict[str, list[str]]) -> None:
        """Best effort: a DM missing from ``m.direct`` is still found as a two-member room."""
        path = f"/_matrix/client/v3/user/{quote(self.user_id, safe='')}/account_data/m.direct"
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        try:
            with homeserver_errors():
                response = await self.client.send("PUT", path, json.dumps(marked), headers=headers)
                response.release()
        except HomeserverUnreachable as error:
            log.warning("m.direct not updated: %s", error)

    async def _until_synced(self, room_id: str, user_id: str) -> None:
        """Wait (bounded) until the sync brought the room and the invite: sends need both."""
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(ROOM_WAIT_SECONDS):
                while not self._synced(room_id, user_id):
                    await self.next_sync()

    def _synced(self, room_id: str, user_id: str) -> bool:
        room: Any = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users
