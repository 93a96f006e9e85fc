"""What the attack tests share: members with Tchap-shaped ids, raw events a hostile client may
send, a bot restarted with another configuration, and the bot's database read byte by byte."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from uuid import uuid4

from nio import InviteMemberEvent, MatrixRoom, RoomMessagesResponse, RoomSendResponse

from bot.app import App
from bot.config import Config
from bot.matrix.member import Member, Seen
from tests.homeserver.conftest import Community
from tests.homeserver.harness import member, started

MOVED = "Je vous ai répondu en message privé 📬"


@asynccontextmanager
async def newcomer(community: Community, tmp_path: Path, name: str) -> AsyncIterator[Member]:
    """A member with a Tchap-shaped id (``prenom.nom…-insee.fr``) in the community room, who
    joins the rooms the bot invites them to, and no other."""
    user = await community.synapse.register(f"{name}{uuid4().hex[:6]}-insee.fr", uuid4().hex)
    client = await member(community.synapse, user, tmp_path)
    try:
        accept_invites_from(client, community.bot_user.user_id)
        await community.orga.client.room_invite(community.room_id, user.user_id)
        await client.join(community.room_id)
        await client.wait_for_member(community.room_id, community.bot_user.user_id, timeout=30)
        yield client
    finally:
        await client.stop()


def address_of(client: Member) -> str:
    """The address a Tchap-shaped id encodes: ``@prenom.nom-insee.fr:server`` is
    ``prenom.nom@insee.fr``."""
    return client.user_id.removeprefix("@").partition(":")[0].replace("-insee.fr", "@insee.fr")


def accept_invites_from(client: Member, inviter: str) -> None:
    """Join the rooms ``inviter`` invites this member to (a careful member's client)."""

    async def join(room: MatrixRoom, event: InviteMemberEvent) -> None:
        mine = event.state_key == client.user_id and event.membership == "invite"
        if mine and event.sender == inviter and room.room_id not in client.client.rooms:
            await client.client.join(room.room_id)

    client.client.add_event_callback(join, InviteMemberEvent)


async def ask(who: Member, room_id: str, text: str, timeout: float = 30) -> Seen:
    """Send ``text``; the bot's reply to it."""
    event_id = await who.send_text(room_id, text)
    return await who.wait_for_reply(room_id, event_id, timeout=timeout)


async def send_raw(who: Member, room_id: str, content: dict[str, Any]) -> str:
    """Send any ``m.room.message`` content (an edit, a relation) as a hostile client may."""
    response = await who.client.room_send(
        room_id, "m.room.message", content, ignore_unverified_devices=True
    )
    assert isinstance(response, RoomSendResponse), response
    return str(response.event_id)


async def timeline(who: Member, room_id: str) -> list[dict[str, Any]]:
    """Every event of the room's recent timeline, as this member reads it from the server."""
    response = await who.client.room_messages(room_id, limit=200)
    assert isinstance(response, RoomMessagesResponse), response
    return [event.source for event in response.chunk]


def from_bot(community: Community, start: str = "") -> Callable[[Seen], bool]:
    """A message from the bot outside the community room, starting with ``start``."""
    bot = community.bot_user.user_id
    return lambda s: s.sender == bot and s.room_id != community.room_id and s.body.startswith(start)


async def restart(community: Community, config: Config) -> App:
    """The community's bot, stopped and started again with ``config`` (stopped by the fixture)."""
    await community.app.stop()
    community.app = await started(config)
    return community.app


def database_traces(data_dir: Path, needles: dict[str, str]) -> list[str]:
    """Which needles (by name) appear, byte for byte, in which file of the bot's SQLite
    database: the main file, its write-ahead log and its shared memory."""
    main = data_dir / "ssphub-bot.db"
    files = [main, main.with_name(main.name + "-wal"), main.with_name(main.name + "-shm")]
    found = []
    for path in (path for path in files if path.exists()):
        data = path.read_bytes()
        found += [f"{path.name}: {name}" for name, text in needles.items() if text.encode() in data]
    return found
