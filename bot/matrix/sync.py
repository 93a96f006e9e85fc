"""The sync loop: long-polls the homeserver, hands each fresh event to the bot, keeps the token.

nio awaits event callbacks inside the sync: each one only starts a supervised task, so a slow
handler never stalls the other rooms. The token moves on once every task started so far is done.
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import random
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Protocol

from nio import (
    AsyncClient,
    InviteMemberEvent,
    JoinResponse,
    MatrixRoom,
    MegolmEvent,
    ReactionEvent,
    RoomMessageText,
    SyncResponse,
)

from bot.clock import Clock
from bot.errors import HomeserverUnreachable
from bot.matrix.gateway import MatrixGateway
from bot.matrix.incoming import is_direct, may_command, to_incoming, to_reaction, utc_from_ms
from bot.matrix.transport import homeserver_errors
from bot.messages import IncomingMessage, IncomingReaction
from bot.storage import state
from bot.storage.db import Database
from bot.supervise import TaskSet, pause, unless_set

log = logging.getLogger(__name__)

TOKEN_SAVE_INTERVAL = 5.0
SYNC_TOKEN = "sync_token"
HANDLERS_GRACE = 10.0
# A homeserver back from maintenance is seen within this many seconds; sooner would only add
# load to a struggling server.
SYNC_RETRY_CAP = 30.0


class Inbox(Protocol):
    """What the rest of the bot does with what members send (the dispatcher)."""

    async def handle(self, message: IncomingMessage) -> None: ...

    async def handle_reaction(self, reaction: IncomingReaction) -> None: ...

    async def handle_undecryptable(self, message: IncomingMessage) -> None: ...


class Directs(Protocol):
    """Where the bot records the rooms it takes as DMs (its ``m.direct``)."""

    async def record(self, user_id: str, room_id: str) -> None: ...


class Upgrades(Protocol):
    """Who follows the bot's rooms when they are upgraded (the hub's rooms)."""

    async def upgraded(self, old_room_id: str, new_room_id: str) -> None: ...


class SyncTokens:
    """The sync token, kept in the bot's database between runs."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def load(self) -> str | None:
        async with self.db.session() as session:
            return await state.get_value(session, SYNC_TOKEN)

    async def save(self, token: str) -> None:
        async with self.db.session() as session:
            await state.set_value(session, SYNC_TOKEN, token)


class InvitePolicy:
    """Invitations are accepted from organisers and from users of allowed servers only."""

    def __init__(self, organisers: frozenset[str], server_patterns: tuple[str, ...]) -> None:
        self.organisers = organisers
        self.patterns = server_patterns

    def __call__(self, inviter: str) -> bool:
        if inviter in self.organisers:
            return True
        server = inviter.partition(":")[2].lower()
        return any(fnmatch.fnmatchcase(server, pattern.lower()) for pattern in self.patterns)


