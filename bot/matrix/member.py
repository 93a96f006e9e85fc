"""A plain Matrix client playing a community member: for the sandbox demo, tests and benchmarks."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    DownloadResponse,
    InviteMemberEvent,
    MatrixRoom,
    MegolmEvent,
    RoomCreateResponse,
    RoomMessage,
    RoomMessageText,
    RoomSendResponse,
)


@dataclass(frozen=True)
class Seen:
    """An event the member received in a room."""

    room_id: str
    event_id: str
    sender: str
    body: str
    content: dict[str, Any]
    decrypted: bool
    server_ts: int = 0  # origin_server_ts: when the homeserver received it, in milliseconds

    @property
    def in_reply_to(self) -> str | None:
        relation = self.content.get("m.relates_to") or {}
        return (relation.get("m.in_reply_to") or {}).get("event_id")


class Member:
    """Logs in with an access token, syncs in the background, sends and waits for answers."""

    def __init__(
        self,
        homeserver: str,
        user_id: str,
        device_id: str,
        access_token: str,
        store_dir: Path,
        *,
        encryption: bool = True,
    ) -> None:
        store_dir.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(encryption_enabled=encryption, store_sync_tokens=False)
        self.client = AsyncClient(homeserver, user_id, device_id, str(store_dir), config)
        self.client.restore_login(user_id, device_id, access_token)
        self.seen: list[Seen] = []
        self._new = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.client.add_event_callback(self._on_message, RoomMessage)
        self.client.add_event_callback(self._on_message, MegolmEvent)

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    async def _on_message(self, room: MatrixRoom, event: Any) -> None:
        source = event.source or {}
        decrypted = not isinstance(event, MegolmEvent)
        content = source.get("content", {}) if decrypted else {}
        if getattr(event, "decrypted", False):
            content = event.source.get("content", content)
        self.seen.append(
            Seen(
                room.room_id,
                event.event_id,
                event.sender,
                getattr(event, "body", ""),
                content,
                decrypted,
                int(getattr(event, "server_timestamp", 0) or 0),
            )
        )
        self._new.set()

    def answer_every_text(self, body: str) -> None:
        """Reply at once to every text message from others (the floor of a bot's round trip)."""

        async def answer(room: MatrixRoom, event: RoomMessageText) -> None:
            if event.sender == self.user_id:
                return
            content = {
                "msgtype": "m.notice",
                "body": body,
                "m.mentions": {},
                "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}},
            }
            await self.client.room_send(
                room.room_id, "m.room.message", content, ignore_unverified_devices=True
            )

        self.client.add_event_callback(answer, RoomMessageText)

    def accept_invites(self) -> None:
        """Join every room this member is invited to (a DM the bot opens, for instance)."""
        joining: set[str] = set()

        async def join(room: MatrixRoom, event: InviteMemberEvent) -> None:
            if event.state_key != self.user_id or event.membership != "invite":
                return
            if room.room_id not in joining:
                joining.add(room.room_id)
                await self.client.join(room.room_id)

        self.client.add_event_callback(join, InviteMemberEvent)

    async def react(self, room_id: str, event_id: str, key: str) -> str:
        """Annotate ``event_id`` with ``key`` (an emoji); the reaction's event id."""
        content = {"m.relates_to": {"rel_type": "m.annotation", "event_id": event_id, "key": key}}
        response = await self.client.room_send(
            room_id, "m.reaction", content, ignore_unverified_devices=True
        )
        if not isinstance(response, RoomSendResponse):
            raise RuntimeError(f"reaction failed: {response}")
        return str(response.event_id)

    async def download(self, content: dict[str, Any]) -> bytes:
        """The bytes of an ``m.file`` message, decrypted when it came encrypted."""
        from nio.crypto.attachments import decrypt_attachment

        encrypted = content.get("file")
        url = encrypted["url"] if encrypted else content["url"]
        response = await self.client.download(url)
        if not isinstance(response, DownloadResponse):
            raise RuntimeError(f"download failed: {response}")
        if not encrypted:
            return bytes(response.body)
        key, sha256, iv = encrypted["key"]["k"], encrypted["hashes"]["sha256"], encrypted["iv"]
        return bytes(decrypt_attachment(response.body, key, sha256, iv))

    async def start(self) -> None:
        """Upload keys, do a first sync, then keep syncing in the background."""
        if self.client.should_upload_keys:
            await self.client.keys_upload()
        await self.client.sync(timeout=0, full_state=True)
        self._task = asyncio.create_task(
            self.client.sync_forever(timeout=5_000, full_state=True), name="member-sync"
        )

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.client.close()

    async def create_room(
        self,
        *,
        invite: list[str],
        encrypted: bool = True,
        name: str | None = None,
        direct: bool = False,
    ) -> str:
        state = (
            [
                {
                    "type": "m.room.encryption",
                    "state_key": "",
                    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
                }
            ]
            if encrypted
            else []
        )
        response = await self.client.room_create(
            name=name, invite=invite, initial_state=state, is_direct=direct
        )
        if not isinstance(response, RoomCreateResponse):
            raise RuntimeError(f"room creation failed: {response}")
        await self.wait_until(lambda: response.room_id in self.client.rooms, timeout=20)
        return str(response.room_id)

    async def join(self, room_id: str) -> None:
        await self.client.join(room_id)
        await self.wait_until(lambda: room_id in self.client.rooms, timeout=20)

    async def wait_for_member(self, room_id: str, user_id: str, timeout: float = 30) -> None:
        """Until ``user_id`` has joined and, in an encrypted room, its devices are known."""

        def ready() -> bool:
            room = self.client.rooms.get(room_id)
            if room is None or user_id not in room.users:
                return False
            devices = list(self.client.device_store.active_user_devices(user_id))
            return not room.encrypted or bool(devices)

        await self.wait_until(ready, timeout=timeout)

    async def send_text(
        self, room_id: str, body: str, *, thread_root: str | None = None, msgtype: str = "m.text"
    ) -> str:
        content: dict[str, Any] = {"msgtype": msgtype, "body": body}
        if thread_root:
            content["m.relates_to"] = {
                "rel_type": "m.thread",
                "event_id": thread_root,
                "is_falling_back": True,
                "m.in_reply_to": {"event_id": thread_root},
            }
        response = await self.client.room_send(
            room_id, "m.room.message", content, ignore_unverified_devices=True
        )
        if not isinstance(response, RoomSendResponse):
            raise RuntimeError(f"send failed: {response}")
        return str(response.event_id)

    async def wait_for(self, predicate: Callable[[Seen], bool], timeout: float = 20) -> Seen:
        """The first received event matching ``predicate``, waiting at most ``timeout``."""
        found: list[Seen] = []

        def check() -> bool:
            found[:] = [seen for seen in self.seen if predicate(seen)][:1]
            return bool(found)

        await self.wait_until(check, timeout=timeout)
        return found[0]

    async def wait_for_reply(self, room_id: str, event_id: str, timeout: float = 20) -> Seen:
        """The answer to ``event_id``: an event in that room replying to it."""
        return await self.wait_for(
            lambda seen: seen.room_id == room_id and seen.in_reply_to == event_id, timeout
        )

    async def wait_until(self, condition: Callable[[], bool], timeout: float) -> None:
        """A bounded poll: wake on every received event, and at least every 100 ms."""
        deadline = time.monotonic() + timeout
        while not condition():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"{self.user_id}: condition not met within {timeout}s")
            self._new.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new.wait(), timeout=min(0.1, remaining))
