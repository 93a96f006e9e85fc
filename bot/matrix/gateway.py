"""The bot's connection to its homeserver: the sync loop, incoming events, and raw sends."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Protocol

import aiohttp
from nio import (
    AsyncClient,
    InviteMemberEvent,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RoomMessagesResponse,
    RoomMessageText,
    RoomSendResponse,
    SyncResponse,
)

from bot.clock import Clock
from bot.errors import (
    HomeserverUnreachable,
    PermanentDeliveryError,
    RateLimited,
    TransientDeliveryError,
)
from bot.matrix.incoming import is_direct, to_incoming, to_reaction, utc_from_ms
from bot.messages import IncomingMessage, IncomingReaction
from bot.supervise import TaskSet

log = logging.getLogger(__name__)

TOKEN_SAVE_INTERVAL = 5.0
# A homeserver back from maintenance is seen within this many seconds; sooner would only add
# load to a struggling server.
SYNC_RETRY_CAP = 30.0
PERMANENT_ERRCODES = {
    "M_FORBIDDEN",
    "M_NOT_FOUND",
    "M_BAD_JSON",
    "M_NOT_JSON",
    "M_TOO_LARGE",
    "M_UNKNOWN_TOKEN",
    "M_MISSING_TOKEN",
    "M_INVALID_PARAM",
}


class SyncTokens(Protocol):
    """Where the sync token is kept between runs."""

    async def load(self) -> str | None: ...

    async def save(self, token: str) -> None: ...


class Handlers(Protocol):
    """What the rest of the bot does with what arrives."""

    async def on_message(self, message: IncomingMessage) -> None: ...

    async def on_undecryptable(self, message: IncomingMessage) -> None: ...

    async def on_room_upgraded(self, old_room_id: str, new_room_id: str) -> None: ...

    async def on_reaction(self, reaction: IncomingReaction) -> None: ...


class MatrixGateway:
    """Runs the sync loop, translates events for the bot, and performs raw sends."""

    def __init__(
        self,
        client: AsyncClient,
        *,
        clock: Clock,
        tokens: SyncTokens,
        command_grace: timedelta,
        invite_allowed: Callable[[str], bool],
        sync_timeout_ms: int = 30_000,
    ) -> None:
        self.client = client
        self.clock = clock
        self.tokens = tokens
        self.started_at = clock.now()
        self.oldest_accepted = self.started_at - command_grace
        self.invite_allowed = invite_allowed
        self.sync_timeout_ms = sync_timeout_ms
        self.last_sync_at: datetime | None = None
        self.synced = asyncio.Event()
        self.handlers: Handlers | None = None
        self.tasks = TaskSet(on_idle=self._on_tasks_idle)
        self._token: str | None = None
        self._token_dirty = False
        self._token_saved_at = float("-inf")
        self._followed: set[str] = set()
        self._invites_seen: set[str] = set()
        self.left_rooms: set[str] = set()  # nio keeps rooms the bot left in client.rooms
        self._next_sync = asyncio.Event()
        self._stopping = asyncio.Event()
        self._register_callbacks()

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    def _register_callbacks(self) -> None:
        self.client.add_event_callback(self._on_text, RoomMessageText)
        self.client.add_event_callback(self._on_megolm, MegolmEvent)
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)
        self.client.add_event_callback(self._on_reaction, ReactionEvent)

    # --- the sync loop -------------------------------------------------------------------------

    async def run(self, handlers: Handlers) -> None:
        """Sync until ``stop()``; the first sync rebuilds room state from the stored token."""
        self.handlers = handlers
        self._token = await self.tokens.load()
        failures = 0
        first = True
        while not self._stopping.is_set():
            response = await self._sync_once(full_state=first)
            if response is None:
                failures += 1
                await self._pause(min(SYNC_RETRY_CAP, 2.0**failures) * random.uniform(0.5, 1.0))
                continue
            failures, first = 0, False
            await self._after_sync(response)

    async def _sync_once(self, *, full_state: bool) -> SyncResponse | None:
        timeout = 0 if full_state else self.sync_timeout_ms
        try:
            response = await self.client.sync(
                timeout=timeout, since=self._token, full_state=full_state, set_presence="online"
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("sync failed: %s", type(exc).__name__)
            return None
        if not isinstance(response, SyncResponse):
            log.warning("sync refused: %s", getattr(response, "status_code", response))
            return None
        return response

    async def _after_sync(self, response: SyncResponse) -> None:
        self.last_sync_at = self.clock.now()
        self.left_rooms.difference_update(response.rooms.join)
        self.left_rooms.update(response.rooms.leave)
        self._next_sync.set()
        self._next_sync = asyncio.Event()
        await self._crypto_chores()
        await self._follow_upgrades()
        self._token, self._token_dirty = response.next_batch, True
        if not self.tasks and self._token_due():
            await self._save_token()
        self.synced.set()

    async def _crypto_chores(self) -> None:
        """What nio's own sync loop does between syncs for end-to-end encryption."""
        client = self.client
        if client.olm is None:
            return
        try:
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
            await client.send_to_device_messages()
        except (aiohttp.ClientError, TimeoutError) as exc:
            log.warning("key maintenance failed: %s", type(exc).__name__)

    def _token_due(self) -> bool:
        """Save the token at most every few seconds: a replay is harmless, events are deduped."""
        return self.clock.monotonic() - self._token_saved_at >= TOKEN_SAVE_INTERVAL

    def _on_tasks_idle(self) -> None:
        """Every event seen so far is handled: the token may move on."""
        if self._token_dirty and self._token_due() and not self._stopping.is_set():
            self.tasks.spawn(self._save_token(), name="save-sync-token")

    async def _save_token(self) -> None:
        if self._token is not None and self._token_dirty:
            self._token_dirty = False
            self._token_saved_at = self.clock.monotonic()
            await self.tokens.save(self._token)

    async def _pause(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=seconds)

    async def stop(self) -> None:
        """End the sync loop, let in-flight handlers finish, keep the last safe token."""
        self._stopping.set()
        await self.tasks.drain(timeout=10)
        await self._save_token()

    # --- incoming events -----------------------------------------------------------------------

    def _fresh(self, event: Any) -> bool:
        """Only events sent after the bot's start, minus the grace, are acted upon."""
        return utc_from_ms(event.server_timestamp) >= self.oldest_accepted

    async def _on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if event.sender == self.user_id or not self._fresh(event) or self.handlers is None:
            return
        message = to_incoming(room, event, direct=is_direct(room))
        self.tasks.spawn(self.handlers.on_message(message), name=f"command:{event.event_id}")

    async def _on_megolm(self, room: MatrixRoom, event: MegolmEvent) -> None:
        """A message the bot could not decrypt: log it, ask for the key, tell a DM's member."""
        if event.sender == self.user_id or not self._fresh(event) or self.handlers is None:
            return
        log.warning(
            "undecryptable event %s in %s (session %s)",
            event.event_id,
            room.room_id,
            event.session_id,
        )
        try:
            await self.client.request_room_key(event)
        except Exception:  # a key request is best effort; the member is asked to resend anyway
            log.debug("room key request for %s failed", event.event_id, exc_info=True)
        message = to_incoming(room, event, direct=is_direct(room), body="")
        self.tasks.spawn(self.handlers.on_undecryptable(message), name=f"utd:{event.event_id}")

    async def _on_reaction(self, room: MatrixRoom, event: ReactionEvent) -> None:
        if event.sender == self.user_id or not self._fresh(event) or self.handlers is None:
            return
        reaction = to_reaction(room, event)
        self.tasks.spawn(self.handlers.on_reaction(reaction), name=f"reaction:{event.event_id}")

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key != self.user_id or event.membership != "invite":
            return
        if room.room_id in self._invites_seen:
            return
        self._invites_seen.add(room.room_id)
        self.tasks.spawn(self._answer_invite(room.room_id, event.sender), name="invite")

    async def _answer_invite(self, room_id: str, inviter: str) -> None:
        if self.invite_allowed(inviter):
            log.info("joining %s on invitation from %s", room_id, inviter)
            await self.client.join(room_id)
        else:
            log.info("declining invitation to %s from %s", room_id, inviter)
            await self.client.room_leave(room_id)

    async def _follow_upgrades(self) -> None:
        """Join the replacement of every upgraded room once, and tell the bot."""
        for room in list(self.client.rooms.values()):
            new = room.replacement_room
            if not new or room.room_id in self._followed:
                continue
            self._followed.add(room.room_id)
            log.info("room %s was upgraded to %s; following", room.room_id, new)
            await self.client.join(new)
            if self.handlers is not None:
                await self.handlers.on_room_upgraded(room.room_id, new)

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

    async def next_sync(self) -> None:
        """Return once the next sync response has been applied."""
        await self._next_sync.wait()

    def has_left(self, room_id: str) -> bool:
        """The bot left (or was removed from) the room since it started."""
        return room_id in self.left_rooms

    # --- sending -------------------------------------------------------------------------------

    async def send(
        self, room_id: str, event_type: str, content: dict[str, Any], txn_id: str
    ) -> str:
        """PUT one event with our transaction id; the event id, or a classified DeliveryError."""
        try:
            response = await self.client.room_send(
                room_id, event_type, content, tx_id=txn_id, ignore_unverified_devices=True
            )
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HomeserverUnreachable(type(exc).__name__) from exc
        except Exception as exc:  # nio raises its own errors for unknown rooms and key sharing
            raise TransientDeliveryError(f"{type(exc).__name__}: {exc}") from exc
        if isinstance(response, RoomSendResponse):
            return str(response.event_id)
        raise _classify(response)

    async def find_sent(self, room_id: str, txn_id: str) -> str | None:
        """Our own event carrying ``txn_id`` in the room's recent timeline, if there is one."""
        try:
            response = await self.client.room_messages(room_id, limit=100)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise HomeserverUnreachable(type(exc).__name__) from exc
        if not isinstance(response, RoomMessagesResponse):
            return None
        for event in response.chunk:
            source = getattr(event, "source", {}) or {}
            if source.get("unsigned", {}).get("transaction_id") == txn_id:
                return str(source.get("event_id"))
        return None


def _classify(response: Any) -> Exception:
    errcode = getattr(response, "status_code", None)
    message = f"{errcode}: {getattr(response, 'message', '')}"
    if errcode == "M_LIMIT_EXCEEDED":
        retry_ms = getattr(response, "retry_after_ms", None) or 5000
        return RateLimited(retry_ms / 1000)
    if errcode in PERMANENT_ERRCODES:
        return PermanentDeliveryError(message)
    return TransientDeliveryError(message)