class SyncLoop:
    """Syncs until stopped; events sent before the start (minus a grace) are never acted on."""

    def __init__(
        self,
        gateway: MatrixGateway,
        clock: Clock,
        *,
        tokens: SyncTokens,
        inbox: Inbox,
        upgrades: Upgrades,
        invites: InvitePolicy,
        command_grace: timedelta,
        replay_window: timedelta | None = None,
        sync_timeout_ms: int = 30_000,
        withholding: Callable[[str], bool] = lambda user_id: False,
        directs: Directs | None = None,
    ) -> None:
        self.gateway = gateway
        self.client: AsyncClient = gateway.client
        self.clock = clock
        self.tokens = tokens
        self.inbox = inbox
        self.upgrades = upgrades
        self.invites = invites
        self.directs = directs
        self.oldest_accepted = clock.now() - command_grace
        self.replay_window = replay_window
        self.sync_timeout_ms = sync_timeout_ms
        self.withholding = withholding
        self.synced = asyncio.Event()
        self.tasks = TaskSet(on_idle=self._on_tasks_idle)
        self._token: str | None = None
        self._token_dirty = False
        self._token_saved_at = float("-inf")
        self._followed: set[str] = set()
        self._invites_seen: set[str] = set()
        self._stopping = False
        self._register_callbacks()

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    def _register_callbacks(self) -> None:
        self.client.add_event_callback(self._on_text, RoomMessageText)
        self.client.add_event_callback(self._on_megolm, MegolmEvent)
        self.client.add_event_callback(self._on_invite, InviteMemberEvent)
        self.client.add_event_callback(self._on_reaction, ReactionEvent)

    # --- the loop ------------------------------------------------------------------------------

    async def run(self, stop: asyncio.Event) -> None:
        """Sync until ``stop``; the first sync rebuilds room state from the stored token. Then
        let the handlers under way finish, and keep the last token they make safe."""
        self._token = await self.tokens.load()
        failures, first = 0, True
        while not stop.is_set():
            response = await self._sync_once(stop, full_state=first)
            if response is None:
                failures += 1
                await pause(stop, min(SYNC_RETRY_CAP, 2.0**failures) * random.uniform(0.5, 1.0))
                continue
            failures, first = 0, False
            await self._after_sync(response)
        self._stopping = True
        await self.tasks.drain(timeout=HANDLERS_GRACE)
        await self._save_token()

    async def _sync_once(self, stop: asyncio.Event, *, full_state: bool) -> SyncResponse | None:
        """One sync (a long poll, cut short by ``stop``); None when it failed or was cut."""
        timeout = 0 if full_state else self.sync_timeout_ms
        sync = asyncio.ensure_future(
            self.client.sync(
                timeout=timeout, since=self._token, full_state=full_state, set_presence="online"
            )
        )
        try:
            with homeserver_errors():
                if not await unless_set(sync, stop):
                    return None
        except HomeserverUnreachable as error:
            log.warning("sync failed: %s", error)
            return None
        response = sync.result()
        if not isinstance(response, SyncResponse):
            log.warning("sync refused: %s", getattr(response, "status_code", response))
            return None
        return response

    async def _after_sync(self, response: SyncResponse) -> None:
        self.gateway.synced(response)
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
            with homeserver_errors():
                if client.should_upload_keys:
                    await client.keys_upload()
                if client.should_query_keys:
                    await client.keys_query()
                if client.should_claim_keys:
                    await client.keys_claim(client.get_users_for_key_claiming())
                await client.send_to_device_messages()
        except HomeserverUnreachable as error:
            log.warning("key maintenance failed: %s", error)

    def _token_due(self) -> bool:
        """Save the token at most every few seconds: a replay is harmless, events are deduped."""
        return self.clock.monotonic() - self._token_saved_at >= TOKEN_SAVE_INTERVAL

    def _on_tasks_idle(self) -> None:
        """Every event seen so far is handled: the token may move on."""
        if self._token_dirty and self._token_due() and not self._stopping:
            self.tasks.spawn(self._save_token(), name="save-sync-token")

    async def _save_token(self) -> None:
        if self._token is not None and self._token_dirty:
            self._token_dirty = False
            self._token_saved_at = self.clock.monotonic()
            await self.tokens.save(self._token)

    # --- incoming events -----------------------------------------------------------------------

    def _fresh(self, event: Any) -> bool:
        """Only others' events sent after the bot's start, minus the grace, are acted upon;
        and none older than the replay window (a room joined again shows old commands), whose
        claims the housekeeping may have pruned."""
        if event.sender == self.user_id:
            return False
        sent = utc_from_ms(event.server_timestamp)
        window = self.replay_window
        recent = window is None or sent >= self.clock.now() - window
        return sent >= self.oldest_accepted and recent

    async def _on_text(self, room: MatrixRoom, event: RoomMessageText) -> None:
        if self._fresh(event) and may_command(event.source or {}):
            message = to_incoming(room, event, direct=is_direct(room))
            self.tasks.spawn(self.inbox.handle(message), name=f"command:{event.event_id}")

    async def _on_megolm(self, room: MatrixRoom, event: MegolmEvent) -> None:
        """A message the bot could not decrypt: log it, ask for the key, tell a DM's member."""
        if not self._fresh(event) or not may_command(event.source or {}):
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
        if self.withholding(event.sender):
            return  # the member was told why in a DM: asking to resend cannot help
        message = to_incoming(room, event, direct=is_direct(room), body="")
        self.tasks.spawn(self.inbox.handle_undecryptable(message), name=f"utd:{event.event_id}")

    async def _on_reaction(self, room: MatrixRoom, event: ReactionEvent) -> None:
        if self._fresh(event):
            reaction = to_reaction(room, event)
            name = f"reaction:{event.event_id}"
            self.tasks.spawn(self.inbox.handle_reaction(reaction), name=name)

    async def _on_invite(self, room: MatrixRoom, event: InviteMemberEvent) -> None:
        if event.state_key != self.user_id or event.membership != "invite":
            return
        if room.room_id in self._invites_seen:
            return
        self._invites_seen.add(room.room_id)
        direct = bool((event.content or {}).get("is_direct"))
        self.tasks.spawn(self._answer_invite(room.room_id, event.sender, direct), name="invite")

    async def _answer_invite(self, room_id: str, inviter: str, direct: bool) -> None:
        """Join when the inviter is allowed; a member's invitation to a DM records the room as
        that member's DM (whether it stays one is judged at each private message)."""
        if self.invites(inviter):
            log.info("joining %s on invitation from %s", room_id, inviter)
            joined = await self.client.join(room_id)
            if direct and isinstance(joined, JoinResponse) and self.directs is not None:
                await self.directs.record(inviter, room_id)
        else:
            log.info("declining invitation to %s from %s", room_id, inviter)
            await self.client.room_leave(room_id)

    async def _follow_upgrades(self) -> None:
        """Join the replacement of every upgraded room once, and tell the hub's rooms."""
        for room in list(self.client.rooms.values()):
            new = room.replacement_room
            if not new or room.room_id in self._followed:
                continue
            self._followed.add(room.room_id)
            log.info("room %s was upgraded to %s; following", room.room_id, new)
            await self.client.join(new)
            await self.upgrades.upgraded(room.room_id, new)
