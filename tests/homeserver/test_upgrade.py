"""The bot follows its rooms when they are upgraded (tombstone), so announcements keep arriving."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest
from nio import RoomCreateResponse, RoomPreset

from bot.messages import Message
from bot.sandbox.synapse import LocalSynapse
from tests.homeserver.harness import bot_config, member, register, started

pytestmark = pytest.mark.homeserver


async def upgrade(synapse: LocalSynapse, token: str, room_id: str, version: str) -> str:
    """Ask the homeserver to upgrade a room, as Element does; the replacement room's id."""
    url = f"{synapse.url}/_matrix/client/v3/rooms/{room_id}/upgrade"
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession() as http,
        http.post(url, json={"new_version": version}, headers=headers) as response,
    ):
        body = await response.json()
        assert response.status == 200, body
        return str(body["replacement_room"])


async def test_bot_follows_an_upgraded_room(synapse: LocalSynapse, tmp_path: Path) -> None:
    """After an upgrade the bot joins the new room, answers there, and posts meant for the old
    room arrive in the new one."""
    bot_user, password = await register(synapse, "bot")
    orga_user, _ = await register(synapse, "orga")
    orga = await member(synapse, orga_user, tmp_path)
    created = await orga.client.room_create(
        preset=RoomPreset.public_chat, invite=[bot_user.user_id]
    )
    assert isinstance(created, RoomCreateResponse)
    old_room = created.room_id
    await orga.wait_until(lambda: old_room in orga.client.rooms, timeout=20)
    app = await started(
        bot_config(
            synapse,
            bot_user,
            password,
            tmp_path / "bot",
            rooms=[old_room],
            organisers=[orga_user.user_id],
        )
    )
    try:
        await orga.wait_for_member(old_room, bot_user.user_id, timeout=30)
        version = "11" if orga.client.rooms[old_room].room_version != "11" else "10"
        new_room = await upgrade(synapse, orga_user.access_token, old_room, version)
        await orga.join(new_room)
        await orga.wait_for_member(new_room, bot_user.user_id, timeout=30)
        ping = await orga.send_text(new_room, "!ping")
        await orga.wait_for_reply(new_room, ping)
        assert app.dispatcher is not None
        async with app.db.session() as session:
            await app.dispatcher.services.postbox.post(
                session, Message(room_id=old_room, text="Après la mise à niveau")
            )
        seen = await orga.wait_for(lambda s: s.body == "Après la mise à niveau", timeout=30)
        assert seen.room_id == new_room
        assert app.room_ids == [new_room]
    finally:
        await app.stop()
        await orga.stop()
