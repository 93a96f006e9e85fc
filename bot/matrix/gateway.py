"""The bot's connection to its homeserver: what it knows of rooms, joins, and raw sends.

The sync loop (``bot.matrix.sync``) keeps it up to date; everything else asks it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

from nio import AsyncClient, RoomMessagesResponse, RoomSendResponse, SyncResponse

from bot.clock import Clock
from bot.matrix.transport import homeserver_errors, refusal, sending_errors


class MatrixGateway:
    """Room state from the last sync, room queries and joins, and the raw send of the outbox."""

    def __init__(self, client: AsyncClient, clock: Clock) -> None:
        self.client = client
        self.clock = clock
        self.last_sync_at: datetime | None = None
        self.left_rooms: set[str] = set()  # nio keeps rooms the bot left in client.rooms
        self._next_sync = asyncio.Event()

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    def synced(self, response: SyncResponse) -> None:
        """A sync response was applied: note when, and which rooms the bot left or rejoined."""
        self.last_sync_at = self.clock.now()
        self.left_rooms.difference_update(response.rooms.join)
        self.left_rooms.update(response.rooms.leave)
        self._next_sync.set()
        self._next_sync = asyncio.Event()

    async def next_sync(self) -> None:
        """Return once the next sync response has been applied."""
        await self._next_sync.wait()

    # --- rooms ---------------------------------------------------------------------------------

    def power_level(self, room_id: str, user_id: str) -> int | None:
        """The user's power level in a room the bot is in, or None if unknown."""
        room = self.client.rooms.get(room_id)
        if room is None:
            return None
        return int(room.power_levels.get_user_level(user_id))

    def room_version(self, room_id: str) -> str | None:
        room = self.client.rooms.get(room_id)
        return None if room is None else room.room_version

    async def room_creators(self, room_id: str) -> set[str]:
        """The creators of a room: the create event's sender and its ``additional_creators``."""
        response = await self.client.room_get_state(room_id)
        for event in getattr(response, "events", []):
            if event.get("type") == "m.room.create" and event.get("state_key") == "":
                extra = event.get("content", {}).get("additional_creators", [])
                return {str(event.get("sender"))} | {str(user) for user in extra}
        return set()

    async def resolve_room(self, room: str) -> str | None:
        """A room id for an id or an alias; None when the alias is unknown."""
        if room.startswith("!"):
            return room
        response = await self.client.room_resolve_alias(room)
        return getattr(response, "room_id", None)

    async def join(self, room_id: str) -> bool:
        response = await self.client.join(room_id)
        return getattr(response, "room_id", None) is not None

    def joined(self, room_id: str) -> bool:
        return room_id in self.client.rooms

    def has_left(self, room_id: str) -> bool:
        """The bot left (or was removed from) the room since it started."""
        return room_id in self.left_rooms

    # --- sending -------------------------------------------------------------------------------

    async def send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        """PUT one event with our transaction id; the event id, or a classified DeliveryError."""
        with sending_errors():
            response = await self.client.room_send(
                room_id, event_type, content, tx_id=txn_id, ignore_unverified_devices=True
            )
        if isinstance(response, RoomSendResponse):
            return str(response.event_id)
        raise refusal(response)

    async def find_sent(self, room_id: str, txn_id: str) -> str | None:
        """Our own event carrying ``txn_id`` in the room's recent timeline, if there is one."""
        with homeserver_errors():
            response = await self.client.room_messages(room_id, limit=100)
        if not isinstance(response, RoomMessagesResponse):
            return None
        for event in response.chunk:
            source = getattr(event, "source", {}) or {}
            if source.get("unsigned", {}).get("transaction_id") == txn_id:
                return str(source.get("event_id"))
        return None
